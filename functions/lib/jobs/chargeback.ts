/**
 * `cclake export chargeback` and the monthly chargeback function: the finance export of a closed
 * month, under `exports/chargeback/month=YYYY-MM/rev=NNN/`:
 *
 *   focus.csv, focus.parquet   the FOCUS 1.2-shaped detail (schemas/focus.ts), one line per charge
 *                              period, cost center, team, developer, model, token type, price row
 *                              and context tier
 *   summary.csv                per cost center: direct cost, allocated share of unattributed cost,
 *                              total, change since the previous revision
 *   manifest.json              period, row counts, totals, reconciliation, allocation rule, price
 *                              table and SQL versions, SHA-256 of every file; written last (the commit)
 *
 * The numbers: the month's rows of the chargeback_daily rollup (sql/exports/chargeback_detail.sql),
 * priced in exact integers (exports/money.ts), rounded to the cent by largest remainder. Before
 * anything is written the export is reconciled: its total must equal the lake's priced cost for the
 * month (computed separately, in SQL DECIMAL: sql/exports/chargeback_total.sql) exactly and to the
 * cent, and its tokens and priced cost must agree with the token_burn_daily view; otherwise it fails
 * with both totals and the difference, and nothing is written.
 *
 * A closed month is immutable. Revision 1 bills the month as the lake has it; a later run on
 * unchanged data writes nothing ("unchanged, revision N", after checking that the latest revision
 * rebuilds byte for byte); data that arrived after the close makes revision N+1 holding only
 * Adjustment rows (ChargeClass Correction) for the lines that changed, billed in the month the
 * revision is issued in, as FOCUS has corrections to an invoiced period. Earlier revisions are
 * never rewritten; their files are checked against their manifests before anything builds on them.
 *
 * The true-up: when bills for the month were imported (exports/billed.ts, the one reader of the
 * `bill_lines` relation), the lines of each provider with a bill bill the bills' amount per model,
 * split by priced usage share (exports/true-up.ts), so the export adds up to the invoice; the split is
 * stated in the FOCUS 1.3 Allocated* columns and the manifest's `true_up`. A bill imported or revised
 * after a revision was written makes the next revision, as late data does.
 *
 * A month not over yet (in the reporting time zone) is refused, unless `preliminary`: then a
 * snapshot goes to `exports/chargeback/month=YYYY-MM/preliminary/`, replaced on every run and never
 * a revision.
 */
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { ALLOCATION_COLUMNS, FOCUS_COLUMNS, FOCUS_VERSION, SUMMARY_COLUMNS, TIER_COLUMNS, TRUE_UP_METHOD_ID, type FocusRow } from '../../../schemas/focus';
import { PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { LeaseLock } from '../lock/lease';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import {
  addBilledRows,
  bill,
  focusRow,
  linesFromDetail,
  monthBounds,
  summaryRows,
  totalsOf,
  type Allocation,
  type BilledState,
  type Change,
  type Line,
  type MonthBounds,
  type RowContext,
  type SummaryRow,
} from '../exports/chargeback-lines';
import { readBilledAmounts, type BilledAmounts } from '../exports/billed';
import { manifestBytes, manifestFile, sha256Hex, type ManifestFile } from '../exports/digest';
import { focusCsv, focusParquet, toCsv } from '../exports/focus-file';
import { withExportLock } from '../exports/lock';
import { EXACT_SCALE, formatCents, formatDecimal, parseDecimal, roundHalfUp, UNITS_PER_CENT } from '../exports/money';
import { isMonth, isoSeconds, monthIn, previousMonth } from '../exports/periods';
import { trueUp } from '../exports/true-up';
import { currentModels, readSqlTree, SQL_DIR } from '../sql/files';
import { readQuery, runQuery, type QueryRun } from '../sql/queries';
import { listAll, type ObjectStore } from '../store/port';
import { addDays } from '../util/dates';

export const CHARGEBACK_PREFIX = 'exports/chargeback/';
export const monthPrefix = (month: string) => `${CHARGEBACK_PREFIX}month=${month}/`;
export const revisionPrefix = (month: string, revision: number) => `${monthPrefix(month)}rev=${String(revision).padStart(3, '0')}/`;
const DATA_FILES = ['focus.csv', 'focus.parquet', 'summary.csv'] as const;

export interface ChargebackOptions {
  month: string;
  now?: number;
  /** Export a month that is not over yet as a preliminary snapshot (replaced on every run, never a revision). */
  preliminary?: boolean;
  /** Write nothing for a month with no rollup data and no revision yet (the scheduled run's look back). */
  skipEmpty?: boolean;
  /** Where `sql/` is (the bundle's copy in a function). */
  sqlDir?: string;
}

export interface ChargebackTotals {
  /** This revision's rows. */
  billedCost: string;
  listCost: string;
  /** Every revision so far, this one included. */
  cumulativeBilledCost: string;
  cumulativeListCost: string;
  lakePricedCost: string;
  lakePricedCostExact: string;
  difference: string;
  tokens: string;
  reportedCost: string;
}

export interface ChargebackSummary {
  month: string;
  status: 'written' | 'unchanged' | 'preliminary' | 'no data';
  closed: boolean;
  /** When the month ends (UTC): the earliest a closed export can be made. */
  closesAt: string;
  revision: number | null;
  /** Lake key prefix of the revision (or the preliminary snapshot) written or found unchanged. */
  location: string | null;
  rows: number;
  adjustmentRows: number;
  totals: ChargebackTotals | null;
  unpriced: { lines: number; tokens: string; reportedCost: string; models: string[] };
  /** The bill true-up, when the month has imported bills (null: the lines bill their priced cost). */
  trueUp: {
    /** The bills' total, to the cent and exact: what the trued-up providers' lines add up to. */
    billedCost: string;
    billedCostExact: string;
    bills: { billId: string; revision: number; provider: string }[];
    unallocated: { lines: number; billedCostExact: string; models: string[] };
  } | null;
  /** Why a revision after the first was written: late data, a bill imported or revised after the close, or both. */
  reasons: ('late data' | 'bill')[];
  files: ManifestFile[];
  queries: QueryRun[];
  warnings: string[];
  durationMs: number;
}

/** The export does not add up to the lake's priced cost: nothing was written. */
export class ReconciliationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconciliationError';
  }
}

