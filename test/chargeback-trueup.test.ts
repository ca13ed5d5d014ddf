/**
 * The chargeback true-up (issue 18, part 2): with imported bills for the month, the export bills
 * what the bills say, split over the developers by priced usage share per model, and adds up to the
 * invoice to the cent. Real Parquet (the lake and the bill lines), real DuckDB, hand-computed cents.
 *
 * The hand-made lake (month 2026-10, reporting time zone UTC; price table: Sonnet input $5, output
 * $1 per million tokens, no price for Opus). On 2026-10-05, on Bedrock:
 *  - u1 (alpha, CC-A): Sonnet 1,000,000 input ($5.00); Opus 10 input + 5 output (not priced, reported $0.37)
 *  - u2 (beta, CC-B): Sonnet 2,000,000 input ($10.00)
 *  - u3 (gamma, CC-C): Sonnet 5,000,000 output ($5.00)
 *  - u4 (no cost center): Sonnet 1,000,000 output ($1.00)
 * Priced Sonnet: $21.00, shares 5/21, 10/21, 5/21, 1/21.
 *
 * The Bedrock bill, revision 1: Sonnet 6.0051 + 4.0049 = $10.01, Opus $3.33, Haiku 4.5 $0.25; $13.59.
 *   10.01 x 5/21 = 2.38333…, x 10/21 = 4.76666…, x 5/21 = 2.38333…, x 1/21 = 0.47666…: rounded down
 *   2.38 + 4.76 + 2.38 + 0.47 = 9.99, the two cents missing go to the largest remainders (u2, u4):
 *   2.38, 4.77, 2.38, 0.48. Opus has no priced usage (u1's is not priced), Haiku no usage at all: both
 *   stay on 'unallocated' lines, 3.33 and 0.25. In all 13.59, the invoice.
 * Revision 2 of the bill: Sonnet $12.00, Opus $3.33, no Haiku; $15.33. 12 x 5/21 = 2.857142857142857…
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { ALLOCATION_COLUMNS, FOCUS_COLUMNS, TRUE_UP_METHOD_ID } from '../schemas/focus';
import { printChargebackSummary } from '../functions/cli/export';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { BillLinesError, type BilledAmounts } from '../functions/lib/exports/billed';
import { linesFromDetail, monthBounds } from '../functions/lib/exports/chargeback-lines';
import { trueUp } from '../functions/lib/exports/true-up';
import { sha256Hex } from '../functions/lib/exports/digest';
import { EXACT_SCALE, formatCents, formatDecimal, parseDecimal } from '../functions/lib/exports/money';
import { exportChargeback, type ChargebackOptions } from '../functions/lib/jobs/chargeback';
import { compact } from '../functions/lib/jobs/compact';
import { verifyExports } from '../functions/lib/jobs/export-verify';
import { generate } from '../functions/lib/jobs/generate';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { billLines, putBillLines, type BillLine } from './helpers/bill-lines';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-trueup-test-');
afterAll(() => tmp.cleanup());

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0';
const config = parseConfig({
  prices: {
    book: 'none',
    version: 'list-2026-10',
    rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 5, output: 1, cacheRead: 0.3, cacheCreation: 3.75 }],
  },
  chargeback: { billingAccountId: '123456789012', billingAccountName: 'Engineering (AWS payer)' },
});
const NOW = Date.parse('2026-11-05T10:00:00Z');
const rev = (n: number) => `exports/chargeback/month=2026-10/rev=${String(n).padStart(3, '0')}/`;
const BILL_ID = 'bedrock:123456789012:2026-10';

const BILL_R1: BillLine[] = [
  { month: '2026-10', model: 'claude-sonnet-4-5', billed: '6.0051', tokenType: 'input' },
  { month: '2026-10', model: 'claude-sonnet-4-5', billed: '4.0049', tokenType: 'output' },
  { month: '2026-10', model: 'claude-opus-4-1', billed: '3.33' },
  { month: '2026-10', model: 'claude-haiku-4-5', billed: '0.25' },
];
const BILL_R2: BillLine[] = [
  { month: '2026-10', model: 'claude-sonnet-4-5', billed: '12.00', revision: 2 },
  { month: '2026-10', model: 'claude-opus-4-1', billed: '3.33', revision: 2 },
];

const sonnet = (user: string, input: number, output: number) =>
  rec('2026-10-05T09:00:00Z', user, { model: SONNET, input_tokens: input, output_tokens: output, cost_usd: 0.01, session_id: `s-${user}` });

async function fixtureLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  await store.put(
    'reference/org-directory.csv',
    new TextEncoder().encode(
      [
        'user_email,user_id,team,department,cost_center,valid_from,valid_to',
        'u1@example.com,u1,alpha,eng,CC-A,2026-01-01,',
        'u2@example.com,u2,beta,eng,CC-B,2026-01-01,',
        'u3@example.com,u3,gamma,eng,CC-C,2026-01-01,',
      ].join('\n') + '\n',
    ),
  );
  await putRaw(store, '2026-10-05T12:05:00Z', [
    sonnet('u1', 1_000_000, 0),
    rec('2026-10-05T09:01:00Z', 'u1', { model: OPUS, input_tokens: 10, output_tokens: 5, cost_usd: 0.37, session_id: 's-u1-opus' }),
    sonnet('u2', 2_000_000, 0),
    sonnet('u3', 0, 5_000_000),
    sonnet('u4', 0, 1_000_000),
  ]);
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  await compact(store, catalog, config, { now: Date.parse('2026-10-05T13:00:00Z') });
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalog, engine, config, { now: Date.parse('2026-10-06T02:00:00Z') });
  } finally {
    engine.close();
  }
  return store;
}

/** The export with `bill_lines` bound over the lake's bill files (unless `bills` is false: no such relation at all). */
async function runExport(store: LocalObjectStore, options: Partial<ChargebackOptions> & { bills?: boolean } = {}, c: Config = config) {
  const engine = await LocalQueryEngine.open(store, c);
  try {
    return await exportChargeback(store, engine, c, { month: '2026-10', now: NOW, ...options });
  } finally {
    engine.close();
  }
}

