/**
 * `cclake compact` and the hourly compaction function: Firehose's small raw files into curated,
 * deduplicated event-date partitions, committed atomically, with nothing lost.
 *
 * A run, under the compaction lease lock:
 *  1. lists raw objects it has not finished (only the day prefixes from watermark - lookback on);
 *  2. validates each (Parquet footer, required columns, compatible types) and quarantines the rest;
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
 */
import { dateIn } from '../util/dates';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { duckdbColumns } from '../../../schemas/columns';
import { CURATED_EVENTS, CURATED_EVENTS_PREFIX } from '../../../schemas/curated-events';
import { partitionOfCommit, PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { CatalogPort, PartitionSpec } from '../catalog/port';
import { catalogMayRead, publishPartitions } from '../catalog/sync';
import { curatedEventsTable } from '../catalog/tables';
import { takeLakeLock } from '../lock/lease';
import { makeStagingDir } from '../compaction/staging';
import { dayPrefixes, loadState, saveState, type CompactionState } from '../compaction/state';
import { validateRawFiles } from '../compaction/validate';
import type { Config } from '../config/schema';
import { DuckDBEngine, sqlIdent, sqlString } from '../engine/duckdb';
import { USER_KEY_SQL } from '../sql/user-key';
import { concatParquet } from '../parquet/concat';
import { arrivalHourOf } from '../raw/keys';
import { LocalObjectStore } from '../store/local';
import { deletePrefix, listAll, type ObjectInfo, type ObjectStore } from '../store/port';

export { COMPACT_LOCK_PREFIX } from '../lock/lease';
export const QUARANTINE_PREFIX = 'quarantine/';
/**
 * Staging bucket width: copies of a record share its event time, so they always share a bucket.
 * A slice is a run of whole buckets, so the bucket bounds the smallest slice: one minute keeps
 * slices at their memory-derived size (`sliceRows`) until a minute holds more: 189 million events
 * a day at the default 512 MiB.
 */
const BUCKET_MS = 60_000;
const HOUR = 3_600_000;

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
  quarantined: { key: string; reason: string }[];
  dts: DtResult[];
  /** Dates with staged rows this run did not commit (deadline or `--dt`); their objects stay unfinished. */
  deferredDts: string[];
  generationsDeleted: number;
  /** Catalog partitions pointed at this run's generations. */
  catalogPublished: number;
  /** Catalog updates that failed (the data is committed; the partitions stage repairs the catalog). */
  catalogErrors: string[];
  /** Where the time went: list, validate, stage (index), sort (per slice: read, dedupe, sort, write a part), write (join parts into files), verify+commit, gc. */
  phasesMs: Record<string, number>;
  durationMs: number;
}



const emptyState = (): CompactionState => ({ version: 1, watermarkHourMs: null, finished: [], retired: [], updatedAt: new Date(0).toISOString() });