/** The month is not over in the reporting time zone (bad usage, not a failed job). */
export class MonthNotClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonthNotClosedError';
  }
}

/** A rollup day of the month is older than its curated data: exporting now would bill stale numbers. */
export class RollupBehindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollupBehindError';
  }
}

interface Revision {
  revision: number;
  prefix: string;
  manifest: ChargebackManifest;
  manifestSha256: string;
  files: Map<string, Uint8Array>;
  rows: Record<string, string>[];
}

export interface ChargebackManifest {
  kind: 'cclake.chargeback';
  format: 1;
  focus_version: string;
  month: string;
  revision: number;
  status: 'closed' | 'preliminary';
  time_zone: string;
  billing_period: { start: string; end: string };
  charge_period: { start: string; end: string };
  generated_at: string;
  previous_revision: { revision: number; manifest_sha256: string } | null;
  currency: string;
  allocation_rule: string;
  allocation_note: string | null;
  price_table: { configured_version: string | null; versions_used: string[] };
  sql: { models: { file: string; version: number; checksum: string }[]; queries: { file: string; checksum: string }[] };
  source: { rollup: string; days: number; curated_generations: Record<string, number> };
  rows: { focus: number; usage: number; adjustment: number; summary: number; unpriced_lines: number };
  totals: {
    billed_cost: string;
    list_cost: string;
    cumulative_billed_cost: string;
    cumulative_list_cost: string;
    lake_priced_cost: string;
    lake_priced_cost_exact: string;
    difference: string;
    tokens: string;
    reported_cost: string;
    token_burn_daily: { tokens: string; priced_cost_usd: string | null };
  };
  unpriced: { lines: number; tokens: string; reported_cost: string; models: string[] };
  /** Only when the month has imported bills (README "Chargeback true-up"). */
  true_up?: ManifestTrueUp;
  warnings: string[];
  files: ManifestFile[];
}

export interface ManifestTrueUp {
  method: string;
  /** The bills in force, each at its latest revision: a change here makes a new revision. */
  bills: { bill_id: string; revision: number; provider: string; billed_cost_exact: string; lines: number }[];
  providers: string[];
  billed_cost: string;
  billed_cost_exact: string;
  unallocated: { lines: number; billed_cost_exact: string; models: string[] };
}

