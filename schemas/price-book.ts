/**
 * The list-price book shipped with cclake (`data/prices/list-prices.csv`): effective-dated list
 * prices per provider, model version, Bedrock inference-profile scope and context tier, USD per
 * million tokens, each row naming its source and the day it was checked. Read by
 * functions/lib/prices/book.ts, which resolves the lake's model ids against it into the `prices` seed.
 */
import type { TableDef } from './columns';

export const PRICE_BOOK = {
  name: 'price_book',
  doc: 'Default list prices, effective-dated, USD per million tokens',
  columns: [
    { name: 'provider', type: 'string', nullable: false, doc: 'anthropic (the Claude API) | bedrock (Amazon Bedrock)' },
    { name: 'model', type: 'string', nullable: false, doc: 'Model version after normalisation, e.g. claude-opus-4-1 (no prefixes, date stamp, -v1:0 or [1m])' },
    {
      name: 'profile',
      type: 'string',
      nullable: false,
      doc: 'Bedrock: global (global. profile) | regional (us./eu./apac./jp./au. profile or in-region id) | any; anthropic: any',
    },
    { name: 'tier', type: 'string', nullable: false, doc: 'standard | long (a request whose input + cache read + cache write tokens exceed 200,000)' },
    { name: 'valid_from', type: 'date', nullable: false, doc: 'First day the price applies (inclusive)' },
    { name: 'valid_to', type: 'date', doc: 'First day it no longer applies (exclusive); empty = open' },
    { name: 'input', type: 'double', nullable: false, doc: 'Input tokens' },
    { name: 'output', type: 'double', nullable: false, doc: 'Output tokens' },
    { name: 'cache_read', type: 'double', nullable: false, doc: 'Cache hits and refreshes' },
    { name: 'cache_write_5m', type: 'double', nullable: false, doc: 'Cache writes, 5-minute TTL (what cache_creation tokens are priced at)' },
    { name: 'cache_write_1h', type: 'double', nullable: false, doc: 'Cache writes, 1-hour TTL' },
    { name: 'source', type: 'string', nullable: false, doc: 'Where the price was read (URL), or UNVERIFIED and why' },
    { name: 'as_of', type: 'date', nullable: false, doc: 'Day the price was checked against the source' },
  ],
} as const satisfies TableDef;

/** Tokens of input (input + cache read + cache write) above which a request is priced at the long-context tier. */
export const LONG_CONTEXT_THRESHOLD_TOKENS = 200_000;
