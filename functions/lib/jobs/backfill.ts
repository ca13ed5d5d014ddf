/**
 * `cclake backfill --from D --to D`: replays the stages over a range of event dates, in order,
 * and resumes after an interruption.
 *
 * The plan is a list of steps: optionally rebuilding each date's curated partition from raw
 * (`rebuildCurated`), then compacting whatever is new, bringing the catalog in line, and recomputing
 * every rollup table for each date. A progress file in the lake
 * (`_cclake/backfill/<from>_<to>.json`) records each finished step, written after the step's own
 * commit; a second run with the same range skips the finished steps and goes on from the first
 * unfinished one. Every step is itself idempotent (a new generation then a commit), so a step cut
 * off half-way is simply run again. The progress file is removed when the whole plan is done.
 */
import type { Catalog } from '../catalog/port';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { ObjectNotFoundError, type ObjectStore } from '../store/port';
import { addDays } from '../util/dates';
import { compact } from './compact';
import { syncPartitions } from './partitions';
import { rollup } from './rollup';

export interface BackfillOptions {
  from: string;
  to: string;
  /** Rebuild each date's curated partition from every raw object first (slow: reads raw for each date). */
  rebuildCurated?: boolean;
  /** Called before each step: (index, total, label) — and once more with index === total at the end. */
  onProgress?: (done: number, total: number, label: string, skipped: boolean) => void;
}

export interface BackfillStep {
  id: string;
  label: string;
}

export interface BackfillSummary {
  from: string;
  to: string;
  steps: number;
  /** Steps a previous, interrupted run had finished (skipped this time). */
  resumed: number;
  ran: number;
  /** The step that found the lake lock taken by another job (the run stopped there), and who holds it. */
  locked?: { step: string; by: string };
  status: 'completed' | 'incomplete';
}

interface Progress {
  version: 1;
  from: string;
  to: string;
  rebuildCurated: boolean;
  done: string[];
}

export const progressKey = (from: string, to: string) => `_cclake/backfill/${from}_${to}.json`;

/** The steps, in order (the ids are what the progress file records). */
export function backfillPlan(from: string, to: string, rebuildCurated: boolean): BackfillStep[] {
  if (to < from) throw new RangeError(`--to ${to} is before --from ${from}`);
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  if (days.length > 3660) throw new RangeError(`a backfill covers at most ten years; ${from}..${to} is ${days.length} days`);
  return [
    ...(rebuildCurated ? days.map((dt) => ({ id: `compact-rebuild:${dt}`, label: `compact --rebuild ${dt}` })) : []),
    { id: 'compact', label: 'compact (new raw objects)' },
    { id: 'partitions', label: 'partitions' },
    ...days.map((dt) => ({ id: `rollup:${dt}`, label: `rollup ${dt}` })),
  ];
}

export async function backfill(store: ObjectStore, catalog: Catalog, engine: QueryEngine, config: Config, options: BackfillOptions): Promise<BackfillSummary> {
  const { from, to } = options;
  const rebuildCurated = !!options.rebuildCurated;
  const plan = backfillPlan(from, to, rebuildCurated);
  const key = progressKey(from, to);
  const progress = (await loadProgress(store, key)) ?? { version: 1, from, to, rebuildCurated, done: [] };
  const done = new Set(progress.done);
  const summary: BackfillSummary = { from, to, steps: plan.length, resumed: 0, ran: 0, status: 'completed' };

  for (const [i, step] of plan.entries()) {
    if (done.has(step.id)) {
      summary.resumed++;
      options.onProgress?.(i, plan.length, step.label, true);
      continue;
    }
    options.onProgress?.(i, plan.length, step.label, false);
    const lockedBy = await run(step.id);
    if (lockedBy !== null) {
      // Another job holds the lake lock: stop here; the next run resumes at this step.
      summary.locked = { step: step.label, by: lockedBy };
      summary.status = 'incomplete';
      return summary;
    }
    // A local engine's views list the files when they are made: let them see the new generations.
    if (!step.id.startsWith('rollup:')) await engine.refresh();
    summary.ran++;
    done.add(step.id);
    progress.done = [...done];
    await store.put(key, JSON.stringify(progress, null, 1), { contentType: 'application/json' });
  }
  options.onProgress?.(plan.length, plan.length, 'done', false);
  await store.delete([key]);
  return summary;

  /** Runs one step; who holds the lake lock when the step found it taken, else null. */
  async function run(id: string): Promise<string | null> {
    const [kind, dt] = id.split(':') as [string, string | undefined];
    const lockedBy = (s: { status: string; lockedBy?: string }) => (s.status === 'locked' ? (s.lockedBy ?? 'another job') : null);
    if (kind === 'compact-rebuild') return lockedBy(await compact(store, catalog, config, { dt, rebuild: true }));
    if (kind === 'compact') return lockedBy(await compact(store, catalog, config));
    if (kind === 'partitions') {
      const s = await syncPartitions(store, catalog, config);
      if (s.failures.length) throw new Error(`partitions: ${s.failures.length} catalog entries failed; run the backfill again to retry from this step`);
      return lockedBy(s);
    }
    if (kind === 'rollup') return lockedBy(await rollup(store, catalog, engine, config, { dt }));
    throw new Error(`unknown backfill step ${id}`);
  }
}

async function loadProgress(store: ObjectStore, key: string): Promise<Progress | null> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(key))) as Progress;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}
