/**
 * The local catalog: Glue's tables and partitions kept as JSON files in the lake itself, under
 * `_cclake/catalog/<database>/<table>/`. DuckDB's views are built from it, so `cclake query` sees
 * exactly the partitions Athena would see with the same operations applied to Glue.
 *
 * One object per table (`_table.json`) and one per partition (`partitions/k=v/....json`): changing a
 * partition never rewrites another's object, so concurrent writers cannot lose each other's updates.
 * Per-entry results follow Glue's (AlreadyExists on create, EntityNotFound on update and delete).
 */
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import type { CatalogOp, Catalog, CatalogRequest, PartitionEntryError, PartitionSpec, TableSpec } from './port';

export const LOCAL_CATALOG_PREFIX = '_cclake/catalog/';

export class LocalCatalog implements Catalog {
  readonly location: string;
  private readonly root: string;

  constructor(
    private readonly store: ObjectStore,
    readonly database: string,
  ) {
    this.root = `${LOCAL_CATALOG_PREFIX}${database}/`;
    this.location = `${store.location}${this.root}`;
  }

  private tableKey(name: string): string {
    return `${this.root}${name}/_table.json`;
  }

  private partitionKey(table: TableSpec, values: string[]): string {
    if (values.length !== table.partitionKeys.length) {
      throw new Error(
        `partition of ${this.database}.${table.name} needs ${table.partitionKeys.length} value(s) (${table.partitionKeys.map((k) => k.name).join(', ')}), got ${JSON.stringify(values)}`,
      );
    }
    const path = table.partitionKeys.map((k, i) => `${k.name}=${encodeURIComponent(values[i]!)}`).join('/');
    return `${this.root}${table.name}/partitions/${path}.json`;
  }

  private async read<T>(key: string): Promise<T | null> {
    try {
      return JSON.parse(new TextDecoder().decode(await this.store.get(key))) as T;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  private async requireTable(name: string): Promise<TableSpec> {
    const table = await this.getTable(name);
    if (!table) throw new Error(`table ${this.database}.${name} not found in the local catalog ${this.location}`);
    return table;
  }

  getTable(name: string): Promise<TableSpec | null> {
    return this.read<TableSpec>(this.tableKey(name));
  }

  async getPartition(table: string, values: string[]): Promise<PartitionSpec | null> {
    return this.read<PartitionSpec>(this.partitionKey(await this.requireTable(table), values));
  }

  async listPartitions(table: string): Promise<PartitionSpec[]> {
    await this.requireTable(table);
    const out: PartitionSpec[] = [];
    for (const o of await listAll(this.store, `${this.root}${table}/partitions/`)) {
      if (!o.key.endsWith('.json')) continue;
      const p = await this.read<PartitionSpec>(o.key);
      if (p) out.push(p);
    }
    return out.sort((a, b) => compareValues(a.values, b.values));
  }

  async apply(op: CatalogOp): Promise<PartitionEntryError[]> {
    const json = (v: unknown) => JSON.stringify(v, null, 1);
    switch (op.op) {
      case 'createTable':
        if (!(await this.store.putIfAbsent(this.tableKey(op.table.name), json(op.table)))) {
          throw new Error(`CreateTable ${this.database}.${op.table.name}: AlreadyExists: the table already exists`);
        }
        return [];
      case 'updateTable':
        await this.requireTable(op.table.name);
        await this.store.put(this.tableKey(op.table.name), json(op.table));
        return [];
      case 'createPartitions': {
        await this.requireTable(op.table.name);
        const errors: PartitionEntryError[] = [];
        for (const p of op.partitions) {
          if (!(await this.store.putIfAbsent(this.partitionKey(op.table, p.values), json(p)))) {
            errors.push({ values: p.values, code: 'AlreadyExists', message: 'the partition already exists' });
          }
        }
        return errors;
      }
      case 'updatePartitions': {
        await this.requireTable(op.table.name);
        const errors: PartitionEntryError[] = [];
        for (const p of op.partitions) {
          const key = this.partitionKey(op.table, p.values);
          if (!(await this.store.head(key))) errors.push({ values: p.values, code: 'EntityNotFound', message: 'the partition does not exist' });
          else await this.store.put(key, json(p));
        }
        return errors;
      }
      case 'deletePartitions': {
        await this.requireTable(op.table.name);
        const errors: PartitionEntryError[] = [];
        const keys: string[] = [];
        for (const values of op.values) {
          const key = this.partitionKey(op.table, values);
          if (!(await this.store.head(key))) errors.push({ values, code: 'EntityNotFound', message: 'the partition does not exist' });
          else keys.push(key);
        }
        const { failed } = await this.store.delete(keys);
        for (const f of failed) errors.push({ values: op.values[keys.indexOf(f.key)]!, code: f.code, message: f.message });
        return errors;
      }
    }
  }

  describe(op: CatalogOp): CatalogRequest[] {
    const database = this.database;
    switch (op.op) {
      case 'createTable':
        return [{ operation: 'CreateTable', input: { database, table: op.table } }];
      case 'updateTable':
        return [{ operation: 'UpdateTable', input: { database, table: op.table } }];
      case 'createPartitions':
        return op.partitions.length ? [{ operation: 'BatchCreatePartition', input: { database, table: op.table.name, partitions: op.partitions } }] : [];
      case 'updatePartitions':
        return op.partitions.length ? [{ operation: 'BatchUpdatePartition', input: { database, table: op.table.name, partitions: op.partitions } }] : [];
      case 'deletePartitions':
        return op.values.length ? [{ operation: 'BatchDeletePartition', input: { database, table: op.table.name, values: op.values } }] : [];
    }
  }
}

export function compareValues(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}
