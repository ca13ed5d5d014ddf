/**
 * The behaviour every ObjectStore must have, as the lake's jobs rely on it. Each implementation's
 * test file calls `describeObjectStoreContract` with a factory that hands out an empty store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAll, ObjectNotFoundError, type ObjectStore } from '../../functions/lib/store/port';

export interface StoreUnderTest {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Whether the backend honours create-if-absent (s3rver ignores `If-None-Match`). Default true. */
  conditionalWrites?: boolean;
  /** Size of the putFile/getToFile round trip; large enough to cross a multipart threshold. Default 3 MiB. */
  largeFileBytes?: number;
  /**
   * Where a test double (s3rver) falls short of the real service. Each flag skips only the one
   * assertion the double gets wrong; the real backends must pass without any.
   */
  knownGaps?: {
    /** `bytes=0-0` is served as the whole object (s3rver reads an end of 0 as "no end"). */
    rangeEndingAtZero?: boolean;
    /** Listing walks folder by folder, so `raw/...` comes before `raw-errors/...` (S3 uses byte order). */
    listOrderPerFolder?: boolean;
  };
}

const ESCAPING_KEYS = ['../x', '/abs', 'a/../../x', 'a/./b', 'a\\b'];

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const keysOf = async (store: ObjectStore, prefix: string) => (await listAll(store, prefix)).map((o) => o.key);

