/**
 * `cclake compact` and the hourly compaction function: Firehose's small raw files into curated,
 * deduplicated event-date partitions, committed atomically, with nothing lost.
 *
 * A run, under the compaction lease lock:
 *  1. lists raw objects it has not finished (only the day prefixes from watermark - lookback on);
 *  2. validates each (Parquet footer, required columns, compatible types) and quarantines the rest;
 *     rows of the AWS guidance's `metrics` table are mapped onto raw records here, and each raw
 *     source (`raw.sources`) is kept to its event dates, so nothing later knows the input profile;
 *  3. indexes the good files in one narrow pass (event time only): rows per event date `dt` (in the
 *     reporting time zone), one-minute bucket and object, so each later step reads one slice of
 *     buckets straight from the raw files that have rows in it;
 *  4. per `dt`, slice by slice: the rows whose record_id the live generation lacks, deduplicated,
 *     are merged with the live rows of the slice and sorted (event time, user, record id) straight
 *     into a zstd part; consecutive parts are joined into the new generation's files (up to the
 *     target size) by concatenating their row groups, without re-encoding, written beside the live
 *     one, verified (row count = live + new; every footer readable), uploaded, and
 *     committed by writing the partition commit; then the catalog partitions (Glue, or the local
 *     catalog) are pointed at the committed generations (the partitions stage repairs a failure);
 *  5. marks a raw object finished only when every `dt` it feeds is committed, so a crash at any
 *     point leaves work that the next run redoes without doubling anything;
 *  6. deletes generations retired longer ago than the grace period, and orphans of crashed runs,
 *     never one a catalog partition still points at.
 *
 * Each phase is a module of compaction/ (list, validate, index, slice, write, verify, commit); the
 * commit, retirement and garbage collection are generations/'s, as for every generation table.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import type { PartitionCommit } from '../catalog/commits';
import type { Catalog } from '../catalog/port';
import { uploadAndCommit } from '../compaction/commit';
import type { CompactionContext } from '../compaction/context';
import { datesOfObjects, indexBuckets, recordRawObjects, rejectIncomplete, type DateRows } from '../compaction/index';
import { HOUR, listRaw } from '../compaction/list';
import { localFiles } from '../compaction/local-files';
import { RawReader } from '../compaction/raw-sources';
import { findLaterCopies, liveRelation, planSlices } from '../compaction/slice';
import { makeStagingDir } from '../compaction/staging';
import { loadState, saveState, type CompactionState } from '../compaction/state';
import { admitRawObjects } from '../compaction/validate';
import { verifyGeneration } from '../compaction/verify';
import { preparePseudonyms } from '../compaction/pseudonymise';
import { expireRaw } from '../compaction/raw-retention';
import { joinParts, sortSlices } from '../compaction/write';
import { pseudonymiserFor } from '../privacy/key';
import type { Config } from '../config/schema';
import { DuckDBEngine } from '../engine/duckdb';
import { curatedEventsTable } from '../catalog/tables';
import { Generations } from '../generations/generations';
import { takeLakeLock, type LeaseLock } from '../lock/lease';
import type { OnProgress } from '../ops/progress';
import { arrivalHourOf } from '../raw/keys';
import type { ObjectInfo, ObjectStore } from '../store/port';

export { COMPACT_LOCK_PREFIX } from '../lock/lease';
export { QUARANTINE_PREFIX } from '../compaction/state';
import { QUARANTINE_PREFIX } from '../compaction/state';

export interface CompactOptions {
  /** Commit only this event date (other dates' rows wait for the next run). */
  dt?: string;
  /** With `dt`: rebuild that date from every raw object, ignoring the live generation. */
  rebuild?: boolean;
  now?: number;
  /** Stop at a `dt` boundary rather than start a date that may not finish before this (epoch ms). */
  deadlineMs?: number;
  runId?: string;
  /** Where to stage (Lambda: /tmp). */
  tmpDir?: string;
  /** Called after each event date is committed (or deferred). */
  onProgress?: OnProgress;
}

export interface DtResult {
  dt: string;
  rowsIn: number;
  newRows: number;
  lateRows: number;
  liveRowsBefore: number;
  rowsOut: number;
  generation: number | null;
  /** Lake prefix of the generation live after this run (null: the date has no partition yet). */
  location: string | null;
  files: number;
  bytes: number;
}

