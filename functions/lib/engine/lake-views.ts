/**
 * The tables DuckDB serves over a local lake, read the way Athena reads Glue's: `events_raw` (every
 * raw object, typed by the raw record schema, for looking at what arrived, including hours not
 * registered yet); every generation table (curated events, the rollups, the anomalies) under its
 * catalog name, over the files of the partitions the local catalog lists (every file under each
 * location except `_` and `.` names, plus `dt`); a plain `events` (the curated events with
 * `user_key`) until the rollup's ledger applies the contract views; and the seed tables (org
 * directory, prices, ROI assumptions, compliance policy; the org directory falls back to the lake's
 * CSV until the rollup has seeded it). The views of `sql/views/`, the generated `events` view among
 * them, are applied on top by engine/local.ts.
 */
import { USER_KEY_SQL } from '../sql/user-key';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { duckdbColumns, duckdbType } from '../../../schemas/columns';
import { ORG_DIRECTORY } from '../../../schemas/org-directory';
import { SEED_TABLES } from '../../../schemas/seeds';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { RAW_RECORD } from '../../../schemas/raw-record';
import { REIDENTIFICATION, REIDENTIFICATION_PREFIX } from '../../../schemas/reidentification';
import { LocalCatalog } from '../catalog/local';
import { generationTables } from '../catalog/tables';
import { rawSourcesOf, type Config } from '../config/schema';
import { GUIDANCE_MAPPED_COLUMNS, guidanceToRawSql } from '../raw/bedrock-guidance';
import { parquetMagicProblem } from '../parquet/magic';
import { listAll } from '../store/port';
import type { LocalObjectStore } from '../store/local';
import { EVENTS_TAIL } from '../sql/events-tail';
import { eventsTail } from './events-tail';
import { sqlIdent, sqlString, type DuckDBEngine } from './duckdb';

/** A cheap check that a file can be a Parquet file (magic at both ends); footers are checked by the reader. */
export function looksLikeParquet(file: string): boolean {
  return parquetMagicProblem(file) === null;
}

export interface ViewSetup {
  views: string[];
  /** Raw objects left out of `events_raw` because they are not Parquet or their footer cannot be read (compaction quarantines them). */
  skippedRawObjects: string[];
  /** Uncompacted raw objects left out of `events` (its tail) with why: compaction will quarantine them. */
  skippedTailObjects?: { key: string; reason: string }[];
}

/** Privacy mode's `events_raw`: identity columns null, attribute values holding an e-mail address masked. */
function maskIdentities(select: string): string {
  const email = sqlString('[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}');
  return `SELECT * REPLACE (CAST(NULL AS VARCHAR) AS user_email, CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS user_account_uuid,
    CASE WHEN attributes IS NULL THEN NULL ELSE map_from_entries(list_transform(map_entries(attributes), e -> {'key': e.key, 'value': CASE WHEN regexp_matches(e.value, ${email}) THEN '(masked)' ELSE e.value END})) END AS attributes)
    FROM (${select})`;
}

/** A SELECT list that types every raw-record column as the schema says (missing columns read as NULL). */
function typedRawColumns(has: (column: string) => boolean = () => true): string {
  return duckdbColumns(RAW_RECORD)
    .map((c) => `CAST(${has(c.name) ? sqlIdent(c.name) : 'NULL'} AS ${c.type}) AS ${sqlIdent(c.name)}`)
    .join(', ');
}

/** The data files of a catalog table (every partition's location, or the table's own when it has no partitions), as Athena would read them (none when the table is absent). */
export async function catalogFiles(catalog: LocalCatalog, store: LocalObjectStore, table: string): Promise<string[]> {
  const spec = await catalog.getTable(table);
  if (!spec) return [];
  const out: string[] = [];
  const locations = spec.partitionKeys.length ? (await catalog.listPartitions(table)).map((p) => p.location) : [spec.location];
  for (const location of locations) {
    for (const o of await listAll(store, location)) {
      // Athena reads a location recursively and skips files and folders named `_...` or `.…`.
      if (
        !o.key
          .slice(location.length)
          .split('/')
          .some((part) => part.startsWith('_') || part.startsWith('.'))
      )
        out.push(o.key);
    }
  }
  return out;
}

/** One relation a session can bind: the views it reads, and how to (re)create it. */
export interface LakeRelation {
  name: string;
  deps: string[];
  create(): Promise<void>;
}

/** The partitions of a committed generation never change (a new generation gets a new location), so their file lists are kept for the process. */
const generationFiles = new Map<string, string[]>();

