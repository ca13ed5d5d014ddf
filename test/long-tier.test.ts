/**
 * The long-context tier (issue 18 section 1): every rollup and the chargeback price each
 * api_request at its tier, on a hand-built lake compacted and rolled up with the default book.
 *
 * Book prices (USD per million tokens: input / output / cache read / cache write 5 min):
 *  - claude-sonnet-4-5 (Anthropic API): standard 3 / 15 / 0.3 / 3.75; long 6 / 22.5 / 0.6 / 7.5 for a
 *    request whose input + cache read + cache creation tokens exceed 200,000;
 *  - claude-haiku-4-5 (Anthropic API): 1 / 5 / 0.1 / 1.25, no long-context price.
 *
 * On 2026-10-05 (reporting time zone UTC), `in / out / cache read / cache creation`:
 *  u1 (alpha, CC-A), sonnet, session s1:
 *   a) 1,000 / 500 / 199,000 / 0: exactly 200,000 input-side tokens: standard
 *      1,000 x 3 + 500 x 15 + 199,000 x 0.3 = 3,000 + 7,500 + 59,700 = 70,200 -> 0.0702
 *   b) 1,001 / 500 / 199,000 / 0: 200,001: long
 *      1,001 x 6 + 500 x 22.5 + 199,000 x 0.6 = 6,006 + 11,250 + 119,400 = 136,656 -> 0.136656
 *   c) 10,000 / 2,000 / 0 / 300,000: long
 *      10,000 x 6 + 2,000 x 22.5 + 300,000 x 7.5 = 60,000 + 45,000 + 2,250,000 -> 2.355
 *  u2 (beta, CC-B):
 *   d) haiku, 1,000 / 1,000 / 250,000 / 0: above 200,000 but haiku has no long price: standard
 *      1,000 x 1 + 1,000 x 5 + 250,000 x 0.1 = 1,000 + 5,000 + 25,000 -> 0.031
 *   e) sonnet, 2,000 / 100 / 0 / 0: standard 6,000 + 1,500 -> 0.0075
 *   f) sonnet, session s3 with no api_request: token.usage input 300,000 (delta): standard, as
 *      token.usage datapoints carry no request to measure: 300,000 x 3 -> 0.9
 * u1 2.561856, u2 0.9385, the month 3.500356 USD. At the standard tier only (the old rollups) u1
 * would be 12,001 x 3 + 3,000 x 15 + 398,000 x 0.3 + 300,000 x 3.75 = 1,325,403 -> 1.325403.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { sha256Hex } from '../functions/lib/exports/digest';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { exportChargeback } from '../functions/lib/jobs/chargeback';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { PriceBook } from '../functions/lib/prices/book';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-long-tier-test-');
afterAll(() => tmp.cleanup());

const DAY = '2026-10-05';
const SONNET = 'claude-sonnet-4-5-20250929';
const HAIKU = 'claude-haiku-4-5-20251001';
const config = parseConfig({ chargeback: { billingAccountId: 'acct', billingAccountName: 'Engineering' } });

const request = (min: number, user: string, model: string, session: string, t: [number, number, number, number]) =>
  rec(`${DAY}T09:${String(min).padStart(2, '0')}:00Z`, user, {
    session_id: session,
    model,
    input_tokens: t[0],
    output_tokens: t[1],
    cache_read_tokens: t[2],
    cache_creation_tokens: t[3],
    cost_usd: 0.01,
  });

async function lake(rows = LAKE): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    'user_email,user_id,team,department,cost_center,valid_from,valid_to\nu1@example.com,u1,alpha,eng,CC-A,2026-01-01,\nu2@example.com,u2,beta,eng,CC-B,2026-01-01,\n',
  );
  await putRaw(store, `${DAY}T12:05:00Z`, rows());
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  await compact(store, catalog, config, { now: Date.parse(`${DAY}T13:00:00Z`) });
  await rollupAt(store, Date.parse('2026-10-06T02:00:00Z'));
  return store;
}

async function rollupAt(store: LocalObjectStore, now: number): Promise<void> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, new LocalCatalog(store, config.aws.glueDatabase), engine, config, { now });
  } finally {
    engine.close();
  }
}

async function exportAt(store: LocalObjectStore, now: number) {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return await exportChargeback(store, engine, config, { month: '2026-10', now });
  } finally {
    engine.close();
  }
}

const focusRows = (store: LocalObjectStore, rev: number) =>
  parse(readFileSync(path.join(store.root, `exports/chargeback/month=2026-10/rev=00${rev}/focus.csv`), 'utf8'), { columns: true }) as Record<string, string>[];

const LAKE = () => [
  request(0, 'u1', SONNET, 's1', [1_000, 500, 199_000, 0]),
  request(1, 'u1', SONNET, 's1', [1_001, 500, 199_000, 0]),
  request(2, 'u1', SONNET, 's1', [10_000, 2_000, 0, 300_000]),
  request(3, 'u2', HAIKU, 's2', [1_000, 1_000, 250_000, 0]),
  request(4, 'u2', SONNET, 's2', [2_000, 100, 0, 0]),
  rec(`${DAY}T09:05:00Z`, 'u2', {
    signal: 'metric',
    name: 'claude_code.token.usage',
    session_id: 's3',
    model: SONNET,
    metric_type: 'input',
    value: 300_000,
    temporality: 'delta',
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
  }),
];

async function query(store: LocalObjectStore, sql: string): Promise<Record<string, unknown>[]> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return (await engine.query(sql)).rows;
  } finally {
    engine.close();
  }
}

/** Rounded to a billionth of a dollar: the rollups keep DOUBLE costs. */
const usd = (v: unknown) => (v === null ? null : Math.round(Number(v) * 1e9) / 1e9);
const tokens = (v: unknown) => Number(v);

