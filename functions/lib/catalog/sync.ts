/**
 * The rules for bringing a catalog in line, shared by the partitions stage and the compactor's
 * publish step: how a table definition may change (additive drift only), and how partitions are
 * upserted whatever the catalog already holds.
 */
import type { CatalogOp, Catalog, PartitionEntryError, PartitionSpec, TableSpec } from './port';

export class CatalogDriftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogDriftError';
  }
}

export interface TableChange {
  op: CatalogOp | null;
  action: 'create' | 'update' | 'unchanged';
  addedColumns: string[];
}

const sameParameters = (want: Record<string, string>, have: Record<string, string>) => Object.entries(want).every(([k, v]) => have[k] === v);

/**
 * What it takes to make `existing` serve `desired`. New columns are appended (columns the catalog
 * has beyond the schema are kept: a reader may rely on them). A changed type or partition key is
 * breaking: refused with the column and both types named, before anything is changed.
 */
export function tableChange(desired: TableSpec, existing: TableSpec | null, where: string): TableChange {
  if (!existing) return { op: { op: 'createTable', table: desired }, action: 'create', addedColumns: [] };
  const keys = (t: TableSpec) => t.partitionKeys.map((k) => `${k.name} ${k.type}`).join(', ');
  if (keys(desired) !== keys(existing)) {
    throw new CatalogDriftError(
      `${where}: table ${desired.name} is partitioned by (${keys(existing)}) in the catalog but schemas/ define (${keys(desired)}); refusing a breaking change (drop the table to recreate it)`,
    );
  }
  const have = new Map(existing.columns.map((c) => [c.name.toLowerCase(), c]));
  const added: TableSpec['columns'] = [];
  for (const c of desired.columns) {
    const h = have.get(c.name.toLowerCase());
    if (!h) added.push(c);
    else if (h.type.toLowerCase() !== c.type.toLowerCase()) {
      throw new CatalogDriftError(
        `${where}: column ${desired.name}.${c.name} is ${h.type} in the catalog but ${c.type} in schemas/; refusing a breaking change`,
      );
    }
  }
  const merged: TableSpec = { ...desired, columns: [...existing.columns, ...added], parameters: { ...existing.parameters, ...desired.parameters } };
  const unchanged =
    added.length === 0 &&
    existing.location === desired.location &&
    existing.description === desired.description &&
    sameParameters(desired.parameters, existing.parameters);
  return unchanged
    ? { op: null, action: 'unchanged', addedColumns: [] }
    : { op: { op: 'updateTable', table: merged }, action: 'update', addedColumns: added.map((c) => c.name) };
}

/** Whether a catalog partition already is what we want (location and our parameters). */
export function partitionMatches(want: PartitionSpec, have: PartitionSpec): boolean {
  return want.location === have.location && sameParameters(want.parameters, have.parameters);
}

/**
 * Creates or updates partitions, whichever each needs: creates first, and the ones that turn out to
 * exist (another writer got there first) are updated. Returns the entries that still failed.
 */
export async function upsertPartitions(
  catalog: Catalog,
  table: TableSpec,
  create: PartitionSpec[],
  update: PartitionSpec[] = [],
): Promise<PartitionEntryError[]> {
  const failed: PartitionEntryError[] = [];
  const byValues = new Map([...create, ...update].map((p) => [JSON.stringify(p.values), p]));
  const retry = (errors: PartitionEntryError[], code: string) => {
    const again: PartitionSpec[] = [];
    for (const e of errors) {
      if (e.code === code) again.push(byValues.get(JSON.stringify(e.values))!);
      else failed.push(e);
    }
    return again;
  };
  const toUpdate = [...update, ...retry(await catalog.apply({ op: 'createPartitions', table, partitions: create }), 'AlreadyExists')];
  // An update of a partition that vanished meanwhile (retention, a manual drop) creates it again.
  const toCreate = retry(await catalog.apply({ op: 'updatePartitions', table, partitions: toUpdate }), 'EntityNotFound');
  failed.push(...(await catalog.apply({ op: 'createPartitions', table, partitions: toCreate })));
  return failed;
}

/** Makes sure the table exists (created from `desired` if absent), then upserts the partitions. */
export async function publishPartitions(catalog: Catalog, desired: TableSpec, partitions: PartitionSpec[]): Promise<PartitionEntryError[]> {
  if (!partitions.length) return [];
  const existing = await catalog.getTable(desired.name);
  if (!existing) {
    try {
      await catalog.apply({ op: 'createTable', table: desired });
    } catch (err) {
      // Another writer created it between our read and our create: that is what we wanted.
      if (!(await catalog.getTable(desired.name))) throw err;
    }
  }
  return upsertPartitions(catalog, existing ?? desired, partitions);
}

/** Creates the tables the catalog lacks and widens those missing columns (breaking drift throws). */
export async function ensureTables(catalog: Catalog, tables: TableSpec[]): Promise<string[]> {
  const changed: string[] = [];
  for (const desired of tables) {
    const change = tableChange(desired, await catalog.getTable(desired.name), catalog.location);
    if (!change.op) continue;
    await catalog.apply(change.op);
    changed.push(desired.name);
  }
  return changed;
}

/**
 * Whether a catalog partition may still read `location`, before its files are deleted. When the
 * catalog cannot say (an error other than "no such table"), the answer is yes, with the reason, so
 * the caller keeps the files for a later run.
 */
export async function catalogMayRead(catalog: Catalog, table: string, dt: string, location: string): Promise<{ reads: boolean; unknown?: string }> {
  try {
    return { reads: (await catalog.getPartition(table, [dt]))?.location === location };
  } catch (err) {
    if ((await catalog.getTable(table).catch(() => 'unknown' as const)) === null) return { reads: false };
    return { reads: true, unknown: `kept ${location}: could not read the catalog partition: ${(err as Error).message}` };
  }
}
