/**
 * Bills (issue 18 part 2): `cclake import bill` of the hand-made CUR 2.0 Parquet and Anthropic cost
 * report fixtures (fixtures/bills/) into a generated, compacted and rolled-up lake, the
 * `bill_reconciliation_monthly` view over them, revisions (a changed re-import makes revision 2, an
 * identical one writes nothing), bad files (named error, nothing of the invocation imported), the
 * SQL model-id normalisation held to functions/lib/prices/model-id.ts, and the bill_variance anomaly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { detectBillVariance, type BillVarianceRow } from '../functions/lib/anomalies/bills';
import { LocalNotifier } from '../functions/lib/anomalies/notifier/local';
import { bedrockModel, bedrockTokenType } from '../functions/lib/bills/bedrock-usage';
import { readBillFile } from '../functions/lib/bills/readers';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { installTrinoCompat } from '../functions/lib/engine/trino-compat';
import { detectAnomalies } from '../functions/lib/jobs/anomalies';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { rollup } from '../functions/lib/jobs/rollup';
import { normalizeModelId } from '../functions/lib/prices/model-id';
import { LocalObjectStore } from '../functions/lib/store/local';
import { REPO, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-bills-');
afterAll(() => tmp.cleanup());

const FIXTURES = path.join(REPO, 'fixtures', 'bills');
const CUR = path.join(FIXTURES, 'cur2-2026-10.parquet');
const ANTHROPIC = path.join(FIXTURES, 'anthropic-cost-report-2026-10.json');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function query<T = Record<string, unknown>>(lake: string, sql: string): Promise<T[]> {
  const r = await cli(['query', '--lake', lake, '--format', 'json', sql]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T[];
}

/** A lake of generated telemetry of the last days of October 2026 (working days: the 31st is a Saturday) and 1 November, compacted and rolled up. */
async function telemetryLake(seed: string): Promise<string> {
  const dir = tmp.make();
  const config = parseConfig({});
  const store = new LocalObjectStore(dir);
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  await generate(store, config, { users: 8, days: 4, end: '2026-11-01', seed });
  await compact(store, catalog, config);
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalog, engine, config);
  } finally {
    engine.close();
  }
  return dir;
}