export async function compact(store: ObjectStore, catalog: CatalogPort, config: Config, options: CompactOptions = {}): Promise<CompactSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  if (options.rebuild && !options.dt) throw new RangeError('--rebuild needs --dt: it rebuilds one event date from raw');
  const summary: CompactSummary = {
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
    quarantined: [],
    dts: [],
    deferredDts: [],
    generationsDeleted: 0,
    catalogPublished: 0,
    catalogErrors: [],
    phasesMs: {},
    durationMs: 0,
  };
  let phaseStart = performance.now();
  /** Adds the time since the previous mark to `phase`. */
  const mark = (phase: string) => {
    const t = performance.now();
    summary.phasesMs[phase] = Math.round((summary.phasesMs[phase] ?? 0) + t - phaseStart);
    phaseStart = t;
  };

  // The lease runs on the real clock (`now` may be set to simulate a later run of the data).
  const taken = await takeLakeLock(store, `compact ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const lock = taken.lock;
  const commits = new PartitionCommits(store);
  /** Catalog partitions for the dates this run committed. */
  const toPublish: PartitionSpec[] = [];
  const work = makeStagingDir(options.tmpDir ?? tmpdir());
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
  try {
    await run();
  } finally {
    engine.close();
    rmSync(work, { recursive: true, force: true });
    await lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;

  async function run(): Promise<void> {
    const state = (await loadState(store)) ?? emptyState();
    const tz = config.reporting.timeZone;
    const lookbackMs = config.compaction.lookbackHours * HOUR;

    // 1. What is new.
    let listed: ObjectInfo[];
    if (state.watermarkHourMs === null || options.rebuild) {
      listed = await listAll(store, config.raw.prefix);
    } else {
      listed = [];
      for (const p of dayPrefixes(config.raw.prefix, state.watermarkHourMs - lookbackMs, now + 24 * HOUR)) listed.push(...(await listAll(store, p)));
    }
    const finished = new Set(state.finished);
    const candidates = options.rebuild ? listed : listed.filter((o) => !finished.has(o.key));
    summary.objectsListed = listed.length;
    for (const o of listed) {
      const h = arrivalHourOf(o.key);
      if (h !== null && (summary.rawNewestHourMs === null || h > summary.rawNewestHourMs)) summary.rawNewestHourMs = h;
    }
    mark('list');

    // 2. Bring each to a local file and validate it.
    const files = await materialize(candidates.map((o) => o.key), 'raw');
    const arrivalOf = (o: ObjectInfo) => arrivalHourOf(o.key) ?? o.lastModified.getTime();
    /** A readable raw object; `id` is its position in listing order, `schema` its column list as text. */
    type Good = { key: string; file: string; size: number; arrivalDate: string; columns: { name: string; type: string }[]; id: number; schema: string };
    const good: Good[] = [];
    const newlyFinished: string[] = [];
    const verdicts = await validateRawFiles(engine, candidates.map((o) => files.get(o.key)!), CURATED_EVENTS);
    for (const [i, o] of candidates.entries()) {
      const file = files.get(o.key)!;
      const verdict = verdicts[i]!;
      if (verdict.ok) {
        const schema = JSON.stringify(verdict.columns);
        good.push({ key: o.key, file, size: o.size, arrivalDate: dateIn(tz, arrivalOf(o)), columns: verdict.columns, id: good.length, schema });
      } else {
        await quarantine(o, file, verdict.reason);
        newlyFinished.push(o.key);
      }
    }
    summary.objectsRead = good.length;
    mark('validate');

    // 3. Index: one narrow pass over the good files reads only the event time and counts rows per
    //    (event date, one-minute bucket, object). Copies of one record share its event time, hence
    //    its bucket, so every later step works one slice of buckets at a time, reading just the
    //    objects with rows in it straight from the raw files: memory follows the slice, not the
    //    partition, and the rows are never copied anywhere but into the new generation.
    const present = new Map<string, string>();
    for (const g of good) for (const c of g.columns) if (!present.has(c.name)) present.set(c.name, c.type);
    const known = duckdbColumns(CURATED_EVENTS);
    const knownNames = new Set(known.map((c) => c.name));
    const extras = [...present.keys()].filter((n) => !knownNames.has(n));
    /** The columns read from a batch of files: every column any file has, null where this batch lacks it. */
    const selectList = (batch: Good[]) => {
      const here = new Set(batch.flatMap((g) => g.columns.map((c) => c.name)));
      const col = (name: string, type: string) => (here.has(name) ? `CAST(r.${sqlIdent(name)} AS ${type})` : `CAST(NULL AS ${type})`) + ` AS ${sqlIdent(name)}`;
      return [...known.map((c) => col(c.name, c.type)), ...extras.map((n) => col(n, present.get(n)!))].join(', ');
    };
    // One row per raw object; rows carry its small integer id (listing order: the dedup order).
    await engine.run('CREATE TABLE src (path VARCHAR, id INTEGER, key VARCHAR, arrival_date DATE)');
    for (let i = 0; i < good.length; i += 500) {
      const chunk = good.slice(i, i + 500);
      await engine.run(`INSERT INTO src VALUES ${chunk.map((g) => `(${sqlString(g.file)}, ${g.id}, ${sqlString(g.key)}, DATE ${sqlString(g.arrivalDate)})`).join(', ')}`);
    }
    const goodById = new Map(good.map((g) => [g.id, g]));
    // union_by_name only where the files' columns differ: it reads every footer up front and
    // holds them for the whole read.
    const rawSql = (batch: Good[]) => {
      const same = batch.every((g) => g.schema === batch[0]!.schema);
      return `read_parquet([${batch.map((g) => sqlString(g.file)).join(', ')}], union_by_name = ${!same}, file_row_number = true, hive_partitioning = false) r`;
    };
    /** Each row's object id, by its file's position in `batch` (no join on file names per row). */
    const keyOf = (batch: Good[]) => `[${batch.map((g) => g.id).join(', ')}][CAST(r.file_index AS BIGINT) + 1]`;
    const bucketExpr = `epoch_ms(CAST(r.event_time AS TIMESTAMP)) // ${BUCKET_MS}`;
    // Raw files are read in batches of bytes (a quarter of the memory budget): one read over
    // thousands of files at once keeps every file's metadata and buffers, far beyond the limit.
    const batchBytes = (config.compaction.memoryLimitMiB * 1024 * 1024) / 4;
    const batchesOf = (list: Good[]) => {
      const out: Good[][] = [];
      let bytes = 0;
      for (const g of list) {
        const last = out[out.length - 1];
        if (last && bytes + g.size <= batchBytes) {
          last.push(g);
          bytes += g.size;
        } else {
          out.push([g]);
          bytes = g.size;
        }
      }
      return out;
    };
    if (good.length) {
      // Objects with rows no partition can hold (no event time or id) are quarantined whole. The
      // footers' null counts clear nearly every file without reading it; only the rest are read.
      const required = ['event_time', 'record_id', 'signal', 'name'];
      const suspects = new Set<string>();
      for (const batch of batchesOf(good)) {
        const q = `SELECT DISTINCT file_name AS f FROM parquet_metadata([${batch.map((g) => sqlString(g.file)).join(', ')}])
          WHERE path_in_schema IN (${required.map(sqlString).join(', ')}) AND coalesce(stats_null_count, 1) > 0`;
        for (const r of (await engine.query(q)).rows) suspects.add(r.f as string);
      }
      const incomplete: Record<string, unknown>[] = [];
      for (const batch of batchesOf(good.filter((g) => suspects.has(g.file)))) {
        const q = `SELECT ${keyOf(batch)} AS id, count(*) AS n FROM ${rawSql(batch)} WHERE ${required.map((c) => `r.${c} IS NULL`).join(' OR ')} GROUP BY ALL`;
        incomplete.push(...(await engine.query(q)).rows);
      }
      for (const r of incomplete) {
        const i = good.findIndex((x) => x.id === r.id);
        await quarantine(candidates.find((o) => o.key === good[i]!.key)!, good[i]!.file, `${r.n} row(s) without event_time, record_id, signal or name`);
        newlyFinished.push(good[i]!.key);
        goodById.delete(good[i]!.id);
        await engine.run(`DELETE FROM src WHERE id = ${good[i]!.id}`);
        good.splice(i, 1);
      }
      summary.objectsRead = good.length;
    }
    // Per (date, bucket, object): row counts, and how many are late (dated before their arrival).
    const dtExpr = tz === 'UTC' ? 'CAST(r.event_time AS DATE)' : 'CAST(timezone($tz, CAST(r.event_time AS TIMESTAMPTZ)) AS DATE)';
    await engine.run('CREATE TABLE st (dt VARCHAR, b BIGINT, id INTEGER, n BIGINT, late BIGINT)');
    for (const batch of batchesOf(good)) {
      await engine.run(
        `INSERT INTO st SELECT strftime(a.dt, '%Y-%m-%d'), a.b, a.id, sum(a.n), coalesce(sum(a.n) FILTER (a.dt < s.arrival_date), 0)
         FROM (SELECT ${dtExpr} AS dt, ${bucketExpr} AS b, ${keyOf(batch)} AS id, count(*) AS n FROM ${rawSql(batch)} GROUP BY ALL) a
         JOIN src s ON s.id = a.id GROUP BY ALL`,
        tz === 'UTC' ? undefined : { tz },
      );
    }
    mark('stage');
    const byDt = (await engine.query(`SELECT dt, sum(n) AS n, sum(late) AS late FROM st GROUP BY ALL ORDER BY dt`)).rows.map((r) => ({
      dt: r.dt as string,
      rows: Number(r.n),
      late: Number(r.late),
    }));
    mark('stage');

    // 4. One new generation per event date.
    /** Committed dates, with the location live for each after this run (null: the date has no pointer). */
    const committed = new Map<string, string | null>();
    let slowestDtMs = 0;
    for (const { dt, rows, late } of byDt) {
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
      const result = await compactDt(dt, rows, late);
      summary.dts.push(result);
      summary.rowsIn += result.rowsIn;
      summary.rowsOut += result.newRows;
      summary.lateRows += result.lateRows;
      summary.duplicatesDropped += result.rowsIn - result.newRows;
      committed.set(dt, result.location);
      slowestDtMs = Math.max(slowestDtMs, performance.now() - dtStarted);
    }

    await publish();

    // 5. Objects whose every date is committed are finished.
    if (!options.rebuild) {
      const objectDts = (await engine.query(`SELECT src.key AS key, list(DISTINCT st.dt) FILTER (st.dt IS NOT NULL) AS dts FROM src LEFT JOIN st ON st.id = src.id GROUP BY src.key`)).rows;
      for (const r of objectDts) if ((r.dts as string[] | null ?? []).every((d) => committed.has(d))) newlyFinished.push(r.key as string);
      const hourOf = (key: string) => arrivalHourOf(key) ?? candidates.find((o) => o.key === key)!.lastModified.getTime();
      const done = new Set(newlyFinished);
      const finishedHours = newlyFinished.map(hourOf);
      const unfinishedHours = candidates.filter((o) => !done.has(o.key)).map((o) => hourOf(o.key));
      // The next run lists from (watermark - lookback): never past an object still waiting.
      let watermark = Math.max(state.watermarkHourMs ?? -Infinity, ...finishedHours);
      if (unfinishedHours.length) watermark = Math.min(watermark, ...unfinishedHours);
      state.watermarkHourMs = Number.isFinite(watermark) ? watermark : state.watermarkHourMs;
      const horizon = (state.watermarkHourMs ?? 0) - lookbackMs - 24 * HOUR;
      state.finished = [...new Set([...state.finished, ...newlyFinished])].filter((k) => (arrivalHourOf(k) ?? Infinity) >= horizon);
    }

    // 6. Retired generations past their grace period, and orphans of crashed runs.
    mark('other');
    await collectGarbage(state, committed);
    mark('gc');
    await lock.assertHeld();
    state.updatedAt = new Date(now).toISOString();
    await saveState(store, state);
    summary.watermarkHourMs = state.watermarkHourMs;

    async function compactDt(dt: string, rowsIn: number, lateRows: number): Promise<DtResult> {
      // A rebuild ignores the live rows but still replaces the live generation the normal way
      // (numbered after it, retired for the grace period), so running queries keep their files.
      const current = await commits.get(CURATED_EVENTS.name, dt);
      const live = options.rebuild ? null : current;
      const liveFiles = live ? [...(await materialize(live.files.map((f) => f.key), `live-${dt}`)).values()] : [];
      const liveSql = liveFiles.length ? `read_parquet([${liveFiles.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)` : null;
      // Slices: runs of consecutive buckets (new and live) holding about `sliceRows` rows each.
      const counts = new Map<number, number>();
      /** The objects with rows in each bucket of this date. */
      const objectsIn = new Map<number, number[]>();
      for (const r of (await engine.query(`SELECT b, id, n FROM st WHERE dt = $dt`, { dt })).rows) {
        const b = Number(r.b);
        counts.set(b, (counts.get(b) ?? 0) + Number(r.n));
        if (!objectsIn.has(b)) objectsIn.set(b, []);
        objectsIn.get(b)!.push(r.id as number);
      }
      if (liveSql) {
        for (const r of (await engine.query(`SELECT epoch_ms(event_time) // ${BUCKET_MS} AS b, count(*) AS n FROM ${liveSql} GROUP BY ALL`)).rows) {
          counts.set(Number(r.b), (counts.get(Number(r.b)) ?? 0) + Number(r.n));
        }
      }
      // About 4 KiB of the memory limit per slice row (a curated row is ~0.5 KiB in DuckDB's sort;
      // the rest is the Parquet readers' and writer's buffers). Measured on a 10,000-developer day:
      // slices a quarter of the size of 1 KiB a row are as fast and peak RSS falls by a quarter.
      const sliceRows = Math.max(50_000, Math.floor((config.compaction.memoryLimitMiB * 1024 * 1024) / 4096));
      const slices: { first: number; last: number }[] = [];
      let acc = 0;
      for (const b of [...counts.keys()].sort((x, y) => x - y)) {
        const n = counts.get(b)!;
        const cur = slices[slices.length - 1];
        if (cur && acc + n <= sliceRows) {
          cur.last = b;
          acc += n;
        } else {
          slices.push({ first: b, last: b });
          acc = n;
        }
      }
      const sliceSql = (i: number) => {
        const sl = slices[i]!;
        const lo = i === 0 ? 'true' : `event_time >= make_timestamp(${sl.first * BUCKET_MS * 1000})`;
        const hi = i === slices.length - 1 ? 'true' : `event_time < make_timestamp(${(sl.last + 1) * BUCKET_MS * 1000})`;
        const ids = new Set<number>();
        for (let b = sl.first; b <= sl.last; b++) for (const id of objectsIn.get(b) ?? []) ids.add(id);
        const objs = [...ids].sort((x, y) => x - y).map((id) => goodById.get(id)!);
        const liveSlice = liveSql ? `SELECT * FROM ${liveSql} WHERE ${lo} AND ${hi}` : null;
        // The slice's rows of the objects that have any: its buckets are all of this date. A plain
        // range on the column (not the bucket expression) is pushed into the Parquet scan: row
        // groups outside it are skipped and only matching rows are decoded.
        const newSql = objs.length
          ? `(SELECT ${selectList(objs)}, ${keyOf(objs)} AS _key, r.file_row_number AS _row FROM ${rawSql(objs)}
              WHERE r.event_time >= make_timestamp(${sl.first * BUCKET_MS * 1000}) AND r.event_time < make_timestamp(${(sl.last + 1) * BUCKET_MS * 1000}))`
          : null;
        /** The predicate leaving out ids the live generation has (empty: no live rows). */
        const notLive = liveSlice ? `record_id NOT IN (SELECT record_id FROM (${liveSlice}))` : '';
        return { liveSlice, newSql, notLive };
      };
      // One narrow read of each slice: the new distinct ids, counted apart from the merge so the
      // verification is independent, and the later copies of duplicated ids (first copy kept, by
      // object listing order and row), ranked on three narrow columns so the full rows go through
      // one sort only. (Reading the full slice into a table once instead is twice as slow: the
      // table's own storage costs more than this narrow second read.)
      await engine.run('CREATE OR REPLACE TABLE dup (_key INTEGER, _row BIGINT)');
      let newRows = 0;
      /** Slices with redelivered copies to leave out (the others skip the anti-join). */
      const sliceHasDups = new Set<number>();
      for (let i = 0; i < slices.length; i++) {
        const { newSql, notLive } = sliceSql(i);
        if (!newSql) continue;
        await engine.run(`CREATE OR REPLACE TEMP TABLE ids AS SELECT record_id, _key, _row FROM ${newSql}`);
        const c = (await engine.query(`SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM ids${notLive ? ` WHERE ${notLive}` : ''}`)).rows[0]!;
        newRows += Number(c.d);
        if (Number(c.n) === Number(c.d)) continue;
        sliceHasDups.add(i);
        await engine.run(`INSERT INTO dup SELECT _key, _row FROM (
            SELECT _key, _row, row_number() OVER (PARTITION BY record_id ORDER BY _key, _row) AS rn FROM ids
            WHERE record_id IN (SELECT record_id FROM ids GROUP BY record_id HAVING count(*) > 1))
          WHERE rn > 1`);
      }
      await engine.run('DROP TABLE IF EXISTS ids');
      mark('dedupe');
      const base: DtResult = {
        dt,
        rowsIn,
        newRows,
        lateRows,
        liveRowsBefore: live?.rows ?? 0,
        rowsOut: current?.rows ?? 0,
        generation: current?.generation ?? null,
        location: current?.location ?? null,
        files: 0,
        bytes: 0,
      };
      if (newRows === 0) {
        // Everything was already live: nothing to rewrite. A run killed between its commit and its
        // catalog update left this date's catalog partition behind; bring it up to date.
        if (current) toPublish.push(partitionOfCommit(current));
        return base;
      }

      // The new generation is built sorted, slice by slice: each slice is sorted once and written
      // as it comes out of the sort straight to a zstd part. The parts are then joined into files
      // of about the target size by concatenating their row groups (no page is decoded or
      // compressed again: the join costs a copy). Slices are bounded by memory, files by the target.
      const out = path.join(work, `gen-${dt}`);
      const partsDir = path.join(work, `parts-${dt}`);
      mkdirSync(partsDir, { recursive: true });
      mkdirSync(out, { recursive: true });
      // Every part has the generation's columns, in one order: live and new, by name.
      const genCols = (
        await engine.query(`DESCRIBE SELECT * FROM (${liveSql ? `SELECT * FROM ${liveSql} UNION ALL BY NAME ` : ''}SELECT ${selectList([])})`)
      ).rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      const liveCols = new Set(liveSql ? (await engine.query(`DESCRIBE SELECT * FROM ${liveSql}`)).rows.map((r) => String(r.column_name)) : []);
      const project = (has: (c: string) => boolean) =>
        genCols.map((c) => `${has(c.name) ? `CAST(${sqlIdent(c.name)} AS ${c.type})` : `CAST(NULL AS ${c.type})`} AS ${sqlIdent(c.name)}`).join(', ');
      const parts: { file: string; bytes: number }[] = [];
      for (let i = 0; i < slices.length; i++) {
        const { liveSlice, newSql, notLive } = sliceSql(i);
        const part = path.join(partsDir, `part-${i}.parquet`);
        // One row group per slice (DuckDB's default would leave a small remainder group in each).
        const to = `TO ${sqlString(part)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${Math.max(sliceRows, 122_880)})`;
        if (!newSql) {
          // Live-only slices are already sorted and are copied as they are.
          await engine.run(`COPY (SELECT ${project((c) => liveCols.has(c))} FROM (${liveSlice})) ${to}`);
        } else {
          const keep = [notLive, sliceHasDups.has(i) ? 'NOT EXISTS (SELECT 1 FROM dup d WHERE d._key = n._key AND d._row = n._row)' : ''].filter(Boolean);
          const fresh = `SELECT * EXCLUDE (_key, _row) FROM ${newSql} n${keep.length ? ` WHERE ${keep.join(' AND ')}` : ''}`;
          const merged = liveSlice ? `${liveSlice} UNION ALL BY NAME ${fresh}` : fresh;
          await engine.run(`COPY (SELECT ${project(() => true)} FROM (${merged}) ORDER BY event_time, ${USER_KEY_SQL}, record_id) ${to}`);
        }
        parts.push({ file: part, bytes: statSync(part).size });
      }
      const total = (live?.rows ?? 0) + newRows;
      mark('sort');
      // Consecutive parts, in slice order, fill each file up to the target size.
      const target = config.compaction.targetFileSizeMiB * 1024 * 1024;
      const groups: string[][] = [];
      let groupBytes = 0;
      for (const part of parts) {
        const last = groups[groups.length - 1];
        if (last && groupBytes + part.bytes <= target) {
          last.push(part.file);
          groupBytes += part.bytes;
        } else {
          groups.push([part.file]);
          groupBytes = part.bytes;
        }
      }
      for (const [k, group] of groups.entries()) {
        const file = path.join(out, `data_${k}.parquet`);
        if (group.length === 1) renameSync(group[0]!, file);
        else await concatParquet(group, file);
      }
      rmSync(partsDir, { recursive: true, force: true });
      mark('write');
      // Verify before anyone can see it: every footer readable, rows = live + new.
      const written = readdirSync(out)
        .filter((f) => f.endsWith('.parquet'))
        .sort((a, b) => Number(/\d+/.exec(a)?.[0] ?? 0) - Number(/\d+/.exec(b)?.[0] ?? 0));
      const expected = total;
      const files: PartitionCommit['files'] = [];
      const generation = (current?.generation ?? 0) + 1;
      const location = `${CURATED_EVENTS_PREFIX}dt=${dt}/gen=${String(generation).padStart(6, '0')}-${runId}/`;
      let counted = 0;
      for (const [i, f] of written.entries()) {
        const file = path.join(out, f);
        const rows = (await engine.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`)).rows[0]!.n as number;
        counted += rows;
        files.push({ key: `${location}part-${String(i).padStart(5, '0')}.parquet`, bytes: statSync(file).size, rows });
      }
      if (counted !== expected) {
        throw new Error(`verification failed for dt=${dt}: wrote ${counted} rows, expected ${expected} (live ${live?.rows ?? 0} + new ${newRows}); nothing was committed`);
      }
      for (const [i, f] of written.entries()) await store.putFile(files[i]!.key, path.join(out, f));
      rmSync(out, { recursive: true, force: true });

      await lock.assertHeld();
      const commit: PartitionCommit = { table: CURATED_EVENTS.name, dt, location, generation, files, rows: total, committedAt: new Date().toISOString(), runId };
      await commits.put(commit);
      toPublish.push(partitionOfCommit(commit));
      mark('verify+commit');
      if (current && current.location !== location) state.retired.push({ table: CURATED_EVENTS.name, dt, location: current.location, retiredAt: new Date().toISOString() });
      return { ...base, rowsOut: total, generation, location, files: files.length, bytes: files.reduce((s, f) => s + f.bytes, 0) };
    }
  }

  /** Local files for lake keys: the lake's own files when it is a local folder, else downloads. */
  async function materialize(keys: string[], label: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (store instanceof LocalObjectStore) {
      for (const k of keys) out.set(k, path.join(store.root, ...k.split('/')));
      return out;
    }
    const dir = path.join(work, label);
    mkdirSync(dir, { recursive: true });
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(8, keys.length) }, async () => {
        while (next < keys.length) {
          const i = next++;
          const file = path.join(dir, `${i}.parquet`);
          await store.getToFile(keys[i]!, file);
          out.set(keys[i]!, file);
        }
      }),
    );
    return out;
  }

  /** Points the catalog at the generations this run committed; a failure leaves the commits standing. */
  async function publish(): Promise<void> {
    try {
      const failed = await publishPartitions(catalog, curatedEventsTable(), toPublish);
      summary.catalogPublished = toPublish.length - failed.length;
      summary.catalogErrors.push(...failed.map((f) => `${CURATED_EVENTS.name} dt=${f.values.join('/')}: ${f.code}: ${f.message}`));
    } catch (err) {
      summary.catalogErrors.push(`${catalog.location}: ${(err as Error).message}`);
    }
  }

  async function quarantine(o: ObjectInfo, file: string, reason: string): Promise<void> {
    const key = `${QUARANTINE_PREFIX}${o.key}`;
    await store.putFile(key, file);
    const body = { key: o.key, error: reason, size: o.size, firstSeen: o.lastModified.toISOString(), quarantinedAt: new Date().toISOString(), runId };
    await store.put(`${key}.reason.json`, JSON.stringify(body, null, 2) + '\n', { contentType: 'application/json' });
    summary.quarantined.push({ key: o.key, reason });
  }

  async function collectGarbage(state: CompactionState, committed: Map<string, string | null>): Promise<void> {
    const graceMs = config.retention.generationGraceMinutes * 60_000;
    const keep: CompactionState['retired'] = [];
    for (const r of state.retired) {
      if (Date.parse(r.retiredAt) + graceMs > now || (await catalogPointsAt(r.dt, r.location))) {
        keep.push(r);
        continue;
      }
      await deletePrefix(store, r.location);
      summary.generationsDeleted++;
    }
    state.retired = keep;
    // A crashed run may have written a generation it never committed: delete it once it is older
    // than the grace period (a generation that young might belong to a run still writing it).
    for (const [dt, location] of committed) {
      const waiting = new Set(state.retired.filter((r) => r.dt === dt).map((r) => r.location));
      const gens = new Map<string, number>();
      for (const o of await listAll(store, `${CURATED_EVENTS_PREFIX}dt=${dt}/`)) {
        const loc = o.key.slice(0, o.key.indexOf('/', `${CURATED_EVENTS_PREFIX}dt=${dt}/`.length) + 1);
        gens.set(loc, Math.max(gens.get(loc) ?? 0, o.lastModified.getTime()));
      }
      for (const [loc, newest] of gens) {
        if (loc === location || waiting.has(loc) || newest + graceMs > now) continue;
        await deletePrefix(store, loc);
        summary.generationsDeleted++;
      }
    }
  }

  /** Whether the catalog's partition for `dt` still reads `location` (then it must stay). */
  async function catalogPointsAt(dt: string, location: string): Promise<boolean> {
    const { reads, unknown } = await catalogMayRead(catalog, CURATED_EVENTS.name, dt, location);
    if (unknown) summary.catalogErrors.push(unknown);
    return reads;
  }


}
