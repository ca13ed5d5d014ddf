/**
 * Phase 3, index: one narrow pass over the readable raw objects reads only the event time and
 * counts rows per (event date, one-minute bucket, object). Copies of one record share its event
 * time, hence its bucket, so every later step works one slice of buckets at a time, reading just
 * the objects with rows in it straight from the raw files: memory follows the slice, not the
 * partition, and the rows are never copied anywhere but into the new generation.
 *
 * Scratch tables: `raw_objects` (one row per readable object: file, id, key, arrival date) and
 * `bucket_rows` (rows and late rows per date, bucket and object).
 */
import { sqlString } from '../engine/duckdb';
import { BUCKET_MS, type CompactionContext } from './context';
import type { RawReader, RawSource } from './raw-sources';

const REQUIRED = ['event_time', 'record_id', 'signal', 'name'];

export interface DateRows {
  dt: string;
  rows: number;
  late: number;
}

/** Records the readable objects in `raw_objects`. */
export async function recordRawObjects(ctx: CompactionContext, sources: RawSource[]): Promise<void> {
  await ctx.engine.run('CREATE TABLE raw_objects (path VARCHAR, id INTEGER, key VARCHAR, arrival_date DATE)');
  for (let i = 0; i < sources.length; i += 500) {
    const chunk = sources.slice(i, i + 500);
    await ctx.engine.run(
      `INSERT INTO raw_objects VALUES ${chunk.map((g) => `(${sqlString(g.file)}, ${g.id}, ${sqlString(g.key)}, DATE ${sqlString(g.arrivalDate)})`).join(', ')}`,
    );
  }
}

/**
 * Objects with rows no partition can hold (no event time or id) are taken out of `sources` and
 * handed to `reject` whole. The footers' null counts clear nearly every file without reading it;
 * only the rest are read.
 */
export async function rejectIncomplete(
  ctx: CompactionContext,
  reader: RawReader,
  sources: RawSource[],
  reject: (g: RawSource, reason: string) => Promise<void>,
): Promise<void> {
  const { engine } = ctx;
  const suspects = new Set<string>();
  for (const batch of reader.batches(sources)) {
    const q = `SELECT DISTINCT file_name AS f FROM parquet_metadata([${batch.map((g) => sqlString(g.file)).join(', ')}])
      WHERE path_in_schema IN (${REQUIRED.map(sqlString).join(', ')}) AND coalesce(stats_null_count, 1) > 0`;
    for (const r of (await engine.query(q)).rows) suspects.add(r.f as string);
  }
  const incomplete: Record<string, unknown>[] = [];
  for (const batch of reader.batches(sources.filter((g) => suspects.has(g.file)))) {
    const q = `SELECT ${reader.objectId(batch)} AS id, count(*) AS n FROM ${reader.from(batch)} WHERE ${REQUIRED.map((c) => `r.${c} IS NULL`).join(' OR ')} GROUP BY ALL`;
    incomplete.push(...(await engine.query(q)).rows);
  }
  for (const r of incomplete) {
    const i = sources.findIndex((x) => x.id === r.id);
    const g = sources[i]!;
    await reject(g, `${r.n} row(s) without event_time, record_id, signal or name`);
    reader.byId.delete(g.id);
    await engine.run(`DELETE FROM raw_objects WHERE id = ${g.id}`);
    sources.splice(i, 1);
  }
}

/** Fills `bucket_rows`: per (date, bucket, object) the rows, and how many are late (dated before their arrival). Returns the rows per date. */
export async function indexBuckets(ctx: CompactionContext, reader: RawReader, sources: RawSource[]): Promise<DateRows[]> {
  const { engine } = ctx;
  const tz = ctx.config.reporting.timeZone;
  const dtExpr = tz === 'UTC' ? 'CAST(r.event_time AS DATE)' : 'CAST(timezone($tz, CAST(r.event_time AS TIMESTAMPTZ)) AS DATE)';
  const bucketExpr = `epoch_ms(CAST(r.event_time AS TIMESTAMP)) // ${BUCKET_MS}`;
  await engine.run('CREATE TABLE bucket_rows (dt VARCHAR, b BIGINT, id INTEGER, n BIGINT, late BIGINT)');
  for (const batch of reader.batches(sources)) {
    await engine.run(
      `INSERT INTO bucket_rows SELECT strftime(a.dt, '%Y-%m-%d'), a.b, a.id, sum(a.n), coalesce(sum(a.n) FILTER (a.dt < o.arrival_date), 0)
       FROM (SELECT ${dtExpr} AS dt, ${bucketExpr} AS b, ${reader.objectId(batch)} AS id, count(*) AS n FROM ${reader.from(batch)} GROUP BY ALL) a
       JOIN raw_objects o ON o.id = a.id GROUP BY ALL`,
      tz === 'UTC' ? undefined : { tz },
    );
  }
  ctx.mark('stage');
  const byDt = (await engine.query(`SELECT dt, sum(n) AS n, sum(late) AS late FROM bucket_rows GROUP BY ALL ORDER BY dt`)).rows.map((r) => ({
    dt: r.dt as string,
    rows: Number(r.n),
    late: Number(r.late),
  }));
  ctx.mark('stage');
  return byDt;
}

/** Each indexed object's key with the dates it has rows in. */
export async function datesOfObjects(ctx: CompactionContext): Promise<{ key: string; dts: string[] }[]> {
  const q = `SELECT o.key AS key, list(DISTINCT b.dt) FILTER (b.dt IS NOT NULL) AS dts FROM raw_objects o LEFT JOIN bucket_rows b ON b.id = o.id GROUP BY o.key`;
  return (await ctx.engine.query(q)).rows.map((r) => ({ key: r.key as string, dts: (r.dts as string[] | null) ?? [] }));
}