const text = (store: LocalObjectStore, key: string) => readFileSync(path.join(store.root, key), 'utf8');
const csv = (store: LocalObjectStore, key: string) => parse(text(store, key), { columns: true }) as Record<string, string>[];
const pick = (rows: Record<string, string>[], ...cols: string[]) => rows.map((r) => cols.map((c) => r[c]));
const sumCents = (rows: Record<string, string>[], col = 'BilledCost') => formatCents(rows.reduce((n, r) => n + parseDecimal(r[col]!, 2), 0n));
async function snapshot(store: LocalObjectStore, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const o of await listAll(store, prefix)) out[o.key] = readFileSync(path.join(store.root, o.key)).toString('base64');
  return out;
}
/** Exact billed amount per developer over revisions. */
function exactBy(rows: Record<string, string>[], key: (r: Record<string, string>) => string): Record<string, string> {
  const m = new Map<string, bigint>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0n) + parseDecimal(r.x_BilledCostExact!, EXACT_SCALE));
  return Object.fromEntries([...m].map(([k, v]) => [k, formatDecimal(v, EXACT_SCALE, 2)]));
}

describe('chargeback true-up', () => {
  it('bills the invoice to the cent, split by priced usage share per model, with unallocated lines and FOCUS 1.3 allocation columns', async () => {
    const store = await fixtureLake();
    await putBillLines(store, 'bedrock-2026-10-r1', billLines(BILL_R1));
    const s = await runExport(store);
    expect(s).toMatchObject({ status: 'written', revision: 1, rows: 7 });
    expect(s.totals).toMatchObject({ cumulativeBilledCost: '13.59', lakePricedCost: '21.00', difference: '-7.41' });
    expect(s.trueUp).toEqual({
      billedCost: '13.59',
      billedCostExact: '13.59',
      bills: [{ billId: BILL_ID, revision: 1, provider: 'bedrock' }],
      unallocated: { lines: 2, billedCostExact: '3.58', models: ['claude-haiku-4-5 (bedrock)', 'claude-opus-4-1 (bedrock)'] },
    });
    expect(s.warnings).toContain(
      "3.58 USD of the 2026-10 bill(s) has no priced usage to allocate it to (claude-haiku-4-5 (bedrock), claude-opus-4-1 (bedrock)): on 'unallocated' lines",
    );

    const rows = csv(store, `${rev(1)}focus.csv`);
    expect(Object.keys(rows[0]!)).toEqual(FOCUS_COLUMNS.map((c) => c.name));
    // The invoice, as text, to the cent.
    expect(sumCents(rows)).toBe('13.59');
    expect(
      pick(
        rows,
        'x_CostCenter',
        'x_UserKey',
        'x_Model',
        'x_TokenType',
        'x_PriceStatus',
        'x_BilledCostExact',
        'BilledCost',
        'ListCost',
        'ContractedCost',
        'ProviderName',
      ),
    ).toEqual([
      ['CC-A', 'u1@example.com', OPUS, 'all', 'unpriced', '0.00', '0.00', '0.37', '0.00', 'AWS'],
      ['CC-A', 'u1@example.com', SONNET, 'input', 'priced', '2.383333333333333', '2.38', '5.00', '5.00', 'AWS'],
      ['CC-B', 'u2@example.com', SONNET, 'input', 'priced', '4.766666666666667', '4.77', '10.00', '10.00', 'AWS'],
      ['CC-C', 'u3@example.com', SONNET, 'output', 'priced', '2.383333333333333', '2.38', '5.00', '5.00', 'AWS'],
      ['unattributed', 'u4@example.com', SONNET, 'output', 'priced', '0.476666666666667', '0.48', '1.00', '1.00', 'AWS'],
      ['unallocated', 'unallocated', 'claude-haiku-4-5', 'all', 'unallocated', '0.25', '0.25', '0.00', '0.25', 'AWS'],
      ['unallocated', 'unallocated', 'claude-opus-4-1', 'all', 'unallocated', '3.33', '3.33', '0.00', '3.33', 'AWS'],
    ]);
    // Per model, the exact shares add up to the bill exactly.
    const sonnetExact = rows.filter((r) => r.x_Model === SONNET).reduce((n, r) => n + parseDecimal(r.x_BilledCostExact!, EXACT_SCALE), 0n);
    expect(formatDecimal(sonnetExact, EXACT_SCALE, 2)).toBe('10.01');

    // FOCUS 1.3 allocation columns: the method, the ratio of the model's bill (adding up to 1), the developer.
    expect(rows[1]).toMatchObject({
      AllocatedMethodId: TRUE_UP_METHOD_ID,
      AllocatedResourceId: 'u1@example.com',
      AllocatedResourceName: 'u1@example.com (team alpha, cost center CC-A)',
      AllocatedTags: '{"cclake/CostCenter":"CC-A","cclake/Team":"alpha"}',
    });
    const details = rows.map((r) => (r.AllocatedMethodDetails ? JSON.parse(r.AllocatedMethodDetails) : null));
    expect(details[1]).toEqual({
      Elements: [{ AllocatedRatio: 0.238095238095, UsageUnit: 'USD', UsageQuantity: 5 }],
      x_Basis: "the line's priced cost (price book) as a share of its model's priced cost in the month",
      x_Origin: { Provider: 'bedrock', Model: 'claude-sonnet-4-5', BilledCost: '10.01', PricedCost: '21.00', Bills: [`${BILL_ID} rev 1`] },
    });
    // The ratios as written (decimal text in the JSON): 5/21, 10/21 (+1e-12 by largest remainder), 5/21, 1/21 = exactly 1.
    const ratios = rows.slice(1, 5).map((r) => /"AllocatedRatio":([0-9.]+)/.exec(r.AllocatedMethodDetails!)![1]!);
    expect(ratios).toEqual(['0.238095238095', '0.476190476191', '0.238095238095', '0.047619047619']);
    expect(
      formatDecimal(
        ratios.reduce((n, x) => n + parseDecimal(x, 12), 0n),
        12,
      ),
    ).toBe('1');
    // The unallocated part of a bill: no resource, the whole origin charge.
    expect(rows[6]).toMatchObject({ AllocatedMethodId: TRUE_UP_METHOD_ID, AllocatedResourceId: '', AllocatedResourceName: '', AllocatedTags: '' });
    expect(details[6].Elements).toEqual([{ AllocatedRatio: 1, UsageUnit: 'USD', UsageQuantity: 0 }]);
    expect(rows[6]!.ChargeDescription).toBe(
      `Billed 3.33 USD for claude-opus-4-1 (${BILL_ID} rev 1) with no priced Claude Code usage of the model in the month to allocate it to: unallocated`,
    );
    expect(rows[1]!.ChargeDescription).toBe(
      `Claude Code usage: 1000000 input tokens of ${SONNET} at 5.00 USD per million tokens (price table list-2026-10, pattern *claude-sonnet-4*); true-up: 0.238095238095 of the 10.01 USD billed for claude-sonnet-4-5 (${BILL_ID} rev 1), by priced usage`,
    );
    // u1's unpriced Opus usage is part of Opus's split, with no share.
    expect(details[0].Elements[0].AllocatedRatio).toBe(0);

    // The summary: the unattributed 0.48 shared by direct cost (largest remainder), the unallocated 3.58 kept on its own row.
    expect(pick(csv(store, `${rev(1)}summary.csv`), 'cost_center', 'direct_cost', 'allocated_cost', 'total_cost')).toEqual([
      ['CC-A', '2.38', '0.12', '2.50'],
      ['CC-B', '4.77', '0.24', '5.01'],
      ['CC-C', '2.38', '0.12', '2.50'],
      ['unattributed', '0.48', '-0.48', '0.00'],
      ['unallocated', '3.58', '0.00', '3.58'],
    ]);
    const manifest = JSON.parse(text(store, `${rev(1)}manifest.json`));
    expect(manifest.true_up).toEqual({
      method: TRUE_UP_METHOD_ID,
      bills: [{ bill_id: BILL_ID, revision: 1, provider: 'bedrock', billed_cost_exact: '13.59', lines: 4 }],
      providers: ['bedrock'],
      billed_cost: '13.59',
      billed_cost_exact: '13.59',
      unallocated: { lines: 2, billed_cost_exact: '3.58', models: ['claude-haiku-4-5 (bedrock)', 'claude-opus-4-1 (bedrock)'] },
    });
    expect(manifest.totals).toMatchObject({ billed_cost: '13.59', cumulative_billed_cost: '13.59', lake_priced_cost: '21.00', tokens: '9000015' });
    expect(manifest.sql.queries.map((q: { file: string }) => q.file)).toContain('sql/exports/chargeback_billed.sql');

    // The Parquet detail holds the same cents; the CLI says what was allocated.
    const duck = await DuckDBEngine.open();
    try {
      const r = await duck.query(
        `SELECT CAST(sum(BilledCost) AS VARCHAR) AS billed, count(AllocatedMethodId) AS allocated FROM read_parquet(${sqlString(path.join(store.root, `${rev(1)}focus.parquet`))})`,
      );
      expect(r.rows).toEqual([{ billed: '13.59', allocated: 7 }]);
    } finally {
      duck.close();
    }
    const out: string[] = [];
    printChargebackSummary({ out: (x) => out.push(x), err: () => {} }, 'file:///lake/', s);
    expect(out[1]).toBe(
      `  billed 13.59 USD in all: the bills' 13.59 USD (${BILL_ID} rev 1) allocated by priced usage share; list 21.37 USD; lake priced cost 21.00 USD (exact 21.00), billed minus priced -7.41`,
    );
    expect(out[2]).toBe('  unallocated: 3.58 USD billed for claude-haiku-4-5 (bedrock), claude-opus-4-1 (bedrock) with no priced usage');

    // The same bill again: nothing to write, and revision 1 rebuilds from the lake and the bill byte for byte.
    const again = await runExport(store, { now: NOW + 86_400_000 });
    expect(again).toMatchObject({ status: 'unchanged', revision: 1 });
    expect(again.warnings.filter((w) => /rebuilding/.test(w))).toEqual([]);
    expect((await verifyExports(store)).problems).toEqual([]);
  });

  it('turns a bill that arrives after the close, then its revision, into new revisions of Adjustment rows that add up to each invoice', async () => {
    const store = await fixtureLake();
    // Closed without a bill: the priced cost.
    const r1 = await runExport(store);
    expect(r1).toMatchObject({ revision: 1, trueUp: null });
    expect(sumCents(csv(store, `${rev(1)}focus.csv`))).toBe('21.00');
    expect(csv(store, `${rev(1)}focus.csv`).every((r) => r.AllocatedMethodId === '')).toBe(true);
    const kept = await snapshot(store, rev(1));

    // The bill arrives: revision 2 moves every line to its share and adds the unallocated lines.
    await putBillLines(store, 'bedrock-2026-10-r1', billLines(BILL_R1));
    const r2 = await runExport(store, { now: Date.parse('2026-11-12T09:00:00Z') });
    expect(r2).toMatchObject({ status: 'written', revision: 2, adjustmentRows: 6, reasons: ['bill'] });
    expect(r2.totals).toMatchObject({ billedCost: '-7.41', cumulativeBilledCost: '13.59' });
    const adj2 = csv(store, `${rev(2)}focus.csv`);
    expect(sumCents(adj2)).toBe('-7.41');
    expect(adj2.every((r) => r.ChargeCategory === 'Adjustment' && r.ChargeClass === 'Correction' && r.BillingPeriodStart === '2026-11-01T00:00:00Z')).toBe(
      true,
    );
    expect(adj2[0]!.ChargeDescription).toMatch(/^Correction in revision 2 \(the bill for the month, imported or revised after the close\): 0 input tokens of /);
    expect(pick(adj2, 'x_UserKey', 'x_Model', 'BilledCost', 'ListCost')).toEqual([
      ['u1@example.com', SONNET, '-2.62', '0.00'],
      ['u2@example.com', SONNET, '-5.23', '0.00'],
      ['u3@example.com', SONNET, '-2.62', '0.00'],
      ['u4@example.com', SONNET, '-0.52', '0.00'],
      ['unallocated', 'claude-haiku-4-5', '0.25', '0.00'],
      ['unallocated', 'claude-opus-4-1', '3.33', '0.00'],
    ]);

    // The bill is revised (Anthropic revises up to 30 days later; here Sonnet 12.00 and no Haiku): revision 3.
    await putBillLines(store, 'bedrock-2026-10-r2', billLines(BILL_R2));
    const r3 = await runExport(store, { now: Date.parse('2026-11-25T09:00:00Z') });
    expect(r3).toMatchObject({ status: 'written', revision: 3, reasons: ['bill'] });
    expect(r3.totals).toMatchObject({ billedCost: '1.74', cumulativeBilledCost: '15.33' });
    expect(r3.trueUp).toMatchObject({ billedCost: '15.33', bills: [{ billId: BILL_ID, revision: 2, provider: 'bedrock' }] });
    expect(csv(store, `${rev(3)}focus.csv`).find((r) => r.x_Model === 'claude-haiku-4-5')).toMatchObject({
      BilledCost: '-0.25',
      AllocatedMethodId: TRUE_UP_METHOD_ID,
      AllocatedResourceId: '',
      ChargeDescription:
        'Correction in revision 3 (the bill for the month, imported or revised after the close): the bedrock bill no longer charges claude-haiku-4-5: its unallocated amount is withdrawn',
    });
    const all = [1, 2, 3].flatMap((n) => csv(store, `${rev(n)}focus.csv`));
    expect(sumCents(all)).toBe('15.33');
    // Every line now bills its share of the revised bill, exactly: 12.00 x 5/21, 10/21, 5/21, 1/21 (the
    // last femto-dollar to the largest remainder), Opus 3.33 unallocated, Haiku gone.
    expect(exactBy(all, (r) => `${r.x_UserKey} ${r.x_Model}`)).toEqual({
      [`u1@example.com ${OPUS}`]: '0.00',
      [`u1@example.com ${SONNET}`]: '2.857142857142857',
      [`u2@example.com ${SONNET}`]: '5.714285714285714',
      [`u3@example.com ${SONNET}`]: '2.857142857142857',
      [`u4@example.com ${SONNET}`]: '0.571428571428572',
      'unallocated claude-haiku-4-5': '0.00',
      'unallocated claude-opus-4-1': '3.33',
    });
    expect(JSON.parse(text(store, `${rev(3)}manifest.json`)).true_up.bills).toEqual([
      { bill_id: BILL_ID, revision: 2, provider: 'bedrock', billed_cost_exact: '15.33', lines: 2 },
    ]);

    // A re-run: unchanged. A new revision of the bill with the same amounts is still not a silent change:
    // revision 4 records it, with no line to correct.
    expect(await runExport(store, { now: Date.parse('2026-11-26T09:00:00Z') })).toMatchObject({ status: 'unchanged', revision: 3 });
    await putBillLines(store, 'bedrock-2026-10-r3', billLines(BILL_R2.map((l) => ({ ...l, revision: 3 }))));
    const r4 = await runExport(store, { now: Date.parse('2026-11-27T09:00:00Z') });
    expect(r4).toMatchObject({ status: 'written', revision: 4, rows: 0, reasons: ['bill'] });
    expect(r4.totals).toMatchObject({ billedCost: '0.00', cumulativeBilledCost: '15.33' });
    expect(JSON.parse(text(store, `${rev(4)}manifest.json`)).true_up.bills[0].revision).toBe(3);

    expect(await snapshot(store, rev(1))).toEqual(kept);
    expect((await verifyExports(store)).problems).toEqual([]);
  });

  it('without a bill for the month writes the same bytes as without any bill table', async () => {
    const plain = await fixtureLake();
    await runExport(plain, { bills: false });
    const other = await fixtureLake();
    // A bill of another month only.
    await putBillLines(other, 'bedrock-2026-09', billLines([{ month: '2026-09', model: 'claude-sonnet-4-5', billed: '99.99' }]));
    const s = await runExport(other);
    expect(s).toMatchObject({ revision: 1, trueUp: null });
    expect(s.totals).toMatchObject({ cumulativeBilledCost: '21.00' });
    const files = async (store: LocalObjectStore) => Object.values(await snapshot(store, 'exports/'));
    expect(await files(other)).toEqual(await files(plain));
  });

  it('reads a revision written before the allocation columns and builds the true-up on it', async () => {
    const store = await fixtureLake();
    await runExport(store);
    // Revision 1 as an older cclake wrote it: no Allocated* columns (its manifest digests to match).
    const keep = FOCUS_COLUMNS.map((c) => c.name).filter((n) => !(ALLOCATION_COLUMNS as readonly string[]).includes(n));
    const old = csv(store, `${rev(1)}focus.csv`);
    const body = `${[keep.join(','), ...old.map((r) => keep.map((c) => (/[",]/.test(r[c]!) ? `"${r[c]!.replace(/"/g, '""')}"` : r[c])).join(','))].join('\n')}\n`;
    const file = path.join(store.root, `${rev(1)}focus.csv`);
    writeFileSync(file, body);
    const manifestFile = path.join(store.root, `${rev(1)}manifest.json`);
    const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const entry = m.files.find((f: { name: string }) => f.name === 'focus.csv');
    entry.sha256 = sha256Hex(new TextEncoder().encode(body));
    entry.bytes = Buffer.byteLength(body);
    writeFileSync(manifestFile, JSON.stringify(m, null, 2) + '\n');

    await putBillLines(store, 'bedrock-2026-10-r1', billLines(BILL_R1));
    const r2 = await runExport(store, { now: Date.parse('2026-11-12T09:00:00Z') });
    expect(r2).toMatchObject({ status: 'written', revision: 2 });
    expect(r2.totals).toMatchObject({ cumulativeBilledCost: '13.59' });
  });

  it('refuses bill lines it cannot add exactly, naming the bill, file and row, and writes nothing', async () => {
    const store = await fixtureLake();
    await putBillLines(
      store,
      'bedrock-2026-10-r1',
      billLines([...BILL_R1.slice(0, 2), { month: '2026-10', model: 'claude-opus-4-1', billed: '3.33', currency: 'EUR' }]),
    );
    await expect(runExport(store)).rejects.toThrow(BillLinesError);
    await expect(runExport(store)).rejects.toThrow(
      `bill ${BILL_ID} revision 1, fixture-bill.csv row 3: the line is in "EUR", the chargeback in USD (chargeback.currency)`,
    );
    await putBillLines(store, 'bedrock-2026-10-r1', billLines([{ month: '2026-10', model: 'claude-opus-4-1', billed: '1e3' }]));
    await expect(runExport(store)).rejects.toThrow(
      `bill ${BILL_ID} revision 1, fixture-bill.csv row 1: billed_usd_exact "1e3" is not usable: not a decimal number`,
    );
    expect(await listAll(store, 'exports/')).toEqual([]);
  });
});