describe('bill files read into bill lines', () => {
  it('CUR 2.0 Parquet: Bedrock Claude lines only, model and token type from the usage type, net cost, principal and tags', () => {
    const p = readBillFile('cur.parquet', readFileSync(CUR), { anthropicAccount: 'org' });
    expect(p.format).toBe('cur2');
    expect(p.skipped).toBe(2); // the EC2 row and the tax line
    expect(p.lines).toHaveLength(10);
    expect(p.unknownModels).toEqual(['USE1-ClaudeNext-input-tokens']);
    const first = p.lines[0]!;
    expect(first).toMatchObject({
      provider: 'bedrock',
      account: '123456789012',
      month: '2026-10',
      usage_date: '2026-10-27',
      model: 'claude-sonnet-4-5',
      token_type: 'input',
      usage_quantity: 2_000_000,
      principal: 'arn:aws:iam::123456789012:user/alice',
      tags: { user_team: 'platform' },
      billed_usd_exact: '5.7',
      list_usd: 6,
      bill_id: 'bedrock:123456789012:2026-10',
      source_row: 1,
    });
    expect(p.lines.map((l) => l.model)).toEqual([
      'claude-sonnet-4-5',
      'claude-sonnet-4-5',
      'claude-sonnet-4-5',
      'claude-sonnet-4-5',
      'claude-haiku-4-5',
      'claude-haiku-4-5',
      'claude-opus-4-1',
      'claude-opus-4-1',
      'claude-3-5-haiku',
      null,
    ]);
    expect(p.lines.map((l) => l.token_type).slice(0, 4)).toEqual(['input', 'output', 'cache_read', 'cache_creation']);
  });

  it('Anthropic cost report: amounts are decimal strings in cents, converted exactly; the workspace is the principal', () => {
    const p = readBillFile('report.json', readFileSync(ANTHROPIC), { anthropicAccount: 'org-1' });
    expect(p.format).toBe('anthropic-cost-report');
    expect(p.lines.map((l) => [l.bill_id, l.usage_date, l.model, l.token_type, l.billed_usd_exact])).toEqual([
      ['anthropic:org-1:2026-10', '2026-10-27', 'claude-sonnet-4-5', 'input', '4.125'],
      ['anthropic:org-1:2026-10', '2026-10-27', 'claude-sonnet-4-5', 'output', '12.375'],
      ['anthropic:org-1:2026-10', '2026-10-27', 'claude-sonnet-4-5', 'cache_read', '0.330123'],
      ['anthropic:org-1:2026-10', '2026-10-28', 'claude-opus-4-1', 'cache_creation', '1.875'],
      ['anthropic:org-1:2026-10', '2026-10-28', null, null, '1'],
    ]);
    expect(p.lines[0]!.principal).toBe('wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ');
  });

  it('CUR 2.0 as gzip CSV and the FOCUS export read the same lines', () => {
    const csv = [
      'line_item_usage_account_id,line_item_product_code,line_item_usage_type,line_item_usage_start_date,line_item_unblended_cost,line_item_net_unblended_cost,resource_tags',
      '111122223333,AmazonBedrock,USE1-Claude4.1Opus-output-tokens,2026-10-03T00:00:00Z,1.50,1.4250000001,"{""user_team"":""a""}"',
      '111122223333,AmazonS3,USE1-TimedStorage-ByteHrs,2026-10-03T00:00:00Z,9.99,9.99,',
    ].join('\n');
    const cur = readBillFile('cur.csv.gz', gzipSync(csv), { anthropicAccount: 'org' });
    expect(cur.lines).toHaveLength(1);
    expect(cur.lines[0]).toMatchObject({ model: 'claude-opus-4-1', token_type: 'output', billed_usd_exact: '1.4250000001', tags: { user_team: 'a' } });
    const focus = [
      'BilledCost,ListCost,BillingCurrency,ChargePeriodStart,BillingPeriodStart,ServiceName,SubAccountId,ChargeCategory,x_UsageType',
      '2.5,3,USD,2026-10-05T00:00:00Z,2026-10-01T00:00:00Z,Amazon Bedrock,111122223333,Usage,USE1-Claude4.6Sonnet-cache-read-input-token-count',
      '0.4,0.4,USD,2026-10-05T00:00:00Z,2026-10-01T00:00:00Z,Amazon Bedrock,111122223333,Tax,',
    ].join('\n');
    const f = readBillFile('focus.csv', new TextEncoder().encode(focus), { anthropicAccount: 'org' });
    expect(f.format).toBe('focus');
    expect(f.lines.map((l) => [l.bill_id, l.model, l.token_type, l.billed_usd_exact, l.list_usd])).toEqual([
      ['bedrock:111122223333:2026-10', 'claude-sonnet-4-6', 'cache_read', '2.5', 3],
    ]);
  });

  it('usage types and product names of every spelling AWS uses', () => {
    expect(bedrockModel('USE1-Claude4.6Opus-input-tokens')).toBe('claude-opus-4-6');
    expect(bedrockModel('EUC1-Claude4Sonnet-output-tokens')).toBe('claude-sonnet-4');
    expect(bedrockModel('Claude 3.5 Sonnet (Amazon Bedrock Edition)')).toBe('claude-3-5-sonnet');
    expect(bedrockModel('Claude Haiku 4.5')).toBe('claude-haiku-4-5');
    expect(bedrockModel('USE1-TitanText-input-tokens')).toBeNull();
    expect(bedrockTokenType('USE1-Claude4.6Sonnet-cache-write-input-token-count')).toBe('cache_creation');
    expect(bedrockTokenType('USE1-Claude4.6Sonnet-mantle-input-tokens-priority')).toBe('input');
    expect(bedrockTokenType('USE1-MP:USE1_OutputTokenCount-Units')).toBe('output');
    expect(bedrockTokenType('USE1-MP:USE1_CacheReadInputTokenCount-Units')).toBe('cache_read');
  });
});