/** The month a scheduled run closes: the one before `now`'s, in the reporting time zone. */
export const lastClosedMonth = (config: Config, now = Date.now()) => previousMonth(monthIn(config.reporting.timeZone, now));

/** The months a run exports: `month` alone when given, else the last closed one and the `chargeback.revisitMonths` before it. */
export function dueMonths(config: Config, month?: string, now = Date.now()): string[] {
  if (month) return [month];
  const months = [lastClosedMonth(config, now)];
  for (let i = 0; i < config.chargeback.revisitMonths; i++) months.push(previousMonth(months.at(-1)!));
  return months;
}

export interface ChargebackRunOptions extends Omit<ChargebackOptions, 'month' | 'skipEmpty'> {
  /** One month only; default: the last closed month, then the revisited ones (`dueMonths`). */
  month?: string;
}

export interface ChargebackRun {
  months: ChargebackSummary[];
  /** The months that threw (did not reconcile, rollup behind...), after the others ran. */
  failed: { month: string; error: Error }[];
}

/**
 * The chargeback run of the scheduled function and of `cclake export chargeback` alike: each due
 * month in turn (the closing month first), so data that arrived after a revisited month's close
 * becomes a new revision; a revisited month with no data and no revision is skipped. A month that
 * fails is recorded and the next one still runs.
 */
