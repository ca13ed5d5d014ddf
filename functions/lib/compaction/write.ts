/**
 * Phase 5, write: the new generation is built sorted, slice by slice: each slice is sorted once
 * (event time, user, record id) and written as it comes out of the sort straight to a zstd part.
 * The parts are then joined into files of about the target size by concatenating their row groups
 * (no page is decoded or compressed again: the join costs a copy). Slices are bounded by memory,
 * files by the target.
 */
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { sqlIdent, sqlString } from '../engine/duckdb';
import { concatParquet } from '../parquet/concat';
import { USER_KEY_SQL } from '../sql/user-key';
import type { CompactionContext } from './context';
import { pseudonymisedSql } from './pseudonymise';
import type { RawReader } from './raw-sources';
import type { SlicePlan } from './slice';

/** Writes the date's slices as sorted parts (`parts-<dt>/`); returns them in slice order. */
export async function sortSlices(
  ctx: CompactionContext,
  reader: RawReader,
  dt: string,
  plan: SlicePlan,
  liveSql: string | null,
  slicesWithCopies: Set<number>,
): Promise<{ file: string; bytes: number }[]> {
  const { engine } = ctx;
  const partsDir = path.join(ctx.work, `parts-${dt}`);
  mkdirSync(partsDir, { recursive: true });
  // Every part has the generation's columns, in one order: live and new, by name.
  const genCols = (
    await engine.query(`DESCRIBE SELECT * FROM (${liveSql ? `SELECT * FROM ${liveSql} UNION ALL BY NAME ` : ''}SELECT ${reader.selectList([])})`)
  ).rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  const liveCols = new Set(liveSql ? (await engine.query(`DESCRIBE SELECT * FROM ${liveSql}`)).rows.map((r) => String(r.column_name)) : []);
  const project = (has: (c: string) => boolean) =>
    genCols.map((c) => `${has(c.name) ? `CAST(${sqlIdent(c.name)} AS ${c.type})` : `CAST(NULL AS ${c.type})`} AS ${sqlIdent(c.name)}`).join(', ');
  const parts: { file: string; bytes: number }[] = [];
  for (let i = 0; i < plan.count; i++) {
    const { liveSlice, newSql, notLive } = plan.sql(i);
    const part = path.join(partsDir, `part-${i}.parquet`);
    // One row group per slice (DuckDB's default would leave a small remainder group in each).
    const to = `TO ${sqlString(part)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${Math.max(plan.sliceRows, 122_880)})`;
    if (!newSql) {
      // Live-only slices are already sorted and are copied as they are.
      await engine.run(`COPY (SELECT ${project((c) => liveCols.has(c))} FROM (${liveSlice})) ${to}`);
    } else {
      const keep = [notLive, slicesWithCopies.has(i) ? 'NOT EXISTS (SELECT 1 FROM later_copies d WHERE d._key = n._key AND d._row = n._row)' : ''].filter(
        Boolean,
      );
      const kept = `SELECT * EXCLUDE (_key, _row) FROM ${newSql} n${keep.length ? ` WHERE ${keep.join(' AND ')}` : ''}`;
      // Privacy mode: only new rows are pseudonymised (live rows already were).
      const fresh = ctx.pseudonymiser ? pseudonymisedSql(kept) : kept;
      const merged = liveSlice ? `${liveSlice} UNION ALL BY NAME ${fresh}` : fresh;
      await engine.run(`COPY (SELECT ${project(() => true)} FROM (${merged}) ORDER BY event_time, ${USER_KEY_SQL}, record_id) ${to}`);
    }
    parts.push({ file: part, bytes: statSync(part).size });
  }
  return parts;
}

/** Joins consecutive parts, in slice order, into files of up to the target size (`gen-<dt>/data_<k>.parquet`); returns the folder. */
export async function joinParts(ctx: CompactionContext, dt: string, parts: { file: string; bytes: number }[]): Promise<string> {
  const out = path.join(ctx.work, `gen-${dt}`);
  mkdirSync(out, { recursive: true });
  const target = ctx.config.compaction.targetFileSizeMiB * 1024 * 1024;
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
  rmSync(path.join(ctx.work, `parts-${dt}`), { recursive: true, force: true });
  return out;
}
