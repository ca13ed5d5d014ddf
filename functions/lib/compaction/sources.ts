/**
 * Phase 2b, raw sources: every admitted object as a file of raw records, kept to its source's event
 * dates (`raw.sources`), so that every later phase reads raw records only and never needs to know
 * which profile or source an object came from.
 *  - A `bedrock-guidance` object is rewritten through the guidance mapping (raw/bedrock-guidance.ts)
 *    into the run's scratch folder: one DuckDB COPY per object.
 *  - A `cclake` object is used as it is, unless its source has a cut-over date and some of its rows
 *    are dated outside them: then only its rows inside are copied (one narrow read of event_time
 *    tells; a lake with one source reads nothing here).
 * A row dated outside its source's dates is the other source's to deliver (the same datapoint
 * reaching the lake through both pipelines during a migration is taken from one only); such rows
 * are counted. Rows without an event time are kept, so the object is quarantined as incomplete.
 *
 * Rows of an erased person (erasure/tombstones.ts: any identity value tombstoned) are dropped the
 * same way and counted: data arriving after an erasure never reaches curated. A lake without
 * tombstones reads nothing more; with some, one narrow read of the identity columns per object.
 */
import { mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { RawSourceConfig } from '../config/schema';
import { sqlString } from '../engine/duckdb';
import { IDENTITY_COLUMNS } from '../erasure/person';
import { TombstoneSet } from '../erasure/tombstones';
import { guidanceToRawSql } from '../raw/bedrock-guidance';
import type { CompactionContext } from './context';

export interface AdmittedFile {
  file: string;
  source: RawSourceConfig;
  /** The file's columns as read (validate.ts). */
  columns: { name: string; type: string }[];
}

/** The predicate keeping a source's rows (SQL over raw columns), or null when it keeps every row. */
export function sourceWindowSql(source: RawSourceConfig, timeZone: string): string | null {
  if (source.from === null && source.until === null) return null;
  const dt = timeZone === 'UTC' ? 'CAST(event_time AS DATE)' : `CAST(timezone(${sqlString(timeZone)}, CAST(event_time AS TIMESTAMPTZ)) AS DATE)`;
  const bounds = [
    source.from !== null ? `${dt} >= DATE ${sqlString(source.from)}` : '',
    source.until !== null ? `${dt} < DATE ${sqlString(source.until)}` : '',
  ].filter(Boolean);
  return `(event_time IS NULL OR (${bounds.join(' AND ')}))`;
}

export async function asRawRecords(
  ctx: CompactionContext,
  admitted: AdmittedFile[],
): Promise<{ files: { file: string; columns: { name: string; type: string }[]; size: number | null }[]; rowsOutsideWindow: number; rowsErased: number }> {
  const { engine } = ctx;
  const tz = ctx.config.reporting.timeZone;
  const dir = path.join(ctx.work, 'sources');
  mkdirSync(dir, { recursive: true });
  let rowsOutsideWindow = 0;
  let rowsErased = 0;
  const tombstones = await TombstoneSet.load(ctx.store);
  const out: { file: string; columns: { name: string; type: string }[]; size: number | null }[] = [];
  for (const [i, a] of admitted.entries()) {
    const window = sourceWindowSql(a.source, tz);
    const read = `read_parquet(${sqlString(a.file)}, hive_partitioning = false)`;
    let select: string | null = null;
    if (a.source.profile === 'bedrock-guidance') {
      select = guidanceToRawSql(read, window ?? undefined);
    } else if (window !== null) {
      const c = (await engine.query(`SELECT count(*) FILTER (WHERE NOT ${window}) AS n FROM (SELECT event_time FROM ${read})`)).rows[0]!;
      if (Number(c.n) > 0) select = `SELECT * FROM ${read} WHERE ${window}`;
    }
    const windowed = select;
    const erased = tombstones.size ? await erasedRowsSql(ctx, tombstones, select ?? `SELECT * FROM ${read}`) : null;
    if (erased) select = `SELECT * FROM (${select ?? `SELECT * FROM ${read}`}) WHERE NOT (${erased})`;
    if (select === null) {
      out.push({ file: a.file, columns: a.columns, size: null });
      continue;
    }
    const file = path.join(dir, `${i}.parquet`);
    await engine.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
    const kept = await engine.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`);
    const all = await engine.query(`SELECT count(*) AS n FROM ${read}`);
    const inWindow = erased
      ? Number((await engine.query(`SELECT count(*) AS n FROM (${windowed ?? `SELECT * FROM ${read}`})`)).rows[0]!.n)
      : Number(kept.rows[0]!.n);
    rowsOutsideWindow += Number(all.rows[0]!.n) - inWindow;
    rowsErased += inWindow - Number(kept.rows[0]!.n);
    const columns = (await engine.query(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`)).rows.map((r) => ({
      name: String(r.column_name),
      type: String(r.column_type),
    }));
    out.push({ file, columns, size: statSync(file).size });
  }
  return { files: out, rowsOutsideWindow, rowsErased };
}

/** The predicate of the rows of `select` that belong to an erased person, or null when it has none. */
async function erasedRowsSql(ctx: CompactionContext, tombstones: TombstoneSet, select: string): Promise<string | null> {
  const names = new Set((await ctx.engine.query(`DESCRIBE ${select}`)).rows.map((r) => String(r.column_name)));
  const cols = IDENTITY_COLUMNS.filter((c) => names.has(c)).map((c) => `lower(trim(CAST(${c} AS VARCHAR)))`);
  if (!cols.length) return null;
  const q = `SELECT DISTINCT v FROM (SELECT unnest([${cols.join(', ')}]) AS v FROM (${select})) WHERE v IS NOT NULL`;
  const erased = (await ctx.engine.query(q)).rows.map((r) => String(r.v)).filter((v) => tombstones.has(v));
  if (!erased.length) return null;
  const list = erased.map(sqlString).join(', ');
  return cols.map((c) => `coalesce(${c} IN (${list}), false)`).join(' OR ');
}
