/**
 * The price book: the list prices shipped in data/prices/list-prices.csv (columns: schemas/price-book.ts)
 * plus the operator's negotiated rates (config `prices`: override rows, percentage discounts).
 *
 * A model id is priced by, in order:
 *  1. the config override rows whose glob matches the raw id (the longest glob wins);
 *  2. else the book row for the id's normalised model version (model-id.ts), provider, Bedrock
 *     profile (an exact profile before `any`) and context tier in force that day, less the most
 *     specific discount in force. A `long` request with no long-tier row for its model is priced at
 *     that model's standard row (the same version: no premium was published for it).
 * There is no family fallback: an id whose version the book does not name is unpriced and reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { LONG_CONTEXT_THRESHOLD_TOKENS, PRICE_BOOK } from '../../../schemas/price-book';
import type { Config } from '../config/schema';
import { isIsoDate } from '../util/dates';
import { normalizeModelId, type ModelRef, type Profile } from './model-id';

/**
 * The shipped book: data/prices/ at the repository root, three folders above this module in the
 * sources, two above a bundled handler (functions/<name>/handler.mjs) in a Lambda zip, which ships
 * data/prices/*.csv beside functions/ (serverless.yml package patterns).
 */
export const BOOK_FILE =
  [new URL('../../../data/prices/list-prices.csv', import.meta.url), new URL('../../data/prices/list-prices.csv', import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((f) => existsSync(f)) ?? fileURLToPath(new URL('../../../data/prices/list-prices.csv', import.meta.url));

export type Tier = 'standard' | 'long';

export interface BookRow {
  line: number;
  provider: 'anthropic' | 'bedrock';
  model: string;
  profile: Profile;
  tier: Tier;
  validFrom: string;
  validTo: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  source: string;
  asOf: string;
}

export interface UnitPrices {
  input: number;
  output: number;
  cacheRead: number;
  /** What cache_creation tokens are priced at: the 5-minute write (telemetry does not tell the TTL). */
  cacheCreation: number;
  cacheWrite1h: number;
}

export type Resolution =
  | { priced: true; prices: UnitPrices; version: string; rule: string; pattern: string; source: string; model: ModelRef }
  | { priced: false; reason: string; model: ModelRef };

export class PriceBookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PriceBookError';
  }
}

const NUMERIC = ['input', 'output', 'cache_read', 'cache_write_5m', 'cache_write_1h'] as const;

/** The book's CSV as rows, validated: a bad row fails naming the file, line and column. */
export function parseBook(csv: string, file = 'data/prices/list-prices.csv'): BookRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(csv, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (err) {
    throw new PriceBookError(`${file}: not a readable CSV: ${(err as Error).message}`);
  }
  const expected = PRICE_BOOK.columns.map((c) => c.name);
  const header = Object.keys(records[0] ?? {});
  if (records.length && expected.join(',') !== header.join(','))
    throw new PriceBookError(`${file}: header is ${header.join(',')}; expected ${expected.join(',')}`);
  return records.map((r, i) => {
    const line = i + 2;
    const bad = (col: string, why: string) => new PriceBookError(`${file} line ${line}: ${col} ${JSON.stringify(r[col])} ${why}`);
    if (r.provider !== 'anthropic' && r.provider !== 'bedrock') throw bad('provider', 'is not anthropic or bedrock');
    if (!r.model || normalizeModelId(r.model).key !== r.model) throw bad('model', 'is not a normalised model version (e.g. claude-opus-4-1)');
    if (!['global', 'regional', 'any'].includes(r.profile!)) throw bad('profile', 'is not global, regional or any');
    if (r.provider === 'anthropic' && r.profile !== 'any') throw bad('profile', 'must be any for the anthropic provider');
    if (r.tier !== 'standard' && r.tier !== 'long') throw bad('tier', 'is not standard or long');
    if (!isIsoDate(r.valid_from!)) throw bad('valid_from', 'is not a date YYYY-MM-DD');
    if (r.valid_to && (!isIsoDate(r.valid_to) || r.valid_to <= r.valid_from!)) throw bad('valid_to', 'is not a date after valid_from');
    if (!isIsoDate(r.as_of!)) throw bad('as_of', 'is not a date YYYY-MM-DD');
    if (!r.source) throw bad('source', 'is empty: every price names its source');
    const n: Record<string, number> = {};
    for (const c of NUMERIC) {
      const v = Number(r[c]);
      if (r[c] === '' || !Number.isFinite(v) || v < 0) throw bad(c, 'is not a non-negative number');
      n[c] = v;
    }
    return {
      line,
      provider: r.provider,
      model: r.model,
      profile: r.profile as Profile,
      tier: r.tier,
      validFrom: r.valid_from!,
      validTo: r.valid_to || null,
      input: n.input!,
      output: n.output!,
      cacheRead: n.cache_read!,
      cacheWrite5m: n.cache_write_5m!,
      cacheWrite1h: n.cache_write_1h!,
      source: r.source,
      asOf: r.as_of!,
    };
  });
}