describe('the long-context tier', () => {
  it('the prices seed carries both tiers: long prices and the threshold where the book has a long row, the standard prices and no threshold where not', () => {
    const rows = PriceBook.fromConfig(config).seedRows([SONNET, HAIKU]);
    const at = (id: string) => rows.find((r) => r.model_like === id && r.valid_to === null)!;
    expect(at(SONNET)).toMatchObject({
      input: 3,
      long_above_tokens: 200_000,
      long_input: 6,
      long_output: 22.5,
      long_cache_read: 0.6,
      long_cache_creation: 7.5,
    });
    expect(at(HAIKU)).toMatchObject({ input: 1, long_above_tokens: null, long_input: 1, long_output: 5, long_cache_read: 0.1, long_cache_creation: 1.25 });
    // An override row is a flat rate unless it gives long prices.
    const override = (long?: object) =>
      PriceBook.fromConfig(
        parseConfig({
          prices: {
            rows: [{ model: '*sonnet*', validFrom: '2026-01-01', input: 2, output: 10, cacheRead: 0.2, cacheCreation: 2.5, ...(long ? { long } : {}) }],
          },
        }),
      )
        .seedRows([SONNET])
        .find((r) => r.valid_to === null)!;
    expect(override()).toMatchObject({ input: 2, long_above_tokens: null, long_input: 2, long_cache_creation: 2.5 });
    expect(override({ input: 4, output: 15, cacheRead: 0.4, cacheCreation: 5 })).toMatchObject({
      input: 2,
      long_above_tokens: 200_000,
      long_input: 4,
      long_output: 15,
      long_cache_read: 0.4,
      long_cache_creation: 5,
    });
  });

  it('token_burn_daily, token_burn_by_source_daily, user_daily and the chargeback price each request at its tier; token counts unchanged', async () => {
    const store = await lake();

    const burn = await query(
      store,
      `SELECT team, model, token_type, tokens, priced_cost_usd FROM token_burn_daily WHERE dt = DATE '${DAY}' ORDER BY team, model, token_type`,
    );
    expect(burn.map((r) => [r.team, r.model, r.token_type, tokens(r.tokens), usd(r.priced_cost_usd)])).toEqual([
      // 3,000 + 7,500 + 59,700 (a, standard) + 6,006 + 11,250 + 119,400 (b, long) + 60,000 + 45,000 + 2,250,000 (c, long)
      ['alpha', SONNET, 'cache_creation', 300_000, 2.25], // 300,000 x 7.5 (c)
      ['alpha', SONNET, 'cache_read', 398_000, 0.1791], // 199,000 x 0.3 (a) + 199,000 x 0.6 (b) = 59,700 + 119,400
      ['alpha', SONNET, 'input', 12_001, 0.069006], // 1,000 x 3 + 1,001 x 6 + 10,000 x 6 = 3,000 + 6,006 + 60,000
      ['alpha', SONNET, 'output', 3_000, 0.06375], // 500 x 15 + 500 x 22.5 + 2,000 x 22.5 = 7,500 + 11,250 + 45,000
      ['beta', HAIKU, 'cache_read', 250_000, 0.025], // standard: haiku has no long price
      ['beta', HAIKU, 'input', 1_000, 0.001],
      ['beta', HAIKU, 'output', 1_000, 0.005],
      ['beta', SONNET, 'input', 302_000, 0.906], // 2,000 x 3 (e) + 300,000 x 3 (f: token.usage, standard)
      ['beta', SONNET, 'output', 100, 0.0015],
    ]);

    const bySource = await query(
      store,
      `SELECT team, model, token_type, sum(tokens) AS tokens, sum(priced_cost_usd) AS priced FROM token_burn_by_source_daily WHERE dt = DATE '${DAY}' GROUP BY team, model, token_type ORDER BY team, model, token_type`,
    );
    expect(bySource.map((r) => [r.team, r.model, r.token_type, tokens(r.tokens), usd(r.priced)])).toEqual(
      burn.map((r) => [r.team, r.model, r.token_type, tokens(r.tokens), usd(r.priced_cost_usd)]),
    );

    const users = await query(
      store,
      `SELECT user_key, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, priced_cost_usd FROM user_daily WHERE dt = DATE '${DAY}' ORDER BY user_key`,
    );
    expect(
      users.map((r) => [
        r.user_key,
        tokens(r.input_tokens),
        tokens(r.output_tokens),
        tokens(r.cache_read_tokens),
        tokens(r.cache_creation_tokens),
        usd(r.priced_cost_usd),
      ]),
    ).toEqual([
      ['u1@example.com', 12_001, 3_000, 398_000, 300_000, 2.561856], // 0.0702 + 0.136656 + 2.355
      ['u2@example.com', 303_000, 1_100, 250_000, 0, 0.9385], // 1,000 + 2,000 + 300,000 in; 0.031 + 0.0075 + 0.9
    ]);

    // intraday_user_daily (`rollup --intraday`) counts and prices the day as user_daily does.
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    const engine0 = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine0, config, { intraday: true, dt: DAY, now: Date.parse('2026-10-06T02:05:00Z') });
    } finally {
      engine0.close();
    }
    const intraday = await query(store, `SELECT user_key, priced_cost_usd FROM intraday_user_daily WHERE dt = DATE '${DAY}' ORDER BY user_key`);
    expect(intraday.map((r) => [r.user_key, usd(r.priced_cost_usd)])).toEqual([
      ['u1@example.com', 2.561856],
      ['u2@example.com', 0.9385],
    ]);

    // chargeback_daily: one row per developer, model and tier, with the tier's unit prices.
    const daily = await query(
      store,
      `SELECT user_key, model, price_tier, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, price_input, price_output, price_cache_read, price_cache_creation FROM chargeback_daily WHERE dt = DATE '${DAY}' ORDER BY user_key, model, price_tier`,
    );
    expect(daily.map((r) => Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v)))).toEqual([
      ['u1@example.com', SONNET, 'long', 11_001, 2_500, 199_000, 300_000, 6, 22.5, 0.6, 7.5], // b + c
      ['u1@example.com', SONNET, 'standard', 1_000, 500, 199_000, 0, 3, 15, 0.3, 3.75], // a
      ['u2@example.com', HAIKU, 'standard', 1_000, 1_000, 250_000, 0, 1, 5, 0.1, 1.25], // d
      ['u2@example.com', SONNET, 'standard', 302_000, 100, 0, 0, 3, 15, 0.3, 3.75], // e + f
    ]);

    // The export: exact integer tokens x decimal prices, reconciled to token_burn_daily to the cent.
    const engine = await LocalQueryEngine.open(store, config);
    let s: Awaited<ReturnType<typeof exportChargeback>>;
    try {
      s = await exportChargeback(store, engine, config, { month: '2026-10', now: Date.parse('2026-11-05T10:00:00Z') });
    } finally {
      engine.close();
    }
    // Tokens: u1 12,001 + 3,000 + 398,000 + 300,000 = 713,001; u2 303,000 + 1,100 + 250,000 = 554,100.
    expect(s.totals).toMatchObject({ lakePricedCostExact: '3.500356', cumulativeBilledCost: '3.50', difference: '0.00', tokens: '1267101' });
    const rows = parse(readFileSync(path.join(store.root, 'exports/chargeback/month=2026-10/rev=001/focus.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows.map((r) => [r.x_UserKey, r.x_Model, r.x_TokenType, r.x_PriceTier, r.ConsumedQuantity, r.ListUnitPrice, r.x_BilledCostExact])).toEqual([
      ['u1@example.com', SONNET, 'input', 'standard', '1000', '3.00', '0.003'],
      ['u1@example.com', SONNET, 'input', 'long', '11001', '6.00', '0.066006'],
      ['u1@example.com', SONNET, 'output', 'standard', '500', '15.00', '0.0075'],
      ['u1@example.com', SONNET, 'output', 'long', '2500', '22.50', '0.05625'],
      ['u1@example.com', SONNET, 'cache_read', 'standard', '199000', '0.30', '0.0597'],
      ['u1@example.com', SONNET, 'cache_read', 'long', '199000', '0.60', '0.1194'],
      ['u1@example.com', SONNET, 'cache_creation', 'long', '300000', '7.50', '2.25'],
      ['u2@example.com', HAIKU, 'input', 'standard', '1000', '1.00', '0.001'],
      ['u2@example.com', HAIKU, 'output', 'standard', '1000', '5.00', '0.005'],
      ['u2@example.com', HAIKU, 'cache_read', 'standard', '250000', '0.10', '0.025'],
      ['u2@example.com', SONNET, 'input', 'standard', '302000', '3.00', '0.906'],
      ['u2@example.com', SONNET, 'output', 'standard', '100', '15.00', '0.0015'],
    ]);
    expect(rows.find((r) => r.x_PriceTier === 'long' && r.x_TokenType === 'input')!.ChargeDescription).toBe(
      `Claude Code usage: 11001 input tokens of ${SONNET} in long-context requests (above 200000 input tokens) at 6.00 USD per million tokens (price table list-2026-12-05, pattern claude-sonnet-4-5, long-context tier)`,
    );
    // 3,000 + 66,006 + 7,500 + 56,250 + 59,700 + 119,400 + 2,250,000 + 1,000 + 5,000 + 25,000 + 906,000 + 1,500 = 3,500,356 millionths
    expect(rows.reduce((n, r) => n + Math.round(Number(r.x_BilledCostExact) * 1e6), 0)).toBe(3_500_356);
  });
  it('reads a revision written before x_PriceTier: its standard lines keep their keys, late long-context tokens make long adjustment lines only', async () => {
    // Revision 1 of a month with standard requests only (a, e), as a cclake without tiers wrote it: no x_PriceTier column.
    const store = await lake(() => [request(0, 'u1', SONNET, 's1', [1_000, 500, 199_000, 0]), request(4, 'u2', SONNET, 's2', [2_000, 100, 0, 0])]);
    expect(await exportAt(store, Date.parse('2026-11-05T10:00:00Z'))).toMatchObject({ status: 'written', revision: 1 });
    const rev1 = 'exports/chargeback/month=2026-10/rev=001/';
    const old = focusRows(store, 1);
    const keep = Object.keys(old[0]!).filter((c) => c !== 'x_PriceTier');
    const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const body = `${[keep.join(','), ...old.map((r) => keep.map((c) => cell(r[c]!)).join(','))].join('\n')}\n`;
    writeFileSync(path.join(store.root, `${rev1}focus.csv`), body);
    const manifestFile = path.join(store.root, `${rev1}manifest.json`);
    const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const entry = m.files.find((f: { name: string }) => f.name === 'focus.csv');
    entry.sha256 = sha256Hex(new TextEncoder().encode(body));
    entry.bytes = Buffer.byteLength(body);
    writeFileSync(manifestFile, `${JSON.stringify(m, null, 2)}\n`);

    // Late data: request b (200,001 input-side tokens, long) arrives after the close.
    await putRaw(store, '2026-11-06T08:05:00Z', [request(1, 'u1', SONNET, 's1', [1_001, 500, 199_000, 0])]);
    await compact(store, new LocalCatalog(store, config.aws.glueDatabase), config, { now: Date.parse('2026-11-06T09:00:00Z') });
    await rollupAt(store, Date.parse('2026-11-06T10:00:00Z'));
    const r2 = await exportAt(store, Date.parse('2026-11-06T11:00:00Z'));
    // 0.0702 (a) + 0.0075 (e) + 0.136656 (b) = 0.214356
    expect(r2).toMatchObject({ status: 'written', revision: 2 });
    expect(r2.totals).toMatchObject({ lakePricedCostExact: '0.214356', cumulativeBilledCost: '0.21' });
    // Only b's tokens, at the long prices: no correction of the standard lines revision 1 billed.
    expect(focusRows(store, 2).map((r) => [r.ChargeCategory, r.x_TokenType, r.x_PriceTier, r.ConsumedQuantity, r.ListUnitPrice, r.x_BilledCostExact])).toEqual([
      ['Adjustment', 'input', 'long', '1001', '6.00', '0.006006'],
      ['Adjustment', 'output', 'long', '500', '22.50', '0.01125'],
      ['Adjustment', 'cache_read', 'long', '199000', '0.60', '0.1194'],
    ]);
  });
});
