/**
 * The chargeback's arithmetic, free of I/O: detail lines from the lake's monthly rows, the
 * difference between what the lake says now and what earlier revisions already billed, cents by
 * largest remainder, FOCUS rows, and the cost-center summary with the allocation of unattributed cost.
 *
 * A line is one (charge period, cost center, team, developer, model, token type, price row and
 * context tier: a request above the long-context threshold is billed at its model's long prices). Its
 * exact amounts are femto-dollars (money.ts). A revision bills the difference, line by line, between
 * the lake now and the sum of all earlier revisions; the first revision of a month is that
 * difference from nothing. Rounding: the revision's lines are rounded so that the running total in
 * cents is always the exact running total rounded half-up, which is what reconciles to the cent.
 */
import { TRUE_UP_METHOD_ID, type FocusRow } from '../../../schemas/focus';
import { LONG_CONTEXT_THRESHOLD_TOKENS } from '../../../schemas/price-book';
import type { BillProvider } from './billed';
import type { Config } from '../config/schema';
import { apportion, EXACT_SCALE, formatCents, formatDecimal, largestRemainder, parseDecimal, PRICE_SCALE, roundHalfUp, UNITS_PER_CENT } from './money';
import { isoSeconds, nextMonth, startOfDay } from './periods';

export const TOKEN_TYPES = ['input', 'output', 'cache_read', 'cache_creation'] as const;
export type PriceTier = 'standard' | 'long';
export type TokenType = (typeof TOKEN_TYPES)[number] | 'all';
const TOKEN_ORDER: Record<TokenType, number> = { input: 0, output: 1, cache_read: 2, cache_creation: 3, all: 4 };

export interface LineAttrs {
  userKey: string;
  team: string;
  costCenter: string;
  model: string;
  tokenType: TokenType;
  priced: boolean;
  priceVersion: string | null;
  pricePattern: string | null;
  /** The context tier whose prices apply (chargeback_daily price_tier); null when unpriced. */
  priceTier: PriceTier | null;
  /** USD per million tokens, in units of 10^-9 (PRICE_SCALE); null when unpriced. */
  unitPrice: bigint | null;
  /** FOCUS ChargePeriodStart/End ('YYYY-MM-DDTHH:mm:ssZ'). */
  chargeStart: string;
  chargeEnd: string;
  /**
   * Only on an 'unallocated' line (a bill's amount with no priced usage of its model to allocate it
   * to, true-up.ts): the provider whose bill charged it. Part of the line's identity.
   */
  billProvider?: BillProvider;
}

/** The developer, team and cost center of a bill's amount no priced usage was found for. */
export const UNALLOCATED = 'unallocated';

export interface Amounts {
  tokens: bigint;
  /** Femto-dollars. */
  billedExact: bigint;
  listExact: bigint;
}

export interface Line extends LineAttrs, Amounts {
  key: string;
}

/** What all revisions so far billed for a line. */
export interface Billed extends Amounts {
  key: string;
  attrs: LineAttrs;
  billedCents: bigint;
  listCents: bigint;
}
export type BilledState = Map<string, Billed>;

/** One line of a revision: the difference it bills, exact and in cents. */
export interface Change {
  key: string;
  attrs: LineAttrs;
  delta: Amounts;
  billedCents: bigint;
  listCents: bigint;
}

export const lineKey = (a: LineAttrs) =>
  [
    a.chargeStart,
    a.chargeEnd,
    a.costCenter,
    a.team,
    a.userKey,
    a.model,
    a.tokenType,
    a.priced ? 'priced' : 'unpriced',
    a.pricePattern ?? '',
    // Only long lines name their tier, so a standard line keeps the key revisions before tiers gave it.
    ...(a.priceTier === 'long' ? ['long'] : []),
    ...(a.billProvider ? [a.billProvider] : []),
  ].join('\u0001');

