/**
 * `events_tail` on DuckDB (the contract is in sql/events-tail.ts): the raw objects compaction's next
 * run would take (compaction/list.ts over its own state: not finished, from watermark - lookback on;
 * every raw object before its first run), each judged as compaction judges it (validate.ts: Parquet
 * footer, required columns, compatible types; no row without id, time, signal or name), read as raw
 * records (the AWS guidance's rows through their mapping, each source kept to its event dates),
 * dated as compaction dates them, the first copy of each record kept (object listing order, then
 * row: compaction's rule), and the records the curated partitions of those dates hold left out.
 *
 * An object compaction would quarantine is left out of the tail and reported (never a failed query).
 * Verdicts are kept per file (path, size, modification time) for the process, so a session pays for
 * an object's check once.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { BEDROCK_GUIDANCE_METRICS } from '../../../schemas/bedrock-guidance';
import { duckdbColumns } from '../../../schemas/columns';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import type { LocalCatalog } from '../catalog/local';
import { listRaw } from '../compaction/list';
import { sourceWindowSql } from '../compaction/sources';
import { loadState } from '../compaction/state';
import { validateRawFiles } from '../compaction/validate';
import { rawSourcesOf, type Config, type RawSourceConfig } from '../config/schema';
import { GUIDANCE_MAPPED_COLUMNS, GUIDANCE_REQUIRED, guidanceToRawSql } from '../raw/bedrock-guidance';
import { REQUIRED_COLUMNS } from '../sql/events-tail';
import { listAll } from '../store/port';
import type { LocalObjectStore } from '../store/local';
import { sqlIdent, sqlString, type DuckDBEngine } from './duckdb';

export interface TailObject {
  key: string;
  file: string;
}

export interface TailSkip {
  key: string;
  reason: string;
}

export interface EventsTail {
  /** The SELECT of `events_tail` (raw-record columns and `dt`, events_curated's order). */
  select: string;
  /** The objects read. */
  objects: TailObject[];
  /** Objects left out, with why (compaction quarantines them). */
  skipped: TailSkip[];
}

type Verdict = { ok: true; columns: string[] } | { ok: false; reason: string };
const verdicts = new Map<string, Verdict>();

const COLUMNS = duckdbColumns(CURATED_EVENTS);
const emptyTail = () => `SELECT ${COLUMNS.map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')}, CAST(NULL AS DATE) AS dt WHERE false`;

/** Compaction's date of an event (compaction/index.ts), in the session's UTC. */
function dtSql(timeZone: string): string {
  return timeZone === 'UTC' ? 'CAST(event_time AS DATE)' : `CAST(timezone(${sqlString(timeZone)}, CAST(event_time AS TIMESTAMPTZ)) AS DATE)`;
}

/** Compaction's verdict on each file, from the cache or judged now (footer, columns, types, then rows lacking a required column). */
async function judge(engine: DuckDBEngine, files: string[], source: RawSourceConfig, timeZone: string): Promise<Verdict[]> {
  const keyOf = (f: string) => {
    const s = statSync(f);
    return `${f}\0${s.size}\0${s.mtimeMs}`;
  };
  const keys = files.map(keyOf);
  const todo = files.flatMap((_, i) => (verdicts.has(keys[i]!) ? [] : [i]));
  if (todo.length) {
    const guidance = source.profile === 'bedrock-guidance';
    const got = await validateRawFiles(
      engine,
      todo.map((i) => files[i]!),
      guidance ? BEDROCK_GUIDANCE_METRICS : CURATED_EVENTS,
      guidance ? GUIDANCE_REQUIRED : REQUIRED_COLUMNS,
    );
    for (const [k, i] of todo.entries()) {
      const v = got[k]!;
      if (!v.ok) {
        verdicts.set(keys[i]!, v);
        continue;
      }
      const records = recordsSql([files[i]!], source, timeZone);
      const n = Number(
        (await engine.query(`SELECT count(*) AS n FROM (${records}) WHERE ${REQUIRED_COLUMNS.map((c) => `${c} IS NULL`).join(' OR ')}`)).rows[0]!.n,
      );
      verdicts.set(
        keys[i]!,
        n ? { ok: false, reason: `${n} row(s) without event_time, record_id, signal or name` } : { ok: true, columns: v.columns.map((c) => c.name) },
      );
    }
  }
  return keys.map((k) => verdicts.get(k)!);
}