export interface CompactSummary {
  runId: string;
  status: 'completed' | 'partial' | 'locked';
  /** For `locked`: who holds the lock, until when. */
  lockedBy?: string;
  objectsListed: number;
  /** Newest Firehose arrival hour (epoch ms) among the objects listed: telemetry freshness. */
  rawNewestHourMs: number | null;
  /** Compaction's watermark after the run (the hour its next run lists back from). */
  watermarkHourMs: number | null;
  objectsRead: number;
  rowsIn: number;
  duplicatesDropped: number;
  lateRows: number;
  rowsOut: number;
  /** Rows dated outside their raw source's event dates (`raw.sources`): another source delivers those. */
  rowsOutsideSourceWindow: number;
  /** Rows of erased people (tombstoned identities, `cclake erase`) dropped: they never reach curated. */
  rowsErased: number;
  quarantined: { key: string; reason: string }[];
  dts: DtResult[];
  /** Dates with staged rows this run did not commit (deadline or `--dt`); their objects stay unfinished. */
  deferredDts: string[];
  generationsDeleted: number;
  /** Privacy mode: identities this run added to the re-identification table (reidentify/). */
  pseudonymsRecorded: number;
  /** Privacy mode: raw objects older than retention.rawDays that compaction had finished, deleted this run (compaction/raw-retention.ts). */
  rawObjectsExpired: number;
  /** Catalog partitions pointed at this run's generations. */
  catalogPublished: number;
  /** Catalog updates that failed (the data is committed; the partitions stage repairs the catalog). */
  catalogErrors: string[];
  /** Where the time went: list, validate, stage (index), sort (per slice: read, dedupe, sort, write a part), write (join parts into files), verify+commit, gc. */
  phasesMs: Record<string, number>;
  durationMs: number;
}

const emptyState = (): CompactionState => ({ version: 1, watermarkHourMs: null, finished: [], retired: [], updatedAt: new Date(0).toISOString() });

const emptySummary = (runId: string): CompactSummary => ({
  runId,
  status: 'completed',
  objectsListed: 0,
  rawNewestHourMs: null,
  watermarkHourMs: null,
  objectsRead: 0,
  rowsIn: 0,
  duplicatesDropped: 0,
  lateRows: 0,
  rowsOut: 0,
  rowsOutsideSourceWindow: 0,
  rowsErased: 0,
  quarantined: [],
  dts: [],
  deferredDts: [],
  generationsDeleted: 0,
  pseudonymsRecorded: 0,
  rawObjectsExpired: 0,
  catalogPublished: 0,
  catalogErrors: [],
  phasesMs: {},
  durationMs: 0,
});

/** One run: what it was asked, what it shares, and what it reports. */
interface Run {
  ctx: CompactionContext;
  catalog: Catalog;
  generations: Generations;
  lock: LeaseLock;
  options: CompactOptions;
  now: number;
  summary: CompactSummary;
}