describe('true-up arithmetic (no I/O)', () => {
  const bounds = monthBounds('2026-10', 'UTC');
  const detail = (user: string, model: string, input: number, price: string | null) => ({
    user_key: user,
    team: 't',
    cost_center: 'CC',
    model,
    price_version: price ? 'v' : null,
    price_model_pattern: price ? 'p' : null,
    price_valid_from: price ? '2026-01-01' : null,
    price_valid_to: null,
    price_input: price,
    price_output: price,
    price_cache_read: price,
    price_cache_creation: price,
    input_tokens: input,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_creation_tokens: 0,
    reported_cost_usd: '0.500000000000',
    source_rows: 1,
  });
  const billedOf = (models: { provider: 'bedrock' | 'anthropic'; model: string | null; billed: string }[]): BilledAmounts => ({
    month: '2026-10',
    bills: [...new Set(models.map((m) => m.provider))].map((p) => ({
      billId: `${p}:1:2026-10`,
      revision: 1,
      provider: p,
      billedExact: models.filter((m) => m.provider === p).reduce((n, m) => n + parseDecimal(m.billed, EXACT_SCALE), 0n),
      lines: 1,
    })),
    models: models.map((m) => ({
      provider: m.provider,
      model: m.model,
      billedExact: parseDecimal(m.billed, EXACT_SCALE),
      bills: [`${m.provider}:1:2026-10 rev 1`],
    })),
    totalExact: models.reduce((n, m) => n + parseDecimal(m.billed, EXACT_SCALE), 0n),
    query: { name: 'chargeback_billed', file: 'sql/exports/chargeback_billed.sql', checksum: '', engine: 'duckdb', queryId: null, rows: 0, durationMs: 0 },
  });

  it('keeps the priced cost of a provider without a bill, bills 0.00 for usage its bill does not charge, and keeps a bill line without a model unallocated', () => {
    const { lines } = linesFromDetail(
      [
        detail('a', SONNET, 1_000_000, '3.000000000'), // Bedrock, on the bill: $3 priced
        detail('b', 'us.anthropic.claude-haiku-4-5-20251001-v1:0', 1_000_000, '1.000000000'), // Bedrock, not on the bill
        detail('c', 'claude-sonnet-4-5-20250929', 2_000_000, '3.000000000'), // the Anthropic API: no Anthropic bill
      ],
      bounds,
      'UTC',
    );
    const up = trueUp(
      lines,
      billedOf([
        { provider: 'bedrock', model: 'claude-sonnet-4-5', billed: '2.50' },
        { provider: 'bedrock', model: null, billed: '0.07' },
      ]),
      bounds,
      'auto',
    );
    expect(up.providers).toEqual(['bedrock']);
    expect(up.lines.map((l) => [l.userKey, l.model, formatDecimal(l.billedExact, EXACT_SCALE, 2), up.allocations.has(l.key)])).toEqual([
      ['a', SONNET, '2.50', true],
      ['b', 'us.anthropic.claude-haiku-4-5-20251001-v1:0', '0.00', true],
      ['c', 'claude-sonnet-4-5-20250929', '6.00', false],
      ['unallocated', 'unknown', '0.07', true],
    ]);
    expect(up.warnings).toEqual([
      "no anthropic bill was imported for 2026-10: its usage is billed at the price book's cost, beside the bedrock bill(s)",
      "claude-haiku-4-5 (bedrock) has 1.00 USD of priced usage in 2026-10 but nothing on the bedrock bill(s): its lines bill 0.00 (is the bill's model named differently?)",
      "0.07 USD of the 2026-10 bill(s) has no priced usage to allocate it to (unknown (bedrock)): on 'unallocated' lines",
    ]);
  });
});

