import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { looksLikeParquet, registerLakeViews } from '../functions/lib/engine/lake-views';
import { developerDay, MODELS } from '../functions/lib/generator/activity';
import { makePopulation } from '../functions/lib/generator/population';
import { FAULT_LABELS_KEY, generate, type FaultLabels, type GenerateSummary } from '../functions/lib/jobs/generate';
import { arrivalHourOf } from '../functions/lib/raw/keys';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';

const config = parseConfig({});
const dirs: string[] = [];
const tempLake = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cclake-gen-'));
  dirs.push(d);
  return new LocalObjectStore(d);
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function lakeDigest(store: LocalObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await listAll(store, ''))
    out.set(
      o.key,
      createHash('sha256')
        .update(await store.get(o.key))
        .digest('hex'),
    );
  return out;
}

describe('determinism', () => {
  it('the same seed gives the same developer-day, a different seed a different one', () => {
    const pop = makePopulation(7, 30, '2026-11-16', 5);
    const dev = pop.developers.find((d) => developerDay(7, d, '2026-11-17').rows.length > 0)!;
    const a = developerDay(7, dev, '2026-11-17');
    const b = developerDay(7, dev, '2026-11-17');
    expect(a.rows.length).toBeGreaterThan(10);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const other = makePopulation(8, 30, '2026-11-16', 5);
    expect(JSON.stringify(developerDay(8, other.developers[dev.index]!, '2026-11-17').rows)).not.toBe(JSON.stringify(a.rows));
  });

  it('a lake generated on worker threads is byte-identical to one generated in one thread', async () => {
    const options = { users: 24, days: 2, end: '2026-11-20', seed: 'w', faults: true, usersPerPartition: 12 };
    const one = tempLake();
    const two = tempLake();
    const s1 = await generate(one, config, { ...options, concurrency: 1 });
    const s2 = await generate(two, config, { ...options, concurrency: 2 });
    expect(s2.rows).toBe(s1.rows);
    const [d1, d2] = [await lakeDigest(one), await lakeDigest(two)];
    expect(d1.size).toBeGreaterThan(50);
    expect([...d2.entries()]).toEqual([...d1.entries()]);
  });

  it('rejects bad options with a message naming the option', async () => {
    const store = tempLake();
    await expect(generate(store, config, { users: 0, days: 1, end: '2026-11-20', seed: 1 })).rejects.toThrow(/--users/);
    await expect(generate(store, config, { users: 1, days: 1, end: '2026-02-30', seed: 1 })).rejects.toThrow(/--end.*2026-02-30/);
  });
});