describe('the SQL model-id normalisation of telemetry_cost_monthly', () => {
  it('gives the same provider and model version as normalizeModelId', async () => {
    const ids = [
      'us.anthropic.claude-opus-4-1-20250805-v1:0',
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
      'anthropic.claude-3-5-haiku-20241022-v1:0',
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0',
      'claude-opus-4-6[1m]',
      'claude-sonnet-4-0',
      'claude-opus-4-5-20251101',
      'claude-3-7-sonnet-latest',
      'claude-sonnet-4-5@20250929',
      'Claude-Opus-4-1',
      'unknown',
    ];
    const engine = await DuckDBEngine.open();
    try {
      await installTrinoCompat(engine);
      const values = ids.map((id) => `(DATE '2026-10-01', '${id}', 1, 1.0)`).join(', ');
      await engine.run(`CREATE TABLE token_burn_daily AS SELECT * FROM (VALUES ${values}) AS t (dt, model, tokens, priced_cost_usd)`);
      await engine.run(`CREATE TABLE chargeback_daily AS SELECT DATE '2026-10-01' AS dt, 'x' AS model, 0.0 AS cost_usd WHERE false`);
      await engine.run(readFileSync(path.join(REPO, 'sql', 'views', 'R__50_telemetry_cost_monthly.sql'), 'utf8'));
      const got = (await engine.query('SELECT provider, model FROM telemetry_cost_monthly ORDER BY provider, model')).rows;
      const want = [...new Set(ids.map((id) => normalizeModelId(id)).map((r) => `${r.provider}|${r.key}`))].sort();
      expect(got.map((r) => `${r.provider}|${r.model}`).sort()).toEqual(want);
    } finally {
      engine.close();
    }
  });
});

