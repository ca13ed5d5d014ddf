/**
 * Input profile `bedrock-guidance` (issue 23): a lake written by the AWS "Guidance for Claude Code
 * with Amazon Bedrock" (`data/year=/month=/day=/hour=/`, Glue table `metrics`) runs through every
 * stage, and its numbers equal what the guidance's own table says, computed independently in DuckDB
 * with the guidance's column meanings. Also: the mapping's ids are record-id.ts's, redelivered
 * guidance objects dedupe, and a mixed lake (guidance before a cut-over, cclake after) takes each
 * event date from one source only.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { rawTable } from '../functions/lib/catalog/tables';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { parseConfig } from '../functions/lib/config/load';
import { compact } from '../functions/lib/jobs/compact';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { guidanceToRawSql } from '../functions/lib/raw/bedrock-guidance';
import { SQL_DIR } from '../functions/lib/sql/files';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { recordId } from '../functions/lib/telemetry/record-id';
import { BEDROCK_GUIDANCE_METRICS } from '../schemas/bedrock-guidance';
import { emptyRawRecord, type RawRecord } from '../schemas/raw-record';
import { fileOf, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-guidance-test-');
afterAll(() => tmp.cleanup());

// The last day of the previous month: within raw retention (rawDays 90), and a closed month to export.
const now = new Date();
const END = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0)).toISOString().slice(0, 10);
const MONTH = END.slice(0, 7);
const DAYS = 10;
const FIRST = new Date(Date.parse(`${END}T00:00:00Z`) - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
/** The controls whose evidence the guidance's token-only rows do not carry (events; reported cost). */
const NO_EVIDENCE = ['attribution_coverage', 'bypass_permissions', 'mcp_allowlist', 'policy_rejections'];
const MEASURED = ['approved_models', 'data_residency', 'no_content_logged', 'telemetry_freshness'];
const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
};
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = io();
  const code = await main(args, c.io);
  return { code, out: c.out.join('\n'), err: c.err.join('\n') };
}
async function query(engine: DuckDBEngine, sql: string) {
  return (await engine.query(sql)).rows;
}

describe('the mapping', () => {
  it('gives each guidance row the record_id record-id.ts gives the mapped record; empty strings read as absent', async () => {
    const engine = await DuckDBEngine.open();
    try {
      await engine.run(`CREATE TABLE g AS SELECT * FROM (VALUES
        (1735725600123::BIGINT, 'u1', 's1', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'cacheRead', 1234.0::DOUBLE, 'vscode', '', 'com.anthropic.claude_code', 'A@x.com', 'acc"é\\1'),
        (1735725600124::BIGINT, '', 's1', 'm', 'output', 0.5::DOUBLE, '', 'org', '', '', ''),
        (0::BIGINT, 'u2', 's2', 'm', 'input', 3::DOUBLE, '', '', '', '', ''))
        t("timestamp", user_id, session_id, model, type, token_usage, terminal_type, organization_id, otel_lib, user_email, user_account_uuid)`);
      const rows = await query(engine, `SELECT * FROM (${guidanceToRawSql('g')}) ORDER BY session_id, event_time`);
      expect(rows.map((r) => [r.signal, r.name, r.metric_type, r.value, r.temporality])).toEqual([
        ['metric', 'claude_code.token.usage', 'cacheRead', 1234, 'delta'],
        ['metric', 'claude_code.token.usage', 'output', 0.5, 'delta'],
        ['metric', 'claude_code.token.usage', 'input', 3, 'delta'],
      ]);
      expect(rows[1]!.user_id).toBeNull();
      expect(rows[1]!.user_email).toBeNull();
      expect(rows[0]!.attributes).toEqual({ OTelLib: 'com.anthropic.claude_code' });
      expect(rows[2]!.event_time).toBeNull(); // timestamp 0 is absent, not 1970: the object is quarantined
      for (const r of rows.slice(0, 2)) {
        const record = { ...emptyRawRecord() } as Record<string, unknown>;
        for (const [k, v] of Object.entries(r)) if (k !== 'record_id') record[k] = v;
        record.event_time = Date.parse(String(r.event_time));
        expect(r.record_id).toBe(recordId(record as unknown as RawRecord));
      }
      expect(new Set(rows.map((r) => r.record_id)).size).toBe(3);
    } finally {
      engine.close();
    }
  });
});