let shipped: BookRow[] | null = null;
/** The book shipped with cclake (read once). */
export function defaultBook(): BookRow[] {
  shipped ??= parseBook(readFileSync(BOOK_FILE, 'utf8'));
  return shipped;
}

/** Names the book in exports: `list-<newest as_of>`. */
export function bookVersion(book: readonly BookRow[]): string {
  return `list-${book.reduce((m, r) => (r.asOf > m ? r.asOf : m), '0000-00-00')}`;
}

const inForce = (from: string, to: string | null | undefined, day: string) => from <= day && (to == null || day < to);
const globRegex = (glob: string) =>
  new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );

/** A book and the operator's rates on top, ready to price model ids on a day. */
export class PriceBook {
  readonly version: string;

  constructor(
    readonly rows: readonly BookRow[],
    readonly prices: Config['prices'],
  ) {
    this.version = bookVersion(rows);
  }

  static fromConfig(config: Pick<Config, 'prices'>): PriceBook {
    return new PriceBook(config.prices.book === 'none' ? [] : defaultBook(), config.prices);
  }

  /** Prices `rawModel` on `day`; `tier` long for a request above the long-context threshold. */
  resolve(rawModel: string, day: string, opts: { contextTier?: string | null; tier?: Tier } = {}): Resolution {
    const model = normalizeModelId(rawModel, opts.contextTier ?? null);
    const tier = opts.tier ?? 'standard';
    // 1. Override rows: glob over the raw id (with the context suffix the record split off).
    const ids = [rawModel, model.contextTier && !rawModel.endsWith(model.contextTier) ? `${rawModel}${model.contextTier}` : null].filter(
      (x): x is string => !!x,
    );
    const override = this.prices.rows
      .filter((r) => inForce(r.validFrom, r.validTo, day) && ids.some((id) => globRegex(r.model).test(id)))
      .sort((a, b) => b.model.length - a.model.length || (b.validFrom < a.validFrom ? -1 : 1))[0];
    if (override) {
      // A row without long prices is a flat rate: its prices apply to long requests too.
      const p = tier === 'long' && override.long ? override.long : override;
      const prices = {
        input: p.input,
        output: p.output,
        cacheRead: p.cacheRead,
        cacheCreation: p.cacheCreation,
        cacheWrite1h: p.cacheCreation,
      };
      return {
        priced: true,
        prices,
        version: this.prices.version,
        rule: `override ${override.model} from ${override.validFrom}${p === override.long ? ' long' : ''}`,
        pattern: override.model,
        source: `config prices.rows (${this.prices.version})`,
        model,
      };
    }
    // 2. The book: exact model version, provider, profile (exact before any), tier (long falls back to standard).
    const row = this.bookRow(model, day, tier) ?? (tier === 'long' ? this.bookRow(model, day, 'standard') : null);
    if (!row) {
      const known = this.rows.some((r) => r.model === model.key && r.provider === model.provider);
      return {
        priced: false,
        reason: known
          ? `no ${model.provider} list price for ${model.key} in force on ${day}`
          : `model version ${model.key} (${model.provider}) is not in the price book`,
        model,
      };
    }
    const discount = this.discountFor(model, day);
    const f = discount ? 1 - discount.percent / 100 : 1;
    const prices = {
      input: row.input * f,
      output: row.output * f,
      cacheRead: row.cacheRead * f,
      cacheCreation: row.cacheWrite5m * f,
      cacheWrite1h: row.cacheWrite1h * f,
    };
    const rule = `${row.provider} ${row.model} ${row.profile} ${row.tier} from ${row.validFrom}${discount ? ` less ${discount.percent}%` : ''}`;
    const pattern = row.provider === 'bedrock' ? `${row.model} (bedrock ${model.profile})` : row.model;
    return {
      priced: true,
      prices,
      version: discount ? `${this.version} less ${discount.percent}% (${this.prices.version})` : this.version,
      rule,
      pattern,
      source: row.source,
      model,
    };
  }