export async function exportChargebackMonths(
  store: ObjectStore,
  engine: QueryEngine,
  config: Config,
  options: ChargebackRunOptions = {},
): Promise<ChargebackRun> {
  const months = dueMonths(config, options.month, options.now);
  const run: ChargebackRun = { months: [], failed: [] };
  for (const month of months) {
    try {
      run.months.push(await exportChargeback(store, engine, config, { ...options, month, skipEmpty: month !== months[0] }));
    } catch (err) {
      run.failed.push({ month, error: err as Error });
    }
  }
  return run;
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const parseCsv = (b: Uint8Array) => parse(decode(b), { columns: true, skip_empty_lines: true }) as Record<string, string>[];

export async function exportChargeback(store: ObjectStore, engine: QueryEngine, config: Config, options: ChargebackOptions): Promise<ChargebackSummary> {
  return withExportLock(store, 'chargeback', `chargeback ${options.month}`, config.compaction.leaseMinutes, (lock) =>
    run(store, engine, config, options, lock),
  );
}

async function run(store: ObjectStore, engine: QueryEngine, config: Config, options: ChargebackOptions, lock: LeaseLock): Promise<ChargebackSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const sqlDir = options.sqlDir ?? SQL_DIR;
  const { month } = options;
  if (!isMonth(month)) throw new MonthNotClosedError(`month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const tz = config.reporting.timeZone;
  const bounds = monthBounds(month, tz);
  const closed = now >= Date.parse(bounds.end);
  const summary: ChargebackSummary = {
    month,
    status: 'no data',
    closed,
    closesAt: bounds.end,
    revision: null,
    location: null,
    rows: 0,
    adjustmentRows: 0,
    totals: null,
    unpriced: { lines: 0, tokens: '0', reportedCost: '0.00', models: [] },
    trueUp: null,
    reasons: [],
    files: [],
    queries: [],
    warnings: [],
    durationMs: 0,
  };
  const finish = () => ({ ...summary, durationMs: Math.round(performance.now() - started) });
  if (!closed && !options.preliminary) {
    throw new MonthNotClosedError(
      `month ${month} is not closed: it ends at ${bounds.end} (reporting time zone ${tz}); export it after that, or pass --preliminary for a snapshot that is not final`,
    );
  }
  if (closed && options.preliminary) throw new MonthNotClosedError(`month ${month} is closed (it ended at ${bounds.end}): export it without --preliminary`);
  if (config.chargeback.billingAccountId === 'unconfigured')
    summary.warnings.push('chargeback.billingAccountId is not configured: BillingAccountId reads "unconfigured"');

  const source = await checkRollups(store, bounds, sqlDir);
  const revisions = closed ? await loadRevisions(store, month) : [];
  if (options.skipEmpty && !revisions.length && source.days === 0) return finish();

  const runs = summary.queries;
  const detail = await runQuery(engine, readQuery('chargeback_detail', sqlDir), [bounds.first, bounds.last], runs);
  const total = await runQuery(engine, readQuery('chargeback_total', sqlDir), [bounds.first, bounds.last], runs);
  const cross = await runQuery(engine, readQuery('chargeback_crosscheck', sqlDir), [bounds.first, bounds.last], runs);
  const { lines: usage, totals: detailTotals } = linesFromDetail(detail.rows, bounds, tz);
  const unpricedLines = usage.filter((l) => !l.priced);
  summary.unpriced = {
    lines: unpricedLines.length,
    tokens: unpricedLines.reduce((n, l) => n + l.tokens, 0n).toString(),
    reportedCost: formatCents(
      roundHalfUp(
        unpricedLines.reduce((n, l) => n + l.listExact, 0n),
        UNITS_PER_CENT,
      ),
    ),
    models: [...new Set(unpricedLines.map((l) => l.model))].sort(),
  };
  if (unpricedLines.length) {
    summary.warnings.push(
      `${unpricedLines.length} line(s) of ${summary.unpriced.models.length} model(s) not covered by the price table (${summary.unpriced.models.join(', ')}): not billed; their reported cost ${summary.unpriced.reportedCost} USD is in ListCost`,
    );
  }

  // The true-up: with bills for the month, the trued-up providers' lines bill the bills' amounts.
  const billed = await readBilledAmounts(engine, month, { currency: config.chargeback.currency, sqlDir });
  const up = billed ? trueUp(usage, billed, bounds, config.chargeback.provider) : null;
  const lines: Line[] = up?.lines ?? usage;
  const allocations: ReadonlyMap<string, Allocation> | undefined = up?.allocations;
  const trueUpManifest = billed && up ? trueUpOf(billed, up) : undefined;
  if (billed && up && trueUpManifest) {
    runs.push(billed.query);
    summary.warnings.push(...up.warnings);
    summary.trueUp = {
      billedCost: trueUpManifest.billed_cost,
      billedCostExact: trueUpManifest.billed_cost_exact,
      bills: billed.bills.map((b) => ({ billId: b.billId, revision: b.revision, provider: b.provider })),
      unallocated: { lines: up.unallocated.lines, billedCostExact: trueUpManifest.unallocated.billed_cost_exact, models: up.unallocated.models },
    };
  }
  // What the lines must bill in all: the bills, plus the priced cost of providers without one (computed apart from the split).
  const expectedBilled = billed ? billed.totalExact + lines.filter((l) => !allocations!.has(l.key)).reduce((n, l) => n + l.billedExact, 0n) : null;

  const billedBefore: BilledState = new Map();
  for (const r of revisions) addBilledRows(billedBefore, r.rows);
  const latest = revisions.at(-1);

  const { changes, next } = bill(closed ? billedBefore : new Map(), lines);
  const lake = reconcile(month, next, total.rows[0] ?? {}, cross.rows[0] ?? {}, expectedBilled);
  // A bill imported or revised since the latest revision makes a new one even when no line's amount moves: never a silent change.
  const billsChanged = !!latest && billsKey(latest.manifest.true_up) !== billsKey(trueUpManifest);

  if (closed && latest && !changes.length && !billsChanged) {
    // Unchanged: nothing is written. The latest revision must rebuild byte for byte from the data.
    const before: BilledState = new Map();
    for (const r of revisions.slice(0, -1)) addBilledRows(before, r.rows);
    const rebuilt = build(latest.revision, bill(before, lines).changes, before, latest.manifest.billing_period);
    for (const name of DATA_FILES) {
      const stored = latest.files.get(name)!;
      const again = rebuilt.files.get(name)!;
      if (sha256Hex(stored) !== sha256Hex(again)) {
        summary.warnings.push(
          `revision ${latest.revision} is unchanged in the lake, but rebuilding it today gives a different ${name} (the chargeback config or price descriptions changed since); the closed files are left as they are`,
        );
      }
    }
    return report(
      latest.revision,
      latest.prefix,
      'unchanged',
      latest.manifest.files,
      Number(latest.manifest.rows.focus),
      Number(latest.manifest.rows.adjustment),
      {
        billed: parseDecimal(latest.manifest.totals.billed_cost, 2),
        list: parseDecimal(latest.manifest.totals.list_cost, 2),
      },
    );
  }

  const revision = closed ? (latest?.revision ?? 0) + 1 : 0;
  if (revision > 1) {
    const lateData = changes.some((c) => c.delta.tokens !== 0n || c.delta.listExact !== 0n);
    if (lateData) summary.reasons.push('late data');
    if (billsChanged || changes.some((c) => c.delta.tokens === 0n && c.delta.listExact === 0n)) summary.reasons.push('bill');
  }
  const billingPeriod =
    revision <= 1
      ? { start: bounds.start, end: bounds.end }
      : (() => {
          const issued = monthBounds(monthIn(tz, now), tz);
          return { start: issued.start, end: issued.end };
        })();
  const built = build(revision, changes, closed ? billedBefore : new Map(), billingPeriod);
  const prefix = closed ? revisionPrefix(month, revision) : `${monthPrefix(month)}preliminary/`;
  const files = DATA_FILES.map((name) => manifestFile(name, built.files.get(name)!));
  const revBilled = changes.reduce((n, c) => n + c.billedCents, 0n);
  const revList = changes.reduce((n, c) => n + c.listCents, 0n);
  const cumulative = totalsOf(next);
  const models = [...new Map(source.models.map((m) => [m.version, m])).values()];
  const manifest: ChargebackManifest = {
    kind: 'cclake.chargeback',
    format: 1,
    focus_version: FOCUS_VERSION,
    month,
    revision,
    status: closed ? 'closed' : 'preliminary',
    time_zone: tz,
    billing_period: billingPeriod,
    charge_period: { start: bounds.start, end: bounds.end },
    generated_at: isoSeconds(now),
    previous_revision: latest ? { revision: latest.revision, manifest_sha256: latest.manifestSha256 } : null,
    currency: config.chargeback.currency,
    allocation_rule: config.chargeback.allocation,
    allocation_note: built.note,
    price_table: {
      configured_version: config.prices.rows.length || config.prices.discounts.length || config.prices.book === 'none' ? config.prices.version : null,
      versions_used: [...new Set(lines.filter((l) => l.priced).map((l) => l.priceVersion!))].sort(),
    },
    sql: { models, queries: runs.map((r) => ({ file: r.file, checksum: r.checksum })) },
    source: { rollup: 'chargeback_daily', days: source.days, curated_generations: source.generations },
    rows: {
      focus: built.rows.length,
      usage: built.rows.filter((r) => r.ChargeCategory === 'Usage').length,
      adjustment: built.rows.filter((r) => r.ChargeCategory === 'Adjustment').length,
      summary: built.summary.length,
      unpriced_lines: unpricedLines.length,
    },
    totals: {
      billed_cost: formatCents(revBilled),
      list_cost: formatCents(revList),
      cumulative_billed_cost: formatCents(cumulative.billedCents),
      cumulative_list_cost: formatCents(cumulative.listCents),
      lake_priced_cost: formatCents(lake.cents),
      lake_priced_cost_exact: formatDecimal(lake.exact, EXACT_SCALE, 2),
      difference: formatCents(cumulative.billedCents - lake.cents),
      tokens: cumulative.tokens.toString(),
      reported_cost: formatCents(roundHalfUp(detailTotals.reportedExact, UNITS_PER_CENT)),
      token_burn_daily: { tokens: lake.crossTokens.toString(), priced_cost_usd: lake.crossPriced },
    },
    unpriced: { lines: summary.unpriced.lines, tokens: summary.unpriced.tokens, reported_cost: summary.unpriced.reportedCost, models: summary.unpriced.models },
    ...(trueUpManifest ? { true_up: trueUpManifest } : {}),
    warnings: summary.warnings,
    files,
  };
  // The data files first; the manifest last is the commit (a revision without one is not there).
  for (const name of DATA_FILES)
    await store.put(`${prefix}${name}`, built.files.get(name)!, { contentType: name.endsWith('.csv') ? 'text/csv' : 'application/vnd.apache.parquet' });
  const body = manifestBytes(manifest);
  await lock.assertHeld();
  if (closed) {
    const committed = await store.putIfAbsent(`${prefix}manifest.json`, body, { contentType: 'application/json' });
    if (!committed)
      throw new Error(`another export committed revision ${revision} of ${month} at the same time; run again to see whether anything is left to bill`);
  } else {
    await store.put(`${prefix}manifest.json`, body, { contentType: 'application/json' });
  }
  return report(revision, prefix, closed ? 'written' : 'preliminary', files, built.rows.length, manifest.rows.adjustment, { billed: revBilled, list: revList });

  /** The summary of the revision written (or found unchanged), with the running totals. */
  function report(
    rev: number,
    location: string,
    status: ChargebackSummary['status'],
    fileList: ManifestFile[],
    rows: number,
    adjustmentRows: number,
    revisionTotals: { billed: bigint; list: bigint },
  ): ChargebackSummary {
    const t = totalsOf(next);
    Object.assign(summary, {
      status,
      revision: rev,
      location,
      rows,
      adjustmentRows,
      files: fileList,
      totals: {
        billedCost: formatCents(revisionTotals.billed),
        listCost: formatCents(revisionTotals.list),
        cumulativeBilledCost: formatCents(t.billedCents),
        cumulativeListCost: formatCents(t.listCents),
        lakePricedCost: formatCents(lake.cents),
        lakePricedCostExact: formatDecimal(lake.exact, EXACT_SCALE, 2),
        difference: formatCents(t.billedCents - lake.cents),
        tokens: t.tokens.toString(),
        reportedCost: formatCents(roundHalfUp(detailTotals.reportedExact, UNITS_PER_CENT)),
      },
    });
    return finish();
  }

  /** A revision's rows and file bytes: a pure function of the changes, the state before and the billing period. */
  function build(rev: number, ch: Change[], before: BilledState, billingPeriod: { start: string; end: string }) {
    const ctx: RowContext = {
      revision: rev,
      category: rev <= 1 ? 'Usage' : 'Adjustment',
      billingStart: billingPeriod.start,
      billingEnd: billingPeriod.end,
      currency: config.chargeback.currency,
      config: config.chargeback,
      allocations,
    };
    const rows: FocusRow[] = ch.map((c) => focusRow(c, ctx));
    const after = applyChanges(before, ch);
    const s = summaryRows(month, rev, after, before, config.chargeback.allocation, config.chargeback.currency);
    const files = new Map<string, Uint8Array>([
      ['focus.csv', new TextEncoder().encode(focusCsv(rows))],
      ['focus.parquet', focusParquet(rows)],
      [
        'summary.csv',
        new TextEncoder().encode(
          toCsv(
            SUMMARY_COLUMNS.map((c) => c.name),
            s.rows as unknown as Record<string, unknown>[],
          ),
        ),
      ],
    ]);
    return { rows, summary: s.rows as SummaryRow[], note: s.note, files };
  }
}

function applyChanges(before: BilledState, changes: Change[]): BilledState {
  const after: BilledState = new Map([...before].map(([k, b]) => [k, { ...b }]));
  for (const c of changes) {
    const b = after.get(c.key) ?? { key: c.key, attrs: c.attrs, tokens: 0n, billedExact: 0n, listExact: 0n, billedCents: 0n, listCents: 0n };
    after.set(c.key, {
      ...b,
      tokens: b.tokens + c.delta.tokens,
      billedExact: b.billedExact + c.delta.billedExact,
      listExact: b.listExact + c.delta.listExact,
      billedCents: b.billedCents + c.billedCents,
      listCents: b.listCents + c.listCents,
    });
  }
  return after;
}

/**
 * The reconciliation: the billed state (every revision, this one included) against the lake's
 * priced cost computed in SQL DECIMAL, exactly and to the cent, and against token_burn_daily
 * (tokens exactly; its DOUBLE priced cost within a millionth of a dollar).
 */
function reconcile(month: string, state: BilledState, totalRow: Record<string, unknown>, crossRow: Record<string, unknown>, expectedBilled: bigint | null) {
  const t = totalsOf(state);
  // USD x 10^6 to 9 decimal places is USD to 15: femto-dollars, the export's own unit.
  const exact = parseDecimal(String(totalRow.priced_cost_usd_e6 ?? '0'), EXACT_SCALE - 6);
  const cents = roundHalfUp(exact, UNITS_PER_CENT);
  const crossTokens = BigInt(String(crossRow.tokens ?? '0'));
  // token_burn_daily's DOUBLE costs, summed as DECIMAL(38, 12) text (femto-dollars here).
  const crossExact =
    crossRow.priced_cost_usd === null || crossRow.priced_cost_usd === undefined ? null : parseDecimal(String(crossRow.priced_cost_usd), 12) * 1000n;
  const crossPriced = crossExact === null ? null : formatDecimal(crossExact, EXACT_SCALE, 2);
  const usd = (x: bigint) => formatDecimal(x, EXACT_SCALE, 2);
  if (expectedBilled !== null) {
    // The true-up: the priced lines still carry the lake's priced cost (ListCost of priced lines), and
    // the billed amounts add up to the bills (plus the priced cost of providers without one).
    let priced = 0n;
    for (const b of state.values()) if (b.attrs.priced) priced += b.listExact;
    if (priced !== exact) {
      throw new ReconciliationError(
        `chargeback ${month} does not reconcile: the export's priced cost is ${usd(priced)} USD, the lake's priced cost is ${usd(exact)} USD, a difference of ${usd(priced - exact)} USD; nothing was written`,
      );
    }
    const expectedCents = roundHalfUp(expectedBilled, UNITS_PER_CENT);
    if (t.billedExact !== expectedBilled || t.billedCents !== expectedCents) {
      throw new ReconciliationError(
        `chargeback ${month} does not reconcile with its bills: the export bills ${formatCents(t.billedCents)} USD (exact ${usd(t.billedExact)}), the bills (and the priced cost of providers without one) come to ${formatCents(expectedCents)} USD (exact ${usd(expectedBilled)}); nothing was written`,
      );
    }
  } else if (t.billedCents !== cents || t.billedExact !== exact) {
    const diff = t.billedCents - cents;
    throw new ReconciliationError(
      `chargeback ${month} does not reconcile: the export's total is ${formatCents(t.billedCents)} USD (exact ${usd(t.billedExact)}), the lake's priced cost is ${formatCents(cents)} USD (exact ${usd(exact)}), a difference of ${formatCents(diff)} USD; nothing was written`,
    );
  }
  if (t.tokens !== crossTokens) {
    throw new ReconciliationError(
      `chargeback ${month} does not reconcile: the export bills ${t.tokens} tokens, token_burn_daily shows ${crossTokens} (a difference of ${t.tokens - crossTokens}); nothing was written`,
    );
  }
  // The view's costs went through doubles: a millionth of a dollar is far above their rounding.
  const TOLERANCE = 10n ** BigInt(EXACT_SCALE - 6);
  const crossDiff = exact - (crossExact ?? 0n);
  if (crossDiff > TOLERANCE || crossDiff < -TOLERANCE) {
    throw new ReconciliationError(
      `chargeback ${month} does not reconcile: the export's priced cost is ${usd(exact)} USD, token_burn_daily shows ${crossPriced ?? 'none'} USD, a difference of ${usd(crossDiff)} USD; nothing was written`,
    );
  }
  return { exact, cents, crossTokens, crossPriced };
}

