/**
 * A catalog kept in the lake itself: one JSON object per partition under `_cclake/catalog/`. Each
 * pointer is written atomically (rename locally, a single PUT on S3), and partitions never share an
 * object, so committing one `dt` cannot disturb another.
 */
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import type { CatalogPort, PartitionPointer } from './port';

export const CATALOG_PREFIX = '_cclake/catalog/';

const keyOf = (table: string, dt: string) => `${CATALOG_PREFIX}${table}/dt=${dt}.json`;

export class StoreCatalog implements CatalogPort {
  constructor(private readonly store: ObjectStore) {}

  async getPartition(table: string, dt: string): Promise<PartitionPointer | null> {
    try {
      return JSON.parse(new TextDecoder().decode(await this.store.get(keyOf(table, dt)))) as PartitionPointer;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  async listPartitions(table: string): Promise<PartitionPointer[]> {
    const objects = (await listAll(this.store, `${CATALOG_PREFIX}${table}/`)).filter((o) => o.key.endsWith('.json'));
    const out: PartitionPointer[] = [];
    for (const o of objects) out.push(JSON.parse(new TextDecoder().decode(await this.store.get(o.key))) as PartitionPointer);
    return out.sort((a, b) => (a.dt < b.dt ? -1 : a.dt > b.dt ? 1 : 0));
  }

  async putPartition(pointer: PartitionPointer): Promise<void> {
    await this.store.put(keyOf(pointer.table, pointer.dt), JSON.stringify(pointer, null, 1), { contentType: 'application/json' });
  }
}
