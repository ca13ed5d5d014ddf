/**
 * The chargeback export's detail file: FOCUS 1.2-shaped (FinOps Open Cost and Usage Specification)
 * columns plus FOCUS 1.3's split cost allocation columns (Allocated*, filled by the bill true-up),
 * then cclake's own `x_` columns, defined once here. The CSV header, the Parquet schema
 * (functions/lib/exports/focus-file.ts) and the README's column table follow this list and its order.
 *
 * Types are FOCUS's: Decimal columns are Parquet DECIMAL and plain decimal text in the CSV (cost
 * columns to the cent, unit prices to 9 places, quantities exact), date/times are UTC instants
 * ('YYYY-MM-DDTHH:mm:ssZ' in the CSV, Parquet timestamps adjusted to UTC).
 */

export type FocusType = 'string' | 'datetime' | 'int32' | { decimal: [precision: number, scale: number] };

export interface FocusColumn {
  readonly name: string;
  readonly type: FocusType;
  readonly nullable?: boolean;
  /** Where the value comes from (README "FOCUS columns" repeats these). */
  readonly doc: string;
}

const COST = { decimal: [18, 2] } as const satisfies FocusType;
const UNIT_PRICE = { decimal: [18, 9] } as const satisfies FocusType;
const EXACT = { decimal: [38, 15] } as const satisfies FocusType;

export const FOCUS_VERSION = '1.2';

/**
 * The FOCUS 1.3 AllocatedMethodId of the chargeback true-up (README "Chargeback true-up" documents
 * it): a month's billed amount per provider and model, split over the developers' lines by their
 * share of the model's priced usage.
 */
export const TRUE_UP_METHOD_ID = 'cclake-true-up-priced-usage-share-v1';

