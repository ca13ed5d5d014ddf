/**
 * Helpers for the compaction tests: hand-built raw objects (real Parquet, Firehose keys), the
 * curated rows the catalog points at, a raw-vs-curated multiset comparison in DuckDB, and the CLI
 * as a real child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TableDef } from '../../schemas/columns';
import { duckdbColumns } from '../../schemas/columns';
import { CURATED_EVENTS } from '../../schemas/curated-events';
import { emptyRawRecord, RAW_RECORD, type RawRecord } from '../../schemas/raw-record';
import { PartitionCommits } from '../../functions/lib/catalog/commits';
import { DuckDBEngine, sqlIdent, sqlString } from '../../functions/lib/engine/duckdb';
import { writeRows } from '../../functions/lib/parquet/io';
import { rawObjectKey } from '../../functions/lib/raw/keys';
import { recordId } from '../../functions/lib/telemetry/record-id';
import type { LocalObjectStore } from '../../functions/lib/store/local';
import { listAll } from '../../functions/lib/store/port';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(REPO, 'bin', 'cclake.mjs');

export function tempDirs(prefix: string): { make: () => string; cleanup: () => void } {
  const dirs: string[] = [];
  return {
    make: () => {
      const d = mkdtempSync(path.join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

let seq = 0;
/** A raw api_request event at `eventIso` for `user`; record_id is the real content hash. */
export function rec(eventIso: string, user = 'u1', extra: Partial<RawRecord> = {}): RawRecord {
  const row: RawRecord = {
    ...emptyRawRecord(),
    signal: 'event',
    name: 'claude_code.api_request',
    event_time: Date.parse(eventIso),
    user_id: user,
    user_email: `${user}@example.com`,
    session_id: `s-${user}`,
    model: 'claude-sonnet-4-5',
    input_tokens: 100,
    output_tokens: 20,
    cost_usd: 0.01,
    event_sequence: ++seq,
    attributes: { k: 'v' },
    ...extra,
  };
  row.record_id = recordId(row);
  return row;
}

/** Writes one raw object (Snappy Parquet, Firehose key for the arrival time); returns its key. */
export async function putRaw(store: LocalObjectStore, arrivalIso: string, rows: readonly object[], table: TableDef = RAW_RECORD): Promise<string> {
  const key = rawObjectKey('raw/', 'cclake-telemetry', Date.parse(arrivalIso));
  await store.put(key, writeRows(table, rows, { codec: 'snappy' }));
  return key;
}

/** A raw-record variant (schema drift). */
export function variant(change: (cols: TableDef['columns'][number][]) => TableDef['columns'][number][]): TableDef {
  return { ...RAW_RECORD, columns: change([...RAW_RECORD.columns]) };
}

export const TOKEN_COLUMNS = new Set(['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens']);
export const NARROW_TABLE = variant((cols) => cols.map((c) => (TOKEN_COLUMNS.has(c.name) ? { ...c, type: 'int32' as const } : c)));
export const WORKSPACE_TABLE = variant((cols) => [...cols, { name: 'workspace_id', type: 'string' as const, doc: 'newer table version' }]);
export const WRONG_SCHEMA_TABLE = variant((cols) => cols.map((c) => (c.name === 'input_tokens' ? { ...c, type: 'string' as const } : c)));

export const fileOf = (store: LocalObjectStore, key: string) => path.join(store.root, ...key.split('/'));

/** Live curated files of every partition (or one), as the partition commits name them. */
export async function liveFiles(store: LocalObjectStore, dt?: string): Promise<string[]> {
  const pointers = await new PartitionCommits(store).list(CURATED_EVENTS.name);
  return pointers.filter((p) => !dt || p.dt === dt).flatMap((p) => p.files.map((f) => fileOf(store, f.key)));
}

/** The live curated rows (every column the files have), in file order, as plain values. */
export async function curatedRows(store: LocalObjectStore, dt?: string): Promise<Record<string, unknown>[]> {
  const files = await liveFiles(store, dt);
  if (!files.length) return [];
  const engine = await DuckDBEngine.open();
  try {
    return (await engine.query(`SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`)).rows;
  } finally {
    engine.close();
  }
}

/**
 * Every raw-record column typed as the table says, plus workspace_id (the column a newer table
 * version adds). Other columns are left out on purpose (see the hive-column test in compaction.test.ts).
 */
async function typedSelect(engine: DuckDBEngine, source: string): Promise<string> {
  const have = (await engine.query(`DESCRIBE SELECT * FROM ${source}`)).rows.map((r) => String(r.column_name));
  const known = duckdbColumns(RAW_RECORD);
  const cols = known.map((c) => (have.includes(c.name) ? `CAST(${sqlIdent(c.name)} AS ${c.type})` : `CAST(NULL AS ${c.type})`) + ` AS ${sqlIdent(c.name)}`);
  // workspace_id is the one extra column the generator adds; compare it when either side has it.
  const extras = ['workspace_id'];
  for (const e of extras) cols.push(have.includes(e) ? `CAST(${sqlIdent(e)} AS VARCHAR) AS ${sqlIdent(e)}` : `CAST(NULL AS VARCHAR) AS ${sqlIdent(e)}`);
  return cols.join(', ');
}