export function describeObjectStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>, opts: ContractOptions = {}): void {
  const conditionalWrites = opts.conditionalWrites ?? true;
  const largeFileBytes = opts.largeFileBytes ?? 3 * 1024 * 1024;
  const gaps = opts.knownGaps ?? {};

  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let scratch: string;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      scratch = await mkdtemp(path.join(tmpdir(), 'cclake-contract-'));
    });

    afterEach(async () => {
      await cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    it('round-trips binary bytes and strings', async () => {
      const every = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      await store.put('bin/every-byte.bin', every);
      await store.put('txt/hello.json', '{"ünïcode":"✓"}', { contentType: 'application/json' });

      expect(await store.get('bin/every-byte.bin')).toEqual(every);
      expect(text(await store.get('txt/hello.json'))).toBe('{"ünïcode":"✓"}');
      expect(await store.get('bin/every-byte.bin')).toBeInstanceOf(Uint8Array);
    });

    it('stores an empty object', async () => {
      await store.put('empty', new Uint8Array(0));
      expect(await store.get('empty')).toEqual(new Uint8Array(0));
      expect((await store.head('empty'))?.size).toBe(0);
    });

    it('overwrites an object with put', async () => {
      await store.put('state/cursor.json', 'first version, longer');
      await store.put('state/cursor.json', 'second');
      expect(text(await store.get('state/cursor.json'))).toBe('second');
      expect((await store.head('state/cursor.json'))?.size).toBe(6);
    });

    it('heads present and absent objects', async () => {
      const before = Date.now();
      await store.put('raw/a.jsonl', 'abc');
      const info = await store.head('raw/a.jsonl');
      expect(info).toMatchObject({ key: 'raw/a.jsonl', size: 3 });
      expect(info?.lastModified).toBeInstanceOf(Date);
      // Allow for coarse timestamps (S3 has second resolution) and small clock differences.
      expect(info!.lastModified.getTime()).toBeGreaterThan(before - 5 * 60_000);

      expect(await store.head('raw/missing.jsonl')).toBeNull();
      expect(await store.head('raw')).toBeNull(); // a "folder" is not an object
      expect(await store.head('raw/a.jsonl/deeper')).toBeNull();
    });

    it('throws ObjectNotFoundError for a missing key', async () => {
      const err = await store.get('nope/missing.bin').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectNotFoundError);
      expect(err).toMatchObject({ key: 'nope/missing.bin' });
      await expect(store.getRange('nope/missing.bin', 0, 9)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('returns exactly the requested byte ranges', async () => {
      const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) % 256);
      await store.put('ranges/data.bin', bytes);

      if (!gaps.rangeEndingAtZero) expect(await store.getRange('ranges/data.bin', 0, 0)).toEqual(bytes.slice(0, 1));
      expect(await store.getRange('ranges/data.bin', 1, 1)).toEqual(bytes.slice(1, 2));
      expect(await store.getRange('ranges/data.bin', 0, 9)).toEqual(bytes.slice(0, 10));
      expect(await store.getRange('ranges/data.bin', 10, 19)).toEqual(bytes.slice(10, 20));
      expect(await store.getRange('ranges/data.bin', 42, 57)).toEqual(bytes.slice(42, 58));
      expect(await store.getRange('ranges/data.bin', 99, 99)).toEqual(bytes.slice(99, 100));
      expect(await store.getRange('ranges/data.bin', 92, 99)).toEqual(bytes.slice(92)); // a Parquet footer read
      expect(await store.getRange('ranges/data.bin', 0, 99)).toEqual(bytes);
    });

    it('lists by prefix in key order, including partial segments and nested folders', async () => {
      const keys = [
        'raw/year=2026/month=02/day=01/b.jsonl',
        'curated/sessions/part-0.parquet',
        'raw/year=2025/month=12/day=31/a.jsonl',
        'raw/year=2026/month=01/day=15/a.jsonl',
        'raw-errors/year=2026/x.jsonl',
        'raw/year=2026/month=01/day=02/a.jsonl',
        'raw/year=2026/month=01/day=02/b.jsonl',
        'rawx',
        'raw/year=2026/manifest.json',
      ];
      await mapLimit(keys, 8, (k) => store.put(k, `body of ${k}`));
      const sorted = [...keys].sort();

      // Byte order puts `raw-errors/` before `raw/` ('-' < '/'), though folder `raw` sorts before `raw-errors`.
      const inOrder = (keys: string[]) => (gaps.listOrderPerFolder ? [...keys].sort() : keys);
      expect(inOrder(await keysOf(store, ''))).toEqual(sorted);
      expect(await keysOf(store, 'raw/')).toEqual(sorted.filter((k) => k.startsWith('raw/')));
      expect(await keysOf(store, 'raw/year=2026/mo')).toEqual([
        'raw/year=2026/month=01/day=02/a.jsonl',
        'raw/year=2026/month=01/day=02/b.jsonl',
        'raw/year=2026/month=01/day=15/a.jsonl',
        'raw/year=2026/month=02/day=01/b.jsonl',
      ]);
      // `raw` alone matches `raw-errors/`, `raw/` and `rawx`.
      expect(inOrder(await keysOf(store, 'raw'))).toEqual(sorted.filter((k) => k.startsWith('raw')));
      expect(await keysOf(store, 'raw/year=2026/month=01/day=02/a.jsonl')).toEqual(['raw/year=2026/month=01/day=02/a.jsonl']);
      expect(await keysOf(store, 'nothing/here/')).toEqual([]);

      const [info] = await listAll(store, 'curated/');
      expect(info).toMatchObject({ key: 'curated/sessions/part-0.parquet', size: 'body of curated/sessions/part-0.parquet'.length });
      expect(info?.lastModified).toBeInstanceOf(Date);
    });

    it('lists more than 1000 keys (one page is not enough)', async () => {
      const keys = Array.from({ length: 1005 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
      await mapLimit(keys, 32, (k) => store.put(k, k.slice(-4)));
      await store.put('manz', 'outside the prefix');

      const listed = await keysOf(store, 'many/');
      expect(listed).toHaveLength(1005);
      expect(listed).toEqual(keys);
      expect(await keysOf(store, '')).toEqual([...keys, 'manz']);
    });

    it('uploads and downloads a multi-MB file, and a small one', async () => {
      const big = randomBytes(largeFileBytes);
      const small = randomBytes(1000);
      await writeFile(path.join(scratch, 'big.bin'), big);
      await writeFile(path.join(scratch, 'small.bin'), small);

      await store.putFile('curated/big.parquet', path.join(scratch, 'big.bin'), { contentType: 'application/vnd.apache.parquet' });
      await store.putFile('curated/small.parquet', path.join(scratch, 'small.bin'));
      expect((await store.head('curated/big.parquet'))?.size).toBe(largeFileBytes);
      expect((await store.head('curated/small.parquet'))?.size).toBe(1000);

      await store.getToFile('curated/big.parquet', path.join(scratch, 'big.out'));
      await store.getToFile('curated/small.parquet', path.join(scratch, 'small.out'));
      expect(sha256(await readFile(path.join(scratch, 'big.out')))).toBe(sha256(big));
      expect(await readFile(path.join(scratch, 'small.out'))).toEqual(small);
      expect(await store.getRange('curated/big.parquet', largeFileBytes - 8, largeFileBytes - 1)).toEqual(new Uint8Array(big.subarray(largeFileBytes - 8)));
    });

    it('getToFile of a missing key throws ObjectNotFoundError and creates no file', async () => {
      const target = path.join(scratch, 'missing.out');
      await expect(store.getToFile('nope/missing.bin', target)).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(existsSync(target)).toBe(false);
    });

    // s3rver ignores If-None-Match, so this case is only registered where the store honours it
    // (the S3 adapter's conditional writes are covered request by request in store-s3-mock.test.ts).
    if (conditionalWrites) {
      it('putIfAbsent creates once and keeps the original bytes', async () => {
        expect(await store.putIfAbsent('locks/job.lock', 'first owner')).toBe(true);
        expect(await store.putIfAbsent('locks/job.lock', 'second owner')).toBe(false);
        expect(text(await store.get('locks/job.lock'))).toBe('first owner');

        await store.put('locks/existing.lock', 'put first');
        expect(await store.putIfAbsent('locks/existing.lock', 'late')).toBe(false);
        expect(text(await store.get('locks/existing.lock'))).toBe('put first');
      });

      it('putIfVersion swaps only from the version the writer read (null: only when absent)', async () => {
        expect(await store.getVersioned('commits/dt=1.json')).toBeNull();
        const v1 = await store.putIfVersion('commits/dt=1.json', 'one', null);
        expect(v1).toEqual(expect.any(String));
        expect(await store.putIfVersion('commits/dt=1.json', 'first again', null)).toBeNull();
        const read = (await store.getVersioned('commits/dt=1.json'))!;
        expect([text(read.body), read.version]).toEqual(['one', v1]);
        const v2 = await store.putIfVersion('commits/dt=1.json', 'two', read.version);
        expect(v2).toEqual(expect.any(String));
        expect(v2).not.toBe(v1);
        // A writer that read version 1 lost: nothing it sends is written.
        expect(await store.putIfVersion('commits/dt=1.json', 'stale', v1!)).toBeNull();
        const now = (await store.getVersioned('commits/dt=1.json'))!;
        expect([text(now.body), now.version]).toEqual(['two', v2]);
      });
    }

    it('deletes existing and missing keys', async () => {
      await store.put('tmp/a', 'a');
      await store.put('tmp/b', 'b');
      await store.put('keep/c', 'c');

      const result = await store.delete(['tmp/a', 'tmp/never-existed', 'tmp/b']);
      expect(result.failed).toEqual([]);
      expect([...result.deleted].sort()).toEqual(['tmp/a', 'tmp/b', 'tmp/never-existed']);
      expect(await store.head('tmp/a')).toBeNull();
      expect(await keysOf(store, '')).toEqual(['keep/c']);

      expect(await store.delete([])).toEqual({ deleted: [], failed: [] });
    });

    it('rejects keys that try to escape the lake root', async () => {
      const file = path.join(scratch, 'f.bin');
      await writeFile(file, 'x');
      for (const key of ESCAPING_KEYS) {
        await expect(store.put(key, 'x'), key).rejects.toThrow(/invalid object key/);
        await expect(store.putIfAbsent(key, 'x'), key).rejects.toThrow(/invalid object key/);
        await expect(store.putFile(key, file), key).rejects.toThrow(/invalid object key/);
        await expect(store.get(key), key).rejects.toThrow(/invalid object key/);
        await expect(store.getRange(key, 0, 0), key).rejects.toThrow(/invalid object key/);
        await expect(store.getToFile(key, path.join(scratch, 'out')), key).rejects.toThrow(/invalid object key/);
        await expect(store.head(key), key).rejects.toThrow(/invalid object key/);
      }
      const result = await store.delete(ESCAPING_KEYS);
      expect(result.deleted).toEqual([]);
      expect(result.failed.map((f) => f.key)).toEqual(ESCAPING_KEYS);
      expect(await keysOf(store, '')).toEqual([]);
      expect(existsSync(path.join(scratch, 'out'))).toBe(false);
    });
  });
}
