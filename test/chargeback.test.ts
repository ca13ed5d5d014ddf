/**
 * The finance export on a hand-built lake with hand-computed cents (issue 7): rounding traps
 * (three lines of $0.005, thirds of a cent), reconciliation to the cent against the lake's priced
 * cost, a model the price table lacks, byte-identical re-runs, a late-data revision made of
 * Adjustment rows that leaves revision 1 untouched, a rollup that is behind, and a mismatch that
 * fails loudly and writes nothing. Plus the exact-money helpers on their own.
 *
 * The lake (month 2026-10, reporting time zone UTC), price table: sonnet input $5, output $1 per
 * million tokens. On 2026-10-05:
 *  - u1 (alpha, CC-A): sonnet 1000 input ($0.005) + 3333 output ($0.003333); opus (not in the price
 *    table) 10 input + 5 output, reported cost $0.37.
 *  - u2 (beta, CC-B): sonnet 1000 input ($0.005) + 3333 output ($0.003333).
 *  - u3 (gamma, CC-C): sonnet 1000 input ($0.005) + 3334 output ($0.003334).
 *  - u4 (not in the directory, no cost center): sonnet 2000 input ($0.01).
 * Exact total $0.035 -> $0.04. Rounded line by line, the three $0.005 lines would make $0.03 and
 * the thirds of a cent nothing; largest remainder gives the three $0.005 lines a cent each.
 */
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FOCUS_COLUMNS } from '../schemas/focus';
import { main } from '../functions/cli/main';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { focusParquet } from '../functions/lib/exports/focus-file';
import { linesFromDetail, monthBounds, providerOf } from '../functions/lib/exports/chargeback-lines';
import { apportion, formatCents, formatDecimal, largestRemainder, parseDecimal, roundHalfUp, UNITS_PER_CENT } from '../functions/lib/exports/money';
import {
  exportChargeback,
  exportChargebackMonths,
  MonthNotClosedError,
  ReconciliationError,
  RollupBehindError,
  type ChargebackOptions,
} from '../functions/lib/jobs/chargeback';
import { compact } from '../functions/lib/jobs/compact';
import { verifyExports } from '../functions/lib/jobs/export-verify';
import { rollup } from '../functions/lib/jobs/rollup';
import { SQL_DIR } from '../functions/lib/sql/files';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-chargeback-test-');
afterAll(() => tmp.cleanup());

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS = 'claude-opus-4-1-20250805';
const CONFIG_INPUT = {
  prices: {
    book: 'none',
    version: 'list-2026-10',
    rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 5, output: 1, cacheRead: 0.3, cacheCreation: 3.75 }],
  },
  chargeback: { billingAccountId: '123456789012', billingAccountName: 'Engineering (AWS payer)' },
};
const config = parseConfig(CONFIG_INPUT);
const catalogOf = (store: LocalObjectStore, c: Config = config) => new LocalCatalog(store, c.aws.glueDatabase);
const NOW = Date.parse('2026-11-05T10:00:00Z');
const REV1 = 'exports/chargeback/month=2026-10/rev=001/';
const REV2 = 'exports/chargeback/month=2026-10/rev=002/';

const sonnet = (iso: string, user: string, input: number, output: number) =>
  rec(iso, user, { model: SONNET, input_tokens: input, output_tokens: output, cost_usd: 0.01, session_id: `s-${user}` });

async function fixtureLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    [
      'user_email,user_id,team,department,cost_center,valid_from,valid_to',
      'u1@example.com,u1,alpha,eng,CC-A,2026-01-01,',
      'u2@example.com,u2,beta,eng,CC-B,2026-01-01,',
      'u3@example.com,u3,gamma,eng,CC-C,2026-01-01,',
    ].join('\n') + '\n',
  );
  await putRaw(store, '2026-10-05T12:05:00Z', [
    sonnet('2026-10-05T09:00:00Z', 'u1', 1000, 3333),
    rec('2026-10-05T09:01:00Z', 'u1', { model: OPUS, input_tokens: 10, output_tokens: 5, cost_usd: 0.37, session_id: 's-u1-opus' }),
    sonnet('2026-10-05T09:02:00Z', 'u2', 1000, 3333),
    sonnet('2026-10-05T09:03:00Z', 'u3', 1000, 3334),
    sonnet('2026-10-05T09:04:00Z', 'u4', 2000, 0),
  ]);
  await compact(store, catalogOf(store), config, { now: Date.parse('2026-10-05T13:00:00Z') });
  await rollupLake(store, Date.parse('2026-10-06T02:00:00Z'));
  return store;
}

