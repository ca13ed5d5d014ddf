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
 *  3. Per day and table: the model's rows are unloaded to a new generation beside the live one (a
 *     location unique to this attempt), checked (the table's key is unique, its not-null columns
 *     hold no null: functions/lib/quality/table-tests.ts; a failure fails the run uncommitted),
 *     committed by compare-and-swap (a partition commit naming
 *     the curated generation it came from) and the catalog partition is pointed at it
 *     (generations/): never a half-written day, never a doubled one on retry.
 *  4. Generations replaced longer ago than the grace period are deleted, and the orphans of runs
 *     that died between their UNLOAD and their commit.
 *
 * It runs under the lake lock shared with compaction and the partitions stage (all three move
 * partitions of generation tables). The intraday run (`intraday`) takes its own lock instead
 * (INTRADAY_LOCK_PREFIX: one intraday run at a time), so the daily run at 01:40 or a long compaction
 * never makes today's figures wait an hour: what it writes is safe beside them without the lake lock:
 *  - the intraday tables: committed by compare-and-swap, and no other job writes them;
 *  - its garbage collection: the intraday tables only (the daily run's own tables are its business);
 *  - its reads (curated events and the raw tail): as any query, consistent while compaction commits
 *    (the tail leaves out the records the curated partitions hold, whichever generation is read);
 *  - the seeds: content-addressed, and both runs write the same content (the `prices` seed prices
 *    every model in the curated events and in the tail, whichever run writes it);
 *  - the views and the SQL ledger: `CREATE OR REPLACE` of the same files; a ledger entry lost to two
 *    runs saving it at once only makes the next run apply that view or check that model again.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { INTRADAY_TABLES, ROLLUP_TABLES, USER_DAILY } from '../../../schemas/rollups';
import { duckdbColumns } from '../../../schemas/columns';
import type { PartitionCommit } from '../catalog/commits';
import type { Catalog } from '../catalog/port';
import { ensureTables } from '../catalog/sync';
import { assertTableTests } from '../quality/table-tests';
import { generationTables } from '../catalog/tables';
import { Generations } from '../generations/generations';
import { INTRADAY_LOCK_PREFIX, takeLakeLock } from '../lock/lease';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { currentModels, readSqlTree, type ModelFile, type SqlTree } from '../sql/files';
import type { OnProgress } from '../ops/progress';
import { loadLedger, planLedger, saveLedger } from '../sql/ledger';
import { listAll, type ObjectStore } from '../store/port';
import { addDays, dateIn } from '../util/dates';
import { refreshEventsTail } from './events-tail-view';
import { EVENTS_TAIL } from '../sql/events-tail';
import { writeSeeds, type SeedResult } from './seeds';

export interface RollupOptions {
  dt?: string;
  from?: string;
  to?: string;
  /** Compute today so far (or `dt`) into the intraday tables instead of the daily rollups. */
  intraday?: boolean;
  now?: number;
  runId?: string;
  sql?: SqlTree;
  /** Called as table-days are computed. */
  onProgress?: OnProgress;
}

export interface RollupDay {
  dt: string;
  table: string;
  rows: number | null;
  generation: number;
  location: string;
  /** Why the day was computed. */
  reason: 'new' | 'late data' | 'model changed' | 'requested' | 'intraday';
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

/**
 * The days a rollup table must (re)compute, oldest first: curated days it has no rollup of, days
 * whose curated generation changed since (late data), and days an older model version computed.
 */
export function staleRollupDays(
  curated: Map<string, PartitionCommit>,
  done: Map<string, PartitionCommit>,
  model: Pick<ModelFile, 'version'>,
): { dt: string; reason: RollupDay['reason'] }[] {
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

export async function rollup(store: ObjectStore, catalog: Catalog, engine: QueryEngine, config: Config, options: RollupOptions = {}): Promise<RollupSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const summary: RollupSummary = {
    runId,
    status: 'completed',
    seeds: [],
    modelsApplied: [],
    viewsApplied: [],
    days: [],
    generationsDeleted: 0,
    catalogErrors: [],
    durationMs: 0,
  };
  const tree = options.sql ?? readSqlTree();
  const taken = options.intraday
    ? await takeLakeLock(store, `rollup --intraday ${runId}`, config.compaction.leaseMinutes, INTRADAY_LOCK_PREFIX)
    : await takeLakeLock(store, `rollup ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const lock = taken.lock;
  const generations = new Generations(
    store,
    catalog,
    generationTables().map((t) => t.spec),
  );
  const commits = generations.commits;
  try {
    // Views read the rollup tables, and Athena creates a view only over tables that exist.
    await ensureTables(
      catalog,
      generationTables().map((t) => t.spec),
    );
    // The tail of `events` (Athena: a view re-created with compaction's window of now).
    if (await refreshEventsTail(store, engine, config, now)) summary.viewsApplied.push('events_tail');
    summary.seeds = await writeSeeds(store, catalog, config, await modelsSeen());
    if (summary.seeds.some((x) => x.action === 'written')) await engine.refresh();
    await applyLedger();
    const models = currentModels(tree);
    const curated = new Map((await commits.list(CURATED_EVENTS.name)).map((c) => [c.dt, c]));
    if (options.intraday) {
      // Today so far, in the reporting time zone (or the day asked for), from events with its tail;
      // and yesterday too while the daily rollup has no later day (daily_figures reads it from here
      // until then: its user_daily rows may be the partial day the 01:40 run saw).
      const today = options.dt ?? dateIn(config.reporting.timeZone, now);
      const yesterday = addDays(today, -1);
      const dailyNewest = (await commits.list(USER_DAILY.name)).reduce<string | null>((a, c) => (a === null || c.dt > a ? c.dt : a), null);
      const days = !options.dt && (dailyNewest === null || dailyNewest <= yesterday) ? [yesterday, today] : [today];
      for (const def of INTRADAY_TABLES) {
        const model = models.get(def.name);
        if (!model) throw new Error(`no model computes intraday table ${def.name}: add sql/models/V<nnn>__${def.name}.sql`);
        for (const dt of days) summary.days.push(await computeDay(def.name, model, dt, 'intraday', curated.get(dt) ?? null));
      }
    }
    // Planned first, so progress knows the total.
    const work: { table: string; model: ModelFile; dt: string; reason: RollupDay['reason'] }[] = [];
    for (const def of options.intraday ? [] : ROLLUP_TABLES) {
      const model = models.get(def.name);
      if (!model) throw new Error(`no model computes rollup table ${def.name}: add sql/models/V<nnn>__${def.name}.sql`);
      const done = new Map((await commits.list(def.name)).map((c) => [c.dt, c]));
      for (const { dt, reason } of daysToCompute(curated, done, model)) work.push({ table: def.name, model, dt, reason });
    }
    for (const [i, w] of work.entries()) {
      options.onProgress?.({ unit: 'table-days', done: i, total: work.length, label: `${w.table} ${w.dt}` });
      summary.days.push(await computeDay(w.table, w.model, w.dt, w.reason, curated.get(w.dt) ?? null));
    }
    if (work.length) options.onProgress?.({ unit: 'table-days', done: work.length, total: work.length });
    // Views over the rollups (local sessions list files when they start) now see the new days.
    if (summary.days.length) await engine.refresh();
    const gc = await generations.collectGarbage(
      [...(options.intraday ? [] : ROLLUP_TABLES), ...INTRADAY_TABLES].map((t) => t.name),
      { now, graceMinutes: config.retention.generationGraceMinutes },
    );
    summary.generationsDeleted = gc.deleted;
    summary.catalogErrors.push(...gc.errors);
  } finally {
    await lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;

  /**
   * Every model id in the curated events and the tail: the `prices` seed prices each one exactly. The
   * daily and the intraday runs see the same set, so neither undoes the other's seed when they overlap.
   */
  async function modelsSeen(): Promise<string[]> {
    if (!(await catalog.getTable(CURATED_EVENTS.name))) return [];
    const from = `(SELECT model FROM ${CURATED_EVENTS.name} UNION ALL SELECT model FROM ${EVENTS_TAIL}) AS seen`;
    const r = await engine.query(`SELECT DISTINCT model FROM ${from} WHERE model IS NOT NULL`);
    return r.rows.map((x) => String(x.model));
  }

  async function applyLedger(): Promise<void> {
    const ledger = await loadLedger(store, engine.kind);
    const plan = planLedger(tree, ledger);
    const inForce = currentModels(tree);
    for (const m of plan.newModels) {
      const t0 = performance.now();
      // A superseded version (a newer one computes its table) never runs, and the table may have
      // gained columns since it was written (api_health_daily in V017): only the version in force must match.
      if (inForce.get(m.table) === m) await checkModelColumns(m);
      ledger.entries.push({
        kind: 'model',
        version: m.version,
        name: m.table,
        file: m.file,
        checksum: m.checksum,
        appliedAt: new Date().toISOString(),
        engine: engine.kind,
        durationMs: Math.round(performance.now() - t0),
      });
      summary.modelsApplied.push(m.file);
    }
    for (const v of plan.changedViews) {
      const t0 = performance.now();
      await engine.query(v.sql);
      ledger.entries.push({
        kind: 'view',
        version: null,
        name: v.view,
        file: v.file,
        checksum: v.checksum,
        appliedAt: new Date().toISOString(),
        engine: engine.kind,
        durationMs: Math.round(performance.now() - t0),
      });
      summary.viewsApplied.push(v.file);
    }
    if (plan.newModels.length || plan.changedViews.length) await saveLedger(store, engine.kind, ledger);
  }

  /** A model must produce exactly its table's columns, in order, with its types (checked on a day with no data). */
  async function checkModelColumns(m: ModelFile): Promise<void> {
    const def = [...ROLLUP_TABLES, ...INTRADAY_TABLES].find((t) => t.name === m.table);
    if (!def) throw new Error(`${m.file}: no rollup table ${m.table} in schemas/rollups.ts`);
    const got = (await engine.query(`SELECT * FROM (${m.sql}) AS model LIMIT 0`, dayParams(m, '1970-01-01'))).columns;
    if (engine.kind !== 'duckdb') return; // column types are checked on DuckDB, where the tests run every model
    const want = duckdbColumns(def);
    const show = (cols: { name: string; type: string }[]) => cols.map((c) => `${c.name} ${c.type}`).join(', ');
    if (got.length !== want.length || got.some((c, i) => c.name !== want[i]!.name || c.type !== want[i]!.type)) {
      throw new Error(`${m.file}: the model's columns (${show(got)}) are not the table's (${show(want)}); cast each column to its type`);
    }
  }

  function daysToCompute(
    curated: Map<string, PartitionCommit>,
    done: Map<string, PartitionCommit>,
    model: ModelFile,
  ): { dt: string; reason: RollupDay['reason'] }[] {
    if (options.dt || options.from) {
      const from = options.dt ?? options.from!;
      const to = options.dt ?? options.to ?? from;
      const out: { dt: string; reason: RollupDay['reason'] }[] = [];
      for (let d = from; d <= to; d = addDays(d, 1)) out.push({ dt: d, reason: 'requested' });
      return out;
    }
    return staleRollupDays(curated, done, model);
  }

  async function computeDay(table: string, model: ModelFile, dt: string, reason: RollupDay['reason'], source: PartitionCommit | null): Promise<RollupDay> {
    const t0 = performance.now();
    const live = await generations.current(table, dt);
    const { generation, location } = generations.newLocation(table, dt, runId, live?.commit ?? null);
    const stats = await engine.unload(model.sql, dayParams(model, dt), location);
    const files = (await listAll(store, location)).map((o) => ({ key: o.key, bytes: o.size, rows: null }));
    const rows = stats.rowsWritten ?? null;
    // The table's key and not-null columns hold on what was written, or the day is not committed.
    await assertTableTests(
      store,
      [...ROLLUP_TABLES, ...INTRADAY_TABLES].find((t) => t.name === table)!,
      dt,
      files.map((f) => f.key),
    );
    await lock.assertHeld();
    const { commit } = await generations.commit(
      table,
      dt,
      {
        location,
        generation,
        files,
        rows,
        runId,
        source: { table: CURATED_EVENTS.name, generation: source?.generation ?? 0 },
        model: { file: model.file, version: model.version, checksum: model.checksum },
      },
      { expect: live, retiredAt: new Date(now) },
    );
    summary.catalogErrors.push(...(await generations.publish(table, [commit])).errors);
    return { dt, table, rows, generation, location, reason, durationMs: Math.round(performance.now() - t0) };
  }
}