export interface LakeComparison {
  /** Distinct raw records (by record_id) in the valid raw objects. */
  rawDistinct: number;
  /** Raw record ids with more than one distinct content among the valid objects (should be 0). */
  conflictingIds: number;
  curatedRows: number;
  curatedDistinctIds: number;
  /** Rows (record_id + content hash) in raw but not curated, and the reverse (multiset difference). */
  missing: string[];
  extra: string[];
  /** Rows visible in the `events` view, when asked for. */
  eventsRows?: number;
  eventsMissing?: string[];
  eventsExtra?: string[];
}

/**
 * Compares, as multisets of (record_id, md5 of every column), the live curated rows with the
 * distinct rows of `validRawKeys`. Extra columns (workspace_id) take part in the hash.
 */
export async function compareLake(
  store: LocalObjectStore,
  validRawKeys: string[],
  withEventsView?: (engine: DuckDBEngine) => Promise<void>,
): Promise<LakeComparison> {
  const engine = await DuckDBEngine.open();
  try {
    const rawSrc = validRawKeys.length
      ? `read_parquet([${validRawKeys.map((k) => sqlString(fileOf(store, k))).join(', ')}], union_by_name = true, hive_partitioning = false)`
      : null;
    const files = await liveFiles(store);
    const curSrc = files.length ? `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)` : null;
    const hashed = async (src: string | null, table: string) => {
      if (!src) {
        await engine.run(`CREATE TABLE ${table} (record_id VARCHAR, h VARCHAR)`);
        return;
      }
      const sel = await typedSelect(engine, src);
      await engine.run(`CREATE TABLE ${table} AS SELECT record_id, md5(CAST(t AS VARCHAR)) AS h FROM (SELECT ${sel} FROM ${src}) t`);
    };
    await hashed(rawSrc, 'raw_all');
    await hashed(curSrc, 'cur');
    await engine.run('CREATE TABLE raw_distinct AS SELECT DISTINCT record_id, h FROM raw_all');
    const one = async (sql: string) => Number((await engine.query(sql)).rows[0]!.n);
    const list = async (sql: string) => (await engine.query(sql)).rows.map((r) => `${r.record_id}:${r.h}`);
    const out: LakeComparison = {
      rawDistinct: await one('SELECT count(DISTINCT record_id) AS n FROM raw_distinct'),
      conflictingIds: await one('SELECT count(*) AS n FROM (SELECT record_id FROM raw_distinct GROUP BY 1 HAVING count(*) > 1)'),
      curatedRows: await one('SELECT count(*) AS n FROM cur'),
      curatedDistinctIds: await one('SELECT count(DISTINCT record_id) AS n FROM cur'),
      missing: await list('SELECT * FROM (SELECT record_id, h FROM raw_distinct EXCEPT ALL SELECT record_id, h FROM cur) ORDER BY 1 LIMIT 20'),
      extra: await list('SELECT * FROM (SELECT record_id, h FROM cur EXCEPT ALL SELECT record_id, h FROM raw_distinct) ORDER BY 1 LIMIT 20'),
    };
    // Sorted lists equal as well (belt and braces over EXCEPT ALL).
    const a = await list('SELECT record_id, h FROM raw_distinct ORDER BY 1, 2');
    const b = await list('SELECT record_id, h FROM cur ORDER BY 1, 2');
    if (a.length === b.length && a.some((x, i) => x !== b[i])) out.missing.push('(sorted lists differ)');
    if (withEventsView) {
      // `events` exposes the raw-record columns (plus dt, user_key): compare those.
      await withEventsView(engine);
      const cols = duckdbColumns(RAW_RECORD)
        .map((c) => sqlIdent(c.name))
        .join(', ');
      const rawCols = duckdbColumns(RAW_RECORD)
        .map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`)
        .join(', ');
      await engine.run(`CREATE TABLE ev AS SELECT record_id, md5(CAST(t AS VARCHAR)) AS h FROM (SELECT ${cols} FROM events) t`);
      if (rawSrc) await engine.run(`CREATE TABLE raw_ev AS SELECT DISTINCT record_id, md5(CAST(t AS VARCHAR)) AS h FROM (SELECT ${rawCols} FROM ${rawSrc}) t`);
      else await engine.run('CREATE TABLE raw_ev (record_id VARCHAR, h VARCHAR)');
      out.eventsRows = await one('SELECT count(*) AS n FROM ev');
      out.eventsMissing = await list('SELECT * FROM (SELECT * FROM raw_ev EXCEPT ALL SELECT * FROM ev) ORDER BY 1 LIMIT 20');
      out.eventsExtra = await list('SELECT * FROM (SELECT * FROM ev EXCEPT ALL SELECT * FROM raw_ev) ORDER BY 1 LIMIT 20');
    }
    return out;
  } finally {
    engine.close();
  }
}

/** Raw keys (parquet objects) in the lake. */
export async function rawKeys(store: LocalObjectStore): Promise<string[]> {
  return (await listAll(store, 'raw/')).map((o) => o.key);
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node bin/cclake.mjs ...args` as a child process (cwd: the repo). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started }));
  });
  return { child, done };
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnCli(args, env).done;

/** Small deterministic PRNG (mulberry32 over a string seed), so a failing run can be replayed. */
export function prng(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