describe('a clean lake: realistic shapes and rhythms', () => {
  let store: LocalObjectStore;
  let engine: DuckDBEngine;
  let summary: GenerateSummary;
  const q = async (sql: string) => (await engine.query(sql)).rows;
  const one = async (sql: string) => Object.values((await q(sql))[0]!)[0] as number;

  beforeAll(async () => {
    store = tempLake();
    // 2026-11-09 is a Monday: two full weeks.
    summary = await generate(store, config, { users: 70, days: 14, end: '2026-11-22', seed: 'dist' });
    engine = await DuckDBEngine.open();
    await registerLakeViews(engine, store, config);
    // Read the thousands of small raw files once; every test below queries the table.
    await engine.run('CREATE TABLE events_raw_table AS SELECT * FROM events_raw');
    await engine.run('DROP VIEW events_raw');
    await engine.run('ALTER TABLE events_raw_table RENAME TO events_raw');
  });
  afterAll(() => engine?.close());

  it('counts what it wrote, and every record id is unique', async () => {
    expect(await one('SELECT count(*) FROM events_raw')).toBe(summary.rows);
    expect(await one('SELECT count(DISTINCT record_id) FROM events_raw')).toBe(summary.rows);
    expect(summary.rows / summary.activeUserDays).toBeGreaterThan(50);
  });

  it('writes Firehose-shaped objects: arrival-hour keys, every record arrived after it happened, many small files', async () => {
    const objects = (await listAll(store, 'raw/')).filter((o) => o.key.endsWith('.parquet'));
    expect(objects.length).toBe(summary.objects);
    expect(objects.length).toBeGreaterThan(14 * 24);
    for (const o of objects)
      expect(o.key).toMatch(
        /^raw\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/cclake-telemetry-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.parquet$/,
      );
    // No faults: an object's arrival hour is never before the events it holds (rows read per file).
    const early = await one(`SELECT count(*) FROM (
        SELECT filename, max(event_time) AS latest FROM read_parquet('${store.root}/raw/**/*.parquet', filename = true) GROUP BY filename)
      WHERE date_trunc('hour', latest) > strptime(regexp_extract(filename, 'year=(\\d+)/month=(\\d+)/day=(\\d+)/hour=(\\d+)', 0), 'year=%Y/month=%m/day=%d/hour=%H')`);
    expect(early).toBe(0);
    const median = objects.map((o) => o.size).sort((a, b) => a - b)[Math.floor(objects.length / 2)]!;
    expect(median).toBeLessThan(2_000_000);
  });

  it('follows the working week: weekend activity is a small fraction of weekday activity', async () => {
    const rows =
      await q(`SELECT isodow(CAST(event_time AS DATE)) >= 6 AS weekend, count(DISTINCT user_id || CAST(CAST(event_time AS DATE) AS VARCHAR)) AS user_days
                          FROM events_raw WHERE name = 'claude_code.api_request' GROUP BY ALL`);
    const weekday = rows.find((r) => r.weekend === false)!.user_days as number;
    const weekend = rows.find((r) => r.weekend === true)!.user_days as number;
    // 10 weekdays vs 4 weekend days: per-day weekend activity well under a third of weekday.
    expect(weekend / 4).toBeLessThan((weekday / 10) * 0.35);
    expect(weekend).toBeGreaterThan(0);
  });

  it('mixes Bedrock inference-profile models, mostly Sonnet', async () => {
    const rows = await q(`SELECT model, count(*) AS n FROM events_raw WHERE name = 'claude_code.api_request' GROUP BY ALL`);
    const total = rows.reduce((s, r) => s + (r.n as number), 0);
    const share = (re: RegExp) => rows.filter((r) => re.test(r.model as string)).reduce((s, r) => s + (r.n as number), 0) / total;
    for (const r of rows) expect(r.model).toMatch(/^(us|eu|global)\.anthropic\.claude-/);
    expect(share(/sonnet/)).toBeGreaterThan(0.5);
    expect(share(/haiku/)).toBeGreaterThan(0.1);
    expect(share(/opus/)).toBeGreaterThan(0.01);
  });

  it('has realistic token counts: cache reads dominate, and cost is the list price of the tokens', async () => {
    const [t] = await q(
      `SELECT sum(input_tokens) i, sum(output_tokens) o, sum(cache_read_tokens) cr, sum(cache_creation_tokens) cc FROM events_raw WHERE name = 'claude_code.api_request'`,
    );
    const { i, o, cr, cc } = t as { i: number; o: number; cr: number; cc: number };
    const hitRate = cr / (i + cr + cc);
    expect(hitRate).toBeGreaterThan(0.7);
    expect(hitRate).toBeLessThan(0.99);
    expect(o).toBeGreaterThan(i);
    const priced = Object.values(MODELS).map(
      (m) =>
        `WHEN model = '${m.id}' THEN (input_tokens * ${m.price.input} + output_tokens * ${m.price.output} + cache_read_tokens * ${m.price.cacheRead} + cache_creation_tokens * ${m.price.cacheCreation}) / 1e6`,
    );
    const off = await one(`SELECT count(*) FROM events_raw WHERE name = 'claude_code.api_request' AND abs(cost_usd - CASE ${priced.join(' ')} END) > 1e-6`);
    expect(off).toBe(0);
  });

  it('has lognormal latency: Haiku fastest, Opus slowest, TTFT below duration', async () => {
    const rows = await q(`SELECT CASE WHEN model LIKE '%haiku%' THEN 'haiku' WHEN model LIKE '%opus%' THEN 'opus' ELSE 'sonnet' END AS family,
                                 median(duration_ms) AS p50, quantile_cont(duration_ms, 0.95) AS p95, max(ttft_ms - duration_ms) AS ttft_over
                          FROM events_raw WHERE name = 'claude_code.api_request' GROUP BY ALL`);
    const by = Object.fromEntries(rows.map((r) => [r.family, r]));
    expect(by.haiku!.p50).toBeLessThan(by.sonnet!.p50 as number);
    expect(by.sonnet!.p50).toBeLessThan(by.opus!.p50 as number);
    expect(by.sonnet!.p50).toBeGreaterThan(2000);
    expect(by.sonnet!.p95 as number).toBeGreaterThan((by.sonnet!.p50 as number) * 1.8);
    for (const r of rows) expect(r.ttft_over as number).toBeLessThan(0);
  });

  it('has transient API errors (429, 500, 529) that are retried within the same prompt', async () => {
    const statuses = (await q(`SELECT DISTINCT status_code FROM events_raw WHERE name = 'claude_code.api_error' ORDER BY 1`)).map((r) => r.status_code);
    expect(statuses).toEqual([429, 500, 529]);
    const unretried = await one(`SELECT count(*) FROM events_raw e WHERE name = 'claude_code.api_error' AND NOT EXISTS (
        SELECT 1 FROM events_raw r WHERE r.name = 'claude_code.api_request' AND r.prompt_id = e.prompt_id AND r.event_time > e.event_time)`);
    expect(unretried).toBe(0);
    const rate = await one(
      `SELECT count(*) FILTER (name = 'claude_code.api_error') / count(*) FROM events_raw WHERE name IN ('claude_code.api_error', 'claude_code.api_request')`,
    );
    expect(rate).toBeGreaterThan(0.002);
    expect(rate).toBeLessThan(0.05);
  });

  it('has tool decisions and results: edits accepted mostly, tool success mostly', async () => {
    const accept = await one(
      `SELECT count(*) FILTER (decision = 'accept') / count(*) FROM events_raw WHERE name = 'claude_code.tool_decision' AND tool_name IN ('Edit', 'Write')`,
    );
    expect(accept).toBeGreaterThan(0.8);
    expect(accept).toBeLessThan(0.99);
    const success = await one(`SELECT avg(CAST(success AS INTEGER)) FROM events_raw WHERE name = 'claude_code.tool_result'`);
    expect(success).toBeGreaterThan(0.85);
    expect(success).toBeLessThan(0.995);
  });

  it('exports productivity metrics: lines, commits, PRs, active time, edit decisions', async () => {
    const names = (await q(`SELECT DISTINCT name FROM events_raw WHERE signal = 'metric' ORDER BY 1`)).map((r) => r.name);
    expect(names).toEqual(
      [
        'claude_code.active_time.total',
        'claude_code.code_edit_tool.decision',
        'claude_code.commit.count',
        'claude_code.cost.usage',
        'claude_code.lines_of_code.count',
        'claude_code.pull_request.count',
        'claude_code.session.count',
        'claude_code.token.usage',
      ].sort(),
    );
    expect(await one(`SELECT count(DISTINCT metric_type) FROM events_raw WHERE name = 'claude_code.token.usage'`)).toBe(4);
  });

  it('token.usage metrics of event-exporting delta sessions sum to their api_request tokens', async () => {
    const mismatched = await one(`
      WITH ev AS (SELECT session_id, sum(input_tokens) AS t FROM events_raw WHERE name = 'claude_code.api_request' GROUP BY ALL),
           m AS (SELECT session_id, sum(value) AS t FROM events_raw WHERE name = 'claude_code.token.usage' AND metric_type = 'input' AND temporality = 'delta' GROUP BY ALL)
      SELECT count(*) FROM ev JOIN m USING (session_id) WHERE ev.t <> m.t`);
    expect(mismatched).toBe(0);
  });

  it('has cumulative series that never decrease except where a restart starts a new series', async () => {
    const users = await one(`SELECT count(DISTINCT user_id) FROM events_raw WHERE temporality = 'cumulative'`);
    expect(users).toBeGreaterThan(0);
    const decreasing = await one(`
      SELECT count(*) FROM (
        SELECT value, start_time, lag(value) OVER w AS prev, lag(start_time) OVER w AS prev_start
        FROM events_raw WHERE temporality = 'cumulative'
        WINDOW w AS (PARTITION BY session_id, name, metric_type, model, tool_name, decision, decision_source, language ORDER BY event_time))
      WHERE prev IS NOT NULL AND value < prev AND start_time = prev_start`);
    expect(decreasing).toBe(0);
    const restarts = await one(`
      SELECT count(*) FROM (
        SELECT start_time, lag(start_time) OVER (PARTITION BY session_id, name, metric_type, model ORDER BY event_time) AS prev_start
        FROM events_raw WHERE temporality = 'cumulative' AND name = 'claude_code.token.usage')
      WHERE prev_start IS NOT NULL AND start_time <> prev_start`);
    expect(restarts).toBeGreaterThan(0);
  });

  it('has a few sessions that export metrics only', async () => {
    const metricsOnly = await one(`SELECT count(*) FROM (SELECT session_id FROM events_raw GROUP BY ALL HAVING count(*) FILTER (signal = 'event') = 0)`);
    const sessions = await one(`SELECT count(DISTINCT session_id) FROM events_raw`);
    expect(metricsOnly).toBeGreaterThan(0);
    expect(metricsOnly / sessions).toBeLessThan(0.1);
  });

  it('has permission-mode changes, some to bypassPermissions, and MCP tool use', async () => {
    expect(
      await one(`SELECT count(*) FROM events_raw WHERE name = 'claude_code.permission_mode_changed' AND attributes['to_mode'] = 'bypassPermissions'`),
    ).toBeGreaterThan(0);
    expect(await one(`SELECT count(DISTINCT mcp_server_name) FROM events_raw WHERE tool_name = 'mcp_tool'`)).toBeGreaterThan(1);
  });

  it('writes the org directory it used: effective-dated team moves, unattributed people left out', async () => {
    const moves = await q(`SELECT a.valid_to, b.valid_from FROM org_directory a JOIN org_directory b USING (user_id) WHERE a.valid_from < b.valid_from`);
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(m.valid_to).toBe(m.valid_from);
    const unattributed = await one(
      `SELECT count(DISTINCT user_id) FROM events_raw e WHERE NOT EXISTS (SELECT 1 FROM org_directory d WHERE d.user_id = e.user_id)`,
    );
    expect(unattributed).toBeGreaterThan(0);
    const withTeamAttr = await one(
      `SELECT count(*) FROM events_raw e WHERE team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM org_directory d WHERE d.user_id = e.user_id)`,
    );
    expect(withTeamAttr).toBe(0);
    const noEmail = await one(`SELECT count(DISTINCT user_id) FROM events_raw WHERE user_email IS NULL`);
    expect(noEmail).toBeGreaterThan(0);
  });
});

