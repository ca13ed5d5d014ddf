/**
 * `cclake prices check` on a hand-built lake (compacted and rolled up with the default book):
 * a model version the book lacks, a day whose reported cost is 10x the list price, requests above
 * the long-context threshold on a model with a long-context price (priced at it) and on one without
 * (priced standard), and two overlapping discounts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { checkPrices } from '../functions/lib/jobs/prices-check';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, runCli, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-prices-check-test-');
afterAll(() => tmp.cleanup());

const DAY = '2026-10-27';
const config = parseConfig({
  prices: {
    discounts: [
      { model: 'claude-3-7-*', validFrom: '2026-10-01', percent: 10 },
      { model: 'claude-3-7-*', validFrom: '2026-09-01', validTo: '2026-11-01', percent: 15 },
    ],
  },
});

describe('cclake prices check', () => {
  it('lists the unpriced model, the overlap, the drifting day and the long-context request', async () => {
    const store = new LocalObjectStore(tmp.make());
    await putRaw(store, `${DAY}T10:10:00Z`, [
      // claude-sonnet-4-5 at 3 / 15 / 0.3: 100 x 3 + 20 x 15 = 600 -> 0.0006 USD, as reported.
      rec(`${DAY}T09:00:00Z`, 'u1', { session_id: 's1', cost_usd: 0.0006 }),
      // 1,000 + 250,000 cache read > 200,000: long context, priced at the long tier 6 / 22.5 / 0.6:
      // 6,000 + 2,250 + 150,000 -> 0.15825 USD, as reported (standard would be 0.0795: drift).
      rec(`${DAY}T09:01:00Z`, 'u1', { session_id: 's1', input_tokens: 1_000, output_tokens: 100, cache_read_tokens: 250_000, cost_usd: 0.15825 }),
      // Opus 4.1 has no long-context price: 15 / 75 / 1.5 for 1,000 + 100 + 250,000 cache read -> 0.3975 USD, as reported.
      rec(`${DAY}T09:04:00Z`, 'u4', {
        session_id: 's4',
        model: 'claude-opus-4-1-20250805',
        input_tokens: 1_000,
        output_tokens: 100,
        cache_read_tokens: 250_000,
        cost_usd: 0.3975,
      }),
      // Haiku 4.5 at 1 / 5: 100 + 100 = 200 -> 0.0002 USD, but Claude Code reported 0.002: -90%.
      rec(`${DAY}T09:02:00Z`, 'u2', { session_id: 's2', model: 'claude-haiku-4-5-20251001', cost_usd: 0.002 }),
      // A version the book does not name: 100 + 20 tokens, 0.05 USD reported.
      rec(`${DAY}T09:03:00Z`, 'u3', { session_id: 's3', model: 'claude-opus-4-9', cost_usd: 0.05 }),
    ]);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await compact(store, catalog, config, { now: Date.parse(`${DAY}T12:00:00Z`) });
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config, { now: Date.parse(`${DAY}T23:00:00Z`) });
      await engine.refresh();
      const c = await checkPrices(engine, config);
      expect({ ...c, queries: c.queries.map((q) => q.file) }).toEqual({
        bookVersion: 'list-2026-12-05',
        unpriced: [
          {
            model: 'claude-opus-4-9',
            reason: 'model version claude-opus-4-9 (anthropic) is not in the price book',
            firstDay: DAY,
            lastDay: DAY,
            days: 1,
            tokens: 120,
            reportedUsd: 0.05,
          },
        ],
        overlaps: ['config prices.discounts[0] and [1]: any provider claude-3-7-* overlap from 2026-10-01'],
        drift: [{ dt: DAY, model: 'claude-haiku-4-5-20251001', reportedUsd: 0.002, pricedUsd: expect.closeTo(0.0002, 12), differencePct: -90 }],
        longContext: [
          { dt: DAY, model: 'claude-opus-4-1-20250805', tier: 'standard', requests: 1 },
          { dt: DAY, model: 'claude-sonnet-4-5', tier: 'long', requests: 1 },
        ],
        driftThreshold: 0.05,
        queries: ['sql/exports/prices_check_daily.sql', 'sql/exports/prices_long_requests.sql'],
      });
    } finally {
      engine.close();
    }

    // The command line prints the same findings (exit 0: findings are information, not a failure).
    const run = await runCli(['prices', 'check', '--lake', store.root]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'models without a price: 1\n  claude-opus-4-9: model version claude-opus-4-9 (anthropic) is not in the price book; 1 day(s) 2026-10-27..2026-10-27, 120 tokens, reported 0.05 USD',
    );
    expect(run.stdout).toContain('  2026-10-27 claude-haiku-4-5-20251001: priced 0.00 USD, reported 0.00 USD (-90%)');
    expect(run.stdout).toContain(
      'requests above 200,000 input tokens: 1 priced at the long-context tier, 1 at the standard tier (no long-context price for the model)\n' +
        '  2026-10-27 claude-opus-4-1-20250805: 1 request(s), standard tier: the book has no long-context price for it\n' +
        '  2026-10-27 claude-sonnet-4-5: 1 request(s), long-context tier',
    );
  });
});
