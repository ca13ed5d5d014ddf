/**
 * `cclake prices check`: is the price book right for this lake?
 *  - models seen in the lake that the book (with the configured rates) does not price, and why;
 *  - rules that overlap (the same model, profile and tier twice on one day; config rows or discounts
 *    of equal specificity);
 *  - days and models where the priced cost and the cost Claude Code reported differ by more than
 *    config prices.driftThreshold (Claude Code estimates with list prices: a drift says the book, or
 *    a negotiated rate, is stale or was mistyped);
 *  - requests above the long-context threshold, and the tier the rollups priced them at: long where
 *    the model has a long-context price that day, else standard (the book publishes none for it).
 * Reads the chargeback_daily rollup and the curated events (sql/exports/prices_*.sql).
 */
import { LONG_CONTEXT_THRESHOLD_TOKENS } from '../../../schemas/price-book';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { PriceBook } from '../prices/book';
import { readQuery, runQuery, type QueryRun } from '../sql/queries';

export interface PricesCheck {
  bookVersion: string;
  unpriced: { model: string; reason: string; firstDay: string; lastDay: string; days: number; tokens: number; reportedUsd: number }[];
  overlaps: string[];
  drift: { dt: string; model: string; reportedUsd: number; pricedUsd: number; differencePct: number }[];
  longContext: { dt: string; model: string; tier: 'long' | 'standard'; requests: number }[];
  driftThreshold: number;
  queries: QueryRun[];
}

export async function checkPrices(engine: QueryEngine, config: Config): Promise<PricesCheck> {
  const book = PriceBook.fromConfig(config);
  const queries: QueryRun[] = [];
  const daily = (await runQuery(engine, readQuery('prices_check_daily'), [], queries)).rows;
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

  const unpriced = new Map<string, PricesCheck['unpriced'][number]>();
  const drift: PricesCheck['drift'] = [];
  for (const r of daily) {
    const dt = String(r.dt);
    const model = String(r.model);
    if (num(r.priced_rows) === 0) {
      const u = unpriced.get(model);
      if (u) {
        u.lastDay = dt > u.lastDay ? dt : u.lastDay;
        u.firstDay = dt < u.firstDay ? dt : u.firstDay;
        u.days++;
        u.tokens += num(r.tokens);
        u.reportedUsd += num(r.reported_usd);
      } else {
        const res = model === 'unknown' ? null : book.resolve(model, dt);
        const reason =
          res === null
            ? 'the records name no model'
            : res.priced
              ? 'priced now, not when the day was rolled up (re-run the rollup for these days)'
              : res.reason;
        unpriced.set(model, { model, reason, firstDay: dt, lastDay: dt, days: 1, tokens: num(r.tokens), reportedUsd: num(r.reported_usd) });
      }
      continue;
    }
    const reported = num(r.reported_usd);
    const priced = num(r.priced_usd);
    if (reported <= 0) continue;
    const pct = ((priced - reported) / reported) * 100;
    if (Math.abs(pct) > config.prices.driftThreshold * 100)
      drift.push({ dt, model, reportedUsd: reported, pricedUsd: priced, differencePct: Math.round(pct * 100) / 100 });
  }

  const long = (await runQuery(engine, readQuery('prices_long_requests'), [LONG_CONTEXT_THRESHOLD_TOKENS], queries)).rows;
  const longContext = long.map((r) => ({
    dt: String(r.dt),
    model: String(r.model),
    tier: r.tier === 'long' ? ('long' as const) : ('standard' as const),
    requests: num(r.requests),
  }));

  return {
    bookVersion: book.version,
    unpriced: [...unpriced.values()].sort((a, b) => b.tokens - a.tokens || a.model.localeCompare(b.model)),
    overlaps: book.overlaps(),
    drift,
    longContext,
    driftThreshold: config.prices.driftThreshold,
    queries,
  };
}