/** The data files of a catalog table as local paths; a committed generation's listing is reused. */
async function tableFiles(catalog: LocalCatalog, store: LocalObjectStore, table: string): Promise<string[]> {
  const spec = await catalog.getTable(table);
  if (!spec) return [];
  if (!spec.partitionKeys.length) return (await catalogFiles(catalog, store, table)).map((key) => path.join(store.root, ...key.split('/')));
  const out: string[] = [];
  for (const p of await catalog.listPartitions(table)) {
    const cacheKey = p.parameters?.['cclake.generation'] ? `${store.root}:${p.location}` : null;
    let files = cacheKey ? generationFiles.get(cacheKey) : undefined;
    if (!files) {
      files = [];
      for (const o of await listAll(store, p.location)) {
        if (
          !o.key
            .slice(p.location.length)
            .split('/')
            .some((part) => part.startsWith('_') || part.startsWith('.'))
        )
          files.push(path.join(store.root, ...o.key.split('/')));
      }
      if (cacheKey) generationFiles.set(cacheKey, files);
    }
    out.push(...files);
  }
  return out;
}

/** The objects under a raw prefix that are Parquet by their magic bytes, and the keys of those that are not. */
async function rawFiles(store: LocalObjectStore, prefix: string): Promise<{ files: string[]; keys: string[]; skipped: string[] }> {
  const files: string[] = [];
  const keys: string[] = [];
  const skipped: string[] = [];
  for (const o of await listAll(store, prefix)) {
    if (!o.key.endsWith('.parquet')) continue;
    const file = path.join(store.root, ...o.key.split('/'));
    if (looksLikeParquet(file)) {
      files.push(file);
      keys.push(o.key);
    } else skipped.push(o.key);
  }
  return { files, keys, skipped };
}

/**
 * The indexes of the files whose footer DuckDB cannot read (magic right, metadata corrupt), found by
 * halving: only called after reading them all together failed, so a healthy lake never pays for it.
 */
async function unreadableFiles(engine: DuckDBEngine, files: string[], offset = 0): Promise<number[]> {
  if (!files.length) return [];
  try {
    await engine.run(`DESCRIBE SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`);
    return [];
  } catch {
    if (files.length === 1) return [offset];
    const half = Math.ceil(files.length / 2);
    return [...(await unreadableFiles(engine, files.slice(0, half), offset)), ...(await unreadableFiles(engine, files.slice(half), offset + half))];
  }
}

/**
 * The lake's base relations (events_raw, the generation tables, `events`, the seeds), each created
 * only when asked for: a session binds what its queries read, not every file of the lake.
 */
