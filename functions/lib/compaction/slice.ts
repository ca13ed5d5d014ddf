/**
 * Phase 4, slice: a date's rows (new and live) cut into slices, runs of consecutive one-minute
 * buckets holding about `sliceRows` rows each, and per slice the SQL of its live rows, of its new
 * rows and of the ids the live generation already has. Then one narrow read of each slice finds
 * the new distinct ids and the later copies of redelivered records (scratch table `later_copies`).
 */
import { sqlString } from '../engine/duckdb';
import { BUCKET_MS, type CompactionContext } from './context';
import type { RawReader } from './raw-sources';

export interface SliceSql {
  /** The slice's live rows (null: no live generation). */
  liveSlice: string | null;
  /** The slice's rows of the raw objects that have any, with `_key` (object id) and `_row` (null: none). */
  newSql: string | null;
  /** The predicate leaving out ids the live generation has ('' when there are no live rows). */
  notLive: string;
}

export interface SlicePlan {
  count: number;
  /** Rows per slice (and per row group of a part). */
  sliceRows: number;
  sql(i: number): SliceSql;
}

/** The live generation's files as one relation (null: none). */
export const liveRelation = (liveFiles: string[]) =>
  liveFiles.length ? `read_parquet([${liveFiles.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)` : null;

export async function planSlices(ctx: CompactionContext, reader: RawReader, dt: string, liveSql: string | null): Promise<SlicePlan> {
  const counts = new Map<number, number>();
  /** The objects with rows in each bucket of this date. */
  const objectsIn = new Map<number, number[]>();
  for (const r of (await ctx.engine.query(`SELECT b, id, n FROM bucket_rows WHERE dt = $dt`, { dt })).rows) {
    const b = Number(r.b);
    counts.set(b, (counts.get(b) ?? 0) + Number(r.n));
    if (!objectsIn.has(b)) objectsIn.set(b, []);
    objectsIn.get(b)!.push(r.id as number);
  }
  if (liveSql) {
    for (const r of (await ctx.engine.query(`SELECT epoch_ms(event_time) // ${BUCKET_MS} AS b, count(*) AS n FROM ${liveSql} GROUP BY ALL`)).rows) {
      counts.set(Number(r.b), (counts.get(Number(r.b)) ?? 0) + Number(r.n));
    }
  }
  // About 4 KiB of the memory limit per slice row (a curated row is ~0.5 KiB in DuckDB's sort;
  // the rest is the Parquet readers' and writer's buffers). Measured on a 10,000-developer day:
  // slices a quarter of the size of 1 KiB a row are as fast and peak RSS falls by a quarter.
  const sliceRows = Math.max(50_000, Math.floor((ctx.config.compaction.memoryLimitMiB * 1024 * 1024) / 4096));
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
  const sql = (i: number): SliceSql => {
    const sl = slices[i]!;
    const lo = i === 0 ? 'true' : `event_time >= make_timestamp(${sl.first * BUCKET_MS * 1000})`;
    const hi = i === slices.length - 1 ? 'true' : `event_time < make_timestamp(${(sl.last + 1) * BUCKET_MS * 1000})`;
    const ids = new Set<number>();
    for (let b = sl.first; b <= sl.last; b++) for (const id of objectsIn.get(b) ?? []) ids.add(id);
    const objs = [...ids].sort((x, y) => x - y).map((id) => reader.byId.get(id)!);
    const liveSlice = liveSql ? `SELECT * FROM ${liveSql} WHERE ${lo} AND ${hi}` : null;
    // The slice's rows of the objects that have any: its buckets are all of this date. A plain
    // range on the column (not the bucket expression) is pushed into the Parquet scan: row
    // groups outside it are skipped and only matching rows are decoded.
    const newSql = objs.length
      ? `(SELECT ${reader.selectList(objs)}, ${reader.objectId(objs)} AS _key, r.file_row_number AS _row FROM ${reader.from(objs)}
          WHERE r.event_time >= make_timestamp(${sl.first * BUCKET_MS * 1000}) AND r.event_time < make_timestamp(${(sl.last + 1) * BUCKET_MS * 1000}))`
      : null;
    const notLive = liveSlice ? `record_id NOT IN (SELECT record_id FROM (${liveSlice}))` : '';
    return { liveSlice, newSql, notLive };
  };
  return { count: slices.length, sliceRows, sql };
}

/**
 * One narrow read of each slice: the new distinct ids, counted apart from the merge so the
 * verification is independent, and the later copies of duplicated ids (first copy kept, by object
 * listing order and row) into `later_copies`, ranked on three narrow columns so the full rows go
 * through one sort only. (Reading the full slice into a table once instead is twice as slow: the
 * table's own storage costs more than this narrow second read.)
 */
export async function findLaterCopies(ctx: CompactionContext, plan: SlicePlan): Promise<{ newRows: number; slicesWithCopies: Set<number> }> {
  const { engine } = ctx;
  await engine.run('CREATE OR REPLACE TABLE later_copies (_key INTEGER, _row BIGINT)');
  let newRows = 0;
  const slicesWithCopies = new Set<number>();
  for (let i = 0; i < plan.count; i++) {
    const { newSql, notLive } = plan.sql(i);
    if (!newSql) continue;
    await engine.run(`CREATE OR REPLACE TEMP TABLE slice_record_ids AS SELECT record_id, _key, _row FROM ${newSql}`);
    const c = (await engine.query(`SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM slice_record_ids${notLive ? ` WHERE ${notLive}` : ''}`)).rows[0]!;
    newRows += Number(c.d);
    if (Number(c.n) === Number(c.d)) continue;
    slicesWithCopies.add(i);
    await engine.run(`INSERT INTO later_copies SELECT _key, _row FROM (
        SELECT _key, _row, row_number() OVER (PARTITION BY record_id ORDER BY _key, _row) AS rn FROM slice_record_ids
        WHERE record_id IN (SELECT record_id FROM slice_record_ids GROUP BY record_id HAVING count(*) > 1))
      WHERE rn > 1`);
  }
  await engine.run('DROP TABLE IF EXISTS slice_record_ids');
  return { newRows, slicesWithCopies };
}