/** The bills a revision was made with, as compared from run to run ('' without any). */
const billsKey = (t: ManifestTrueUp | undefined) => JSON.stringify((t?.bills ?? []).map((b) => [b.bill_id, b.revision, b.billed_cost_exact]));

function trueUpOf(billed: BilledAmounts, up: ReturnType<typeof trueUp>): ManifestTrueUp {
  const usd = (x: bigint) => formatDecimal(x, EXACT_SCALE, 2);
  return {
    method: TRUE_UP_METHOD_ID,
    bills: billed.bills.map((b) => ({ bill_id: b.billId, revision: b.revision, provider: b.provider, billed_cost_exact: usd(b.billedExact), lines: b.lines })),
    providers: up.providers,
    billed_cost: formatCents(roundHalfUp(billed.totalExact, UNITS_PER_CENT)),
    billed_cost_exact: usd(billed.totalExact),
    unallocated: { lines: up.unallocated.lines, billed_cost_exact: usd(up.unallocated.exact), models: up.unallocated.models },
  };
}

/**
 * Every day of the month with curated data must have its chargeback_daily and token_burn_daily
 * rollups computed from the live curated generation, by the current model: otherwise the rollup is
 * behind (late data not rolled up yet) and the export refuses to bill stale numbers.
 */
async function checkRollups(store: ObjectStore, bounds: MonthBounds, sqlDir: string) {
  const commits = new PartitionCommits(store);
  const current = currentModels(readSqlTree(sqlDir)).get('chargeback_daily');
  const behind: string[] = [];
  const models: { file: string; version: number; checksum: string }[] = [];
  const generations: Record<string, number> = {};
  let days = 0;
  for (let dt = bounds.first; dt <= bounds.last; dt = addDays(dt, 1)) {
    const curated = await commits.get(CURATED_EVENTS.name, dt);
    const cb = await commits.get('chargeback_daily', dt);
    if (!curated) {
      if (cb) behind.push(`chargeback_daily has ${dt} but the curated events do not`);
      continue;
    }
    days++;
    generations[dt] = curated.generation;
    for (const [table, c] of [
      ['chargeback_daily', cb],
      ['token_burn_daily', await commits.get('token_burn_daily', dt)],
    ] as [string, PartitionCommit | null][]) {
      if (!c) behind.push(`${table} has no rollup of ${dt}`);
      else if (c.source?.generation !== curated.generation)
        behind.push(`${table} ${dt} was computed from curated generation ${c.source?.generation ?? '?'}, the lake has generation ${curated.generation}`);
      else if (table === 'chargeback_daily' && current && c.model?.version !== current.version)
        behind.push(`chargeback_daily ${dt} was computed by ${c.model?.file ?? 'an older model'}, the current model is ${current.file}`);
    }
    if (cb?.model) models.push(cb.model);
  }
  if (behind.length) {
    throw new RollupBehindError(
      `the rollup is behind for ${bounds.month}: ${behind.slice(0, 3).join('; ')}${behind.length > 3 ? ` (and ${behind.length - 3} more)` : ''}; run cclake rollup (or let the daily rollup function run) and export again`,
    );
  }
  return { days, models, generations };
}

