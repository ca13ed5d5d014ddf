/**
 * Rollup targets (issue 5), on generated lakes (cached like the compaction benches):
 *  - incremental cost: rolling up day 60 of a 60-day lake takes at most 1.5x the time of day 1
 *    (a day reads its own curated partition and the day before, not the history);
 *  - the full rollup of 1,000 developers x 30 days on this machine.
 */
import { rmSync } from 'node:fs';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { addDays } from '../functions/lib/util/dates';
import { cachedRawLake, freshCopy } from './compact';
import type { BenchResult } from './run';

const config = parseConfig({});
const END = '2026-11-20'; // the cached lakes' last day
const NOW = Date.parse('2026-11-28T00:00:00Z'); // after every late delivery

/** A compacted, catalogued copy of a cached raw lake; returns the store and the compaction time. */
async function curatedLake(name: string, users: number, days: number): Promise<{ store: LocalObjectStore; compactSeconds: number; dir: string }> {
  const dir = freshCopy(await cachedRawLake(name, users, days), `rollup-${name}`);
  const store = new LocalObjectStore(dir);
  const catalog = catalogFromConfig(config, store);
  const t = performance.now();
  await compact(store, catalog, config, { now: NOW });
  const compactSeconds = (performance.now() - t) / 1000;
  await syncPartitions(store, catalog, config, { now: NOW });
  return { store, compactSeconds, dir };
}

async function timedRollup(store: LocalObjectStore, options: { dt?: string } = {}): Promise<{ seconds: number; days: number }> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    const t = performance.now();
    const s = await rollup(store, catalogFromConfig(config, store), engine, config, { ...options, now: NOW });
    return { seconds: (performance.now() - t) / 1000, days: s.days.length };
  } finally {
    engine.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchRollupIncremental(users = 200, days = 60): Promise<BenchResult> {
  const { store, dir } = await curatedLake('history', users, days);
  const full = await timedRollup(store);
  const first = addDays(END, -(days - 1));
  const runs = { first: [] as number[], last: [] as number[] };
  for (let i = 0; i < 3; i++) {
    runs.first.push((await timedRollup(store, { dt: first })).seconds);
    runs.last.push((await timedRollup(store, { dt: END })).seconds);
  }
  rmSync(dir, { recursive: true, force: true });
  const ratio = median(runs.last) / median(runs.first);
  return {
    name: `rollup-incremental (${users} developers x ${days} days)`,
    lines: [
      `first full rollup: ${full.days} table-days in ${full.seconds.toFixed(1)} s`,
      `rollup of day 1 (${first}) alone: median ${median(runs.first).toFixed(2)} s of ${runs.first.map((x) => x.toFixed(2)).join(', ')}`,
      `rollup of day ${days} (${END}) alone: median ${median(runs.last).toFixed(2)} s of ${runs.last.map((x) => x.toFixed(2)).join(', ')}`,
      `day ${days} / day 1 = ${ratio.toFixed(2)}x`,
    ],
    target: { description: `day ${days} at most 1.5x day 1`, met: ratio <= 1.5 },
  };
}

export async function benchRollupFull(users = 1_000, days = 30): Promise<BenchResult> {
  const { store, compactSeconds, dir } = await curatedLake('month', users, days);
  const full = await timedRollup(store);
  rmSync(dir, { recursive: true, force: true });
  return {
    name: `rollup-full (${users.toLocaleString('en-US')} developers x ${days} days)`,
    lines: [`compaction ${compactSeconds.toFixed(1)} s (for reference)`, `full rollup: ${full.days} table-days in ${full.seconds.toFixed(1)} s`],
  };
}
