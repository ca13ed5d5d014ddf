/**
 * `cclake partitions` and the catalog function (scheduled after compaction): brings the catalog
 * (Glue on AWS, the local catalog files locally) in line with the lake.
 *
 *  1. Tables, derived from `schemas/`: created when absent, new columns added, a breaking change
 *     (a changed type or partition key) refused before anything is touched.
 *  2. Raw partitions, one per Firehose arrival hour: registered as hours appear (only hours since
 *     the newest registered one, minus the compaction lookback, are listed: cost follows new data).
 *  3. Curated and rollup partitions: made to point at the generation each partition commit names
 *     (the writer publishes right after committing; this repairs any gap, rebuilds a lost catalog).
 *  4. Retention: partitions older than the configured days are deleted from the catalog first, then
 *     their objects, so no partition ever points at missing files.
 *
 * It runs under the compaction lease lock: the compactor moves curated partitions too, and an
 * interleaving could otherwise point a partition back at a generation about to be deleted.
 * With `dryRun` it changes nothing and returns the requests it would send.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { partitionOfCommit, PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { CatalogOp, Catalog, CatalogRequest, PartitionEntryError, PartitionSpec, TableSpec } from '../catalog/port';
import { partitionMatches, tableChange, upsertPartitions } from '../catalog/sync';
import { generationTables, isProjected, rawTables } from '../catalog/tables';
import { takeLakeLock, type LeaseLock } from '../lock/lease';
import { dayPrefixes } from '../compaction/state';
import type { Config, RawSourceConfig } from '../config/schema';
import { arrivalHourOf, hourPrefix } from '../raw/keys';
import { deletePrefix, listAll, type ObjectStore } from '../store/port';
import { addDays, dateIn } from '../util/dates';

const HOUR = 3_600_000;

export interface PartitionsOptions {
  dryRun?: boolean;
  now?: number;
  runId?: string;
}

export interface TablePartitionsResult {
  table: string;
  tableAction: 'create' | 'update' | 'unchanged';
  addedColumns: string[];
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** A raw table partitioned by projection (the AWS guidance's own `metrics`): left as it is. */
  projected?: boolean;
}

export interface PartitionsSummary {
  runId: string;
  status: 'completed' | 'locked' | 'dry-run';
  lockedBy?: string;
  tables: TablePartitionsResult[];
  /** Objects deleted with partitions past retention. */
  objectsDeleted: number;
  /** The requests sent (or, on a dry run, that would be sent), in order. */
  requests: CatalogRequest[];
  /** Entries the catalog refused after retries: the run fails when there are any. */
  failures: (PartitionEntryError & { table: string })[];
  warnings: string[];
  durationMs: number;
}

interface TablePlan {
  table: TableSpec;
  result: TablePartitionsResult;
  tableOp: CatalogOp | null;
  create: PartitionSpec[];
  update: PartitionSpec[];
  /** Partitions to drop; with `purge`, a key prefix whose objects go afterwards (retention). */
  drop: Drop[];
  /** Prefixes past retention with no partition in the catalog: only their objects go. */
  purgeOnly: Omit<Drop, 'values'>[];
}

interface Drop {
  values: string[];
  purge?: string;
  /** The partition commit to forget once the objects are gone. */
  commit?: PartitionCommit;
}

/** Raw hour partition values (`['2026','11','23','05']`) and location for an arrival hour. */
function rawPartition(rawPrefix: string, hourMs: number): PartitionSpec {
  const d = new Date(hourMs).toISOString();
  return { values: [d.slice(0, 4), d.slice(5, 7), d.slice(8, 10), d.slice(11, 13)], location: hourPrefix(rawPrefix, hourMs), parameters: {} };
}
const hourOfValues = (v: string[]) => Date.UTC(Number(v[0]), Number(v[1]) - 1, Number(v[2]), Number(v[3]));