export const FOCUS_COLUMNS = [
  {
    name: 'BilledCost',
    type: COST,
    doc: "Tokens x the configured unit price (price table, per token type); when the provider's bill for the month was imported (AllocatedMethodId set), the line's share of the model's billed amount instead. Rounded to the cent by largest remainder so the lines add up to the rounded month total (the invoice, with a bill); 0.00 where no price row covers the model (x_PriceStatus unpriced)",
  },
  {
    name: 'EffectiveCost',
    type: COST,
    doc: "Equal to BilledCost: no commitments or prepaid discounts to amortise (a bill's discounts are already in its billed amount)",
  },
  {
    name: 'ListCost',
    type: COST,
    doc: 'Priced lines: tokens x the configured unit price (cclake has no other list price; ListUnitPrice x PricingQuantity before rounding). Unpriced lines: the cost_usd Claude Code reported, its client-side list-price estimate',
  },
  {
    name: 'ContractedCost',
    type: COST,
    doc: "Tokens x the configured unit price, taken as the contracted price: equal to BilledCost without a bill; on a priced line of a trued-up provider, ListCost (ContractedUnitPrice x PricingQuantity, rounded), so the bill's difference from the price book shows as BilledCost - ContractedCost",
  },
  {
    name: 'ListUnitPrice',
    type: UNIT_PRICE,
    nullable: true,
    doc: 'The configured price in USD per PricingUnit (one million tokens of the token type); null on unpriced lines',
  },
  { name: 'ContractedUnitPrice', type: UNIT_PRICE, nullable: true, doc: 'Same as ListUnitPrice (the configured price is the contracted price)' },
  { name: 'PricingQuantity', type: { decimal: [26, 6] }, doc: 'Tokens / 1,000,000 (exact)' },
  { name: 'PricingUnit', type: 'string', doc: "'1000000 Tokens' (FOCUS unit format: the prices are per million tokens)" },
  { name: 'ConsumedQuantity', type: { decimal: [20, 0] }, doc: 'Tokens (CONTRACTS section 3 token burn)' },
  { name: 'ConsumedUnit', type: 'string', doc: "'Tokens'" },
  { name: 'BillingCurrency', type: 'string', doc: "Config chargeback.currency ('USD': the price table is in US dollars)" },
  {
    name: 'BillingPeriodStart',
    type: 'datetime',
    doc: 'First instant of the billed month in the reporting time zone, in UTC; for a correction, of the month the revision was issued in',
  },
  { name: 'BillingPeriodEnd', type: 'datetime', doc: 'First instant of the next month (exclusive)' },
  {
    name: 'ChargePeriodStart',
    type: 'datetime',
    doc: 'Start of the month, or of the price row when it came into force inside the month (reporting time zone, in UTC)',
  },
  { name: 'ChargePeriodEnd', type: 'datetime', doc: 'End of the month, or of the price row when it ended inside the month (exclusive)' },
  {
    name: 'ChargeCategory',
    type: 'string',
    doc: "'Usage' in a month's first revision; 'Adjustment' for the differences a later revision (late data, a bill imported or revised after the close) brings",
  },
  { name: 'ChargeClass', type: 'string', nullable: true, doc: "null for Usage; 'Correction' for the adjustments to a month already issued" },
  { name: 'ChargeFrequency', type: 'string', doc: "'Usage-Based'" },
  {
    name: 'ChargeDescription',
    type: 'string',
    doc: 'What was billed: tokens, token type, model, unit price and price table version (or why it is not priced), and with a bill the share of the billed amount',
  },
  { name: 'ServiceName', type: 'string', doc: "'Amazon Bedrock' (AWS), 'Claude API' (Anthropic) or 'Vertex AI' (Google Cloud), per ProviderName" },
  { name: 'ServiceCategory', type: 'string', doc: "'AI and Machine Learning'" },
  {
    name: 'ProviderName',
    type: 'string',
    doc: "Config chargeback.provider; 'auto' reads it from the model id: Bedrock ids ('anthropic.', 'us.anthropic.', ARNs) AWS, Vertex ids ('@' version) Google Cloud, else Anthropic",
  },
  { name: 'PublisherName', type: 'string', doc: "'Anthropic' (the publisher of the Claude models)" },
  { name: 'InvoiceIssuerName', type: 'string', doc: 'Config chargeback.invoiceIssuer, else ProviderName' },
  { name: 'BillingAccountId', type: 'string', doc: 'Config chargeback.billingAccountId' },
  { name: 'BillingAccountName', type: 'string', doc: 'Config chargeback.billingAccountName' },
  {
    name: 'AllocatedMethodId',
    type: 'string',
    nullable: true,
    doc: "'cclake-true-up-priced-usage-share-v1' on the lines of a provider whose bill for the month was imported (the true-up: the billed amount of each model split by priced usage share); null without a bill (the line bills its priced cost, no split allocation)",
  },
  {
    name: 'AllocatedMethodDetails',
    type: 'string',
    nullable: true,
    doc: "FOCUS 1.3 JSON object: Elements[0] = AllocatedRatio (the line's share of the model's billed amount, 12 decimals; the shares of one model add up to 1), UsageUnit 'USD', UsageQuantity (the line's priced cost, the share's basis); x_Origin = the bill (provider, model, billed amount, bill ids and revisions); null without a bill",
  },
  {
    name: 'AllocatedResourceId',
    type: 'string',
    nullable: true,
    doc: "The developer the billed amount is allocated to (x_UserKey); null without a bill and on 'unallocated' lines (the part of a bill no usage could be found for)",
  },
  {
    name: 'AllocatedResourceName',
    type: 'string',
    nullable: true,
    doc: "'<user_key> (team <team>, cost center <cost center>)'; null when AllocatedResourceId is null",
  },
  {
    name: 'AllocatedTags',
    type: 'string',
    nullable: true,
    doc: 'FOCUS 1.3 key-value JSON of the allocation\'s attribution: {"cclake/CostCenter": …, "cclake/Team": …}; null when AllocatedResourceId is null',
  },
  {
    name: 'x_Team',
    type: 'string',
    doc: "Team of the developer (org directory, else the record, else unattributed), as in user_daily; 'unallocated' on a bill's amount no priced usage was found for",
  },
  { name: 'x_CostCenter', type: 'string', doc: "Cost center of the developer ('unattributed' when unknown; 'unallocated' as x_Team)" },
  { name: 'x_UserKey', type: 'string', doc: "CONTRACTS section 3 user_key (lower-cased email, else account uuid, else user id); 'unallocated' as x_Team" },
  { name: 'x_Model', type: 'string', doc: "Model id as reported ('unknown' when absent); on 'unallocated' lines the bill's normalised model" },
  {
    name: 'x_TokenType',
    type: 'string',
    doc: "input | output | cache_read | cache_creation; 'all' on unpriced lines (the reported cost covers every token type)",
  },
  {
    name: 'x_PriceStatus',
    type: 'string',
    doc: "'priced', or 'unpriced' where no price row covers the model (not billed; ListCost is the reported cost), or 'unallocated' for a bill's amount with no priced usage of its model",
  },
  { name: 'x_PriceTableVersion', type: 'string', nullable: true, doc: 'Config prices.version of the price row applied (null when unpriced)' },
  { name: 'x_PriceModelPattern', type: 'string', nullable: true, doc: 'The model glob of the price row applied (the most specific match)' },
  {
    name: 'x_PriceTier',
    type: 'string',
    nullable: true,
    doc: "The context tier of the unit price: 'long' for tokens of requests above the long-context threshold where the model has a long-context price, else 'standard'; null when not priced",
  },
  { name: 'x_BilledCostExact', type: EXACT, doc: 'BilledCost before rounding, exact' },
  { name: 'x_ListCostExact', type: EXACT, doc: 'ListCost before rounding (exact product, or the reported cost to 12 places)' },
  { name: 'x_Revision', type: 'int32', doc: 'The export revision this line belongs to (1 = the close)' },
] as const satisfies readonly FocusColumn[];

/** The allocation columns added with the bill true-up: revisions written before them lack them (the chargeback still reads those). */
export const ALLOCATION_COLUMNS = ['AllocatedMethodId', 'AllocatedMethodDetails', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags'] as const;

/** The column added with the long-context tier: revisions written before it lack it (their priced lines are standard). */
export const TIER_COLUMNS = ['x_PriceTier'] as const;

export type FocusColumnName = (typeof FOCUS_COLUMNS)[number]['name'];
/** One detail line as the writers take it: decimals as exact text, date/times as 'YYYY-MM-DDTHH:mm:ssZ'. */
export type FocusRow = Record<FocusColumnName, string | number | null>;

/** The cost-center summary file (summary.csv), one row per cost center. */
export const SUMMARY_COLUMNS = [
  { name: 'month', doc: "The billed month 'YYYY-MM'" },
  { name: 'revision', doc: 'The revision this summary belongs to' },
  { name: 'cost_center', doc: "Cost center ('unattributed' last)" },
  { name: 'direct_cost', doc: "BilledCost of the cost center's lines, all revisions so far" },
  { name: 'allocated_cost', doc: "Its share of the unattributed cost by the allocation rule (negative on the 'unattributed' row, which hands it out)" },
  { name: 'total_cost', doc: 'direct_cost + allocated_cost' },
  { name: 'change', doc: "total_cost minus the previous revision's (the whole total in revision 1)" },
  { name: 'currency', doc: 'Billing currency' },
  { name: 'allocation_rule', doc: 'proportional | even | none' },
] as const;
