/**
 * Which raw objects compaction can read, and why the others go to quarantine. An object is
 * readable when it is a Parquet file whose footer DuckDB can read, it has the columns every record
 * needs, and each column it shares with the table has the table's type or one that widens to it
 * (int32 -> int64, float -> double, any timestamp unit or INT96 -> timestamp). Columns the table
 * does not know yet are carried along (a newer table version added them).
 */
import * as path from 'node:path';
import { BEDROCK_GUIDANCE_METRICS } from '../../../schemas/bedrock-guidance';
import { duckdbColumns, type TableDef } from '../../../schemas/columns';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { sqlString, type DuckDBEngine } from '../engine/duckdb';
import { parquetMagicProblem } from '../parquet/magic';
import { rawSourcesOf } from '../config/schema';
import { GUIDANCE_REQUIRED } from '../raw/bedrock-guidance';
import { arrivalHourOf } from '../raw/keys';
import type { ObjectInfo } from '../store/port';
import { dateIn } from '../util/dates';
import type { CompactionContext } from './context';
import { localFiles } from './local-files';
import type { RawSource } from './raw-sources';
import { asRawRecords } from './sources';

export type Verdict = { ok: true; columns: { name: string; type: string }[] } | { ok: false; reason: string };

const REQUIRED = ['record_id', 'signal', 'name', 'event_time'];