/** The detail's order: cost center ('unattributed', then 'unallocated' last), team, developer, model, period, token type. */
export function compareAttrs(a: LineAttrs, b: LineAttrs): number {
  const cc = (x: LineAttrs) => (x.costCenter === 'unattributed' ? '\uffff' : x.costCenter === UNALLOCATED && x.billProvider ? '\uffff\uffff' : x.costCenter);
  const keys: [string | number, string | number][] = [
    [cc(a), cc(b)],
    [a.team, b.team],
    [a.userKey, b.userKey],
    [a.model, b.model],
    [a.chargeStart, b.chargeStart],
    [TOKEN_ORDER[a.tokenType], TOKEN_ORDER[b.tokenType]],
    [a.priced ? 0 : 1, b.priced ? 0 : 1],
    [a.pricePattern ?? '', b.pricePattern ?? ''],
    [a.priceTier === 'long' ? 1 : 0, b.priceTier === 'long' ? 1 : 0],
    [a.billProvider ?? '', b.billProvider ?? ''],
  ];
  for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

export interface MonthBounds {
  month: string;
  /** First and last day of the month ('YYYY-MM-DD'). */
  first: string;
  last: string;
  /** The month's first instant and the next month's, in UTC ('YYYY-MM-DDTHH:mm:ssZ'). */
  start: string;
  end: string;
}

export function monthBounds(month: string, timeZone: string): MonthBounds {
  const next = `${nextMonth(month)}-01`;
  const first = `${month}-01`;
  const lastMs = Date.parse(`${next}T00:00:00Z`) - 86_400_000;
  return {
    month,
    first,
    last: new Date(lastMs).toISOString().slice(0, 10),
    start: isoSeconds(startOfDay(first, timeZone)),
    end: isoSeconds(startOfDay(next, timeZone)),
  };
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const big = (v: unknown) => (v === null || v === undefined ? 0n : BigInt(String(v)));
const TOKEN_COLUMN: Record<(typeof TOKEN_TYPES)[number], string> = {
  input: 'input_tokens',
  output: 'output_tokens',
  cache_read: 'cache_read_tokens',
  cache_creation: 'cache_creation_tokens',
};
const PRICE_COLUMN: Record<(typeof TOKEN_TYPES)[number], string> = {
  input: 'price_input',
  output: 'price_output',
  cache_read: 'price_cache_read',
  cache_creation: 'price_cache_creation',
};

export interface DetailTotals {
  /** Claude Code's reported cost of every line (priced or not), femto-dollars. */
  reportedExact: bigint;
  sourceRows: number;
}

/**
 * Lines from sql/exports/chargeback_detail.sql's rows: one per token type for a priced row, one
 * ('all') for an unpriced row, whose list cost is the reported cost. Token types without tokens
 * make no line.
 */
export function linesFromDetail(rows: readonly Record<string, unknown>[], bounds: MonthBounds, timeZone: string): { lines: Line[]; totals: DetailTotals } {
  const byKey = new Map<string, Line>();
  const totals: DetailTotals = { reportedExact: 0n, sourceRows: 0 };
  const add = (attrs: LineAttrs, amounts: Amounts) => {
    const key = lineKey(attrs);
    const line = byKey.get(key);
    if (line) {
      line.tokens += amounts.tokens;
      line.billedExact += amounts.billedExact;
      line.listExact += amounts.listExact;
    } else byKey.set(key, { key, ...attrs, ...amounts });
  };
  for (const r of rows) {
    const reported = parseDecimal(str(r.reported_cost_usd) ?? '0', 12) * 1000n;
    totals.reportedExact += reported;
    totals.sourceRows += Number(r.source_rows ?? 0);
    const base = { userKey: String(r.user_key), team: String(r.team), costCenter: String(r.cost_center), model: String(r.model) };
    if (r.price_input === null || r.price_input === undefined) {
      const tokens = TOKEN_TYPES.reduce((n, t) => n + big(r[TOKEN_COLUMN[t]]), 0n);
      if (tokens === 0n && reported === 0n) continue;
      add(
        {
          ...base,
          tokenType: 'all',
          priced: false,
          priceVersion: null,
          pricePattern: null,
          priceTier: null,
          unitPrice: null,
          chargeStart: bounds.start,
          chargeEnd: bounds.end,
        },
        { tokens, billedExact: 0n, listExact: reported },
      );
      continue;
    }
    // The price row's days inside the month.
    const from = String(r.price_valid_from) > bounds.first ? String(r.price_valid_from) : bounds.first;
    const to = r.price_valid_to && String(r.price_valid_to) <= bounds.last ? String(r.price_valid_to) : null;
    const chargeStart = from === bounds.first ? bounds.start : isoSeconds(startOfDay(from, timeZone));
    const chargeEnd = to === null ? bounds.end : isoSeconds(startOfDay(to, timeZone));
    for (const t of TOKEN_TYPES) {
      const tokens = big(r[TOKEN_COLUMN[t]]);
      if (tokens === 0n) continue;
      const unitPrice = parseDecimal(String(r[PRICE_COLUMN[t]]), PRICE_SCALE);
      const exact = tokens * unitPrice; // tokens x (USD/1e6 tokens x 1e9) = USD x 1e15
      add(
        {
          ...base,
          tokenType: t,
          priced: true,
          priceVersion: str(r.price_version),
          pricePattern: str(r.price_model_pattern),
          priceTier: r.price_tier === 'long' ? 'long' : 'standard',
          unitPrice,
          chargeStart,
          chargeEnd,
        },
        { tokens, billedExact: exact, listExact: exact },
      );
    }
  }
  return { lines: [...byKey.values()].sort(compareAttrs), totals };
}

const sum = (xs: Iterable<bigint>) => {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
};

/**
 * The difference between the lake now (`current`) and what was billed so far (`billed`), line by
 * line, with cents by largest remainder such that the running totals stay the exact totals rounded
 * half-up. Returns the changed lines (in detail order) and the state after billing them.
 */
export function bill(billed: BilledState, current: readonly Line[]): { changes: Change[]; next: BilledState } {
  const now = new Map(current.map((l) => [l.key, l]));
  const keys = [...new Set([...billed.keys(), ...now.keys()])];
  const attrsOf = (k: string): LineAttrs => now.get(k) ?? billed.get(k)!.attrs;
  keys.sort((a, b) => compareAttrs(attrsOf(a), attrsOf(b)));
  const pending: Omit<Change, 'billedCents' | 'listCents'>[] = [];
  for (const key of keys) {
    const c = now.get(key);
    const p = billed.get(key);
    const delta = {
      tokens: (c?.tokens ?? 0n) - (p?.tokens ?? 0n),
      billedExact: (c?.billedExact ?? 0n) - (p?.billedExact ?? 0n),
      listExact: (c?.listExact ?? 0n) - (p?.listExact ?? 0n),
    };
    if (delta.tokens !== 0n || delta.billedExact !== 0n || delta.listExact !== 0n) pending.push({ key, attrs: attrsOf(key), delta });
  }
  const billedTarget = roundHalfUp(sum(current.map((l) => l.billedExact)), UNITS_PER_CENT) - sum([...billed.values()].map((b) => b.billedCents));
  const listTarget = roundHalfUp(sum(current.map((l) => l.listExact)), UNITS_PER_CENT) - sum([...billed.values()].map((b) => b.listCents));
  if (!pending.length) {
    if (billedTarget !== 0n || listTarget !== 0n)
      throw new Error(
        `the billed revisions are off the exact total by ${formatCents(billedTarget)} USD with no line changed: an earlier revision's files were altered`,
      );
    return { changes: [], next: billed };
  }
  const billedCents = largestRemainder(
    pending.map((p) => p.delta.billedExact),
    UNITS_PER_CENT,
    billedTarget,
  );
  const listCents = largestRemainder(
    pending.map((p) => p.delta.listExact),
    UNITS_PER_CENT,
    listTarget,
  );
  const changes = pending.map((p, i) => ({ ...p, billedCents: billedCents[i]!, listCents: listCents[i]! }));
  const next: BilledState = new Map([...billed].map(([k, b]) => [k, { ...b }]));
  for (const c of changes) {
    const b = next.get(c.key) ?? { key: c.key, attrs: c.attrs, tokens: 0n, billedExact: 0n, listExact: 0n, billedCents: 0n, listCents: 0n };
    next.set(c.key, {
      key: c.key,
      attrs: c.attrs,
      tokens: b.tokens + c.delta.tokens,
      billedExact: b.billedExact + c.delta.billedExact,
      listExact: b.listExact + c.delta.listExact,
      billedCents: b.billedCents + c.billedCents,
      listCents: b.listCents + c.listCents,
    });
  }
  return { changes, next };
}

export interface StateTotals {
  tokens: bigint;
  billedExact: bigint;
  listExact: bigint;
  billedCents: bigint;
  listCents: bigint;
}

export function totalsOf(state: BilledState): StateTotals {
  const t: StateTotals = { tokens: 0n, billedExact: 0n, listExact: 0n, billedCents: 0n, listCents: 0n };
  for (const b of state.values()) {
    t.tokens += b.tokens;
    t.billedExact += b.billedExact;
    t.listExact += b.listExact;
    t.billedCents += b.billedCents;
    t.listCents += b.listCents;
  }
  return t;
}

type ChargebackConfig = Config['chargeback'];

const PROVIDERS = {
  aws: { provider: 'AWS', service: 'Amazon Bedrock' },
  anthropic: { provider: 'Anthropic', service: 'Claude API' },
  google: { provider: 'Google Cloud', service: 'Vertex AI' },
} as const;

/** The provider of a bill (schemas/bills.ts) as FOCUS names it, and back. */
const BILL_PROVIDER: Record<BillProvider, keyof typeof PROVIDERS> = { bedrock: 'aws', anthropic: 'anthropic', vertex: 'google' };
export const focusProviderOfBill = (p: BillProvider) => PROVIDERS[BILL_PROVIDER[p]];
const billProviderOfName = (name: string | undefined): BillProvider | undefined =>
  (Object.keys(BILL_PROVIDER) as BillProvider[]).find((p) => PROVIDERS[BILL_PROVIDER[p]].provider === name);

/** The bill provider whose bills charge a model id's usage (by the same reading as ProviderName). */
export function billProviderOf(model: string, setting: ChargebackConfig['provider']): BillProvider {
  return billProviderOfName(providerOf(model, setting).provider)!;
}

/** FOCUS ProviderName and ServiceName for a model id (config chargeback.provider; 'auto' reads the id). */
export function providerOf(model: string, setting: ChargebackConfig['provider']): { provider: string; service: string } {
  if (setting !== 'auto') return PROVIDERS[setting];
  // Bedrock: 'anthropic.claude-…', inference profiles 'us.anthropic.claude-…', or an ARN.
  if (/^arn:aws/.test(model) || /^([a-z-]+\.)?anthropic\./.test(model)) return PROVIDERS.aws;
  // Vertex AI names versions with '@' ('claude-sonnet-4@20250514').
  if (model.includes('@')) return PROVIDERS.google;
  return PROVIDERS.anthropic;
}

/** The FOCUS 1.3 allocation columns of a line under the bill true-up (true-up.ts), by line key. */
export interface Allocation {
  methodId: string;
  details: string;
  resourceId: string | null;
  resourceName: string | null;
  tags: string | null;
  /** Appended to ChargeDescription: the share of which billed amount. */
  describe: string;
}

export interface RowContext {
  revision: number;
  category: 'Usage' | 'Adjustment';
  billingStart: string;
  billingEnd: string;
  currency: string;
  config: ChargebackConfig;
  /** The true-up's allocation of each line (absent, or no entry: the line bills its priced cost). */
  allocations?: ReadonlyMap<string, Allocation>;
}

const signed = (n: bigint) => (n > 0n ? `+${n}` : `${n}`);

function describe(c: Change, ctx: RowContext, allocation: Allocation | undefined): string {
  const a = c.attrs;
  const tokens = ctx.category === 'Usage' ? `${c.delta.tokens}` : `${signed(c.delta.tokens)}`;
  const what = a.billProvider
    ? allocation!.describe
    : (a.priced
        ? `${tokens} ${a.tokenType} tokens of ${a.model}${a.priceTier === 'long' ? ` in long-context requests (above ${LONG_CONTEXT_THRESHOLD_TOKENS} input tokens)` : ''} at ${formatDecimal(a.unitPrice!, PRICE_SCALE, 2)} ${ctx.currency} per million tokens (price table ${a.priceVersion}, pattern ${a.pricePattern}${a.priceTier === 'long' ? ', long-context tier' : ''})`
        : `${tokens} tokens of ${a.model}: no price row covers this model, so it is not billed; ListCost is the cost Claude Code reported`) +
      (allocation ? `; ${allocation.describe}` : '');
  if (ctx.category === 'Usage') return a.billProvider ? what : `Claude Code usage: ${what}`;
  // Tokens or priced cost moved: late data; only the billed amount moved: the bill changed.
  const why =
    c.delta.tokens !== 0n || c.delta.listExact !== 0n ? 'data that arrived after the close' : 'the bill for the month, imported or revised after the close';
  return `Correction in revision ${ctx.revision} (${why}): ${what}`;
}

/** An unallocated line of an earlier revision whose model the bill no longer charges (a revised bill): its correction still says what it was. */
const withdrawn = (a: LineAttrs): Allocation => ({
  methodId: TRUE_UP_METHOD_ID,
  details: `{"Elements":[{"AllocatedRatio":1,"UsageUnit":"USD","UsageQuantity":0}],"x_Note":${JSON.stringify(`the ${a.billProvider} bill no longer charges ${a.model}`)}}`,
  resourceId: null,
  resourceName: null,
  tags: null,
  describe: `the ${a.billProvider} bill no longer charges ${a.model}: its unallocated amount is withdrawn`,
});

export function focusRow(c: Change, ctx: RowContext): FocusRow {
  const a = c.attrs;
  const { provider, service } = a.billProvider ? focusProviderOfBill(a.billProvider) : providerOf(a.model, ctx.config.provider);
  const unitPrice = a.priced ? formatDecimal(a.unitPrice!, PRICE_SCALE, 2) : null;
  const billed = formatCents(c.billedCents);
  const allocation = ctx.allocations?.get(c.key) ?? (a.billProvider ? withdrawn(a) : undefined);
  return {
    BilledCost: billed,
    EffectiveCost: billed,
    ListCost: formatCents(c.listCents),
    // Under the true-up the contracted (price book) cost of a priced line is its ListCost; BilledCost is the bill's share.
    ContractedCost: allocation && a.priced ? formatCents(c.listCents) : billed,
    ListUnitPrice: unitPrice,
    ContractedUnitPrice: unitPrice,
    PricingQuantity: formatDecimal(c.delta.tokens, 6),
    PricingUnit: '1000000 Tokens',
    ConsumedQuantity: c.delta.tokens.toString(),
    ConsumedUnit: 'Tokens',
    BillingCurrency: ctx.currency,
    BillingPeriodStart: ctx.billingStart,
    BillingPeriodEnd: ctx.billingEnd,
    ChargePeriodStart: a.chargeStart,
    ChargePeriodEnd: a.chargeEnd,
    ChargeCategory: ctx.category,
    ChargeClass: ctx.category === 'Adjustment' ? 'Correction' : null,
    ChargeFrequency: 'Usage-Based',
    ChargeDescription: describe(c, ctx, allocation),
    ServiceName: service,
    ServiceCategory: 'AI and Machine Learning',
    ProviderName: provider,
    PublisherName: 'Anthropic',
    InvoiceIssuerName: ctx.config.invoiceIssuer ?? provider,
    BillingAccountId: ctx.config.billingAccountId,
    BillingAccountName: ctx.config.billingAccountName,
    AllocatedMethodId: allocation?.methodId ?? null,
    AllocatedMethodDetails: allocation?.details ?? null,
    AllocatedResourceId: allocation?.resourceId ?? null,
    AllocatedResourceName: allocation?.resourceName ?? null,
    AllocatedTags: allocation?.tags ?? null,
    x_Team: a.team,
    x_CostCenter: a.costCenter,
    x_UserKey: a.userKey,
    x_Model: a.model,
    x_TokenType: a.tokenType,
    x_PriceStatus: a.priced ? 'priced' : a.billProvider ? UNALLOCATED : 'unpriced',
    x_PriceTableVersion: a.priceVersion,
    x_PriceModelPattern: a.pricePattern,
    x_PriceTier: a.priced ? (a.priceTier ?? 'standard') : null,
    x_BilledCostExact: formatDecimal(c.delta.billedExact, EXACT_SCALE, 2),
    x_ListCostExact: formatDecimal(c.delta.listExact, EXACT_SCALE, 2),
    x_Revision: ctx.revision,
  };
}

/** Adds a revision's detail rows (as read back from its focus.csv) to the billed state. */
export function addBilledRows(state: BilledState, rows: readonly Record<string, string>[]): void {
  for (const r of rows) {
    const priced = r.x_PriceStatus === 'priced';
    const attrs: LineAttrs = {
      userKey: r.x_UserKey!,
      team: r.x_Team!,
      costCenter: r.x_CostCenter!,
      model: r.x_Model!,
      tokenType: r.x_TokenType as TokenType,
      priced,
      priceVersion: r.x_PriceTableVersion || null,
      pricePattern: r.x_PriceModelPattern || null,
      // A revision written before tiers has no x_PriceTier: all its priced lines were standard.
      priceTier: priced ? (r.x_PriceTier === 'long' ? 'long' : 'standard') : null,
      unitPrice: priced ? parseDecimal(r.ListUnitPrice!, PRICE_SCALE) : null,
      chargeStart: r.ChargePeriodStart!,
      chargeEnd: r.ChargePeriodEnd!,
    };
    if (r.x_PriceStatus === UNALLOCATED) {
      const p = billProviderOfName(r.ProviderName);
      if (!p) throw new Error(`an unallocated chargeback line names provider ${JSON.stringify(r.ProviderName)}, which no bill has`);
      attrs.billProvider = p;
    }
    const key = lineKey(attrs);
    const b = state.get(key) ?? { key, attrs, tokens: 0n, billedExact: 0n, listExact: 0n, billedCents: 0n, listCents: 0n };
    state.set(key, {
      key,
      attrs,
      tokens: b.tokens + BigInt(r.ConsumedQuantity!),
      billedExact: b.billedExact + parseDecimal(r.x_BilledCostExact!, EXACT_SCALE),
      listExact: b.listExact + parseDecimal(r.x_ListCostExact!, EXACT_SCALE),
      billedCents: b.billedCents + parseDecimal(r.BilledCost!, 2),
      listCents: b.listCents + parseDecimal(r.ListCost!, 2),
    });
  }
}

export interface SummaryRow {
  month: string;
  revision: number;
  cost_center: string;
  direct_cost: string;
  allocated_cost: string;
  total_cost: string;
  change: string;
  currency: string;
  allocation_rule: string;
}

interface CostCenterTotals {
  direct: bigint;
  allocated: bigint;
}

/**
 * Direct cost per cost center and the allocation of the 'unattributed' cost: `proportional` to the
 * other cost centers' direct cost, `even` across them, or `none` (it stays on 'unattributed'). When
 * there is nobody to allocate to (no other cost center, or none with cost for `proportional`) it
 * stays unallocated and `note` says why.
 */
export function allocate(state: BilledState, rule: ChargebackConfig['allocation']): { byCostCenter: Map<string, CostCenterTotals>; note: string | null } {
  const byCostCenter = new Map<string, CostCenterTotals>();
  for (const b of state.values()) {
    const t = byCostCenter.get(b.attrs.costCenter) ?? { direct: 0n, allocated: 0n };
    t.direct += b.billedCents;
    byCostCenter.set(b.attrs.costCenter, t);
  }
  const pool = byCostCenter.get('unattributed')?.direct ?? 0n;
  if (rule === 'none' || pool === 0n) return { byCostCenter, note: null };
  // A bill's unallocated amount is neither a cost center nor shared out: it stays on its own row.
  const targets = [...byCostCenter.keys()].filter((cc) => cc !== 'unattributed' && cc !== UNALLOCATED).sort();
  const weights = targets.map((cc) => (rule === 'even' ? 1n : byCostCenter.get(cc)!.direct));
  if (!targets.length || weights.every((w) => w === 0n)) {
    return {
      byCostCenter,
      note: `the unattributed cost ${formatCents(pool)} stays unallocated: no cost center ${targets.length ? 'has direct cost to share it by' : 'to allocate it to'}`,
    };
  }
  const shares = apportion(pool, weights);
  targets.forEach((cc, i) => (byCostCenter.get(cc)!.allocated += shares[i]!));
  byCostCenter.get('unattributed')!.allocated -= pool;
  return { byCostCenter, note: null };
}

export function summaryRows(
  month: string,
  revision: number,
  state: BilledState,
  before: BilledState,
  rule: ChargebackConfig['allocation'],
  currency: string,
): { rows: SummaryRow[]; note: string | null } {
  const now = allocate(state, rule);
  const prev = allocate(before, rule).byCostCenter;
  const last = (cc: string) => (cc === UNALLOCATED ? 2 : cc === 'unattributed' ? 1 : 0);
  const ccs = [...new Set([...now.byCostCenter.keys(), ...prev.keys()])].sort((a, b) => last(a) - last(b) || (a < b ? -1 : a > b ? 1 : 0));
  const rows = ccs.map((cc) => {
    const t = now.byCostCenter.get(cc) ?? { direct: 0n, allocated: 0n };
    const p = prev.get(cc) ?? { direct: 0n, allocated: 0n };
    return {
      month,
      revision,
      cost_center: cc,
      direct_cost: formatCents(t.direct),
      allocated_cost: formatCents(t.allocated),
      total_cost: formatCents(t.direct + t.allocated),
      change: formatCents(t.direct + t.allocated - p.direct - p.allocated),
      currency,
      allocation_rule: rule,
    };
  });
  return { rows, note: now.note };
}