export function lakeRelations(engine: DuckDBEngine, store: LocalObjectStore, config: Config, setup: ViewSetup): LakeRelation[] {
  const relations: LakeRelation[] = [];
  const view = async (name: string, select: string) => {
    await engine.run(`CREATE OR REPLACE VIEW ${sqlIdent(name)} AS ${select}`);
    if (!setup.views.includes(name)) setup.views.push(name);
  };

  relations.push({
    name: 'events_raw',
    deps: [],
    create: async () => {
      // Every raw source (raw.sources), each read as raw records: the AWS guidance's rows through its mapping.
      const emptyRaw = `SELECT ${duckdbColumns(RAW_RECORD)
        .map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`)
        .join(', ')} WHERE false`;
      const sources = [];
      const skipped: string[] = [];
      for (const source of rawSourcesOf(config)) {
        const raw = await rawFiles(store, source.prefix);
        skipped.push(...raw.skipped);
        const select = (files: string[]) => {
          if (!files.length) return null;
          const read = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
          return source.profile === 'bedrock-guidance'
            ? `SELECT ${typedRawColumns((c) => GUIDANCE_MAPPED_COLUMNS.includes(c))} FROM (${guidanceToRawSql(read)})`
            : `SELECT ${typedRawColumns()} FROM ${read}`;
        };
        sources.push({ raw, select });
      }
      const all = (selects: (string | null)[]) => selects.filter((x) => x !== null).join(' UNION ALL ') || emptyRaw;
      // Privacy mode: raw objects keep identities as they arrived (until retention.rawDays); the view masks them.
      const union = (selects: (string | null)[]) => (config.privacy.mode === 'named' ? all(selects) : maskIdentities(all(selects)));
      try {
        await view('events_raw', union(sources.map((x) => x.select(x.raw.files))));
      } catch (err) {
        // A footer DuckDB cannot read (compaction quarantines such objects): leave those out, say so.
        const selects: (string | null)[] = [];
        for (const { raw, select } of sources) {
          const bad = new Set(await unreadableFiles(engine, raw.files));
          skipped.push(...raw.keys.filter((_, i) => bad.has(i)));
          selects.push(select(raw.files.filter((_, i) => !bad.has(i))));
        }
        if (skipped.length === sources.reduce((n, x) => n + x.raw.skipped.length, 0)) throw err;
        await view('events_raw', union(selects));
      }
      setup.skippedRawObjects = skipped;
    },
  });

  // Every generation table (curated events, rollups) as the catalog lists it, under its catalog name.
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  for (const { spec, def } of generationTables()) {
    relations.push({
      name: spec.name,
      deps: [],
      create: async () => {
        const files = await tableFiles(catalog, store, spec.name);
        const keys = def.partitionKeys ?? [];
        const select = files.length
          ? `SELECT ${duckdbColumns(def)
              .map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`)
              .join(', ')}${keys.map((k) => `, CAST(${sqlIdent(k.name)} AS ${duckdbType(k.type)}) AS ${sqlIdent(k.name)}`).join('')}
         FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, union_by_name = true)`
          : `SELECT ${[...def.columns, ...keys].map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`).join(', ')} WHERE false`;
        await view(spec.name, select);
      },
    });
  }
  // `events_tail`: the raw records compaction has not taken yet (engine/events-tail.ts).
  relations.push({
    name: EVENTS_TAIL,
    deps: [],
    create: async () => {
      const tail = await eventsTail(engine, store, config, catalog);
      setup.skippedTailObjects = tail.skipped;
      await view(EVENTS_TAIL, tail.select);
    },
  });
  // `events`: the curated events and the tail, with `user_key` (CONTRACTS section 3).
  relations.push({
    name: 'events',
    deps: [CURATED_EVENTS.name, EVENTS_TAIL],
    create: () =>
      view(
        'events',
        `SELECT *, ${USER_KEY_SQL} AS user_key FROM ${sqlIdent(CURATED_EVENTS.name)} UNION ALL SELECT *, ${USER_KEY_SQL} AS user_key FROM ${EVENTS_TAIL}`,
      ),
  });

  // Seeds (org directory, prices, ROI assumptions, compliance policy) as the catalog has them; the
  // org directory falls back to the lake's CSV until the rollup stage has seeded it.
  const csv = path.join(store.root, ...config.orgDirectory.key.split('/'));
  for (const def of SEED_TABLES) {
    relations.push({
      name: def.name,
      deps: [],
      create: async () => {
        const files = await tableFiles(catalog, store, def.name);
        const typed = duckdbColumns(def)
          .map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`)
          .join(', ');
        const select = files.length
          ? `SELECT ${typed} FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false)`
          : def.name === ORG_DIRECTORY.name && config.privacy.mode === 'named' && existsSync(csv)
            ? `SELECT * FROM read_csv(${sqlString(csv)}, header = true, columns = {${duckdbColumns(ORG_DIRECTORY)
                .map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`)
                .join(', ')}})`
            : `SELECT ${duckdbColumns(def)
                .map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`)
                .join(', ')} WHERE false`;
        await view(def.name, select);
      },
    });
  }
  // Privacy mode's re-identification table, under its own, clearly restricted name (empty in named mode).
  relations.push({
    name: REIDENTIFICATION.name,
    deps: [],
    create: async () => {
      const files = (await listAll(store, REIDENTIFICATION_PREFIX))
        .filter((o) => o.key.endsWith('.parquet'))
        .map((o) => path.join(store.root, ...o.key.split('/')));
      const typed = duckdbColumns(REIDENTIFICATION)
        .map((c) => `CAST(${files.length ? sqlIdent(c.name) : 'NULL'} AS ${c.type}) AS ${sqlIdent(c.name)}`)
        .join(', ');
      await view(
        REIDENTIFICATION.name,
        files.length ? `SELECT ${typed} FROM read_parquet([${files.map(sqlString).join(', ')}])` : `SELECT ${typed} WHERE false`,
      );
    },
  });
  return relations;
}

/** Binds every base relation at once (jobs and tests that read the lake through a bare DuckDB engine). */
export async function registerLakeViews(engine: DuckDBEngine, store: LocalObjectStore, config: Config): Promise<ViewSetup> {
  const setup: ViewSetup = { views: [], skippedRawObjects: [] };
  for (const r of lakeRelations(engine, store, config, setup)) await r.create();
  return setup;
}