describe('--faults: what real pipelines deliver, labelled', () => {
  let store: LocalObjectStore;
  let labels: FaultLabels;
  let summary: GenerateSummary;

  beforeAll(async () => {
    store = tempLake();
    summary = await generate(store, config, { users: 40, days: 8, end: '2026-11-20', seed: 'faulty', faults: true });
    labels = JSON.parse(new TextDecoder().decode(await store.get(FAULT_LABELS_KEY)));
  });

  it('labels every kind of fault and writes the same labels it returns', () => {
    expect(labels).toEqual(summary.faults);
    for (const k of [
      'redeliveredObjects',
      'emptyObjects',
      'corruptObjects',
      'wrongSchemaObjects',
      'narrowTypeObjects',
      'newColumnObjects',
      'skewedUsers',
    ] as const) {
      expect(labels[k].length, k).toBeGreaterThan(0);
    }
    expect(labels.lateRows).toBeGreaterThan(0);
  });

  it('redelivered objects repeat another object byte for byte', async () => {
    const digests = await lakeDigest(store);
    const byDigest = new Map<string, string[]>();
    for (const [k, d] of digests) byDigest.set(d, [...(byDigest.get(d) ?? []), k]);
    for (const key of labels.redeliveredObjects) expect(byDigest.get(digests.get(key)!)!.length).toBeGreaterThan(1);
  });

  it('empty objects are empty, corrupt ones are not readable Parquet', async () => {
    for (const key of labels.emptyObjects) expect((await store.head(key))!.size).toBe(0);
    for (const key of labels.corruptObjects) expect(looksLikeParquet(path.join(store.root, key))).toBe(false);
  });

  it('schema drift is real: int32 token columns, an extra column, a string where a number belongs', async () => {
    const engine = await DuckDBEngine.open();
    try {
      const describe = async (key: string) =>
        Object.fromEntries(
          (await engine.query(`DESCRIBE SELECT * FROM read_parquet('${path.join(store.root, key)}')`)).rows.map((r) => [r.column_name, r.column_type]),
        );
      expect((await describe(labels.narrowTypeObjects[0]!)).input_tokens).toBe('INTEGER');
      expect((await describe(labels.newColumnObjects[0]!)).workspace_id).toBe('VARCHAR');
      expect((await describe(labels.wrongSchemaObjects[0]!)).input_tokens).toBe('VARCHAR');
      // The schema changes are cutovers in time, as a Glue table update would make them.
      const hour = (k: string) => arrivalHourOf(k)!;
      expect(Math.max(...labels.narrowTypeObjects.map(hour))).toBeLessThan(Math.min(...labels.newColumnObjects.map(hour)));
    } finally {
      engine.close();
    }
  });

  it('late rows arrive hours to days after their event time', async () => {
    const engine = await DuckDBEngine.open();
    try {
      const files = (await listAll(store, 'raw/'))
        .filter((o) => !labels.emptyObjects.includes(o.key) && !labels.corruptObjects.includes(o.key) && !labels.wrongSchemaObjects.includes(o.key))
        .map((o) => `'${path.join(store.root, o.key)}'`);
      const [row] = (
        await engine.query(`SELECT count(*) FILTER (lag_h >= 2) AS late, max(lag_h) AS max_lag_h FROM (
          SELECT date_diff('hour', event_time, strptime(regexp_extract(filename, 'year=(\\d+)/month=(\\d+)/day=(\\d+)/hour=(\\d+)', 0), 'year=%Y/month=%m/day=%d/hour=%H')) AS lag_h
          FROM read_parquet([${files.join(',')}], filename = true, union_by_name = true))`)
      ).rows;
      expect(row!.late as number).toBeGreaterThan(labels.lateRows * 0.5);
      expect(row!.max_lag_h as number).toBeGreaterThan(24);
    } finally {
      engine.close();
    }
  });

  it('clock-skewed developers have event times shifted from their neighbours', () => {
    for (const s of labels.skewedUsers) expect(Math.abs(s.skewMs)).toBeGreaterThan(0);
    expect(readFileSync(path.join(store.root, 'reference', 'org-directory.csv'), 'utf8').split('\n')[0]).toBe(
      'user_email,user_id,team,department,cost_center,valid_from,valid_to',
    );
  });
});
