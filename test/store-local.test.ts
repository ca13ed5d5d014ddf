import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { thisProcess } from '../functions/lib/lock/this-machine';
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

  it('lets exactly one of many concurrent putIfVersion calls from one version win', async () => {
    const v1 = (await store.putIfVersion('commits/dt=1.json', 'gen 1', null))!;
    const contenders = Array.from({ length: 16 }, (_, i) => `gen 2 by writer ${i}`);
    const results = await Promise.all(contenders.map((body) => store.putIfVersion('commits/dt=1.json', body, v1)));

    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const winner = contenders[results.findIndex((r) => r !== null)];
    expect(new TextDecoder().decode(await store.get('commits/dt=1.json'))).toBe(winner);
    expect(await readdir(path.join(store.root, '.cclake-tmp', 'cas'))).toEqual([]);
  });

  /** The lock file of a key's compare-and-swap section, as a crashed or running holder leaves it. */
  const casLock = async (key: string, owner: object) => {
    const dir = path.join(store.root, '.cclake-tmp', 'cas');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.lock`);
    await writeFile(file, JSON.stringify(owner));
    return file;
  };

  it('clears a compare-and-swap lock whose holder was killed, and waits for a live one', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!; // a process of this machine that has exited
    await casLock('commits/dt=1.json', { ...thisProcess(), pid: deadPid });
    expect(await store.putIfVersion('commits/dt=1.json', 'after a crash', null)).toEqual(expect.any(String));

    // A live holder (this process) keeps the section until it lets go.
    const held = await casLock('commits/dt=2.json', thisProcess());
    let done = false;
    const put = store.putIfVersion('commits/dt=2.json', 'waited', null).then((v) => ((done = true), v));
    await new Promise((r) => setTimeout(r, 150));
    expect(done).toBe(false);
    await rm(held);
    expect(await put).toEqual(expect.any(String));
    expect(new TextDecoder().decode(await store.get('commits/dt=2.json'))).toBe('waited');
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