describe('cclake import bill and bill_reconciliation_monthly', () => {
  let lake: string;
  const BEDROCK = 'bedrock:123456789012:2026-10';

  beforeAll(async () => {
    lake = await telemetryLake('bills');
  }, 180_000);

  const lines = (l: string) =>
    query<{ bill_id: string; bill_revision: number; n: number; billed: number }>(
      l,
      'SELECT bill_id, bill_revision, count(*) AS n, sum(billed_usd) AS billed FROM bill_lines GROUP BY bill_id, bill_revision ORDER BY bill_id',
    );
  const generationOf = async (l: string) => (await new PartitionCommits(new LocalObjectStore(l)).get('bill_lines', '2026-10-01'))?.generation ?? null;

  it('the view exists and has no rows on a lake without bills', async () => {
    expect(await query(lake, 'SELECT count(*) AS n FROM bill_reconciliation_monthly')).toEqual([{ n: 0 }]);
    expect(await query(lake, 'SELECT count(*) AS n FROM bill_lines')).toEqual([{ n: 0 }]);
  });

  it('imports both fixtures as revision 1 and the view reconciles them with the telemetry', async () => {
    const r = await cli(['import', 'bill', '--lake', lake, CUR, ANTHROPIC]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`bill ${BEDROCK}: new, revision 1; 10 line(s), billed 20.25625 USD`);
    expect(r.out).toContain('bill anthropic:anthropic:2026-10: new, revision 1; 5 line(s), billed 19.705123 USD');
    expect(r.out).toContain('model not recognised (imported with model null): USE1-ClaudeNext-input-tokens');
    expect(await lines(lake)).toEqual([
      { bill_id: 'anthropic:anthropic:2026-10', bill_revision: 1, n: 5, billed: expect.closeTo(19.705123, 9) },
      { bill_id: BEDROCK, bill_revision: 1, n: 10, billed: expect.closeTo(20.25625, 9) },
    ]);

    const view = await query<{
      month: string;
      provider: string;
      account: string | null;
      model: string | null;
      billed_usd: number | null;
      priced_usd: number | null;
      reported_usd: number | null;
      variance_usd: number | null;
      variance_pct: number | null;
      unmatched: string | null;
    }>(lake, 'SELECT * FROM bill_reconciliation_monthly ORDER BY provider, model NULLS LAST');
    // The telemetry side, computed here from the rollups independently of the view's SQL.
    const burn = await query<{ model: string; priced: number }>(
      lake,
      "SELECT model, sum(priced_cost_usd) AS priced FROM token_burn_daily WHERE dt BETWEEN DATE '2026-10-01' AND DATE '2026-10-31' GROUP BY model",
    );
    const reported = await query<{ model: string; cost: number }>(
      lake,
      "SELECT model, sum(cost_usd) AS cost FROM chargeback_daily WHERE dt BETWEEN DATE '2026-10-01' AND DATE '2026-10-31' GROUP BY model",
    );
    const telemetry = new Map<string, { priced: number; reported: number }>();
    for (const b of burn) {
      const k = normalizeModelId(b.model).key;
      const t = telemetry.get(k) ?? { priced: 0, reported: 0 };
      t.priced += b.priced;
      telemetry.set(k, t);
    }
    for (const c of reported) telemetry.get(normalizeModelId(c.model).key)!.reported += c.cost;
    expect(telemetry.size).toBeGreaterThan(0);
    const billedBedrock: Record<string, number> = { 'claude-sonnet-4-5': 14.60625, 'claude-haiku-4-5': 1.9, 'claude-opus-4-1': 2.85 };
    for (const [model, t] of telemetry) {
      const row = view.find((v) => v.provider === 'bedrock' && v.model === model)!;
      expect(row, model).toBeDefined();
      expect(row.account).toBe('123456789012');
      expect(row.priced_usd).toBeCloseTo(t.priced, 6);
      expect(row.reported_usd).toBeCloseTo(t.reported, 6);
      if (billedBedrock[model] !== undefined) {
        expect(row.unmatched).toBeNull();
        expect(row.billed_usd).toBeCloseTo(billedBedrock[model]!, 9);
        expect(row.variance_usd).toBeCloseTo(billedBedrock[model]! - t.priced, 6);
        expect(row.variance_pct).toBeCloseTo((billedBedrock[model]! - t.priced) / t.priced, 9);
      } else {
        expect(row.unmatched).toBe('telemetry_only');
        expect(row.billed_usd).toBeNull();
      }
    }
    // Billed with no telemetry: the Marketplace Claude 3.5 Haiku line, the line without a model, every Anthropic line.
    const billOnly = view.filter((v) => v.unmatched === 'bill_only').map((v) => [v.provider, v.model, v.billed_usd]);
    expect(billOnly).toEqual(
      expect.arrayContaining([
        ['bedrock', 'claude-3-5-haiku', 0.8],
        ['bedrock', null, 0.1],
        ['anthropic', 'claude-opus-4-1', 1.875],
        ['anthropic', null, 1],
      ]),
    );
    expect(view.find((v) => v.provider === 'anthropic' && v.model === 'claude-sonnet-4-5')!.billed_usd).toBeCloseTo(16.830123, 9);
    // Every billed dollar is in the view exactly once.
    expect(view.reduce((s, v) => s + (v.billed_usd ?? 0), 0)).toBeCloseTo(20.25625 + 19.705123, 9);
  }, 120_000);

  it('an identical re-import (another file name) writes nothing; a changed one makes revision 2 of that bill only', async () => {
    const generation = await generationOf(lake);
    const copy = path.join(tmp.make(), 'same-content.parquet');
    writeFileSync(copy, readFileSync(CUR));
    const same = await cli(['import', 'bill', '--lake', lake, copy, ANTHROPIC]);
    expect(same.code, same.err).toBe(0);
    expect(same.out).toContain(`bill ${BEDROCK}: unchanged, revision 1 (nothing written)`);
    expect(same.out).toContain('bill anthropic:anthropic:2026-10: unchanged, revision 1 (nothing written)');
    expect(await generationOf(lake)).toBe(generation);

    // Anthropic revises the 27th's output tokens (up to 30 days after): 1237.5 cents become 1300.
    const revised = path.join(tmp.make(), 'report-revised.json');
    writeFileSync(revised, readFileSync(ANTHROPIC, 'utf8').replace('"amount": "1237.5"', '"amount": "1300"'));
    const r = await cli(['import', 'bill', '--lake', lake, revised]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('bill anthropic:anthropic:2026-10: revised, revision 2; 5 line(s), billed 20.330123 USD');
    expect(await generationOf(lake)).toBe(generation! + 1);
    expect(await lines(lake)).toEqual([
      { bill_id: 'anthropic:anthropic:2026-10', bill_revision: 2, n: 5, billed: expect.closeTo(20.330123, 9) },
      { bill_id: BEDROCK, bill_revision: 1, n: 10, billed: expect.closeTo(20.25625, 9) },
    ]);
    const [row] = await query<{ billed_usd: number }>(
      lake,
      "SELECT billed_usd FROM bill_reconciliation_monthly WHERE provider = 'anthropic' AND model = 'claude-sonnet-4-5'",
    );
    expect(row!.billed_usd).toBeCloseTo(17.455123, 9);
  }, 120_000);

  it('a bad file fails the invocation with the file, row and column named, and nothing of any file is imported', async () => {
    const generation = await generationOf(lake);
    const before = await lines(lake);
    const bad = path.join(tmp.make(), 'cur-bad.csv');
    writeFileSync(
      bad,
      [
        'line_item_usage_account_id,line_item_product_code,line_item_usage_type,line_item_usage_start_date,line_item_unblended_cost',
        '123456789012,AmazonBedrock,USE1-Claude4.5Sonnet-input-tokens,2026-11-02T00:00:00Z,1.00',
        '123456789012,AmazonBedrock,USE1-Claude4.5Sonnet-output-tokens,2026-11-02T00:00:00Z,n/a',
      ].join('\n'),
    );
    // A good file of another month first: it must not land either.
    const good = path.join(tmp.make(), 'good.json');
    writeFileSync(good, readFileSync(ANTHROPIC, 'utf8').replaceAll('2026-10-', '2026-11-'));
    const r = await cli(['import', 'bill', '--lake', lake, good, bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}: row 2 (line 3) column line_item_unblended_cost: not a number: "n/a"; nothing was imported`);
    expect(await lines(lake)).toEqual(before);
    expect(await generationOf(lake)).toBe(generation);
    expect(await new PartitionCommits(new LocalObjectStore(lake)).get('bill_lines', '2026-11-01')).toBeNull();

    const notABill = path.join(tmp.make(), 'notes.csv');
    writeFileSync(notABill, 'a,b\n1,2\n');
    const r2 = await cli(['import', 'bill', '--lake', lake, notABill]);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain(`${notABill}: not a CUR 2.0 export`);
    const r3 = await cli(['import', 'bill', '--lake', lake]);
    expect(r3.code).toBe(2);
  }, 60_000);
});

describe('bill_variance', () => {
  const config = parseConfig({});
  const row = (model: string, billed: number, priced: number, unmatched: string | null = null): BillVarianceRow => ({
    month: '2026-10',
    provider: 'bedrock',
    account: '1',
    model,
    billedUsd: billed,
    pricedUsd: priced,
    variancePct: (billed - priced) / priced,
    unmatched,
  });

  it('alerts on the month’s judging day past the threshold either way, and nowhere else', () => {
    const rows = [row('a', 110, 100), row('b', 104, 100), row('c', 90, 100), row('d', 200, 100, 'bill_only')];
    const judge = new Map([['2026-10', '2026-10-31']]);
    expect(detectBillVariance(rows, ['2026-10-30'], judge, config)).toEqual([]);
    const found = detectBillVariance(rows, ['2026-10-30', '2026-10-31'], judge, config);
    expect(found.map((a) => [a.entity, a.observed, a.baseline, a.score])).toEqual([
      ['bedrock:1:a', 110, 100, 0.1],
      ['bedrock:1:c', 90, 100, -0.1],
    ]);
    expect(found[0]!.message).toContain('10% more than');
    expect(detectBillVariance(rows, ['2026-10-31'], judge, parseConfig({ bills: { varianceThreshold: 0.2 } }))).toEqual([]);
    expect(detectBillVariance(rows, ['2026-10-31'], judge, parseConfig({ anomalies: { disabled: ['bill_variance'] } }))).toEqual([]);
  });

  it('the anomalies job judges the month end again when the month’s bill is imported, finding the variance', async () => {
    const lake = await telemetryLake('bills-variance');
    const store = new LocalObjectStore(lake);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    const run = async () => {
      const engine = await LocalQueryEngine.open(store, config);
      try {
        return await detectAnomalies(store, catalog, engine, new LocalNotifier(store, () => {}), config, { now: Date.parse('2026-11-02T00:00:00Z') });
      } finally {
        engine.close();
      }
    };
    expect((await run()).anomalies.filter((a) => a.detector === 'bill_variance')).toEqual([]);
    // A bill of the telemetry's priced cost: one model 12% over, the others 1% over.
    const byId = await query<{ model: string; priced: number }>(
      lake,
      "SELECT model, sum(priced_cost_usd) AS priced FROM token_burn_daily WHERE dt < DATE '2026-11-01' GROUP BY model",
    );
    const priced = new Map<string, number>();
    for (const p of byId) priced.set(normalizeModelId(p.model).key, (priced.get(normalizeModelId(p.model).key) ?? 0) + p.priced);
    const keys = [...priced.keys()].sort();
    expect(keys.length).toBeGreaterThan(1);
    const csv = [
      'line_item_usage_account_id,line_item_product_code,line_item_usage_type,line_item_usage_start_date,line_item_unblended_cost',
      ...keys.map((key, i) => {
        const [, family, ...version] = key.split('-'); // claude-sonnet-4-5: USE1-Claude4.5Sonnet-input-tokens
        return `123456789012,AmazonBedrock,USE1-Claude${version.join('.')}${family![0]!.toUpperCase()}${family!.slice(1)}-input-tokens,2026-10-30T00:00:00Z,${(priced.get(key)! * (i === 0 ? 1.12 : 1.01)).toFixed(6)}`;
      }),
    ].join('\n');
    const file = path.join(tmp.make(), 'cur.csv');
    writeFileSync(file, csv);
    const r = await cli(['import', 'bill', '--lake', lake, file]);
    expect(r.code, r.err).toBe(0);
    const second = await run();
    // October 2026 ends on a Saturday without telemetry: its last day with rollups is judged again.
    expect(second.days.map((d) => [d.dt, d.reason])).toEqual([['2026-10-30', 'rollups changed']]);
    const found = second.anomalies.filter((a) => a.detector === 'bill_variance');
    expect(found.map((a) => a.entity)).toEqual([`bedrock:123456789012:${keys[0]}`]);
    expect(found[0]!.score).toBeCloseTo(0.12, 2);
    const stored = await query<{ detector: string; dt: string }>(
      lake,
      "SELECT detector, CAST(dt AS VARCHAR) AS dt FROM anomalies WHERE detector = 'bill_variance'",
    );
    expect(stored).toEqual([{ detector: 'bill_variance', dt: '2026-10-30' }]);
  }, 240_000);
});