  private bookRow(model: ModelRef, day: string, tier: Tier): BookRow | null {
    const rows = this.rows.filter(
      (r) =>
        r.provider === model.provider &&
        r.model === model.key &&
        r.tier === tier &&
        inForce(r.validFrom, r.validTo, day) &&
        (r.profile === model.profile || r.profile === 'any'),
    );
    rows.sort((a, b) => (a.profile === 'any' ? 1 : 0) - (b.profile === 'any' ? 1 : 0) || (b.validFrom < a.validFrom ? -1 : 1));
    return rows[0] ?? null;
  }

  private discountFor(model: ModelRef, day: string) {
    return this.prices.discounts
      .filter((d) => inForce(d.validFrom, d.validTo, day) && (!d.provider || d.provider === model.provider) && globRegex(d.model).test(model.key))
      .sort((a, b) => (b.provider ? 1 : 0) - (a.provider ? 1 : 0) || b.model.length - a.model.length)[0];
  }

  /** Every day on which some rule starts or stops applying (the price of an id is constant between two). */
  boundaries(): string[] {
    const days = new Set<string>();
    for (const r of this.rows) [r.validFrom, r.validTo].forEach((d) => d && days.add(d));
    for (const r of this.prices.rows) [r.validFrom, r.validTo].forEach((d) => d && days.add(d));
    for (const r of this.prices.discounts) [r.validFrom, r.validTo].forEach((d) => d && days.add(d));
    return [...days].sort();
  }

  /**
   * The `prices` seed rows for the model ids seen in the lake: one per id and stretch of days with
   * one price, its LIKE pattern the id itself, so the SQL's match is exact (model_pattern names the
   * rule: the configured glob, or the book's model version). Each row carries both tiers: the
   * standard prices, and the long-context prices with the threshold above which a request pays
   * them (`long_above_tokens`, LONG_CONTEXT_THRESHOLD_TOKENS); where the id has no long-context
   * price that day (no book row, or an override row without one) the long prices are the standard
   * ones and the threshold is null, so the SQL never prices such a request as long.
   */
  seedRows(models: readonly string[]): PriceSeedRow[] {
    const bounds = this.boundaries();
    const out: PriceSeedRow[] = [];
    for (const id of [...new Set(models)].sort()) {
      let open: PriceSeedRow | null = null;
      for (const day of bounds) {
        const r = this.resolve(id, day);
        const row = r.priced ? seedRow(id, day, r, this.resolve(id, day, { tier: 'long' })) : null;
        if (open && (!row || !samePrice(open, row))) {
          open.valid_to = day;
          out.push(open);
          open = null;
        }
        if (row && !open) open = row;
      }
      if (open) out.push(open);
    }
    return out;
  }

