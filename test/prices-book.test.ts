/**
 * The list-price book (data/prices/list-prices.csv, functions/lib/prices/): one request of every
 * model in the book, priced and compared with a table computed by hand; model ids normalised
 * (Bedrock prefixes and suffixes, date stamps, context suffixes) and matched by version, never by
 * family; negotiated discounts and override rows on top; the `prices` seed rows; bad book rows.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../functions/lib/config/load';
import { defaultBook, parseBook, PriceBook, PriceBookError, requestCost } from '../functions/lib/prices/book';
import { normalizeModelId } from '../functions/lib/prices/model-id';

/** One request: 1,000 input, 2,000 output, 30,000 cache read and 4,000 cache write tokens. */
const REQUEST = { input: 1_000, output: 2_000, cacheRead: 30_000, cacheCreation: 4_000 };
const DAY = '2026-10-15';

// USD, by hand: (1000 x input + 2000 x output + 30000 x cache read + 4000 x 5-minute cache write) / 1e6.
//  15/75/1.5/18.75       -> 15000 + 150000 + 45000 + 75000 = 285000 -> 0.285
//   5/25/0.5/6.25        ->  5000 +  50000 + 15000 + 25000 =  95000 -> 0.095
//   5.5/27.5/0.55/6.875  ->  5500 +  55000 + 16500 + 27500 = 104500 -> 0.1045 (Bedrock regional, +10%)
//   3/15/0.3/3.75        ->  3000 +  30000 +  9000 + 15000 =  57000 -> 0.057
//   3.3/16.5/0.33/4.125  ->  3300 +  33000 +  9900 + 16500 =  62700 -> 0.0627
//   1/5/0.1/1.25         ->  1000 +  10000 +  3000 +  5000 =  19000 -> 0.019
//   1.1/5.5/0.11/1.375   ->  1100 +  11000 +  3300 +  5500 =  20900 -> 0.0209
//   0.8/4/0.08/1         ->   800 +   8000 +  2400 +  4000 =  15200 -> 0.0152
//   6/22.5/0.6/7.5       ->  6000 +  45000 + 18000 + 30000 =  99000 -> 0.099 (long context)
//  10/37.5/1/12.5        -> 10000 +  75000 + 30000 + 50000 = 165000 -> 0.165 (long context)
const HAND: [id: string, day: string, tier: 'standard' | 'long', usd: number][] = [
  ['claude-opus-4-20250514', DAY, 'standard', 0.285],
  ['claude-opus-4-1-20250805', DAY, 'standard', 0.285],
  ['claude-opus-4-5-20251101', DAY, 'standard', 0.095],
  ['claude-opus-4-6', DAY, 'standard', 0.095],
  ['claude-opus-4-7', DAY, 'standard', 0.095],
  ['claude-sonnet-4-20250514', DAY, 'standard', 0.057],
  ['claude-sonnet-4-5-20250929', DAY, 'standard', 0.057],
  ['claude-sonnet-4-6', DAY, 'standard', 0.057],
  ['claude-haiku-4-5-20251001', DAY, 'standard', 0.019],
  ['claude-3-5-haiku-20241022', DAY, 'standard', 0.0152],
  ['claude-3-7-sonnet-20250219', DAY, 'standard', 0.057],
  ['claude-sonnet-4-20250514', DAY, 'long', 0.099],
  ['claude-sonnet-4-5-20250929[1m]', DAY, 'long', 0.099],
  ['claude-opus-4-6[1m]', '2026-03-01', 'long', 0.165],
  ['claude-opus-4-6[1m]', '2026-03-13', 'long', 0.095], // the premium ended with 1M GA on 2026-03-13
  ['claude-sonnet-4-6', '2026-03-01', 'long', 0.099],
  ['us.anthropic.claude-opus-4-20250514-v1:0', DAY, 'standard', 0.285],
  ['us.anthropic.claude-opus-4-1-20250805-v1:0', DAY, 'standard', 0.285],
  ['global.anthropic.claude-opus-4-5-20251101-v1:0', DAY, 'standard', 0.095],
  ['us.anthropic.claude-opus-4-5-20251101-v1:0', DAY, 'standard', 0.1045],
  ['global.anthropic.claude-opus-4-6-v1', DAY, 'standard', 0.095],
  ['eu.anthropic.claude-opus-4-6-v1', DAY, 'standard', 0.1045],
  ['global.anthropic.claude-opus-4-7', DAY, 'standard', 0.095],
  ['apac.anthropic.claude-opus-4-7', DAY, 'standard', 0.1045],
  ['us.anthropic.claude-sonnet-4-20250514-v1:0', DAY, 'standard', 0.057],
  ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', DAY, 'standard', 0.057],
  ['eu.anthropic.claude-sonnet-4-5-20250929-v1:0', DAY, 'standard', 0.0627],
  ['global.anthropic.claude-sonnet-4-6', DAY, 'standard', 0.057],
  ['jp.anthropic.claude-sonnet-4-6', DAY, 'standard', 0.0627],
  ['global.anthropic.claude-haiku-4-5-20251001-v1:0', DAY, 'standard', 0.019],
  ['anthropic.claude-haiku-4-5-20251001-v1:0', DAY, 'standard', 0.0209],
  ['us.anthropic.claude-3-5-haiku-20241022-v1:0', DAY, 'standard', 0.0152],
  ['us.anthropic.claude-3-7-sonnet-20250219-v1:0', DAY, 'standard', 0.057],
];

