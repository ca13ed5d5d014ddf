/**
 * The object store port: the lake's bytes live behind it, in a local folder or an S3 bucket/prefix.
 * Keys are always relative to the lake root and use `/` separators.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** The object's version tag where the store lists one (S3: the ETag); changes whenever the bytes do. */
  etag?: string;
}

export interface DeleteFailure {
  key: string;
  code: string;
  message: string;
}

export interface PutOptions {
  contentType?: string;
  /**
   * Write the object under S3 Object Lock (the bucket must have Object Lock enabled): it cannot be
   * deleted or overwritten before `retainUntil`, by anyone, in COMPLIANCE mode. The local store,
   * which cannot enforce a retention, makes the file read-only instead.
   */
  objectLock?: { mode: 'COMPLIANCE'; retainUntil: Date };
}

/** An object's bytes with its version tag (S3: the ETag), the expectation of a compare-and-swap. */
export interface VersionedObject {
  body: Uint8Array;
  version: string;
}

export interface ObjectStore {
  /** Where the lake is, for messages: `file:///abs/path/` or `s3://bucket/prefix/`. */
  readonly location: string;
  /** Writes the whole object atomically: readers see the old bytes or the new, never a part. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void>;
  /** Creates the object only when no object has the key. Returns false (and writes nothing) when one does. */
  putIfAbsent(key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean>;
  /**
   * Compare-and-swap: writes the object only when its current version is `expect` (null: only when
   * no object has the key). Returns the new version, or null (and writes nothing) when the object
   * is not at `expect`. Atomic against every other `putIfVersion` of the key (S3 `If-Match` /
   * `If-None-Match: *`; locally a per-key exclusive section).
   */
  putIfVersion(key: string, body: Uint8Array | string, expect: string | null, options?: PutOptions): Promise<string | null>;
  /** The object with its version (for `putIfVersion`); null when absent. */
  getVersioned(key: string): Promise<VersionedObject | null>;
  /** Uploads a local file (multipart on S3 above the configured threshold). */
  putFile(key: string, localPath: string, options?: PutOptions): Promise<void>;
  /** Throws ObjectNotFoundError when absent. */
  get(key: string): Promise<Uint8Array>;
  /** Bytes `start..end` inclusive, as HTTP ranges count them. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Downloads to a local file (for engines that read local files). */
  getToFile(key: string, localPath: string): Promise<void>;
  /**
   * A local file holding the object's bytes, for engines that read local files: the object's own
   * file when the lake is a local folder (nothing is copied), else a download to `scratchPath`.
   */
  localFile(key: string, scratchPath: string): Promise<string>;
  /** null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in lexicographic key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes keys (absent keys count as deleted); per-key failures are returned, never swallowed. */
  delete(keys: readonly string[]): Promise<{ deleted: string[]; failed: DeleteFailure[] }>;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly location: string,
    readonly key: string,
  ) {
    super(`object not found: ${location}${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class DeleteFailedError extends Error {
  constructor(readonly failures: DeleteFailure[]) {
    super(
      `could not delete ${failures.length} object(s): ` +
        failures
          .slice(0, 5)
          .map((f) => `${f.key} (${f.code}: ${f.message})`)
          .join('; '),
    );
    this.name = 'DeleteFailedError';
  }
}

/** Rejects keys that could escape the lake root or that S3 and a file system would treat differently. */
export function assertValidKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0')) {
    throw new Error(`invalid object key ${JSON.stringify(key)}: keys are relative, '/'-separated paths`);
  }
  for (const part of key.split('/')) {
    if (part === '..' || part === '.') throw new Error(`invalid object key ${JSON.stringify(key)}: '.' and '..' segments are not allowed`);
  }
}

export async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of store.list(prefix)) out.push(o);
  return out;
}

/** Deletes every object under `prefix`; returns how many. Any object that could not be deleted fails the call. */
export async function deletePrefix(store: ObjectStore, prefix: string): Promise<number> {
  const keys = (await listAll(store, prefix)).map((o) => o.key);
  const { failed } = await store.delete(keys);
  if (failed.length) throw new Error(`could not delete ${failed.length} object(s) under ${prefix}: ${failed[0]!.code} ${failed[0]!.message}`);
  return keys.length;
}