  /** Rules that apply to the same ids on the same days with the same specificity (an ambiguity to fix). */
  overlaps(): string[] {
    const out: string[] = [];
    const overlap = (a: { validFrom: string; validTo?: string | null }, b: { validFrom: string; validTo?: string | null }) =>
      a.validFrom < (b.validTo ?? '9999-12-31') && b.validFrom < (a.validTo ?? '9999-12-31');
    this.rows.forEach((a, i) =>
      this.rows.slice(i + 1).forEach((b) => {
        if (a.provider === b.provider && a.model === b.model && a.profile === b.profile && a.tier === b.tier && overlap(a, b))
          out.push(
            `book lines ${a.line} and ${b.line}: ${a.provider} ${a.model} ${a.profile} ${a.tier} overlap from ${a.validFrom > b.validFrom ? a.validFrom : b.validFrom}`,
          );
      }),
    );
    this.prices.rows.forEach((a, i) =>
      this.prices.rows.slice(i + 1).forEach((b, j) => {
        if (a.model === b.model && overlap(a, b))
          out.push(`config prices.rows[${i}] and [${i + 1 + j}]: ${a.model} overlap from ${a.validFrom > b.validFrom ? a.validFrom : b.validFrom}`);
      }),
    );
    this.prices.discounts.forEach((a, i) =>
      this.prices.discounts.slice(i + 1).forEach((b, j) => {
        if (a.model === b.model && a.provider === b.provider && overlap(a, b))
          out.push(
            `config prices.discounts[${i}] and [${i + 1 + j}]: ${a.provider ?? 'any provider'} ${a.model} overlap from ${a.validFrom > b.validFrom ? a.validFrom : b.validFrom}`,
          );
      }),
    );
    return out;
  }
}

export interface PriceSeedRow extends Record<string, unknown> {
  version: string;
  model_pattern: string;
  model_like: string;
  valid_from: string;
  valid_to: string | null;
  input: number;
  output: number;
  cache_read: number;
  cache_creation: number;
  source: string;
  /** Input + cache read + cache write tokens above which a request pays the long prices; null: no long tier. */
  long_above_tokens: number | null;
  long_input: number;
  long_output: number;
  long_cache_read: number;
  long_cache_creation: number;
}

type Priced = Extract<Resolution, { priced: true }>;

/** The seed row of `id` from `day` on: the standard resolution, and the long one (the standard prices where there is none). */
function seedRow(id: string, day: string, std: Priced, long: Resolution): PriceSeedRow {
  const l = long.priced ? long : std;
  const p = std.prices;
  const differs =
    l.prices.input !== p.input || l.prices.output !== p.output || l.prices.cacheRead !== p.cacheRead || l.prices.cacheCreation !== p.cacheCreation;
  return {
    version: std.version,
    model_pattern: std.pattern,
    model_like: id.replace(/[\\%_]/g, (c) => `\\${c}`),
    valid_from: day,
    valid_to: null,
    input: p.input,
    output: p.output,
    cache_read: p.cacheRead,
    cache_creation: p.cacheCreation,
    source: `${std.rule}: ${std.source}${differs ? `; above ${LONG_CONTEXT_THRESHOLD_TOKENS} input tokens ${l.rule}: ${l.source}` : ''}`,
    long_above_tokens: differs ? LONG_CONTEXT_THRESHOLD_TOKENS : null,
    long_input: l.prices.input,
    long_output: l.prices.output,
    long_cache_read: l.prices.cacheRead,
    long_cache_creation: l.prices.cacheCreation,
  };
}

const samePrice = (a: PriceSeedRow, b: PriceSeedRow) =>
  (
    [
      'version',
      'model_pattern',
      'input',
      'output',
      'cache_read',
      'cache_creation',
      'source',
      'long_above_tokens',
      'long_input',
      'long_output',
      'long_cache_read',
      'long_cache_creation',
    ] as const
  ).every((k) => a[k] === b[k]);

/** USD for one request's tokens at a resolution's unit prices (per million tokens). */
export function requestCost(p: UnitPrices, t: { input: number; output: number; cacheRead: number; cacheCreation: number }): number {
  return (t.input * p.input + t.output * p.output + t.cacheRead * p.cacheRead + t.cacheCreation * p.cacheCreation) / 1e6;
}
