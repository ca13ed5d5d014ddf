/**
 * dbt-style table tests of a rollup day, run on the files the engine just wrote and before they are
 * committed: the table's `key` (schemas/rollups.ts: its grain) is unique, and no not-null column
 * (`nullable: false`) holds a null. A failure throws `TableTestError` naming the table, the day and
 * the key: the run fails, the day's commit is not made (readers keep the previous generation) and the
 * files become an orphan generation that `collectGarbage` removes after the grace period.
 *
 * The files are read back through the store (a rollup day is small: one row per developer, model,
 * tool...), so the check is the same on Athena and DuckDB and costs no query.
 */
import type { TableDef } from '../../../schemas/columns';
import { readRows } from '../parquet/io';
import type { ObjectStore } from '../store/port';

export class TableTestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableTestError';
  }
}

const show = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The problems of one day's rows (empty when the table tests pass); at most one per kind, with how many rows share it. */
export function tableTestProblems(def: TableDef & { key: readonly string[] }, rows: readonly Record<string, unknown>[]): string[] {
  const problems: string[] = [];
  const keyOf = (r: Record<string, unknown>) => def.key.map((c) => `${c}=${show(r[c])}`).join(', ');
  for (const col of def.columns.filter((c) => c.nullable === false)) {
    const bad = rows.filter((r) => r[col.name] === null || r[col.name] === undefined);
    if (bad.length) problems.push(`${bad.length} row(s) with a null in not-null column ${col.name} (first: key ${keyOf(bad[0]!)})`);
  }
  const seen = new Map<string, number>();
  for (const r of rows) {
    const k = keyOf(r);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const dups = [...seen].filter(([, n]) => n > 1);
  if (dups.length) problems.push(`${dups.length} duplicate key(s) (${def.key.join(', ')}), first: ${dups[0]![0]} in ${dups[0]![1]} rows`);
  return problems;
}

/** Reads the day's files and throws `TableTestError` when a table test fails. */
export async function assertTableTests(store: ObjectStore, def: TableDef & { key: readonly string[] }, dt: string, keys: readonly string[]): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const key of keys) rows.push(...readRows(await store.get(key)));
  const problems = tableTestProblems(def, rows);
  if (problems.length) throw new TableTestError(`table test failed: ${def.name} ${dt}: ${problems.join('; ')}; nothing committed`);
}
