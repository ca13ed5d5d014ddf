/**
 * Local files for lake keys, for DuckDB to read: the store port decides (the lake's own files when
 * it is a local folder, downloads into the scratch folder otherwise), eight at a time.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { ObjectStore } from '../store/port';

export async function localFiles(store: ObjectStore, keys: string[], scratchDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  mkdirSync(scratchDir, { recursive: true });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, keys.length) }, async () => {
      while (next < keys.length) {
        const i = next++;
        out.set(keys[i]!, await store.localFile(keys[i]!, path.join(scratchDir, `${i}.parquet`)));
      }
    }),
  );
  return out;
}
