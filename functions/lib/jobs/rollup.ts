/**
 * `cclake rollup` and the daily rollup function: applies the versioned SQL and computes the rollup
 * tables a day at a time, incrementally.
 *
 *  0. Seeds: the reference tables (org directory, prices, ROI assumptions, compliance policy) are
 *     rewritten from the config and the org directory CSV when their content changed.
 *  1. The ledger: an applied model file that was edited is refused (checksum); new model files are
 *     checked (their output columns must be the rollup table's, from `schemas/`) and recorded;
 *     views whose checksum changed are re-applied and recorded.
 *  2. Which days: by default, every day whose curated partition changed since its rollup was
 *     computed (a new generation — late data — or no rollup yet), or whose rollup came from an older
 *     model version. So a run reads the days that changed, not the history. `dt`/`from`-`to` force days.
 *  3. Per day and table: the model's rows are unloaded to a new generation beside the live one,
 *     committed (a partition commit naming the curated generation it came from), and the catalog
 *     partition is pointed at it: never a half-written day, never a doubled one on retry.
 *  4. Generations replaced longer ago than the grace period are deleted.
 *
 * It runs under the lake lock shared with compaction and the partitions stage (all three move
 * partitions of generation tables).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { ROLLUP_TABLES } from '../../../schemas/rollups';
import { duckdbColumns } from '../../../schemas/columns';
import { partitionOfCommit, PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { CatalogPort } from '../catalog/port';
import { catalogMayRead, ensureTables, publishPartitions } from '../catalog/sync';
import { generationTables, rollupPrefix } from '../catalog/tables';
import { takeLakeLock } from '../compaction/lock';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { currentModels, readSqlTree, type ModelFile, type SqlTree } from '../sql/files';
import { loadLedger, planLedger, saveLedger } from '../sql/ledger';
import { deletePrefix, listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { addDays } from '../util/dates';
import { writeSeeds, type SeedResult } from './seeds';

export interface RollupOptions {
  dt?: string;
  from?: string;
  to?: string;
  now?: number;
  runId?: string;
  sql?: SqlTree;
}

export interface RollupDay {
  dt: string;
  table: string;
  rows: number | null;
  generation: number;
  location: string;
  /** Why the day was computed. */
  reason: 'new' | 'late data' | 'model changed' | 'requested';
  durationMs: number;
}

export interface RollupSummary {
  runId: string;
  status: 'completed' | 'locked';
  lockedBy?: string;
  /** The reference tables written from the config and the org directory (when their content changed). */
  seeds: SeedResult[];
  modelsApplied: string[];
  viewsApplied: string[];
  days: RollupDay[];
  generationsDeleted: number;
  catalogErrors: string[];
  durationMs: number;
}

interface RollupState {
  version: 1;
  retired: { table: string; dt: string; location: string; retiredAt: string }[];
}
const STATE_KEY = '_cclake/rollup/state.json';

/**
 * The days a rollup table must (re)compute, oldest first: curated days it has no rollup of, days
 * whose curated generation changed since (late data), and days an older model version computed.
 */
export function staleRollupDays(curated: Map<string, PartitionCommit>, done: Map<string, PartitionCommit>, model: Pick<ModelFile, 'version'>): { dt: string; reason: RollupDay['reason'] }[] {
  const out: { dt: string; reason: RollupDay['reason'] }[] = [];
  for (const [dt, c] of [...curated].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prev = done.get(dt);
    if (!prev) out.push({ dt, reason: 'new' });
    else if (prev.model?.version !== model.version) out.push({ dt, reason: 'model changed' });
    else if (prev.source?.generation !== c.generation) out.push({ dt, reason: 'late data' });
  }
  return out;
}

/** Every placeholder of a model is the day. */
const dayParams = (m: ModelFile, dt: string) => Array.from({ length: m.placeholders }, () => dt);