/** The committed revisions of a month, in order, each checked against its manifest and chained to the one before. */
export async function loadRevisions(store: ObjectStore, month: string): Promise<Revision[]> {
  const objects = await listAll(store, monthPrefix(month));
  const numbers = objects
    .map((o) => /\/rev=(\d{3,})\/manifest\.json$/.exec(o.key))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]));
  const out: Revision[] = [];
  for (const n of numbers.sort((a, b) => a - b)) {
    const prefix = revisionPrefix(month, n);
    const body = await store.get(`${prefix}manifest.json`);
    const manifest = JSON.parse(decode(body)) as ChargebackManifest;
    const where = `chargeback ${month} revision ${n}`;
    if (manifest.revision !== n) throw new Error(`${where}: its manifest says revision ${manifest.revision}`);
    const prev = out.at(-1);
    if (n !== (prev?.revision ?? 0) + 1) throw new Error(`${where}: revision ${(prev?.revision ?? 0) + 1} is missing`);
    if (prev && manifest.previous_revision?.manifest_sha256 !== prev.manifestSha256)
      throw new Error(`${where}: its manifest does not chain to revision ${prev.revision}'s (the earlier manifest changed); run cclake export verify`);
    const files = new Map<string, Uint8Array>();
    for (const f of manifest.files) {
      const bytes = await store.get(`${prefix}${f.name}`);
      if (sha256Hex(bytes) !== f.sha256)
        throw new Error(
          `${where}: ${f.name} does not match its manifest (sha256 ${sha256Hex(bytes).slice(0, 12)}…, manifest ${f.sha256.slice(0, 12)}…); refusing to build on altered files: run cclake export verify`,
        );
      files.set(f.name, bytes);
    }
    const csv = files.get('focus.csv');
    if (!csv) throw new Error(`${where}: its manifest lists no focus.csv`);
    const rows = parseCsv(csv);
    const header = decode(csv).split('\n', 1)[0];
    // Revisions written before the allocation columns, or the tier column, existed are read as they are.
    const without = (...groups: (readonly string[])[]) =>
      FOCUS_COLUMNS.map((c) => c.name)
        .filter((n) => !groups.some((g) => g.includes(n)))
        .join(',');
    const readable = [without(), without(ALLOCATION_COLUMNS), without(TIER_COLUMNS), without(ALLOCATION_COLUMNS, TIER_COLUMNS)];
    if (!readable.includes(header ?? '')) throw new Error(`${where}: focus.csv has columns this version does not read (${header?.slice(0, 80)}…)`);
    out.push({ revision: n, prefix, manifest, manifestSha256: sha256Hex(body), files, rows });
  }
  return out;
}