/**
 * One source's files as raw records (columns as the files have them; guidance rows mapped), kept to
 * the source's event dates when `window`; cclake rows also carry `file_index` and `file_row_number`.
 */
function recordsSql(files: string[], source: RawSourceConfig, timeZone: string, window = true): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  const keep = window ? sourceWindowSql(source, timeZone) : null;
  if (source.profile === 'bedrock-guidance')
    return guidanceToRawSql(`read_parquet(${list}, union_by_name = true, hive_partitioning = false)`, keep ?? undefined);
  return `SELECT *, file_index FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false, file_row_number = true)${keep ? ` WHERE ${keep}` : ''}`;
}

/** The tail of `events` as compaction's state has it now; `catalog` gives the curated partitions the tail's records are checked against. */
export async function eventsTail(engine: DuckDBEngine, store: LocalObjectStore, config: Config, catalog: LocalCatalog): Promise<EventsTail> {
  const tz = config.reporting.timeZone;
  const state = (await loadState(store)) ?? { version: 1 as const, watermarkHourMs: null, finished: [], retired: [], updatedAt: '' };
  const { candidates } = await listRaw(store, config, state, { now: Date.now() });
  const sources = rawSourcesOf(config);
  const skipped: TailSkip[] = [];
  const objects: TailObject[] = [];
  const selects: string[] = [];
  for (const source of sources) {
    // Compaction's listing order is its dedupe order (first copy kept): candidates come in it.
    const mine = candidates.map((o, order) => ({ o, order })).filter(({ o }) => (sources.find((s) => o.key.startsWith(s.prefix)) ?? sources[0]) === source);
    if (!mine.length) continue;
    const files = mine.map(({ o }) => path.join(store.root, ...o.key.split('/')));
    const judged = await judge(engine, files, source, tz);
    const ok = mine.flatMap((m, i) => {
      const v = judged[i]!;
      if (v.ok) return [{ ...m, file: files[i]!, columns: v.columns }];
      skipped.push({ key: m.o.key, reason: v.reason });
      return [];
    });
    if (!ok.length) continue;
    objects.push(...ok.map(({ o, file }) => ({ key: o.key, file })));
    const have = new Set(source.profile === 'bedrock-guidance' ? GUIDANCE_MAPPED_COLUMNS : ok.flatMap((x) => x.columns));
    const typed = COLUMNS.map((c) => `CAST(${have.has(c.name) ? sqlIdent(c.name) : 'NULL'} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');
    const records = recordsSql(
      ok.map((x) => x.file),
      source,
      tz,
    );
    // The guidance mapping keeps no file or row number: copies of its records are whole redelivered
    // objects, and any copy is the same row.
    const [o, r] =
      source.profile === 'bedrock-guidance'
        ? [String(ok[0]!.order), '0']
        : [`[${ok.map((x) => x.order).join(', ')}][CAST(file_index AS BIGINT) + 1]`, 'file_row_number'];
    selects.push(`SELECT ${typed}, ${dtSql(tz)} AS dt, ${o} AS _o, ${r} AS _r FROM (${records})`);
  }
  if (!selects.length) return { select: emptyTail(), objects, skipped };

  const tail = selects.join(' UNION ALL ');
  const dts = (await engine.query(`SELECT DISTINCT strftime(dt, '%Y-%m-%d') AS dt FROM (${tail})`)).rows.map((r) => String(r.dt));
  const curated: string[] = [];
  if ((await catalog.getTable(CURATED_EVENTS.name)) && dts.length) {
    for (const p of await catalog.listPartitions(CURATED_EVENTS.name)) {
      if (!dts.includes(p.values[0]!)) continue;
      for (const o of await listAll(store, p.location)) {
        if (
          !o.key
            .slice(p.location.length)
            .split('/')
            .some((part) => part.startsWith('_') || part.startsWith('.'))
        )
          curated.push(path.join(store.root, ...o.key.split('/')));
      }
    }
  }
  const notCurated = curated.length
    ? ` AND record_id NOT IN (SELECT record_id FROM read_parquet([${curated.map(sqlString).join(', ')}], hive_partitioning = false))`
    : '';
  const cols = COLUMNS.map((c) => sqlIdent(c.name)).join(', ');
  const select = `SELECT ${cols}, dt FROM (SELECT *, row_number() OVER (PARTITION BY record_id ORDER BY _o, _r) AS _n FROM (${tail})) WHERE _n = 1${notCurated}`;
  return { select, objects, skipped };
}