export async function compact(store: ObjectStore, catalog: Catalog, config: Config, options: CompactOptions = {}): Promise<CompactSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  if (options.rebuild && !options.dt) throw new RangeError('--rebuild needs --dt: it rebuilds one event date from raw');
  const summary = emptySummary(runId);
  let phaseStart = performance.now();
  /** Adds the time since the previous mark to `phase`. */
  const mark = (phase: string) => {
    const t = performance.now();
    summary.phasesMs[phase] = Math.round((summary.phasesMs[phase] ?? 0) + t - phaseStart);
    phaseStart = t;
  };

  // The lease runs on the real clock (`now` may be set to simulate a later run of the data).
  // Privacy mode's key, read before anything is locked or staged: a missing key fails the run at once.
  const pseudonymiser = await (pseudonymiserFor(config) ?? null);
  const taken = await takeLakeLock(store, `compact ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const work = makeStagingDir(options.tmpDir ?? tmpdir());
  const engine = await openStagingEngine(work, config);
  const ctx: CompactionContext = { store, engine, config, work, runId, mark, pseudonymiser };
  try {
    await runPhases({ ctx, catalog, generations: new Generations(store, catalog, [curatedEventsTable()]), lock: taken.lock, options, now, summary });
  } finally {
    engine.close();
    rmSync(work, { recursive: true, force: true });
    await taken.lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/** The on-disk DuckDB database the run stages in, inside its scratch folder. */
async function openStagingEngine(work: string, config: Config): Promise<DuckDBEngine> {
  const engine = await DuckDBEngine.open({
    path: path.join(work, 'stage.duckdb'),
    memoryLimit: `${config.compaction.memoryLimitMiB}MB`,
    tempDirectory: path.join(work, 'spill'),
    threads: availableParallelism(),
  });
  // DuckDB's allocator keeps freed memory per thread for reuse (up to 128 MiB by default, more
  // after bulk frees), outside its memory limit: hand it back almost at once, so slice after slice
  // does not stack up. Measured over 48 slices of a 90,000-developer day: peak RSS 708 MiB with
  // 32 MB thresholds, 491 MiB with 4 MB (25.5 s and 29.1 s: returning memory costs some time).
  await engine.run(`SET allocator_flush_threshold = '4MB'`);
  await engine.run(`SET allocator_bulk_deallocation_flush_threshold = '4MB'`);
  // Raw files are read about once: caching their bytes only fills memory (most with 10,000 footers).
  await engine.run('SET enable_external_file_cache = false');
  return engine;
}

async function runPhases(run: Run): Promise<void> {
  const { ctx, summary, options } = run;
  const state = (await loadState(ctx.store)) ?? emptyState();
  const finishedBefore = new Set(state.finished);

  // 1. What is new.
  const { listed, candidates, rawNewestHourMs } = await listRaw(ctx.store, ctx.config, state, { rebuild: options.rebuild, now: run.now });
  summary.objectsListed = listed.length;
  summary.rawNewestHourMs = rawNewestHourMs;
  ctx.mark('list');

  // 2. Bring each to a local file and validate it.
  const quarantine = (o: ObjectInfo, file: string, reason: string) => quarantineObject(run, o, file, reason);
  const { sources, rejected, rowsOutsideWindow, rowsErased } = await admitRawObjects(ctx, candidates, quarantine);
  summary.rowsOutsideSourceWindow = rowsOutsideWindow;
  summary.rowsErased = rowsErased;
  const newlyFinished = [...rejected];
  summary.objectsRead = sources.length;
  ctx.mark('validate');

  // 3. Index the rows by date, bucket and object (objects with unusable rows are quarantined whole).
  const reader = new RawReader(sources, (ctx.config.compaction.memoryLimitMiB * 1024 * 1024) / 4);
  await recordRawObjects(ctx, sources);
  if (sources.length) {
    await rejectIncomplete(ctx, reader, sources, async (g, reason) => {
      await quarantine(candidates.find((o) => o.key === g.key)!, g.file, reason);
      newlyFinished.push(g.key);
    });
    summary.objectsRead = sources.length;
  }
  const byDt = await indexBuckets(ctx, reader, sources);
  if (ctx.pseudonymiser && sources.length) {
    summary.pseudonymsRecorded = await preparePseudonyms(ctx, ctx.pseudonymiser, run.catalog, reader, sources);
    ctx.mark('pseudonymise');
  }

  // 4-7. One new generation per event date; then the catalog follows the commits.
  const { committed, toPublish } = await compactDates(run, reader, byDt);
  const published = await run.generations.publish(CURATED_EVENTS.name, toPublish);
  summary.catalogPublished = published.published;
  summary.catalogErrors.push(...published.errors);

  // Objects whose every date is committed are finished.
  if (!options.rebuild) await advanceWatermark(run, state, candidates, newlyFinished, committed);

  // Retired generations past their grace period, and orphans of crashed or losing runs.
  ctx.mark('other');
  const gc = await run.generations.collectGarbage([CURATED_EVENTS.name], { now: run.now, graceMinutes: ctx.config.retention.generationGraceMinutes });
  summary.generationsDeleted = gc.deleted;
  summary.catalogErrors.push(...gc.errors);
  ctx.mark('gc');
  await run.lock.assertHeld();
  state.retired = []; // retired generations are generations/'s now (an older lake's entries are collected as orphans)
  state.updatedAt = new Date(run.now).toISOString();
  await saveState(ctx.store, state);
  summary.watermarkHourMs = state.watermarkHourMs;
  // Raw retention in privacy mode (raw holds the identities), after the state that records this
  // run's finished objects is saved. In named mode the partitions job and the lifecycle rule do it.
  if (ctx.pseudonymiser && !options.rebuild)
    summary.rawObjectsExpired = await expireRaw(ctx.store, ctx.config, state, new Set([...finishedBefore, ...newlyFinished]), run.now);
}

/** Compacts each date with staged rows, unless it is not asked for or the deadline is near. */
async function compactDates(run: Run, reader: RawReader, byDt: DateRows[]): Promise<{ committed: Set<string>; toPublish: PartitionCommit[] }> {
  const { options, summary } = run;
  const committed = new Set<string>();
  const toPublish: PartitionCommit[] = [];
  let slowestDtMs = 0;
  // Each update names the date being worked on and how many are finished.
  let done = 0;
  for (const { dt, rows, late } of byDt) {
    options.onProgress?.({ unit: 'dates', done: done++, total: byDt.length, label: dt });
    if (options.dt && dt !== options.dt) {
      summary.deferredDts.push(dt);
      continue;
    }
    const dtStarted = performance.now();
    if (options.deadlineMs !== undefined && Date.now() + Math.max(slowestDtMs * 1.5, 5_000) > options.deadlineMs) {
      summary.deferredDts.push(dt);
      summary.status = 'partial';
      continue;
    }
    const { result, commit } = await compactDt(run, reader, dt, rows, late);
    if (commit) toPublish.push(commit);
    summary.dts.push(result);
    summary.rowsIn += result.rowsIn;
    summary.rowsOut += result.newRows;
    summary.lateRows += result.lateRows;
    summary.duplicatesDropped += result.rowsIn - result.newRows;
    committed.add(dt);
    slowestDtMs = Math.max(slowestDtMs, performance.now() - dtStarted);
  }
  if (byDt.length) options.onProgress?.({ unit: 'dates', done: byDt.length, total: byDt.length });
  return { committed, toPublish };
}

/**
 * One date: slice, find the later copies, sort and write, verify, commit. A rebuild ignores the
 * live rows but still replaces the live generation the normal way (numbered after it, retired for
 * the grace period), so running queries keep their files.
 */
async function compactDt(
  run: Run,
  reader: RawReader,
  dt: string,
  rowsIn: number,
  lateRows: number,
): Promise<{ result: DtResult; commit: PartitionCommit | null }> {
  const { ctx, generations } = run;
  const current = await generations.current(CURATED_EVENTS.name, dt);
  const live = run.options.rebuild ? null : (current?.commit ?? null);
  const liveKeys = live ? live.files.map((f) => f.key) : [];
  const liveLocal = await localFiles(ctx.store, liveKeys, path.join(ctx.work, `live-${dt}`));
  const liveSql = liveRelation(liveKeys.map((k) => liveLocal.get(k)!));
  const plan = await planSlices(ctx, reader, dt, liveSql);
  const { newRows, slicesWithCopies } = await findLaterCopies(ctx, plan);
  ctx.mark('dedupe');
  const c = current?.commit;
  const base: DtResult = {
    dt,
    rowsIn,
    newRows,
    lateRows,
    liveRowsBefore: live?.rows ?? 0,
    rowsOut: c?.rows ?? 0,
    generation: c?.generation ?? null,
    location: c?.location ?? null,
    files: 0,
    bytes: 0,
  };
  // Everything was already live: nothing to rewrite. A run killed between its commit and its
  // catalog update left this date's catalog partition behind; bring it up to date.
  if (newRows === 0) return { result: base, commit: c ?? null };

  const parts = await sortSlices(ctx, reader, dt, plan, liveSql, slicesWithCopies);
  ctx.mark('sort');
  const dir = await joinParts(ctx, dt, parts);
  ctx.mark('write');
  const { generation, location } = generations.newLocation(CURATED_EVENTS.name, dt, ctx.runId, c ?? null);
  const files = await verifyGeneration(ctx, dir, location, { dt, live: live?.rows ?? 0, new: newRows });
  const rows = (live?.rows ?? 0) + newRows;
  const commit = await uploadAndCommit(ctx, generations, run.lock, dt, { location, generation, dir, files, rows, expect: current });
  ctx.mark('verify+commit');
  const bytes = files.reduce((s, f) => s + f.entry.bytes, 0);
  return { result: { ...base, rowsOut: rows, generation, location, files: files.length, bytes }, commit };
}

/** Marks finished the objects whose every date is committed, and moves the watermark (never past an object still waiting). */
async function advanceWatermark(run: Run, state: CompactionState, candidates: ObjectInfo[], newlyFinished: string[], committed: Set<string>): Promise<void> {
  for (const o of await datesOfObjects(run.ctx)) if (o.dts.every((d) => committed.has(d))) newlyFinished.push(o.key);
  const hourOf = (key: string) => arrivalHourOf(key) ?? candidates.find((o) => o.key === key)!.lastModified.getTime();
  const done = new Set(newlyFinished);
  const finishedHours = newlyFinished.map(hourOf);
  const unfinishedHours = candidates.filter((o) => !done.has(o.key)).map((o) => hourOf(o.key));
  // The next run lists from (watermark - lookback): never past an object still waiting.
  let watermark = Math.max(state.watermarkHourMs ?? -Infinity, ...finishedHours);
  if (unfinishedHours.length) watermark = Math.min(watermark, ...unfinishedHours);
  state.watermarkHourMs = Number.isFinite(watermark) ? watermark : state.watermarkHourMs;
  const horizon = (state.watermarkHourMs ?? 0) - run.ctx.config.compaction.lookbackHours * HOUR - 24 * HOUR;
  state.finished = [...new Set([...state.finished, ...newlyFinished])].filter((k) => (arrivalHourOf(k) ?? Infinity) >= horizon);
}

async function quarantineObject(run: Run, o: ObjectInfo, file: string, reason: string): Promise<void> {
  const key = `${QUARANTINE_PREFIX}${o.key}`;
  await run.ctx.store.putFile(key, file);
  const body = {
    key: o.key,
    error: reason,
    size: o.size,
    firstSeen: o.lastModified.toISOString(),
    quarantinedAt: new Date().toISOString(),
    runId: run.ctx.runId,
  };
  await run.ctx.store.put(`${key}.reason.json`, JSON.stringify(body, null, 2) + '\n', { contentType: 'application/json' });
  run.summary.quarantined.push({ key: o.key, reason });
}
