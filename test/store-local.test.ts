import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll, ObjectNotFoundError } from '../functions/lib/store/port';
import { describeObjectStoreContract } from './helpers/store-contract';

// A switch to make rename(2) fail, standing in for a crash after a write was staged but before it
// was moved into place. Off, the module behaves exactly as node:fs/promises.
const crash = vi.hoisted(() => ({ onRename: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const rename: typeof actual.rename = async (from, to) => {
    if (crash.onRename) throw Object.assign(new Error('simulated crash before rename'), { code: 'ECRASH' });
    return actual.rename(from, to);
  };
  return { ...actual, rename, default: { ...actual, rename } };
});

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'cclake-local-store-'));
}

describeObjectStoreContract('LocalObjectStore', async () => {
  const root = await tempRoot();
  return { store: new LocalObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('LocalObjectStore specifics', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = await tempRoot();
    store = new LocalObjectStore(path.join(root, 'lake'));
  });

  afterEach(async () => {
    crash.onRename = false;
    await rm(root, { recursive: true, force: true });
  });

  it('has a file:// location ending in a slash', () => {
    expect(store.location).toMatch(/^file:\/\/\/.*\/lake\/$/);
  });

  it('lets exactly one of many concurrent putIfAbsent calls win', async () => {
    const contenders = Array.from({ length: 16 }, (_, i) => `owner-${i}`);
    const results = await Promise.all(contenders.map((owner) => store.putIfAbsent('locks/compact.lock', owner)));

    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = contenders[results.indexOf(true)];
    expect(new TextDecoder().decode(await store.get('locks/compact.lock'))).toBe(winner);
  });

  it('never lists its staging files', async () => {
    await store.put('a/one', '1');
    await store.putIfAbsent('a/two', '2');
    await store.putIfAbsent('a/two', 'loser'); // a losing attempt stages and discards a file
    await writeFile(path.join(root, 'f'), 'file');
    await store.putFile('a/three', path.join(root, 'f'));
    // A staging file left behind by a crashed writer.
    await writeFile(path.join(store.root, '.cclake-tmp', 'stale-from-crash'), 'partial');

    expect((await listAll(store, '')).map((o) => o.key)).toEqual(['a/one', 'a/three', 'a/two']);
    expect((await listAll(store, '.')).map((o) => o.key)).toEqual([]);
    expect(await readdir(path.join(store.root, '.cclake-tmp'))).toEqual(['stale-from-crash']);
  });

  it('leaves no partial object at the key when a write dies between staging and rename', async () => {
    crash.onRename = true;
    await expect(store.put('curated/new.parquet', 'new bytes')).rejects.toThrow(/simulated crash/);
    await writeFile(path.join(root, 'f'), 'file bytes');
    await expect(store.putFile('curated/file.parquet', path.join(root, 'f'))).rejects.toThrow(/simulated crash/);
    crash.onRename = false;

    await expect(store.get('curated/new.parquet')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.head('curated/file.parquet')).toBeNull();
    expect(await listAll(store, '')).toEqual([]);

    // The store still works afterwards.
    await store.put('curated/new.parquet', 'new bytes');
    expect(new TextDecoder().decode(await store.get('curated/new.parquet'))).toBe('new bytes');
  });

  it('keeps the previous version intact when an overwrite dies before rename', async () => {
    await store.put('state/cursor.json', '{"v":1}');
    crash.onRename = true;
    await expect(store.put('state/cursor.json', '{"v":2,"much":"longer"}')).rejects.toThrow(/simulated crash/);
    crash.onRename = false;

    expect(new TextDecoder().decode(await store.get('state/cursor.json'))).toBe('{"v":1}');
    expect((await listAll(store, '')).map((o) => o.key)).toEqual(['state/cursor.json']);
  });
});
