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
import { parseConfig } from '../functions/lib/config/load';
import { compact } from '../functions/lib/jobs/compact';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { guidanceToRawSql } from '../functions/lib/raw/bedrock-guidance';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { recordId } from '../functions/lib/telemetry/record-id';
import { emptyRawRecord, type RawRecord } from '../schemas/raw-record';
import { fileOf, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-guidance-test-');
afterAll(() => tmp.cleanup());

// The last day of the previous month: within raw retention (rawDays 90), and a closed month to export.
const now = new Date();
const END = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0)).toISOString().slice(0, 10);
const MONTH = END.slice(0, 7);
const DAYS = 10;
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
    for (const args of [['partitions'], ['rollup'], ['publish'], ['export', 'chargeback', '--month', MONTH]]) {
      const r = await cli([...args, '--config', config, '--lake', lake]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
    }
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
    } finally {
      engine.close();
    }
  }, 120_000);
});

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
  });
});