describe('the shipped list-price book', () => {
  const book = PriceBook.fromConfig(parseConfig({}));

  it('prices one request of every model in the book as the hand-computed table says', () => {
    const got = HAND.map(([id, day, tier]) => {
      const r = book.resolve(id, day, { tier });
      return [id, day, tier, r.priced ? Math.round(requestCost(r.prices, REQUEST) * 1e9) / 1e9 : r.reason];
    });
    expect(got).toEqual(HAND);
  });

  it('the table exercises every row of the book', () => {
    const used = new Set(HAND.map(([id, day, tier]) => book.resolve(id, day, { tier })).map((r) => (r.priced ? r.rule.replace(/ from .*/, '') : '')));
    const rows = new Set(defaultBook().map((r) => `${r.provider} ${r.model} ${r.profile} ${r.tier}`));
    expect([...rows].filter((r) => !used.has(r))).toEqual([]);
  });

  it('every row names its source and as-of date, and no two rows overlap', () => {
    for (const r of defaultBook()) {
      expect(r.source, `line ${r.line}`).toMatch(/https:\/\//);
      expect(r.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(book.overlaps()).toEqual([]);
  });

  it('Opus 4.1 after 2025-11-24 stays at 15/75 (never Opus 4.5 prices by family), also as [1m] or base id + context_tier', () => {
    for (const [id, tier] of [
      ['claude-opus-4-1-20250805', null],
      ['us.anthropic.claude-opus-4-1-20250805-v1:0', null],
      ['claude-opus-4-1[1m]', null],
      ['claude-opus-4-1', '[1m]'],
    ] as const) {
      const r = book.resolve(id, '2025-12-01', { contextTier: tier });
      expect(r.priced && [r.prices.input, r.prices.output], id).toEqual([15, 75]);
    }
  });

  it('an unknown model version is reported, not priced by a looser pattern', () => {
    for (const id of ['claude-opus-4-9', 'us.anthropic.claude-opus-4-9-v1:0', 'claude-opus-4-1@20250805', 'gpt-5']) {
      const r = book.resolve(id, DAY);
      expect(r.priced, id).toBe(false);
    }
    const r = book.resolve('claude-opus-4-9', DAY);
    expect(!r.priced && r.reason).toBe('model version claude-opus-4-9 (anthropic) is not in the price book');
    const early = book.resolve('claude-opus-4-6', '2025-06-01');
    expect(!early.priced && early.reason).toBe('no anthropic list price for claude-opus-4-6 in force on 2025-06-01');
  });

  it('normalises Bedrock ARNs, profile prefixes, -v1:0 suffixes, date stamps and context suffixes', () => {
    expect(normalizeModelId('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toMatchObject({
      key: 'claude-sonnet-4-5',
      provider: 'bedrock',
      profile: 'regional',
    });
    expect(normalizeModelId('global.anthropic.claude-opus-4-6-v1[1m]')).toMatchObject({
      key: 'claude-opus-4-6',
      provider: 'bedrock',
      profile: 'global',
      contextTier: '[1m]',
    });
    expect(normalizeModelId('claude-opus-4-6', '[1m]')).toMatchObject({ key: 'claude-opus-4-6', provider: 'anthropic', profile: 'any', contextTier: '[1m]' });
    expect(normalizeModelId('claude-sonnet-4-0')).toMatchObject({ key: 'claude-sonnet-4' });
  });
});

describe('negotiated rates on top of the book', () => {
  const config = parseConfig({
    prices: {
      version: 'acme-2026',
      discounts: [
        { provider: 'bedrock', model: 'claude-opus-4-*', validFrom: '2026-01-01', percent: 20 },
        { model: '*', validFrom: '2026-06-01', validTo: '2026-07-01', percent: 5 },
      ],
      rows: [{ model: '*claude-haiku-4-5*', validFrom: '2026-01-01', input: 0.5, output: 2.5, cacheRead: 0.05, cacheCreation: 0.625 }],
    },
  });
  const book = PriceBook.fromConfig(config);
  const usd = (id: string, day: string) => {
    const r = book.resolve(id, day);
    return r.priced ? Math.round(requestCost(r.prices, REQUEST) * 1e9) / 1e9 : null;
  };

  it('a discount applies to its provider and models from its first day; the most specific wins; override rows replace the book', () => {
    expect(usd('us.anthropic.claude-opus-4-1-20250805-v1:0', '2025-12-31')).toBe(0.285);
    expect(usd('us.anthropic.claude-opus-4-1-20250805-v1:0', '2026-02-01')).toBe(0.228); // 0.285 x 0.8
    expect(usd('claude-opus-4-1-20250805', '2026-02-01')).toBe(0.285); // the Anthropic API is not discounted
    expect(usd('claude-sonnet-4-6', '2026-06-15')).toBe(0.05415); // 0.057 x 0.95
    expect(usd('us.anthropic.claude-opus-4-1-20250805-v1:0', '2026-06-15')).toBe(0.228); // provider + model beats any
    expect(usd('claude-haiku-4-5-20251001', '2026-02-01')).toBe(0.0095); // 500 + 5000 + 1500 + 2500
    expect(usd('claude-haiku-4-5-20251001', '2025-12-01')).toBe(0.019);
  });

  it('the prices seed holds one row per id and stretch of days with one price, matching the id exactly', () => {
    const rows = book.seedRows(['us.anthropic.claude-opus-4-1-20250805-v1:0', 'claude-opus-4-9']);
    expect(rows.map((r) => [r.model_pattern, r.model_like, r.valid_from, r.valid_to, r.input, r.output, r.version])).toEqual([
      ['claude-opus-4-1 (bedrock regional)', 'us.anthropic.claude-opus-4-1-20250805-v1:0', '2025-08-05', '2026-01-01', 15, 75, 'list-2026-12-05'],
      ['claude-opus-4-1 (bedrock regional)', 'us.anthropic.claude-opus-4-1-20250805-v1:0', '2026-01-01', null, 12, 60, 'list-2026-12-05 less 20% (acme-2026)'],
    ]);
  });

  it('overlapping rules of the same specificity are reported', () => {
    const c = parseConfig({
      prices: {
        rows: [
          { model: '*opus*', validFrom: '2026-01-01', input: 1, output: 1, cacheRead: 1, cacheCreation: 1 },
          { model: '*opus*', validFrom: '2026-03-01', input: 2, output: 2, cacheRead: 2, cacheCreation: 2 },
        ],
      },
    });
    expect(PriceBook.fromConfig(c).overlaps()).toEqual(['config prices.rows[0] and [1]: *opus* overlap from 2026-03-01']);
  });
});

describe('a bad book row', () => {
  const header = 'provider,model,profile,tier,valid_from,valid_to,input,output,cache_read,cache_write_5m,cache_write_1h,source,as_of';
  it('fails naming the file, line and column', () => {
    const bad = (row: string) => () => parseBook(`${header}\n${row}\n`, 'book.csv');
    expect(bad('anthropic,claude-opus-4-1,any,standard,2025-08-05,,15,75,1.5,18.75,,https://x,2026-12-05')).toThrow(
      new PriceBookError('book.csv line 2: cache_write_1h "" is not a non-negative number'),
    );
    expect(bad('anthropic,us.anthropic.claude-opus-4-1,any,standard,2025-08-05,,15,75,1.5,18.75,30,https://x,2026-12-05')).toThrow(
      /line 2: model .* is not a normalised model version/,
    );
    expect(bad('anthropic,claude-opus-4-1,any,standard,2025-08-05,,15,75,1.5,18.75,30,,2026-12-05')).toThrow(/line 2: source "" is empty/);
    expect(bad('bedrock,claude-opus-4-1,any,standard,2025-08-05,2025-08-01,15,75,1.5,18.75,30,https://x,2026-12-05')).toThrow(
      /line 2: valid_to "2025-08-01" is not a date after valid_from/,
    );
  });
});
