/**
 * Exact money for the exports: amounts are BigInt counts of a fixed unit, never floats.
 *
 * The chargeback works in femto-dollars (10^-15 USD): tokens x a unit price per million tokens with
 * 9 decimals (the most the price table keeps) is an integer number of femto-dollars, so a month's
 * priced cost is summed with no rounding at all. Rounding to cents happens once, at the end, with
 * the largest-remainder method, so the rounded lines always add up to the rounded total.
 */

/** Decimal places of the exact unit: 1 unit = 10^-15 USD. */
export const EXACT_SCALE = 15;
/** Decimal places of a unit price (USD per million tokens) as the SQL reads it: DECIMAL(18, 9). */
export const PRICE_SCALE = 9;
export const UNITS_PER_CENT = 10n ** BigInt(EXACT_SCALE - 2);

/** Parses decimal text ('12.5', '-0.000000001', '3') into units of 10^-scale, exactly; more decimals than `scale` is an error. */
export function parseDecimal(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal number: ${JSON.stringify(text)}`);
  const [, sign, whole, frac = ''] = m;
  const trimmed = frac.replace(/0+$/, '');
  if (trimmed.length > scale) throw new Error(`${text} has more than ${scale} decimal places`);
  const units = BigInt(whole!) * 10n ** BigInt(scale) + BigInt(trimmed.padEnd(scale, '0') || '0');
  return sign === '-' ? -units : units;
}

/**
 * Units of 10^-scale as decimal text: at least `minDecimals` places, trailing zeros beyond them
 * dropped (10 units at scale 2 is '0.1', or '0.10' with minDecimals 2).
 */
export function formatDecimal(units: bigint, scale: number, minDecimals = 0): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const base = 10n ** BigInt(scale);
  const whole = abs / base;
  let frac = scale > 0 ? (abs % base).toString().padStart(scale, '0') : '';
  frac = frac.replace(/0+$/, '');
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, '0');
  const text = frac ? `${whole}.${frac}` : `${whole}`;
  return negative && units !== 0n ? `-${text}` : text;
}

/** Cents as '12.34' (always two places). */
export const formatCents = (cents: bigint) => formatDecimal(cents, 2, 2);

/** Floor division for BigInt (toward minus infinity, unlike `/`). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** `units` rounded to a whole number of `unit`s, half away from zero (commercial rounding). */
export function roundHalfUp(units: bigint, unit: bigint): bigint {
  if (units < 0n) return -roundHalfUp(-units, unit);
  return (units + unit / 2n) / unit;
}

/**
 * Largest-remainder rounding: each exact amount becomes a whole number of `unit`s such that they
 * add up to exactly `target` units. Every line is first rounded down; the units still missing go,
 * one each, to the lines with the largest remainders (ties: the earlier line), so no line moves by
 * a whole unit or more and no cent is lost or made up. `target` must be within the reach of that
 * (between the floors' sum and the floors' sum plus the number of lines), which holds whenever it is
 * the exact total rounded to the nearest unit, or a difference of two such totals.
 */
export function largestRemainder(exact: readonly bigint[], unit: bigint, target: bigint): bigint[] {
  const floors = exact.map((e) => floorDiv(e, unit));
  const missing = target - floors.reduce((a, b) => a + b, 0n);
  if (missing < 0n || missing > BigInt(exact.length)) {
    throw new Error(`largest-remainder rounding cannot reach ${target} units from ${exact.length} line(s) whose floors add up to ${target - missing}`);
  }
  const order = exact.map((e, i) => ({ i, r: e - floors[i]! * unit })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (let k = 0; k < Number(missing); k++) floors[order[k]!.i]! += 1n;
  return floors;
}

/**
 * Splits a whole number of units (cents) by weights, exactly: each share is rounded down and the
 * units left over go to the largest remainders (ties: the earlier weight). The shares add up to `total`.
 */
export function apportion(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) return apportion(-total, weights).map((x) => -x);
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (weights.some((w) => w < 0n)) throw new Error('apportion: weights must not be negative');
  if (sum === 0n) throw new Error('apportion: the weights add up to zero');
  const shares = weights.map((w) => (total * w) / sum);
  const left = total - shares.reduce((a, b) => a + b, 0n);
  const order = weights.map((w, i) => ({ i, r: (total * w) % sum })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (let k = 0; k < Number(left); k++) shares[order[k]!.i]! += 1n;
  return shares;
}