/** Types each table type accepts from a file, all of which cast to it without loss. */
const WIDENS_TO: Record<string, readonly string[]> = {
  VARCHAR: ['VARCHAR'],
  BIGINT: ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'],
  INTEGER: ['INTEGER', 'SMALLINT', 'TINYINT', 'USMALLINT', 'UTINYINT'],
  DOUBLE: ['DOUBLE', 'FLOAT'],
  BOOLEAN: ['BOOLEAN'],
  TIMESTAMP: ['TIMESTAMP', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
  DATE: ['DATE'],
  'MAP(VARCHAR, VARCHAR)': ['MAP(VARCHAR, VARCHAR)'],
};

/**
 * `validateRawFile` for many files at once, with the same verdicts: one footer read per batch of
 * files gives each file's schema fingerprint, and only one file per distinct fingerprint is
 * described and checked (a batch with an unreadable footer falls back to file by file).
 */
export async function validateRawFiles(engine: DuckDBEngine, files: string[], table: TableDef, required: readonly string[] = REQUIRED): Promise<Verdict[]> {
  const out: Verdict[] = new Array(files.length);
  /** The verdict of each distinct schema fingerprint, and each file's fingerprint (none: unknown). */
  const byPrint = new Map<string, Verdict>();
  const prints = new Map<number, string>();
  for (let i = 0; i < files.length; i += 500) {
    const batch: number[] = [];
    for (let j = i; j < Math.min(i + 500, files.length); j++) {
      const magic = parquetMagicProblem(files[j]!);
      if (magic) out[j] = { ok: false, reason: magic };
      else batch.push(j);
    }
    if (!batch.length) continue;
    let rows: Record<string, unknown>[];
    try {
      rows = (
        await engine.query(
          `SELECT file_name AS f, string_agg(concat_ws('|', name, type, type_length, repetition_type, num_children, converted_type, scale, precision, field_id, logical_type, duckdb_type), ';' ORDER BY column_id) AS p
           FROM parquet_schema([${batch.map((j) => sqlString(files[j]!)).join(', ')}]) GROUP BY file_name`,
        )
      ).rows;
    } catch {
      continue; // some footer here is unreadable: these files are checked one by one below
    }
    const printOf = new Map(rows.map((r) => [r.f as string, r.p as string]));
    for (const j of batch) {
      const p = printOf.get(files[j]!);
      if (p !== undefined) prints.set(j, p);
    }
  }
  for (let j = 0; j < files.length; j++) {
    if (out[j]) continue;
    const p = prints.get(j);
    if (p === undefined) {
      out[j] = await validateRawFile(engine, files[j]!, table, required);
      continue;
    }
    let verdict = byPrint.get(p);
    if (!verdict) byPrint.set(p, (verdict = await validateRawFile(engine, files[j]!, table, required)));
    out[j] = verdict;
  }
  return out;
}

export async function validateRawFile(engine: DuckDBEngine, file: string, table: TableDef, required: readonly string[] = REQUIRED): Promise<Verdict> {
  const magic = parquetMagicProblem(file);
  if (magic) return { ok: false, reason: magic };
  let columns: { name: string; type: string }[];
  try {
    const described = await engine.query(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`);
    columns = described.rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } catch (err) {
    return { ok: false, reason: `unreadable Parquet footer: ${(err as Error).message.split('\n')[0]}` };
  }
  const have = new Map(columns.map((c) => [c.name, c.type]));
  const missing = required.filter((c) => !have.has(c));
  if (missing.length) return { ok: false, reason: `missing required column(s) ${missing.join(', ')}` };
  for (const col of duckdbColumns(table)) {
    const found = have.get(col.name);
    if (found === undefined) continue; // absent columns read as null
    if (!(WIDENS_TO[col.type] ?? [col.type]).includes(found)) {
      return { ok: false, reason: `incompatible type: column ${col.name} is ${found} in this object, the table has ${col.type}` };
    }
  }
  return { ok: true, columns };
}

/**
 * Phase 2, validate: each candidate as a local file, judged by the table of its raw source's
 * profile; the readable ones become the run's raw sources (ids in listing order), as raw records
 * (sources.ts maps guidance rows and keeps each source to its event dates), the others go to
 * `reject` (quarantine).
 */
export async function admitRawObjects(
  ctx: CompactionContext,
  candidates: ObjectInfo[],
  reject: (o: ObjectInfo, file: string, reason: string) => Promise<void>,
): Promise<{ sources: RawSource[]; rejected: string[]; rowsOutsideWindow: number; rowsErased: number }> {
  const files = await localFiles(
    ctx.store,
    candidates.map((o) => o.key),
    path.join(ctx.work, 'raw'),
  );
  const tz = ctx.config.reporting.timeZone;
  const sources: RawSource[] = [];
  const rejected: string[] = [];
  const configured = rawSourcesOf(ctx.config);
  const sourceOf = (key: string) => configured.find((s) => key.startsWith(s.prefix)) ?? configured[0]!;
  const verdicts: Verdict[] = new Array(candidates.length);
  for (const profile of ['cclake', 'bedrock-guidance'] as const) {
    const idx = candidates.flatMap((o, i) => (sourceOf(o.key).profile === profile ? [i] : []));
    if (!idx.length) continue;
    const [table, required] = profile === 'cclake' ? [CURATED_EVENTS, REQUIRED] : [BEDROCK_GUIDANCE_METRICS, GUIDANCE_REQUIRED];
    const got = await validateRawFiles(
      ctx.engine,
      idx.map((i) => files.get(candidates[i]!.key)!),
      table,
      required,
    );
    idx.forEach((i, k) => (verdicts[i] = got[k]!));
  }
  const admitted: { o: ObjectInfo; file: string; columns: { name: string; type: string }[] }[] = [];
  for (const [i, o] of candidates.entries()) {
    const file = files.get(o.key)!;
    const verdict = verdicts[i]!;
    if (verdict.ok) admitted.push({ o, file, columns: verdict.columns });
    else {
      await reject(o, file, verdict.reason);
      rejected.push(o.key);
    }
  }
  const prepared = await asRawRecords(
    ctx,
    admitted.map((a) => ({ file: a.file, source: sourceOf(a.o.key), columns: a.columns })),
  );
  for (const [k, { o }] of admitted.entries()) {
    const { file, columns, size } = prepared.files[k]!;
    const arrivalDate = dateIn(tz, arrivalHourOf(o.key) ?? o.lastModified.getTime());
    sources.push({ key: o.key, file, size: size ?? o.size, arrivalDate, columns, id: sources.length, schema: JSON.stringify(columns) });
  }
  return { sources, rejected, rowsOutsideWindow: prepared.rowsOutsideWindow, rowsErased: prepared.rowsErased };
}