describe('a generated guidance-shaped lake, end to end', () => {
  let lake: string;
  let config: string;
  beforeAll(async () => {
    const dir = tmp.make();
    lake = path.join(dir, 'lake');
    config = path.join(dir, 'cclake.config.json');
    writeFileSync(config, JSON.stringify({ raw: { profile: 'bedrock-guidance', prefix: 'data/' } }));
    const g = await cli([
      'generate',
      '--config',
      config,
      '--lake',
      lake,
      '--users',
      '25',
      '--days',
      String(DAYS),
      '--end',
      END,
      '--seed',
      'g23',
      '--profile',
      'bedrock-guidance',
    ]);
    expect(g.code, g.err).toBe(0);
  }, 120_000);

  it('compact, partitions, rollup, publish and export chargeback exit 0; nothing is quarantined; a redelivered object adds nothing', async () => {
    const store = new LocalObjectStore(lake);
    const raw = (await listAll(store, 'data/')).map((o) => o.key);
    expect(raw.length).toBeGreaterThan(50);
    const curated = async () => {
      const q = await cli([
        'query',
        '--config',
        config,
        '--lake',
        lake,
        '--format',
        'json',
        'SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM events',
      ]);
      expect(q.code, q.err).toBe(0);
      const [r] = JSON.parse(q.out) as { n: number; d: number }[];
      return [Number(r!.n), Number(r!.d)];
    };
    const c = await cli(['compact', '--config', config, '--lake', lake]);
    expect(c.code, c.err).toBe(0);
    expect(await listAll(store, 'quarantine/')).toEqual([]);
    const engine0 = await DuckDBEngine.open();
    const rawRows = Number(
      (await engine0.query(`SELECT count(*) AS n FROM read_parquet([${raw.map((k) => sqlString(fileOf(store, k))).join(', ')}])`)).rows[0]!.n,
    );
    engine0.close();
    expect(await curated()).toEqual([Number(rawRows), Number(rawRows)]);
    // The guidance's Firehose delivers an object again: same rows, another key; nothing is added.
    // Firehose redelivers later: into the newest arrival hour, which the next run lists.
    const again = [...raw]
      .sort()
      .at(-1)!
      .replace(/[^/]+$/, 'cclake-telemetry-1-redelivered.parquet');
    mkdirSync(path.dirname(fileOf(store, again)), { recursive: true });
    copyFileSync(fileOf(store, raw[0]!), fileOf(store, again));
    const c2 = await cli(['compact', '--config', config, '--lake', lake]);
    expect(c2.code, c2.err).toBe(0);
    expect(c2.out).toMatch(/ [1-9][\d,]* duplicates dropped/);
    expect(await listAll(store, 'quarantine/')).toEqual([]);
    expect(await curated()).toEqual([Number(rawRows), Number(rawRows)]);
    for (const args of [
      ['partitions'],
      ['rollup'],
      ['publish'],
      ['export', 'chargeback', '--month', MONTH],
      ['export', 'evidence', '--from', FIRST, '--to', END],
    ]) {
      const r = await cli([...args, '--config', config, '--lake', lake]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
    }
    // The catalog describes the guidance's raw zone: its table `metrics`, one partition per arrival hour under data/.
    const hours = [...new Set(raw.map((k) => k.replace(/[^/]+$/, '')))].sort();
    const catalog = catalogFromConfig(parseConfig({ ...JSON.parse(readFileSync(config, 'utf8')), lake: { local: { path: lake } } }), store);
    expect((await catalog.getTable('metrics'))?.columns.map((c) => c.name)).toEqual(BEDROCK_GUIDANCE_METRICS.columns.map((c) => c.name));
    expect((await catalog.listPartitions('metrics')).map((p) => p.location).sort()).toEqual(hours);
    // Token burn is there (priced cost depends on the price book: not asserted here).
    const engine = await DuckDBEngine.open();
    try {
      const q = await cli([
        'query',
        '--config',
        config,
        '--lake',
        lake,
        '--format',
        'json',
        'SELECT sum(priced_cost_usd) AS priced, sum(tokens) AS tokens FROM token_burn_daily',
      ]);
      expect(q.code, q.err).toBe(0);
      const [row] = JSON.parse(q.out) as { priced: number; tokens: number }[];
      expect(row!.tokens).toBeGreaterThan(0);
    } finally {
      engine.close();
    }
  }, 300_000);

  it('DAU/WAU/MAU and token burn per day equal a computation on the guidance table with its own column meanings', async () => {
    const store = new LocalObjectStore(lake);
    const files = (await listAll(store, 'data/')).map((o) => sqlString(fileOf(store, o.key)));
    const engine = await DuckDBEngine.open();
    try {
      // The guidance's meanings: one row per token datapoint, token_usage an increment, timestamp epoch ms,
      // the person their e-mail (else account, else user id). The redelivered copy is counted once.
      await engine.run(`CREATE TABLE m AS SELECT DISTINCT * FROM read_parquet([${files.join(', ')}], hive_partitioning = false)`);
      await engine.run(`CREATE TABLE d AS SELECT CAST(make_timestamp("timestamp" * 1000) AS DATE) AS dt,
          coalesce(nullif(lower(user_email), ''), nullif(user_account_uuid, ''), user_id) AS who, type, token_usage FROM m`);
      const expected = await query(
        engine,
        `WITH days AS (SELECT DISTINCT dt FROM d), act AS (SELECT DISTINCT dt, who FROM d WHERE token_usage > 0)
         SELECT strftime(days.dt, '%Y-%m-%d') AS dt,
           (SELECT count(DISTINCT who) FROM act WHERE act.dt = days.dt) AS dau,
           (SELECT count(DISTINCT who) FROM act WHERE act.dt BETWEEN days.dt - 6 AND days.dt) AS wau,
           (SELECT count(DISTINCT who) FROM act WHERE act.dt BETWEEN days.dt - 27 AND days.dt) AS mau
         FROM days ORDER BY 1`,
      );
      const got = await cli([
        'query',
        '--config',
        config,
        '--lake',
        lake,
        '--format',
        'json',
        `SELECT strftime(dt, '%Y-%m-%d') AS dt, dau, wau, mau FROM active_users_daily ORDER BY dt`,
      ]);
      expect(got.code, got.err).toBe(0);
      const norm = (rows: Record<string, unknown>[]) => rows.map((r) => [r.dt, Number(r.dau), Number(r.wau), Number(r.mau)]);
      expect(expected.length).toBe(DAYS);
      expect(norm(JSON.parse(got.out) as Record<string, unknown>[])).toEqual(norm(expected));

      const burnExpected = await query(
        engine,
        `SELECT strftime(dt, '%Y-%m-%d') AS dt, CASE type WHEN 'cacheRead' THEN 'cache_read' WHEN 'cacheCreation' THEN 'cache_creation' ELSE type END AS token_type, sum(token_usage) AS tokens
         FROM d GROUP BY ALL ORDER BY 1, 2`,
      );
      const burn = await cli([
        'query',
        '--config',
        config,
        '--lake',
        lake,
        '--format',
        'json',
        `SELECT strftime(dt, '%Y-%m-%d') AS dt, token_type, sum(tokens) AS tokens FROM token_burn_daily GROUP BY ALL HAVING sum(tokens) > 0 ORDER BY 1, 2`,
      ]);
      expect(burn.code, burn.err).toBe(0);
      const normB = (rows: Record<string, unknown>[]) => rows.map((r) => [r.dt, r.token_type, Number(r.tokens)]);
      expect(burnExpected.length).toBeGreaterThan(DAYS);
      expect(normB(JSON.parse(burn.out) as Record<string, unknown>[])).toEqual(normB(burnExpected));

      // Per developer and day too (user_daily), each token type in its column.
      const perUser = await query(
        engine,
        `SELECT strftime(dt, '%Y-%m-%d') AS dt, who AS user_key,
           sum(token_usage) FILTER (WHERE type = 'input') AS i, sum(token_usage) FILTER (WHERE type = 'output') AS o,
           sum(token_usage) FILTER (WHERE type = 'cacheRead') AS cr, sum(token_usage) FILTER (WHERE type = 'cacheCreation') AS cc
         FROM d GROUP BY ALL HAVING sum(token_usage) > 0 ORDER BY 1, 2`,
      );
      const users = await cli([
        'query',
        '--config',
        config,
        '--lake',
        lake,
        '--format',
        'json',
        `SELECT strftime(dt, '%Y-%m-%d') AS dt, user_key, input_tokens AS i, output_tokens AS o, cache_read_tokens AS cr, cache_creation_tokens AS cc
         FROM user_daily WHERE input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0 ORDER BY 1, 2`,
      ]);
      expect(users.code, users.err).toBe(0);
      const normU = (rows: Record<string, unknown>[]) =>
        rows.map((r) => [r.dt, r.user_key, Number(r.i ?? 0), Number(r.o ?? 0), Number(r.cr ?? 0), Number(r.cc ?? 0)]);
      expect(perUser.length).toBeGreaterThan(DAYS);
      expect(normU(JSON.parse(users.out) as Record<string, unknown>[])).toEqual(normU(perUser));
    } finally {
      engine.close();
    }
  }, 120_000);

  it('controls without evidence in the guidance rows are no_data, not pass; the evidence report and cclake query say so', async () => {
    const { rows } = await json(
      config,
      lake,
      `SELECT control_id, status, count(DISTINCT dt) AS days, sum(evaluated) AS evaluated FROM compliance_daily WHERE team = 'ALL' GROUP BY ALL ORDER BY 1, 2`,
    );
    const status = new Map<string, string[]>();
    for (const r of rows) status.set(String(r.control_id), [...(status.get(String(r.control_id)) ?? []), String(r.status)]);
    for (const c of NO_EVIDENCE) expect([c, status.get(c)]).toEqual([c, ['no_data']]);
    for (const c of MEASURED) expect([c, status.get(c)?.includes('no_data')]).toEqual([c, false]);
    for (const r of rows.filter((x) => NO_EVIDENCE.includes(String(x.control_id)))) expect([r.days, Number(r.evaluated)]).toEqual([DAYS, 0]);
    // approved_models measured every token datapoint of the day (the guidance's rows carry the model).
    const evaluated = await json(config, lake, `SELECT sum(evaluated) AS n FROM compliance_daily WHERE team = 'ALL' AND control_id = 'approved_models'`);
    const records = await json(config, lake, `SELECT count(*) AS n FROM events WHERE model IS NOT NULL`);
    expect(Number(evaluated.rows[0]!.n)).toBe(Number(records.rows[0]!.n));

    const coverage = await json(
      config,
      lake,
      `SELECT count(*) AS days, sum(events) AS events, sum(spans) AS spans, count(unavailable) AS noted FROM input_coverage_daily`,
    );
    expect(coverage.rows.map((r) => [Number(r.days), Number(r.events), Number(r.spans), Number(r.noted)])).toEqual([[DAYS, 0, 0, DAYS]]);

    // cclake query: an empty API health table and zero requests come with a note, on stderr.
    const health = await json(config, lake, 'SELECT count(*) AS n FROM api_health_daily');
    expect(Number(health.rows[0]!.n)).toBe(0);
    expect(health.err).toContain(`note: api_health_daily: no data from this input profile on ${DAYS} day(s) (${FIRST}..${END})`);
    const users = await json(config, lake, 'SELECT sum(requests) AS r FROM user_daily');
    expect(users.err).toMatch(/note: user_daily\.requests, .*: no data from this input profile/);
    expect(users.err).not.toContain('api_health_daily');
    const tokens = await json(config, lake, 'SELECT sum(tokens) AS t FROM token_burn_daily');
    expect(tokens.err).toBe('');

    // The evidence report: those controls read 'no data from this input profile', never pass.
    const store = new LocalObjectStore(lake);
    const key = (await listAll(store, 'reports/evidence/')).map((o) => o.key).find((k) => k.endsWith('/evidence.json'))!;
    const report = JSON.parse(new TextDecoder().decode(await store.get(key))) as {
      controls: { control_id: string; team: string; status: string; days: number; days_no_data: number }[];
      summary: { no_data: number; failing: unknown[] };
    };
    const org = new Map(report.controls.filter((c) => c.team === 'ALL').map((c) => [c.control_id, c]));
    for (const c of NO_EVIDENCE)
      expect([c, org.get(c)?.status, org.get(c)?.days, org.get(c)?.days_no_data]).toEqual([c, 'no data from this input profile', 0, DAYS]);
    for (const c of MEASURED) expect([c, ['pass', 'fail'].includes(org.get(c)!.status)]).toEqual([c, true]);
    expect(report.controls.filter((c) => NO_EVIDENCE.includes(c.control_id) && c.status === 'pass')).toEqual([]);
    const html = new TextDecoder().decode(await store.get(key.replace(/evidence\.json$/, 'evidence.html')));
    expect(html).toContain('no data from this input profile');
    // The dashboard with the API health panels says why they are empty.
    const ops = new TextDecoder().decode(await store.get('dashboards/operations/index.html'));
    expect(ops).toContain(`<p class="note coverage">api_health_daily: no data from this input profile on ${DAYS} day(s) (${FIRST}..${END})`);
  }, 120_000);
});

async function json(config: string, lake: string, sql: string): Promise<{ rows: Record<string, unknown>[]; err: string }> {
  const q = await cli(['query', '--config', config, '--lake', lake, '--format', 'json', sql]);
  expect(q.code, q.err).toBe(0);
  return { rows: JSON.parse(q.out) as Record<string, unknown>[], err: q.err };
}

describe('a mixed lake: the guidance before a cut-over, cclake after', () => {
  it('takes each event date from one source only, the same datapoint arriving through both counted once', async () => {
    const dir = tmp.make();
    const lake = path.join(dir, 'lake');
    const config = path.join(dir, 'cclake.config.json');
    const CUT = new Date(Date.parse(`${END}T00:00:00Z`) - 3 * 86_400_000).toISOString().slice(0, 10); // inside the 8 days
    writeFileSync(
      config,
      JSON.stringify({
        raw: {
          sources: [
            { profile: 'bedrock-guidance', prefix: 'data/', until: CUT },
            { profile: 'cclake', prefix: 'raw/' },
          ],
        },
      }),
    );
    // Both pipelines ran over the whole period (the same simulated activity through each).
    for (const profile of ['bedrock-guidance', 'cclake']) {
      const g = await cli([
        'generate',
        '--config',
        config,
        '--lake',
        lake,
        '--users',
        '12',
        '--days',
        '8',
        '--end',
        END,
        '--seed',
        'mix',
        '--profile',
        profile,
      ]);
      expect(g.code, g.err).toBe(0);
    }
    const parsed = parseConfig({ ...JSON.parse(readFileSync(config, 'utf8')), lake: { local: { path: lake } } });
    const store = new LocalObjectStore(lake);
    const summary = await compact(store, catalogFromConfig(parsed, store), parsed);
    expect(summary.quarantined).toEqual([]);
    expect(summary.rowsOutsideSourceWindow).toBeGreaterThan(0);
    const q = await cli([
      'query',
      '--config',
      config,
      '--lake',
      lake,
      '--format',
      'json',
      `SELECT strftime(dt, '%Y-%m-%d') AS dt, count(*) FILTER (WHERE attributes['OTelLib'] IS NOT NULL) AS guidance, count(*) FILTER (WHERE attributes['OTelLib'] IS NULL) AS cclake FROM events GROUP BY ALL ORDER BY 1`,
    ]);
    expect(q.code, q.err).toBe(0);
    const rows = JSON.parse(q.out) as { dt: string; guidance: number; cclake: number }[];
    expect(rows.length).toBeGreaterThan(4);
    expect(rows.some((r) => r.dt < CUT) && rows.some((r) => r.dt >= CUT)).toBe(true);
    for (const r of rows) {
      if (r.dt < CUT) expect([r.dt, Number(r.guidance) > 0, Number(r.cclake)]).toEqual([r.dt, true, 0]);
      else expect([r.dt, Number(r.guidance), Number(r.cclake) > 0]).toEqual([r.dt, 0, true]);
    }
    // The catalog registers both raw zones: events_raw over raw/ and the guidance's metrics over data/.
    const p = await cli(['partitions', '--config', config, '--lake', lake]);
    expect(p.code, p.err).toBe(0);
    const catalog = catalogFromConfig(parsed, store);
    for (const [table, prefix] of [
      ['events_raw', 'raw/'],
      ['metrics', 'data/'],
    ] as const) {
      const hours = [...new Set((await listAll(store, prefix)).map((o) => o.key.replace(/[^/]+$/, '')))].sort();
      expect(hours.length).toBeGreaterThan(8);
      expect([table, (await catalog.listPartitions(table)).map((x) => x.location).sort()]).toEqual([table, hours]);
    }
    // Measured statuses from the cut-over on; before it, the controls without evidence are no_data.
    const r = await cli(['rollup', '--config', config, '--lake', lake]);
    expect(r.code, r.err).toBe(0);
    const { rows: controls } = await json(
      config,
      lake,
      `SELECT strftime(dt, '%Y-%m-%d') AS dt, control_id, status FROM compliance_daily WHERE team = 'ALL' ORDER BY 1, 2`,
    );
    const days = [...new Set(controls.map((c) => String(c.dt)))];
    expect(days.some((d) => d < CUT) && days.some((d) => d >= CUT)).toBe(true);
    for (const c of controls) {
      const noData = NO_EVIDENCE.includes(String(c.control_id)) && String(c.dt) < CUT;
      expect([c.dt, c.control_id, c.status === 'no_data']).toEqual([c.dt, c.control_id, noData]);
    }
    // On cclake's days V049 gives exactly V018's rows; on the guidance's it differs only in the no_data statuses.
    const v018 = readFileSync(path.join(SQL_DIR, 'models', 'V018__compliance_daily.sql'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join('\n');
    for (const dt of days) {
      const old = v018.replaceAll('?', `'${dt}'`);
      const now = `SELECT control_id, team, evaluated, violations, status FROM compliance_daily WHERE dt = DATE '${dt}'`;
      const { rows: diff } = await json(
        config,
        lake,
        `SELECT 'v018' AS side, control_id, status FROM ((${old}) EXCEPT (${now})) UNION ALL SELECT 'v049', control_id, status FROM ((${now}) EXCEPT (${old})) ORDER BY 1, 2`,
      );
      if (dt >= CUT) expect([dt, diff]).toEqual([dt, []]);
      else {
        expect(diff.length).toBeGreaterThan(0);
        for (const d of diff) {
          expect(NO_EVIDENCE).toContain(d.control_id);
          expect([d.side, d.status]).toEqual(d.side === 'v018' ? ['v018', 'pass'] : ['v049', 'no_data']);
        }
      }
    }
    const first = days[0]!;
    const e = await cli(['export', 'evidence', '--from', first, '--to', days.at(-1)!, '--config', config, '--lake', lake]);
    expect(e.code, e.err).toBe(0);
    const key = (await listAll(store, 'reports/evidence/')).map((o) => o.key).find((k) => k.endsWith('/evidence.json'))!;
    const report = JSON.parse(new TextDecoder().decode(await store.get(key))) as {
      controls: { control_id: string; team: string; status: string; days: number; no_data_days: string[] }[];
    };
    const before = days.filter((d) => d < CUT);
    for (const c of report.controls.filter((x) => x.team === 'ALL' && NO_EVIDENCE.includes(x.control_id))) {
      expect([c.control_id, ['pass', 'fail'].includes(c.status), c.days, c.no_data_days]).toEqual([c.control_id, true, days.length - before.length, before]);
    }
    expect(
      parseConfig({
        raw: {
          sources: [
            { profile: 'bedrock-guidance', prefix: 'data/', until: CUT },
            { profile: 'cclake', prefix: 'raw/' },
          ],
        },
      }).raw.sources,
    ).toHaveLength(2);
  }, 240_000);

  it('refuses sources without a cut-over, or with overlapping prefixes', () => {
    expect(() =>
      parseConfig({
        raw: {
          sources: [
            { profile: 'bedrock-guidance', prefix: 'data/' },
            { profile: 'cclake', prefix: 'raw/' },
          ],
        },
      }),
    ).toThrow(/cut-over/);
    expect(() =>
      parseConfig({
        raw: {
          sources: [
            { profile: 'bedrock-guidance', prefix: 'data/', until: '2025-01-01' },
            { profile: 'cclake', prefix: 'data/x/' },
          ],
        },
      }),
    ).toThrow(/overlap/);
    expect(() =>
      parseConfig({
        raw: {
          sources: [
            { profile: 'cclake', prefix: 'old/', until: '2025-01-01' },
            { profile: 'cclake', prefix: 'raw/' },
          ],
        },
      }),
    ).toThrow(/a second source with profile cclake: the catalog keeps one raw table per profile/);
  });
});

describe('the catalog of a guidance source', () => {
  const NOW = Date.parse('2026-11-23T05:00:00Z');
  const hourKey = (d: string, h: string) => `data/year=${d.slice(0, 4)}/month=${d.slice(5, 7)}/day=${d.slice(8, 10)}/hour=${h}/x-1-${d}-${h}-00-00-u.parquet`;
  async function guidanceLake() {
    const store = new LocalObjectStore(tmp.make());
    // Object contents do not matter here: the catalog lists keys only.
    for (const [d, h] of [
      ['2026-11-01', '07'],
      ['2026-11-22', '09'],
      ['2026-11-22', '10'],
    ] as const)
      await store.put(hourKey(d, h), new TextEncoder().encode('PAR1'));
    return store;
  }
  const config = () => parseConfig({ raw: { profile: 'bedrock-guidance', prefix: 'data/' }, retention: { rawDays: 7 } });

  it("registers the guidance's arrival hours in cclake's metrics table, and never deletes the guidance's objects past retention", async () => {
    const store = await guidanceLake();
    const catalog = new LocalCatalog(store, config().aws.glueDatabase);
    const run = await syncPartitions(store, catalog, config(), { now: NOW });
    expect(run.failures).toEqual([]);
    expect((await catalog.listPartitions('metrics')).map((p) => p.location).sort()).toEqual([
      'data/year=2026/month=11/day=22/hour=09/',
      'data/year=2026/month=11/day=22/hour=10/',
    ]);
    expect(run.requests.filter((r) => r.operation === 'DeleteObjects')).toEqual([]);
    expect(run.objectsDeleted).toBe(0);
    expect((await listAll(store, 'data/')).length).toBe(3);
  });

  it("leaves the guidance's own metrics table (partition projection) exactly as it is", async () => {
    const store = await guidanceLake();
    const catalog = new LocalCatalog(store, config().aws.glueDatabase);
    const theirs = {
      ...rawTable(config()),
      description: "the guidance's table",
      parameters: { 'projection.enabled': 'true', 'projection.year.type': 'integer', 'projection.year.range': '2024,2030' },
    };
    await catalog.apply({ op: 'createTable', table: theirs });
    const dry = await syncPartitions(store, catalog, config(), { now: NOW, dryRun: true });
    const tableOf = (r: { input: unknown }) => {
      const t = (r.input as { table?: string | { name: string } }).table;
      return typeof t === 'string' ? t : t?.name;
    };
    expect(dry.requests.filter((r) => tableOf(r) === 'metrics')).toEqual([]);
    expect(dry.requests.filter((r) => tableOf(r) === 'events_curated').length).toBeGreaterThan(0); // the filter sees tables
    const run = await syncPartitions(store, catalog, config(), { now: NOW });
    expect(run.tables.find((t) => t.table === 'metrics')).toMatchObject({ projected: true, created: 0, deleted: 0 });
    expect(await catalog.getTable('metrics')).toEqual(theirs);
    expect(await catalog.listPartitions('metrics')).toEqual([]);
    expect((await listAll(store, 'data/')).length).toBe(3);
  });
});