export async function rollup(store: ObjectStore, catalog: CatalogPort, engine: QueryEngine & { refresh?: () => Promise<unknown> }, config: Config, options: RollupOptions = {}): Promise<RollupSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const summary: RollupSummary = { runId, status: 'completed', seeds: [], modelsApplied: [], viewsApplied: [], days: [], generationsDeleted: 0, catalogErrors: [], durationMs: 0 };
  const tree = options.sql ?? readSqlTree();
  const taken = await takeLakeLock(store, `rollup ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const lock = taken.lock;
  const commits = new PartitionCommits(store);
  let state: RollupState | null = null;
  try {
    summary.seeds = await writeSeeds(store, catalog, config, await modelsSeen());
    // Views read the rollup tables, and Athena creates a view only over tables that exist.
    await ensureTables(catalog, generationTables().map((t) => t.spec));
    if (summary.seeds.some((x) => x.action === 'written')) await engine.refresh?.();
    await applyLedger();
    const models = currentModels(tree);
    const curated = new Map((await commits.list(CURATED_EVENTS.name)).map((c) => [c.dt, c]));
    for (const def of ROLLUP_TABLES) {
      const model = models.get(def.name);
      if (!model) throw new Error(`no model computes rollup table ${def.name}: add sql/models/V<nnn>__${def.name}.sql`);
      const done = new Map((await commits.list(def.name)).map((c) => [c.dt, c]));
      for (const { dt, reason } of daysToCompute(curated, done, model)) {
        summary.days.push(await computeDay(def.name, model, dt, reason, curated.get(dt) ?? null, done.get(dt) ?? null));
      }
    }
    // Views over the rollups (local sessions list files when they start) now see the new days.
    if (summary.days.length) await engine.refresh?.();
    await collectGarbage();
  } finally {
    await lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;

  /** Every model id in the curated events: the `prices` seed prices each one exactly. */
  async function modelsSeen(): Promise<string[]> {
    if (!(await catalog.getTable(CURATED_EVENTS.name))) return [];
    const r = await engine.query(`SELECT DISTINCT model FROM ${CURATED_EVENTS.name} WHERE model IS NOT NULL`);
    return r.rows.map((x) => String(x.model));
  }

  async function applyLedger(): Promise<void> {
    const ledger = await loadLedger(store, engine.kind);
    const plan = planLedger(tree, ledger);
    for (const m of plan.newModels) {
      const t0 = performance.now();
      await checkModelColumns(m);
      ledger.entries.push({ kind: 'model', version: m.version, name: m.table, file: m.file, checksum: m.checksum, appliedAt: new Date().toISOString(), engine: engine.kind, durationMs: Math.round(performance.now() - t0) });
      summary.modelsApplied.push(m.file);
    }
    for (const v of plan.changedViews) {
      const t0 = performance.now();
      await engine.query(v.sql);
      ledger.entries.push({ kind: 'view', version: null, name: v.view, file: v.file, checksum: v.checksum, appliedAt: new Date().toISOString(), engine: engine.kind, durationMs: Math.round(performance.now() - t0) });
      summary.viewsApplied.push(v.file);
    }
    if (plan.newModels.length || plan.changedViews.length) await saveLedger(store, engine.kind, ledger);
  }

  /** A model must produce exactly its table's columns, in order, with its types (checked on a day with no data). */
  async function checkModelColumns(m: ModelFile): Promise<void> {
    const def = ROLLUP_TABLES.find((t) => t.name === m.table);
    if (!def) throw new Error(`${m.file}: no rollup table ${m.table} in schemas/rollups.ts`);
    const got = (await engine.query(`SELECT * FROM (${m.sql}) AS model LIMIT 0`, dayParams(m, '1970-01-01'))).columns;
    if (engine.kind !== 'duckdb') return; // column types are checked on DuckDB, where the tests run every model
    const want = duckdbColumns(def);
    const show = (cols: { name: string; type: string }[]) => cols.map((c) => `${c.name} ${c.type}`).join(', ');
    if (got.length !== want.length || got.some((c, i) => c.name !== want[i]!.name || c.type !== want[i]!.type)) {
      throw new Error(`${m.file}: the model's columns (${show(got)}) are not the table's (${show(want)}); cast each column to its type`);
    }
  }

  function daysToCompute(curated: Map<string, PartitionCommit>, done: Map<string, PartitionCommit>, model: ModelFile): { dt: string; reason: RollupDay['reason'] }[] {
    if (options.dt || options.from) {
      const from = options.dt ?? options.from!;
      const to = options.dt ?? options.to ?? from;
      const out: { dt: string; reason: RollupDay['reason'] }[] = [];
      for (let d = from; d <= to; d = addDays(d, 1)) out.push({ dt: d, reason: 'requested' });
      return out;
    }
    return staleRollupDays(curated, done, model);
  }

  async function computeDay(table: string, model: ModelFile, dt: string, reason: RollupDay['reason'], source: PartitionCommit | null, current: PartitionCommit | null): Promise<RollupDay> {
    const t0 = performance.now();
    const generation = (current?.generation ?? 0) + 1;
    const location = `${rollupPrefix(table)}dt=${dt}/gen=${String(generation).padStart(6, '0')}-${runId}/`;
    const stats = await engine.unload(model.sql, dayParams(model, dt), location);
    const files = (await listAll(store, location)).map((o) => ({ key: o.key, bytes: o.size, rows: null }));
    const rows = stats.rowsWritten ?? null;
    await lock.assertHeld();
    const commit: PartitionCommit = {
      table,
      dt,
      location,
      generation,
      files,
      rows,
      committedAt: new Date().toISOString(),
      runId,
      source: { table: CURATED_EVENTS.name, generation: source?.generation ?? 0 },
      model: { file: model.file, version: model.version, checksum: model.checksum },
    };
    await commits.put(commit);
    if (current) await retire(table, dt, current.location);
    const spec = generationTables().find((t) => t.spec.name === table)!.spec;
    try {
      const failed = await publishPartitions(catalog, spec, [partitionOfCommit(commit)]);
      summary.catalogErrors.push(...failed.map((f) => `${table} dt=${dt}: ${f.code}: ${f.message}`));
    } catch (err) {
      summary.catalogErrors.push(`${table} dt=${dt}: ${(err as Error).message}`);
    }
    return { dt, table, rows, generation, location, reason, durationMs: Math.round(performance.now() - t0) };
  }

  /** The run's state, read once; written after every change, so a crash never forgets a retired generation. */
  async function loadState(): Promise<RollupState> {
    if (state) return state;
    try {
      state = JSON.parse(new TextDecoder().decode(await store.get(STATE_KEY))) as RollupState;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      state = { version: 1, retired: [] };
    }
    return state;
  }

  async function retire(table: string, dt: string, location: string): Promise<void> {
    const s = await loadState();
    s.retired.push({ table, dt, location, retiredAt: new Date(now).toISOString() });
    await store.put(STATE_KEY, JSON.stringify(s, null, 1));
  }

  async function mayBeRead(table: string, dt: string, location: string): Promise<boolean> {
    const { reads, unknown } = await catalogMayRead(catalog, table, dt, location);
    if (unknown) summary.catalogErrors.push(unknown);
    return reads;
  }

  async function collectGarbage(): Promise<void> {
    const s = await loadState();
    const graceMs = config.retention.generationGraceMinutes * 60_000;
    const keep: RollupState['retired'] = [];
    for (const r of s.retired) {
      if (Date.parse(r.retiredAt) + graceMs > now || (await mayBeRead(r.table, r.dt, r.location))) {
        keep.push(r);
        continue;
      }
      await deletePrefix(store, r.location);
      summary.generationsDeleted++;
    }
    if (keep.length !== s.retired.length) {
      s.retired = keep;
      await store.put(STATE_KEY, JSON.stringify(s, null, 1));
    }
  }
}
