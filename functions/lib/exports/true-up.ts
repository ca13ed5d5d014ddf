/**
 * The chargeback true-up, free of I/O: when a month has imported bills (billed.ts), each provider
 * with a bill is charged what its bills say instead of the price book's cost. A bill's amount for a
 * model (provider and normalised model version, every bill of that provider in the month added up,
 * exactly) is split over the month's lines of that model by their share of its priced usage: line i
 * gets billed x priced_i / sum(priced), in exact 10^-15 USD by largest remainder (money.ts `apportion`),
 * so the shares add up to the bill exactly; the export then rounds every line to the cent by largest
 * remainder as it always did, so the lines add up to the invoice to the cent.
 *
 *  - a billed model with no priced usage in the month (no telemetry, or only models without a price
 *    row): one 'unallocated' line (x_Team, x_CostCenter, x_UserKey 'unallocated') holds its amount;
 *    it is never dropped and never shared out;
 *  - a model with usage but nothing on its provider's bills: its lines bill 0.00, and a warning says so;
 *  - a provider without a bill for the month (say Vertex usage beside a Bedrock bill): its lines bill
 *    their priced cost, without allocation columns, and a warning says so.
 *
 * Every trued-up line states its allocation in the FOCUS 1.3 columns (Allocation in chargeback-lines.ts).
 */
import { TRUE_UP_METHOD_ID } from '../../../schemas/focus';
import { normalizeModelId } from '../prices/model-id';
import type { Config } from '../config/schema';
import type { BilledAmounts, BilledModel, BillProvider } from './billed';
import { billProviderOf, compareAttrs, lineKey, UNALLOCATED, type Allocation, type Line, type LineAttrs, type MonthBounds } from './chargeback-lines';
import { apportion, EXACT_SCALE, formatDecimal } from './money';

/** AllocatedRatio's resolution: 12 decimal places, apportioned so a model's ratios add up to exactly 1. */
const RATIO_SCALE = 12;
const RATIO_ONE = 10n ** BigInt(RATIO_SCALE);

export interface TrueUp {
  /** The lines with the billed amounts of the trued-up providers, plus the unallocated lines, in detail order. */
  lines: Line[];
  allocations: Map<string, Allocation>;
  /** The providers whose lines bill their bills' amounts. */
  providers: BillProvider[];
  unallocated: { lines: number; exact: bigint; models: string[] };
  warnings: string[];
}

const usd = (x: bigint) => formatDecimal(x, EXACT_SCALE, 2);
const modelKey = (provider: string, model: string) => `${provider}\u0001${model}`;