export async function syncPartitions(store: ObjectStore, catalog: Catalog, config: Config, options: PartitionsOptions = {}): Promise<PartitionsSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const summary: PartitionsSummary = {
    runId,
    status: options.dryRun ? 'dry-run' : 'completed',
    tables: [],
    objectsDeleted: 0,
    requests: [],
    failures: [],
    warnings: [],
    durationMs: 0,
  };
  let lock: LeaseLock | null = null;
  if (!options.dryRun) {
    const taken = await takeLakeLock(store, `partitions ${runId}`, config.compaction.leaseMinutes);
    if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
    lock = taken.lock;
  }
  try {
    // Plan everything first: a refused drift throws here, before any change.
    const plans: TablePlan[] = [];
    for (const { source, table } of rawTables(config)) plans.push(await planRaw(source, table));
    for (const t of generationTables()) plans.push(await planGenerations(t.spec));
    for (const plan of plans) {
      summary.tables.push(plan.result);
      const ops: CatalogOp[] = [
        ...(plan.tableOp ? [plan.tableOp] : []),
        { op: 'createPartitions', table: plan.table, partitions: plan.create },
        { op: 'updatePartitions', table: plan.table, partitions: plan.update },
        { op: 'deletePartitions', table: plan.table, values: plan.drop.map((d) => d.values) },
      ];
      for (const op of ops) summary.requests.push(...catalog.describe(op));
      for (const d of [...plan.drop, ...plan.purgeOnly]) if (d.purge) summary.requests.push({ operation: 'DeleteObjects', input: { prefix: d.purge } });
      if (options.dryRun) continue;
      await apply(plan);
    }
  } finally {
    await lock?.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;

  async function apply(plan: TablePlan): Promise<void> {
    const name = plan.table.name;
    if (plan.tableOp) await catalog.apply(plan.tableOp);
    // Partitions carry the table's storage descriptor: the table as it now stands in the catalog.
    const table = plan.tableOp ? plan.tableOp.table : ((await catalog.getTable(name)) ?? plan.table);
    await lock!.assertHeld();
    const failed = await upsertPartitions(catalog, table, plan.create, plan.update);
    const dropErrors = (await catalog.apply({ op: 'deletePartitions', table, values: plan.drop.map((d) => d.values) })).filter(
      (e) => e.code !== 'EntityNotFound',
    );
    failed.push(...dropErrors);
    summary.failures.push(...failed.map((f) => ({ ...f, table: name })));
    // Objects go only once their partition is gone from the catalog.
    const stillListed = new Set(dropErrors.map((e) => JSON.stringify(e.values)));
    for (const d of [...plan.drop.filter((x) => !stillListed.has(JSON.stringify(x.values))), ...plan.purgeOnly]) {
      if (!d.purge) continue;
      summary.objectsDeleted += await deletePrefix(store, d.purge);
      if (d.commit) await new PartitionCommits(store).remove(d.commit.table, d.commit.dt);
    }
  }

  function newPlan(desired: TableSpec, existing: TableSpec | null): TablePlan {
    const change = tableChange(desired, existing, catalog.location);
    return {
      table: desired,
      tableOp: change.op,
      create: [],
      update: [],
      drop: [],
      purgeOnly: [],
      result: { table: desired.name, tableAction: change.action, addedColumns: change.addedColumns, created: 0, updated: 0, deleted: 0, unchanged: 0 },
    };
  }

  /** Sorts desired partitions against the catalog's into create / update / unchanged. */
  function diff(plan: TablePlan, desired: PartitionSpec[], have: Map<string, PartitionSpec>): void {
    for (const want of desired) {
      const cur = have.get(JSON.stringify(want.values));
      if (!cur) plan.create.push(want);
      else if (!partitionMatches(want, cur)) plan.update.push(want);
      else plan.result.unchanged++;
    }
    plan.result.created = plan.create.length;
    plan.result.updated = plan.update.length;
    plan.result.deleted = plan.drop.length;
  }

  /**
   * One raw source's table (`raw.sources`: each source has its own, catalog/tables.ts rawTables).
   * A `bedrock-guidance` source's data belongs to the guidance's pipeline: its objects are never
   * deleted here (its bucket's lifecycle rules own them), and when the catalog already holds the
   * guidance's own `metrics` table (partition projection, as the guidance creates it, when cclake
   * shares its Glue database) that table is left exactly as it is: Athena computes its partitions
   * and ignores registered ones.
   */
  async function planRaw(source: RawSourceConfig, desiredTable: TableSpec): Promise<TablePlan> {
    const existing = await catalog.getTable(desiredTable.name);
    const guidance = source.profile === 'bedrock-guidance';
    if (guidance && existing && isProjected(existing)) {
      const plan = newPlan(existing, existing);
      plan.result.projected = true;
      return plan;
    }
    const plan = newPlan(desiredTable, existing);
    const prefix = source.prefix;
    const registered = existing ? await catalog.listPartitions(desiredTable.name) : [];
    const have = new Map(registered.map((p) => [JSON.stringify(p.values), p]));
    // Hours since the newest registered one (less the compaction lookback, for late deliveries).
    let listedFrom = -Infinity;
    let objects: Awaited<ReturnType<typeof listAll>>;
    if (registered.length) {
      const newest = Math.max(...registered.map((p) => hourOfValues(p.values)));
      listedFrom = newest - config.compaction.lookbackHours * HOUR;
      objects = [];
      for (const p of dayPrefixes(prefix, listedFrom, Math.max(now, newest) + 24 * HOUR)) objects.push(...(await listAll(store, p)));
    } else {
      objects = await listAll(store, prefix);
    }
    const hours = new Set<number>();
    for (const o of objects) {
      const h = arrivalHourOf(o.key);
      if (h !== null && h >= listedFrom) hours.add(h);
    }
    const cutoff = Date.parse(`${addDays(new Date(now).toISOString().slice(0, 10), -config.retention.rawDays)}T00:00:00Z`);
    const desired = [...hours]
      .filter((h) => h >= cutoff)
      .sort((a, b) => a - b)
      .map((h) => rawPartition(prefix, h));
    const wanted = new Set(desired.map((p) => JSON.stringify(p.values)));
    for (const h of [...hours].filter((x) => x < cutoff)) {
      const p = rawPartition(prefix, h);
      if (!have.has(JSON.stringify(p.values)) && !guidance) plan.purgeOnly.push({ purge: p.location });
    }
    for (const p of registered) {
      if (wanted.has(JSON.stringify(p.values))) continue;
      const h = hourOfValues(p.values);
      const ours = p.location === rawPartition(prefix, h).location;
      // Past retention the partition goes; the objects too, unless they are the guidance's.
      if (h < cutoff) plan.drop.push({ values: p.values, ...(ours && !guidance ? { purge: p.location } : {}) });
      // Inside the listed window with no objects: the partition points at nothing.
      else if (h >= listedFrom && ours) plan.drop.push({ values: p.values });
    }
    diff(plan, desired, have);
    return plan;
  }

  /** A table whose partitions are generations named by commits: curated events, the rollups. */
  async function planGenerations(desiredTable: TableSpec): Promise<TablePlan> {
    const existing = await catalog.getTable(desiredTable.name);
    const plan = newPlan(desiredTable, existing);
    const registered = existing ? await catalog.listPartitions(desiredTable.name) : [];
    const have = new Map(registered.map((p) => [JSON.stringify(p.values), p]));
    const commits = await new PartitionCommits(store).list(desiredTable.name);
    const cutoff = addDays(dateIn(config.reporting.timeZone, now), -config.retention.curatedDays);
    const desired: PartitionSpec[] = [];
    for (const c of commits) {
      if (c.dt < cutoff) {
        const purge = { purge: `${desiredTable.location}dt=${c.dt}/`, commit: c };
        if (have.has(JSON.stringify([c.dt]))) plan.drop.push({ values: [c.dt], ...purge });
        else plan.purgeOnly.push(purge);
        continue;
      }
      const want = partitionOfCommit(c);
      const cur = have.get(JSON.stringify(want.values));
      if (!cur || !partitionMatches(want, cur)) {
        // Never point a partition at a generation whose files are not all there.
        const present = new Set((await listAll(store, c.location)).map((o) => o.key));
        const missing = c.files.filter((f) => !present.has(f.key));
        if (missing.length) {
          summary.warnings.push(
            `${desiredTable.name} dt=${c.dt}: the committed generation ${c.location} lacks ${missing.length} file(s) (${missing[0]!.key}); the catalog is left as it is`,
          );
          continue;
        }
      }
      desired.push(want);
    }
    const committed = new Set(commits.map((c) => c.dt));
    for (const p of registered) {
      const dt = p.values[0]!;
      if (committed.has(dt)) continue;
      // A location outside the lake (an absolute URI) is someone else's: never dropped or purged.
      const inLake = !/^[a-z][a-z0-9+.-]*:\/\//i.test(p.location);
      if (inLake && dt < cutoff) plan.drop.push({ values: p.values, purge: `${desiredTable.location}dt=${dt}/` });
      else if (inLake && (await listAll(store, p.location)).length === 0) plan.drop.push({ values: p.values });
      else summary.warnings.push(`${desiredTable.name} dt=${dt}: partition at ${p.location} has no commit in the lake; left as it is`);
    }
    diff(plan, desired, have);
    return plan;
  }
}