async function rollupLake(store: LocalObjectStore, now: number): Promise<void> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalogOf(store), engine, config, { now });
  } finally {
    engine.close();
  }
}

async function runExport(store: LocalObjectStore, options: Partial<ChargebackOptions> = {}, c: Config = config) {
  const engine = await LocalQueryEngine.open(store, c);
  try {
    return await exportChargeback(store, engine, c, { month: '2026-10', now: NOW, ...options });
  } finally {
    engine.close();
  }
}

const text = (store: LocalObjectStore, key: string) => readFileSync(path.join(store.root, key), 'utf8');
const csv = (store: LocalObjectStore, key: string) => parse(text(store, key), { columns: true }) as Record<string, string>[];
/** Every file under a prefix: key -> bytes (base64). */
async function snapshot(store: LocalObjectStore, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const o of await listAll(store, prefix)) out[o.key] = readFileSync(path.join(store.root, o.key)).toString('base64');
  return out;
}
const pick = (rows: Record<string, string>[], ...cols: string[]) => rows.map((r) => cols.map((c) => r[c]));

describe('exact money', () => {
  it('rounds half up and keeps every cent with largest remainder (three lines of $0.005, thirds of a cent)', () => {
    const usd = (s: string) => parseDecimal(s, 15);
    const half = [usd('0.005'), usd('0.005'), usd('0.005')];
    expect(roundHalfUp(usd('0.015'), UNITS_PER_CENT)).toBe(2n);
    expect(largestRemainder(half, UNITS_PER_CENT, 2n)).toEqual([1n, 1n, 0n]);
    // Rounding each line alone would bill 0.03 for 0.015; dropping the fraction, 0.00.
    const thirds = [usd('0.003333'), usd('0.003333'), usd('0.003334')];
    expect(largestRemainder(thirds, UNITS_PER_CENT, roundHalfUp(usd('0.01'), UNITS_PER_CENT))).toEqual([0n, 0n, 1n]);
    // A cent split three ways: one cent to the first, never a cent lost or made up.
    expect(apportion(1n, [1n, 1n, 1n])).toEqual([1n, 0n, 0n]);
    expect(apportion(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(apportion(7n, [3n, 0n, 1n])).toEqual([5n, 0n, 2n]);
    // A target the floors cannot reach is a bug, not a rounding.
    expect(() => largestRemainder(half, UNITS_PER_CENT, 5n)).toThrow(/cannot reach 5 units/);
    expect(formatCents(-5n)).toBe('-0.05');
    expect(() => parseDecimal('0.1234', 3)).toThrow(/more than 3 decimal places/);
  });

  it('cuts a charge period where a price row starts inside the month, in the reporting time zone, and reads the provider from the model id', () => {
    const bounds = monthBounds('2026-10', 'Europe/Berlin');
    expect(bounds).toEqual({ month: '2026-10', first: '2026-10-01', last: '2026-10-31', start: '2026-09-30T22:00:00Z', end: '2026-10-31T23:00:00Z' });
    const row = (validFrom: string, validTo: string | null, input: string, tokens: number) => ({
      user_key: 'u1@example.com',
      team: 'alpha',
      cost_center: 'CC-A',
      model: SONNET,
      price_version: 'v',
      price_model_pattern: '*claude-sonnet-4*',
      price_valid_from: validFrom,
      price_valid_to: validTo,
      price_input: input,
      price_output: '1.000000000',
      price_cache_read: '0.300000000',
      price_cache_creation: '3.750000000',
      input_tokens: tokens,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_creation_tokens: 0,
      reported_cost_usd: '0.000000000000',
      source_rows: 1,
    });
    const { lines } = linesFromDetail(
      [row('2026-01-01', '2026-10-15', '3.000000000', 1_000_000), row('2026-10-15', null, '2.500000000', 2_000_000)],
      bounds,
      'Europe/Berlin',
    );
    expect(lines.map((l) => [l.chargeStart, l.chargeEnd, formatDecimal(l.unitPrice!, 9, 2), l.tokens, formatDecimal(l.billedExact, 15, 2)])).toEqual([
      ['2026-09-30T22:00:00Z', '2026-10-14T22:00:00Z', '3.00', 1_000_000n, '3.00'],
      ['2026-10-14T22:00:00Z', '2026-10-31T23:00:00Z', '2.50', 2_000_000n, '5.00'],
    ]);
    expect(providerOf('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'auto').provider).toBe('AWS');
    expect(providerOf('anthropic.claude-opus-4-1-20250805-v1:0', 'auto').service).toBe('Amazon Bedrock');
    expect(providerOf('claude-sonnet-4@20250514', 'auto')).toEqual({ provider: 'Google Cloud', service: 'Vertex AI' });
    expect(providerOf('claude-sonnet-4-5-20250929', 'auto')).toEqual({ provider: 'Anthropic', service: 'Claude API' });
    expect(providerOf('claude-sonnet-4-5-20250929', 'aws').provider).toBe('AWS');
  });

  it('writes the same Parquet bytes for the same rows, with DECIMAL costs and UTC timestamps DuckDB reads back', async () => {
    const row = Object.fromEntries(FOCUS_COLUMNS.map((c) => [c.name, null])) as Record<string, string | number | null>;
    Object.assign(row, {
      BilledCost: '12.34',
      EffectiveCost: '12.34',
      ListCost: '12.34',
      ContractedCost: '12.34',
      PricingQuantity: '0.003333',
      PricingUnit: '1000000 Tokens',
      ConsumedQuantity: '3333',
      ConsumedUnit: 'Tokens',
      BillingCurrency: 'USD',
      BillingPeriodStart: '2026-10-01T00:00:00Z',
      BillingPeriodEnd: '2026-11-01T00:00:00Z',
      ChargePeriodStart: '2026-10-01T00:00:00Z',
      ChargePeriodEnd: '2026-11-01T00:00:00Z',
      ChargeCategory: 'Usage',
      ChargeFrequency: 'Usage-Based',
      ChargeDescription: 'x',
      ServiceName: 'Amazon Bedrock',
      ServiceCategory: 'AI and Machine Learning',
      ProviderName: 'AWS',
      PublisherName: 'Anthropic',
      InvoiceIssuerName: 'AWS',
      BillingAccountId: '1',
      BillingAccountName: 'n',
      x_Team: 't',
      x_CostCenter: 'c',
      x_UserKey: 'u',
      x_Model: 'm',
      x_TokenType: 'output',
      x_PriceStatus: 'priced',
      x_BilledCostExact: '12.340000000000001',
      x_ListCostExact: '12.34',
      x_Revision: 1,
    });
    const a = focusParquet([row as never]);
    const b = focusParquet([row as never]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const dir = tmp.make();
    writeFileSync(path.join(dir, 'f.parquet'), a);
    const duck = await DuckDBEngine.open();
    try {
      const r = await duck.query(
        `SELECT CAST(BilledCost AS VARCHAR) AS billed, typeof(BilledCost) AS t, CAST(x_BilledCostExact AS VARCHAR) AS exact, CAST(ChargePeriodStart AS VARCHAR) AS start, ChargeClass FROM read_parquet(${sqlString(path.join(dir, 'f.parquet'))})`,
      );
      expect(r.rows).toEqual([{ billed: '12.34', t: 'DECIMAL(18,2)', exact: '12.340000000000001', start: '2026-10-01 00:00:00+00', ChargeClass: null }]);
    } finally {
      duck.close();
    }
  });
});

describe('chargeback export', () => {
  it('bills a closed month in FOCUS lines that reconcile to the cent, with the summary, manifest and digests', async () => {
    const store = await fixtureLake();
    const s = await runExport(store);
    expect(s).toMatchObject({ month: '2026-10', status: 'written', closed: true, revision: 1, location: REV1, rows: 8, adjustmentRows: 0 });
    expect(s.totals).toMatchObject({
      cumulativeBilledCost: '0.04',
      lakePricedCost: '0.04',
      lakePricedCostExact: '0.035',
      difference: '0.00',
      cumulativeListCost: '0.41',
      tokens: '15015',
    });
    expect(s.unpriced).toEqual({ lines: 1, tokens: '15', reportedCost: '0.37', models: [OPUS] });

    const rows = csv(store, `${REV1}focus.csv`);
    expect(Object.keys(rows[0]!)).toEqual(FOCUS_COLUMNS.map((c) => c.name));
    expect(
      pick(rows, 'x_CostCenter', 'x_UserKey', 'x_Model', 'x_TokenType', 'ConsumedQuantity', 'x_BilledCostExact', 'BilledCost', 'ListCost', 'x_PriceStatus'),
    ).toEqual([
      ['CC-A', 'u1@example.com', OPUS, 'all', '15', '0.00', '0.00', '0.37', 'unpriced'],
      ['CC-A', 'u1@example.com', SONNET, 'input', '1000', '0.005', '0.01', '0.01', 'priced'],
      ['CC-A', 'u1@example.com', SONNET, 'output', '3333', '0.003333', '0.00', '0.00', 'priced'],
      ['CC-B', 'u2@example.com', SONNET, 'input', '1000', '0.005', '0.01', '0.01', 'priced'],
      ['CC-B', 'u2@example.com', SONNET, 'output', '3333', '0.003333', '0.00', '0.00', 'priced'],
      ['CC-C', 'u3@example.com', SONNET, 'input', '1000', '0.005', '0.01', '0.01', 'priced'],
      ['CC-C', 'u3@example.com', SONNET, 'output', '3334', '0.003334', '0.00', '0.00', 'priced'],
      ['unattributed', 'u4@example.com', SONNET, 'input', '2000', '0.01', '0.01', '0.01', 'priced'],
    ]);
    const cents = (col: string) => rows.reduce((n, r) => n + parseDecimal(r[col]!, 2), 0n);
    expect(cents('BilledCost')).toBe(4n);
    expect(cents('ListCost')).toBe(41n);
    // FOCUS columns filled from what is true of the config and the data.
    const u1in = rows[1]!;
    expect(u1in).toMatchObject({
      EffectiveCost: '0.01',
      ContractedCost: '0.01',
      ListUnitPrice: '5.00',
      ContractedUnitPrice: '5.00',
      PricingQuantity: '0.001',
      PricingUnit: '1000000 Tokens',
      ConsumedUnit: 'Tokens',
      BillingCurrency: 'USD',
      BillingPeriodStart: '2026-10-01T00:00:00Z',
      BillingPeriodEnd: '2026-11-01T00:00:00Z',
      ChargePeriodStart: '2026-10-01T00:00:00Z',
      ChargePeriodEnd: '2026-11-01T00:00:00Z',
      ChargeCategory: 'Usage',
      ChargeClass: '',
      ChargeFrequency: 'Usage-Based',
      ServiceName: 'Amazon Bedrock',
      ServiceCategory: 'AI and Machine Learning',
      ProviderName: 'AWS',
      PublisherName: 'Anthropic',
      InvoiceIssuerName: 'AWS',
      BillingAccountId: '123456789012',
      BillingAccountName: 'Engineering (AWS payer)',
      x_Team: 'alpha',
      x_PriceTableVersion: 'list-2026-10',
      x_PriceModelPattern: '*claude-sonnet-4*',
      x_Revision: '1',
    });
    expect(u1in.ChargeDescription).toBe(
      `Claude Code usage: 1000 input tokens of ${SONNET} at 5.00 USD per million tokens (price table list-2026-10, pattern *claude-sonnet-4*)`,
    );
    // The unpriced model: not billed, its reported cost as ListCost, no unit price, the direct API's provider.
    expect(rows[0]).toMatchObject({
      ListUnitPrice: '',
      ProviderName: 'Anthropic',
      ServiceName: 'Claude API',
      x_ListCostExact: '0.37',
      x_PriceTableVersion: '',
    });

    // Proportional allocation of the unattributed cent: CC-A, CC-B, CC-C have a cent each, so a third
    // of a cent each, and the whole cent goes to the first.
    expect(csv(store, `${REV1}summary.csv`)).toEqual([
      {
        month: '2026-10',
        revision: '1',
        cost_center: 'CC-A',
        direct_cost: '0.01',
        allocated_cost: '0.01',
        total_cost: '0.02',
        change: '0.02',
        currency: 'USD',
        allocation_rule: 'proportional',
      },
      {
        month: '2026-10',
        revision: '1',
        cost_center: 'CC-B',
        direct_cost: '0.01',
        allocated_cost: '0.00',
        total_cost: '0.01',
        change: '0.01',
        currency: 'USD',
        allocation_rule: 'proportional',
      },
      {
        month: '2026-10',
        revision: '1',
        cost_center: 'CC-C',
        direct_cost: '0.01',
        allocated_cost: '0.00',
        total_cost: '0.01',
        change: '0.01',
        currency: 'USD',
        allocation_rule: 'proportional',
      },
      {
        month: '2026-10',
        revision: '1',
        cost_center: 'unattributed',
        direct_cost: '0.01',
        allocated_cost: '-0.01',
        total_cost: '0.00',
        change: '0.00',
        currency: 'USD',
        allocation_rule: 'proportional',
      },
    ]);

    const manifest = JSON.parse(text(store, `${REV1}manifest.json`));
    expect(manifest).toMatchObject({
      kind: 'cclake.chargeback',
      focus_version: '1.2',
      month: '2026-10',
      revision: 1,
      status: 'closed',
      generated_at: '2026-11-05T10:00:00Z',
      previous_revision: null,
      allocation_rule: 'proportional',
      price_table: { configured_version: 'list-2026-10', versions_used: ['list-2026-10'] },
      rows: { focus: 8, usage: 8, adjustment: 0, summary: 4, unpriced_lines: 1 },
      totals: {
        billed_cost: '0.04',
        cumulative_billed_cost: '0.04',
        lake_priced_cost: '0.04',
        lake_priced_cost_exact: '0.035',
        difference: '0.00',
        tokens: '15015',
        token_burn_daily: { tokens: '15015', priced_cost_usd: '0.035' },
      },
      unpriced: { lines: 1, tokens: '15', reported_cost: '0.37', models: [OPUS] },
    });
    expect(manifest.sql.models).toEqual([expect.objectContaining({ file: 'sql/models/V054__chargeback_daily.sql', version: 54 })]);
    expect(manifest.sql.queries.map((q: { file: string }) => q.file)).toEqual([
      'sql/exports/chargeback_detail.sql',
      'sql/exports/chargeback_total.sql',
      'sql/exports/chargeback_crosscheck.sql',
    ]);
    expect(manifest.files.map((f: { name: string }) => f.name)).toEqual(['focus.csv', 'focus.parquet', 'summary.csv']);

    // The Parquet detail holds the same lines and cents as the CSV.
    const duck = await DuckDBEngine.open();
    try {
      const pq = path.join(store.root, `${REV1}focus.parquet`);
      expect(
        (
          await duck.query(
            `SELECT count(*) AS n, CAST(sum(BilledCost) AS VARCHAR) AS billed, CAST(sum(ListCost) AS VARCHAR) AS list FROM read_parquet(${sqlString(pq)})`,
          )
        ).rows,
      ).toEqual([{ n: 8, billed: '0.04', list: '0.41' }]);
    } finally {
      duck.close();
    }
  });

  it('is immutable: a re-run writes nothing, and the same lake elsewhere gives byte-identical files', async () => {
    const store = await fixtureLake();
    await runExport(store);
    const before = await snapshot(store, 'exports/');
    const again = await runExport(store, { now: NOW + 86_400_000 });
    expect(again).toMatchObject({ status: 'unchanged', revision: 1, location: REV1 });
    // The latest revision rebuilt from the lake gives the stored bytes (no "rebuilding" warning).
    expect(again.warnings.filter((w) => /rebuilding/.test(w))).toEqual([]);
    expect(await snapshot(store, 'exports/')).toEqual(before);
    // An independent lake with the same telemetry and the same clock: the same bytes, file for file.
    const other = await fixtureLake();
    await runExport(other);
    const rel = (snap: Record<string, string>) => Object.values(snap);
    expect(rel(await snapshot(other, 'exports/'))).toEqual(rel(before));
    expect((await verifyExports(store)).problems).toEqual([]);
  });

  it('turns data that arrived after the close into revision 2 of Adjustment rows, leaving revision 1 as it was', async () => {
    const store = await fixtureLake();
    await runExport(store);
    const rev1 = await snapshot(store, REV1);
    // u2 sends 2000 more input tokens on 2026-10-20, arriving in November.
    await putRaw(store, '2026-11-06T08:05:00Z', [sonnet('2026-10-20T10:00:00Z', 'u2', 2000, 0)]);
    await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-06T09:00:00Z') });
    // Compacted but not rolled up: the export refuses to bill stale numbers.
    await expect(runExport(store, { now: Date.parse('2026-11-06T09:30:00Z') })).rejects.toThrow(RollupBehindError);
    await expect(runExport(store, { now: Date.parse('2026-11-06T09:30:00Z') })).rejects.toThrow(
      /the rollup is behind for 2026-10: chargeback_daily has no rollup of 2026-10-20/,
    );
    await rollupLake(store, Date.parse('2026-11-06T10:00:00Z'));

    const s = await runExport(store, { now: Date.parse('2026-11-06T11:00:00Z') });
    expect(s).toMatchObject({ status: 'written', revision: 2, location: REV2, rows: 1, adjustmentRows: 1 });
    expect(s.totals).toMatchObject({
      billedCost: '0.01',
      cumulativeBilledCost: '0.05',
      lakePricedCost: '0.05',
      lakePricedCostExact: '0.045',
      difference: '0.00',
    });
    const adj = csv(store, `${REV2}focus.csv`);
    expect(adj).toHaveLength(1);
    expect(adj[0]).toMatchObject({
      ChargeCategory: 'Adjustment',
      ChargeClass: 'Correction',
      BilledCost: '0.01',
      ListCost: '0.01',
      ConsumedQuantity: '2000',
      PricingQuantity: '0.002',
      x_BilledCostExact: '0.01',
      x_UserKey: 'u2@example.com',
      x_CostCenter: 'CC-B',
      x_TokenType: 'input',
      x_Revision: '2',
      // Billed in the month the correction is issued; charged to the month the cost was incurred.
      BillingPeriodStart: '2026-11-01T00:00:00Z',
      BillingPeriodEnd: '2026-12-01T00:00:00Z',
      ChargePeriodStart: '2026-10-01T00:00:00Z',
      ChargePeriodEnd: '2026-11-01T00:00:00Z',
    });
    expect(adj[0]!.ChargeDescription).toMatch(/^Correction in revision 2 \(data that arrived after the close\): \+2000 input tokens of /);
    // The summary is the month as billed now: CC-B has the largest direct cost, so the unattributed
    // cent (a quarter, a half, a quarter by direct cost) is now allocated to it, not to CC-A.
    expect(csv(store, `${REV2}summary.csv`).map((r) => [r.cost_center, r.direct_cost, r.allocated_cost, r.total_cost, r.change])).toEqual([
      ['CC-A', '0.01', '0.00', '0.01', '-0.01'],
      ['CC-B', '0.02', '0.01', '0.03', '0.02'],
      ['CC-C', '0.01', '0.00', '0.01', '0.00'],
      ['unattributed', '0.01', '-0.01', '0.00', '0.00'],
    ]);
    const m2 = JSON.parse(text(store, `${REV2}manifest.json`));
    expect(m2.previous_revision).toEqual({ revision: 1, manifest_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(m2.billing_period).toEqual({ start: '2026-11-01T00:00:00Z', end: '2026-12-01T00:00:00Z' });
    // Revision 1 is byte for byte what it was; nothing more to bill on another run.
    expect(await snapshot(store, REV1)).toEqual(rev1);
    expect(await runExport(store, { now: Date.parse('2026-11-07T00:00:00Z') })).toMatchObject({ status: 'unchanged', revision: 2 });
    expect((await verifyExports(store)).problems).toEqual([]);
  });

  /** Revision 1 of 2026-10 exported on 2026-11-05, then u2's 2026-10-20 usage arrives, compacted and rolled up on 2026-11-06. */
  async function lakeWithLateData(): Promise<LocalObjectStore> {
    const store = await fixtureLake();
    await runExport(store);
    await putRaw(store, '2026-11-06T08:05:00Z', [sonnet('2026-10-20T10:00:00Z', 'u2', 2000, 0)]);
    await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-06T09:00:00Z') });
    await rollupLake(store, Date.parse('2026-11-06T10:00:00Z'));
    return store;
  }
  const DEC_5 = Date.parse('2026-12-05T10:00:00Z');

  it('revisits the months before the last closed one: late data in 2026-10 becomes revision 2 on the run of 2026-12-05', async () => {
    const store = await lakeWithLateData();
    const engine = await LocalQueryEngine.open(store, config);
    try {
      const run = await exportChargebackMonths(store, engine, config, { now: DEC_5 });
      expect(run.failed).toEqual([]);
      // 2026-11 closes (always exported: an empty revision 1), then chargeback.revisitMonths = 2 months
      // back; 2026-09 has no data and no revision and is skipped.
      expect(run.months.map((m) => [m.month, m.status, m.revision])).toEqual([
        ['2026-11', 'written', 1],
        ['2026-10', 'written', 2],
        ['2026-09', 'no data', null],
      ]);
      expect(run.months[1]).toMatchObject({ location: REV2, rows: 1, adjustmentRows: 1 });
      expect(await listAll(store, 'exports/chargeback/month=2026-09/')).toEqual([]);
      // --month (the event's { month }) is that month only.
      const one = await exportChargebackMonths(store, engine, config, { now: DEC_5, month: '2026-10' });
      expect(one.months.map((m) => [m.month, m.status, m.revision])).toEqual([['2026-10', 'unchanged', 2]]);
    } finally {
      engine.close();
    }
  });

  describe('cclake export chargeback without --month', () => {
    afterEach(() => vi.useRealTimers());

    it('revisits like the scheduled function: the late data of 2026-10 becomes revision 2', async () => {
      const store = await lakeWithLateData();
      const cfg = path.join(tmp.make(), 'cclake.config.json');
      writeFileSync(cfg, JSON.stringify(CONFIG_INPUT));
      const out: string[] = [];
      const err: string[] = [];
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(DEC_5);
      expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root], { out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(0);
      const text = out.join('\n');
      expect(text).toMatch(/^chargeback 2026-11: revision 1 written \(0 line\(s\)\)/m);
      expect(text).toMatch(
        /^chargeback 2026-10: revision 2 written \(1 adjustment line\(s\) for data that arrived after the close\) at file:\/\/.*\/exports\/chargeback\/month=2026-10\/rev=002\/$/m,
      );
      expect(text).toMatch(/^chargeback 2026-09: no data and no revision yet; nothing written$/m);
      expect(JSON.parse(readFileSync(path.join(store.root, REV2, 'manifest.json'), 'utf8'))).toMatchObject({ revision: 2 });
    });
  });

  it('fails loudly, naming the month, both totals and the difference, and writes nothing when the lake disagrees', async () => {
    const store = await fixtureLake();
    // A lake total one cent off (as if rows were lost between the rollup and the export).
    const sqlDir = tmp.make();
    cpSync(SQL_DIR, sqlDir, { recursive: true });
    const totalSql = path.join(sqlDir, 'exports', 'chargeback_total.sql');
    writeFileSync(totalSql, readFileSync(totalSql, 'utf8').replace(') AS VARCHAR) AS priced_cost_usd_e6', ') + 10000 AS VARCHAR) AS priced_cost_usd_e6'));
    const failed = runExport(store, { sqlDir });
    await expect(failed).rejects.toThrow(ReconciliationError);
    await expect(runExport(store, { sqlDir })).rejects.toThrow(
      "chargeback 2026-10 does not reconcile: the export's total is 0.04 USD (exact 0.035), the lake's priced cost is 0.05 USD (exact 0.045), a difference of -0.01 USD; nothing was written",
    );
    expect(await listAll(store, 'exports/')).toEqual([]);
  });

  it('refuses an open month (or exports a preliminary snapshot), and the CLI reports it with exit codes 2 and 0', async () => {
    const store = await fixtureLake();
    await expect(runExport(store, { now: Date.parse('2026-10-31T23:59:59Z') })).rejects.toThrow(MonthNotClosedError);
    await expect(runExport(store, { now: Date.parse('2026-10-31T23:59:59Z') })).rejects.toThrow(
      /month 2026-10 is not closed: it ends at 2026-11-01T00:00:00Z \(reporting time zone UTC\)/,
    );
    const pre = await runExport(store, { now: Date.parse('2026-10-20T00:00:00Z'), preliminary: true });
    expect(pre).toMatchObject({ status: 'preliminary', revision: 0, location: 'exports/chargeback/month=2026-10/preliminary/', rows: 8 });
    expect(JSON.parse(text(store, 'exports/chargeback/month=2026-10/preliminary/manifest.json'))).toMatchObject({ status: 'preliminary', revision: 0 });

    // The CLI on the same lake (the clock is today's: 2026-10 is closed).
    const cfg = path.join(tmp.make(), 'cclake.config.json');
    writeFileSync(cfg, JSON.stringify(CONFIG_INPUT));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root, '--month', '2026-10'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/chargeback 2026-10: revision 1 written \(8 line\(s\)\) at file:\/\/.*\/exports\/chargeback\/month=2026-10\/rev=001\//);
    expect(out.join('\n')).toMatch(/billed 0\.04 USD in all, list 0\.41 USD; lake priced cost 0\.04 USD \(exact 0\.035\): reconciled, difference 0\.00/);
    out.length = 0;
    expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root, '--month', '2026-10'], io)).toBe(0);
    expect(out[0]).toMatch(/^chargeback 2026-10: unchanged, revision 1 \(nothing written\)/);
    expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root, '--month', '2999-01'], io)).toBe(2);
    expect(err.at(-1)).toMatch(/^cclake: month 2999-01 is not closed/);
    expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root, '--month', '2026-13'], io)).toBe(2);

    // verify: intact, then one changed byte in revision 1's CSV is named (exit 1).
    out.length = 0;
    expect(await main(['export', 'verify', '--lake', store.root], io)).toBe(0);
    const file = path.join(store.root, REV1, 'focus.csv');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 1;
    chmodSync(file, 0o644);
    writeFileSync(file, bytes);
    expect(await main(['export', 'verify', '--lake', store.root], io)).toBe(1);
    expect(err.at(-1)).toMatch(
      /^cclake: verification failed \(1 problem\(s\)\); first: chargeback 2026-10 revision 1 \(.*rev=001\/\): focus\.csv changed: sha256 [0-9a-f]{64}/,
    );
    // ...and the export refuses to build a revision on it.
    expect(await main(['export', 'chargeback', '--config', cfg, '--lake', store.root, '--month', '2026-10'], io)).toBe(1);
    expect(err.at(-1)).toMatch(/revision 1: focus\.csv does not match its manifest/);
  });
});