export function trueUp(lines: readonly Line[], billed: BilledAmounts, bounds: MonthBounds, setting: Config['chargeback']['provider']): TrueUp {
  const providers = [...new Set(billed.bills.map((b) => b.provider))].sort();
  const out: Line[] = [];
  const allocations = new Map<string, Allocation>();
  const warnings: string[] = [];
  const unallocated = { lines: 0, exact: 0n, models: [] as string[] };

  // The lines of each billed provider, by normalised model version.
  const groups = new Map<string, { provider: BillProvider; model: string; lines: Line[] }>();
  const unbilledProviders = new Set<string>();
  for (const l of lines) {
    const provider = billProviderOf(l.model, setting);
    if (!providers.includes(provider)) {
      out.push(l);
      if (l.billedExact !== 0n || l.tokens !== 0n) unbilledProviders.add(provider);
      continue;
    }
    const model = normalizeModelId(l.model).key;
    const k = modelKey(provider, model);
    const g = groups.get(k) ?? { provider, model, lines: [] };
    g.lines.push({ ...l });
    groups.set(k, g);
  }
  for (const p of [...unbilledProviders].sort())
    warnings.push(`no ${p} bill was imported for ${billed.month}: its usage is billed at the price book's cost, beside the ${providers.join(', ')} bill(s)`);

  const origin = (m: BilledModel | null, provider: string, model: string, pricedTotal: bigint) =>
    JSON.stringify({
      Provider: provider,
      Model: model,
      BilledCost: usd(m?.billedExact ?? 0n),
      PricedCost: usd(pricedTotal),
      Bills: m?.bills ?? [],
    });
  const details = (ratio: bigint, quantity: bigint, originJson: string, note?: string) =>
    `{"Elements":[{"AllocatedRatio":${formatDecimal(ratio, RATIO_SCALE)},"UsageUnit":"USD","UsageQuantity":${usd(quantity)}}],` +
    `"x_Basis":"the line's priced cost (price book) as a share of its model's priced cost in the month","x_Origin":${originJson}${note ? `,"x_Note":${JSON.stringify(note)}` : ''}}`;
  const allocateTo = (l: Line, ratio: bigint, originJson: string, describe: string, note?: string): Allocation => ({
    methodId: TRUE_UP_METHOD_ID,
    details: details(ratio, l.billedExact, originJson, note),
    resourceId: l.userKey,
    resourceName: `${l.userKey} (team ${l.team}, cost center ${l.costCenter})`,
    tags: JSON.stringify({ 'cclake/CostCenter': l.costCenter, 'cclake/Team': l.team }),
    describe,
  });

  const seen = new Set<string>();
  for (const m of billed.models) {
    const label = m.model ?? 'unknown';
    const k = m.model === null ? null : modelKey(m.provider, m.model);
    const g = k ? groups.get(k) : undefined;
    if (k) seen.add(k);
    const weights = g?.lines.map((l) => l.billedExact) ?? [];
    const pricedTotal = weights.reduce((a, b) => a + b, 0n);
    const originJson = origin(m, m.provider, label, pricedTotal);
    if (g && pricedTotal > 0n) {
      const shares = apportion(m.billedExact, weights);
      const ratios = apportion(RATIO_ONE, weights);
      g.lines.forEach((l, i) => {
        const share = `true-up: ${formatDecimal(ratios[i]!, RATIO_SCALE)} of the ${usd(m.billedExact)} USD billed for ${label} (${m.bills.join(', ')}), by priced usage`;
        allocations.set(l.key, allocateTo(l, ratios[i]!, originJson, share));
        out.push({ ...l, billedExact: shares[i]! });
      });
      continue;
    }
    // Nothing priced to share it by: the amount goes on an explicit unallocated line.
    const note = 'no priced Claude Code usage of this model in the month: the billed amount stays unallocated';
    for (const l of g?.lines ?? []) {
      allocations.set(l.key, allocateTo(l, 0n, originJson, `true-up: no share of the ${usd(m.billedExact)} USD billed for ${label} (no priced usage)`, note));
      out.push({ ...l, billedExact: 0n });
    }
    if (m.billedExact === 0n) continue;
    const attrs: LineAttrs = {
      userKey: UNALLOCATED,
      team: UNALLOCATED,
      costCenter: UNALLOCATED,
      model: label,
      tokenType: 'all',
      priced: false,
      priceVersion: null,
      pricePattern: null,
      priceTier: null,
      unitPrice: null,
      chargeStart: bounds.start,
      chargeEnd: bounds.end,
      billProvider: m.provider,
    };
    const key = lineKey(attrs);
    allocations.set(key, {
      methodId: TRUE_UP_METHOD_ID,
      details: details(RATIO_ONE, 0n, originJson, note),
      resourceId: null,
      resourceName: null,
      tags: null,
      describe: `Billed ${usd(m.billedExact)} USD for ${label} (${m.bills.join(', ')}) with no priced Claude Code usage of the model in the month to allocate it to: unallocated`,
    });
    out.push({ key, ...attrs, tokens: 0n, billedExact: m.billedExact, listExact: 0n });
    unallocated.lines++;
    unallocated.exact += m.billedExact;
    unallocated.models.push(`${label} (${m.provider})`);
  }
  // Usage of a billed provider whose bills charge nothing for the model.
  for (const [k, g] of groups) {
    if (seen.has(k)) continue;
    const pricedTotal = g.lines.reduce((a, l) => a + l.billedExact, 0n);
    const originJson = origin(null, g.provider, g.model, pricedTotal);
    const note = "the provider's bills for the month charge nothing for this model";
    for (const l of g.lines) {
      allocations.set(l.key, allocateTo(l, 0n, originJson, `true-up: the ${g.provider} bill charges nothing for ${g.model}`, note));
      out.push({ ...l, billedExact: 0n });
    }
    if (pricedTotal > 0n)
      warnings.push(
        `${g.model} (${g.provider}) has ${usd(pricedTotal)} USD of priced usage in ${billed.month} but nothing on the ${g.provider} bill(s): its lines bill 0.00 (is the bill's model named differently?)`,
      );
  }
  if (unallocated.lines)
    warnings.push(
      `${usd(unallocated.exact)} USD of the ${billed.month} bill(s) has no priced usage to allocate it to (${unallocated.models.join(', ')}): on 'unallocated' lines`,
    );
  return { lines: out.sort(compareAttrs), allocations, providers, unallocated, warnings };
}
