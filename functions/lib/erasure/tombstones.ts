/**
 * Tombstones: the erased people, kept so they never come back (`_cclake/tombstones/`). Each
 * erasure writes `<erasure id>.json` holding keyed hashes (HMAC-SHA256) of the person's identity
 * values, never the values: the key (`key.json`, random, made by the first erasure) lives beside
 * them, so the hashes mean nothing outside this lake and no list of known e-mails can be tested
 * against another lake's tombstones. Compaction asks `TombstoneSet.has` of every identity value
 * it reads and drops the rows of erased people (data arriving late, replays, rebuilds).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { normaliseIdentity } from './person';

export const TOMBSTONES_PREFIX = '_cclake/tombstones/';
const KEY_KEY = `${TOMBSTONES_PREFIX}key.json`;

export interface Tombstone {
  format: 1;
  erasure_id: string;
  erased_at: string;
  /** HMAC-SHA256 (hex) of each identity value, trimmed and lower-cased. */
  hashes: string[];
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function readKey(store: ObjectStore): Promise<string | null> {
  try {
    return (JSON.parse(decode(await store.get(KEY_KEY))) as { key: string }).key;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

/** The lake's tombstone key, created (create-if-absent: two first erasures agree on one) when `create`. */
export async function tombstoneKey(store: ObjectStore, create: boolean): Promise<string | null> {
  const found = await readKey(store);
  if (found || !create) return found;
  await store.putIfAbsent(KEY_KEY, JSON.stringify({ format: 1, key: randomBytes(32).toString('hex') }), { contentType: 'application/json' });
  return readKey(store);
}

export const identityHash = (key: string, value: string) => createHmac('sha256', key).update(normaliseIdentity(value)).digest('hex');

export class TombstoneSet {
  private constructor(
    private readonly key: string | null,
    private readonly hashes: Map<string, string>,
  ) {}

  /** Every tombstone of the lake (none: an empty set that costs compaction nothing). */
  static async load(store: ObjectStore): Promise<TombstoneSet> {
    const key = await tombstoneKey(store, false);
    const hashes = new Map<string, string>();
    if (key) {
      for (const o of await listAll(store, TOMBSTONES_PREFIX)) {
        if (o.key === KEY_KEY || !o.key.endsWith('.json')) continue;
        const t = JSON.parse(decode(await store.get(o.key))) as Tombstone;
        for (const h of t.hashes) hashes.set(h, t.erasure_id);
      }
    }
    return new TombstoneSet(key, hashes);
  }

  get size(): number {
    return this.hashes.size;
  }

  /** The erasure that tombstoned this identity value, or null. */
  erasureOf(value: string): string | null {
    return this.key && this.hashes.size ? (this.hashes.get(identityHash(this.key, value)) ?? null) : null;
  }

  has(value: string): boolean {
    return this.erasureOf(value) !== null;
  }
}

/** Records a tombstone (idempotent: the erasure id names the object). */
export async function writeTombstone(store: ObjectStore, erasureId: string, erasedAt: string, values: readonly string[]): Promise<void> {
  const key = (await tombstoneKey(store, true))!;
  const body: Tombstone = { format: 1, erasure_id: erasureId, erased_at: erasedAt, hashes: [...new Set(values.map((v) => identityHash(key, v)))].sort() };
  await store.put(`${TOMBSTONES_PREFIX}${erasureId}.json`, JSON.stringify(body, null, 1), { contentType: 'application/json' });
}
