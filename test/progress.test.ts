/**
 * Progress of long work: the reporter the command line draws (a bar on a terminal, sparse plain
 * lines in a log, silence for a short job) and the updates the jobs send — generate (days, also from
 * worker threads), compact (dates), rollup (table-days) and publish (outputs) — counted to their
 * totals on a real small lake. Progress goes to stderr, never stdout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { progressLine, progressReporter } from '../functions/cli/progress';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { publish } from '../functions/lib/jobs/publish';
import { rollup } from '../functions/lib/jobs/rollup';
import type { ProgressUpdate } from '../functions/lib/ops/progress';
import { HtmlPublisher } from '../functions/lib/publish/local';
import { LocalObjectStore } from '../functions/lib/store/local';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-progress-');
afterAll(() => tmp.cleanup());

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => void writes.push(t) };
}

describe('the progress reporter', () => {
  it('on a terminal redraws one bar in place with counts, ETA and the unit being worked on, ending with a newline', () => {
    let t = 0;
    const s = sink(true);
    const report = progressReporter('compact', s, { now: () => t });
    report({ unit: 'dates', done: 0, total: 4, label: '2026-11-01' });
    t = 10_000;
    report({ unit: 'dates', done: 1, total: 4, label: '2026-11-02' });
    t = 40_000;
    report({ unit: 'dates', done: 4, total: 4 });
    expect(s.writes).toHaveLength(3);
    expect(s.writes.every((w) => w.startsWith('\r'))).toBe(true);
    expect(s.writes[1]).toContain('compact [######..................] 1/4 dates 25% ETA 0:30 2026-11-02');
    expect(s.writes[2]).toMatch(/4\/4 dates 100% in 0:40\s*\n$/);
    report({ unit: 'dates', done: 4, total: 4 }); // nothing after the end
    expect(s.writes).toHaveLength(3);
  });

  it('in a log prints nothing for a job shorter than the interval', () => {
    let t = 0;
    const s = sink(false);
    const report = progressReporter('generate', s, { now: () => t, everyMs: 5000 });
    for (let i = 0; i <= 10; i++) {
      t = i * 100;
      report({ unit: 'days', done: i, total: 10 });
    }
    expect(s.writes).toEqual([]);
  });

  it('in a log prints a plain line at most every interval and one at the end of a long job', () => {
    let t = 0;
    const s = sink(false);
    const report = progressReporter('rollup', s, { now: () => t, everyMs: 5000 });
    for (let i = 0; i <= 20; i++) {
      t = i * 1000;
      report({ unit: 'table-days', done: i, total: 20, label: `user_daily day ${i}` });
    }
    expect(s.writes).toEqual([
      'rollup 5/20 table-days 25% ETA 0:15 user_daily day 5\n',
      'rollup 10/20 table-days 50% ETA 0:10 user_daily day 10\n',
      'rollup 15/20 table-days 75% ETA 0:05 user_daily day 15\n',
      'rollup 20/20 table-days 100% in 0:20 user_daily day 20\n',
    ]);
  });

  it('formats hours and an empty total', () => {
    expect(progressLine('backfill', { unit: 'steps', done: 1, total: 3 }, 3_600_000, false)).toBe('backfill 1/3 steps 33% ETA 2:00:00');
    expect(progressLine('publish', { unit: 'outputs', done: 0, total: 0 }, 0, false)).toBe('publish 0/0 outputs 100% in 0:00');
  });
});

/** Updates of one job: they start at 0, never go back, and end at the total. */
function expectCountedToTotal(updates: ProgressUpdate[], unit: string, total: number): void {
  expect(updates.length).toBeGreaterThan(1);
  expect(new Set(updates.map((u) => u.unit))).toEqual(new Set([unit]));
  expect(updates.every((u) => u.total === total)).toBe(true);
  expect(updates[0]!.done).toBe(0);
  expect(updates.at(-1)!.done).toBe(total);
  for (let i = 1; i < updates.length; i++) expect(updates[i]!.done).toBeGreaterThanOrEqual(updates[i - 1]!.done);
}

describe('jobs report their progress', () => {
  it('generate on worker threads, compact, rollup and publish count to their totals', async () => {
    const dir = tmp.make();
    const config = parseConfig({ publish: { snapshot: { pdf: [] } } }); // no Chromium needed
    const store = new LocalObjectStore(dir);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);

    const gen: ProgressUpdate[] = [];
    // 3 partitions of 4 developers on 2 worker threads: every partition reports each of its days.
    await generate(store, config, { users: 12, days: 3, end: '2026-11-20', seed: 7, usersPerPartition: 4, concurrency: 2, onProgress: (u) => gen.push(u) });
    expectCountedToTotal(gen, 'days x 3 partitions', 9);
    expect(gen).toHaveLength(10);

    const comp: ProgressUpdate[] = [];
    const cs = await compact(store, catalog, config, { onProgress: (u) => comp.push(u) });
    expectCountedToTotal(comp, 'dates', cs.dts.length);
    expect(comp.filter((u) => u.label).map((u) => u.label)).toEqual(cs.dts.map((d) => d.dt));

    const engine = await LocalQueryEngine.open(store, config);
    try {
      const roll: ProgressUpdate[] = [];
      const rs = await rollup(store, catalog, engine, config, { onProgress: (u) => roll.push(u) });
      expectCountedToTotal(roll, 'table-days', rs.days.length);
      expect(roll.filter((u) => u.label).map((u) => u.label)).toEqual(rs.days.map((d) => `${d.table} ${d.dt}`));

      const pub: ProgressUpdate[] = [];
      const ps = await publish(new HtmlPublisher(store, engine, config), config, { onProgress: (u) => pub.push(u) });
      expectCountedToTotal(pub, 'outputs', ps.dataSets.length + ps.dashboards.length + ps.snapshots.length);
    } finally {
      engine.close();
    }
  }, 240_000);
});