describe('chargeback true-up on a generated lake', () => {
  it('sums to the invoice to the cent with odd amounts, each model to its bill exactly, ratios to 1', async () => {
    const store = new LocalObjectStore(tmp.make());
    const cfg = parseConfig({ chargeback: { billingAccountId: '123456789012' } });
    const catalog = new LocalCatalog(store, cfg.aws.glueDatabase);
    await generate(store, cfg, { users: 8, days: 4, end: '2026-10-31', seed: 'trueup', faults: false });
    await compact(store, catalog, cfg, { now: Date.parse('2026-11-01T06:00:00Z') });
    const engine = await LocalQueryEngine.open(store, cfg);
    try {
      await rollup(store, catalog, engine, cfg, { now: Date.parse('2026-11-01T07:00:00Z') });
    } finally {
      engine.close();
    }
    // A Bedrock invoice with sub-cent amounts (as CUR has them) and a model the lake never used.
    const bill: Record<string, string> = {
      'claude-sonnet-4-5': '123.4567891',
      'claude-haiku-4-5': '7.0000003',
      'claude-opus-4-1': '55.5555555',
      'claude-3-5-haiku': '0.0123456',
    };
    await putBillLines(store, 'bedrock-2026-10', billLines(Object.entries(bill).map(([model, billed]) => ({ month: '2026-10', model, billed }))));
    const s = await runExport(store, {}, cfg);
    expect(s.status).toBe('written');
    // 186.0246905 to the cent: 186.02.
    expect(s.trueUp?.billedCost).toBe('186.02');
    const rows = csv(store, `${rev(1)}focus.csv`);
    expect(rows.length).toBeGreaterThan(20);
    expect(sumCents(rows)).toBe('186.02');
    expect(s.totals?.cumulativeBilledCost).toBe('186.02');
    // Per model (Bedrock regional, global and EU profiles of Sonnet 4.5 are one model on the bill), the exact
    // shares add up to the bill line, and the allocated ratios to exactly 1.
    const normal = (m: string) => m.replace(/^(us|eu|global)\.anthropic\./, '').replace(/-\d{8}-v1:0$/, '');
    const exact = exactBy(rows, (r) => normal(r.x_Model!));
    for (const [model, billed] of Object.entries(bill))
      expect(formatDecimal(parseDecimal(exact[model]!, EXACT_SCALE), EXACT_SCALE, 2)).toBe(formatDecimal(parseDecimal(billed, EXACT_SCALE), EXACT_SCALE, 2));
    const ratio = new Map<string, bigint>();
    for (const r of rows) {
      const d = /"AllocatedRatio":([0-9.]+)/.exec(r.AllocatedMethodDetails!)![1]!;
      ratio.set(normal(r.x_Model!), (ratio.get(normal(r.x_Model!)) ?? 0n) + parseDecimal(d, 12));
    }
    expect(Object.fromEntries([...ratio].map(([k, v]) => [k, formatDecimal(v, 12)]))).toEqual({
      'claude-sonnet-4-5': '1',
      'claude-haiku-4-5': '1',
      'claude-opus-4-1': '1',
      'claude-3-5-haiku': '1',
    });
    expect(rows.filter((r) => r.x_PriceStatus === 'unallocated').map((r) => [r.x_Model, r.BilledCost])).toEqual([['claude-3-5-haiku', '0.01']]);
    // No developer line bills a cent more than its exact share rounded up, or less than rounded down.
    for (const r of rows) {
      const cents = parseDecimal(r.BilledCost!, 2) * 10n ** 13n;
      const e = parseDecimal(r.x_BilledCostExact!, EXACT_SCALE);
      expect(cents - e < 10n ** 13n && e - cents < 10n ** 13n).toBe(true);
    }
    expect((await verifyExports(store)).problems).toEqual([]);
  });
});
