/**
 * Local-folder object store. Writes go to a temp file under `<root>/.cclake-tmp/` and are renamed
 * into place (atomic on one file system); create-if-absent uses link(2), which fails with EEXIST
 * atomically, so two writers racing for one key cannot both win. A compare-and-swap
 * (`putIfVersion`) runs in a per-key exclusive section (a lock file created by link(2)), so the
 * check of the current version and the rename are one step for every other `putIfVersion`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { isDeadProcessHere, thisProcess, type ProcessRef } from '../lock/this-machine';
import { assertValidKey, ObjectNotFoundError, type DeleteFailure, type ObjectInfo, type ObjectStore, type PutOptions, type VersionedObject } from './port';

const TMP_DIR = '.cclake-tmp';
/** A compare-and-swap section lasts milliseconds: a lock file this old whose owner is unknown was left by a crash elsewhere. */
const CAS_STALE_MS = 60_000;
const CAS_WAIT_MS = 30_000;

/** The local version of an object: the MD5 of its bytes (as S3's ETag of a single-part object). */
const versionOf = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');

export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = pathToFileURL(this.root).href + '/';
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async tempFile(): Promise<string> {
    const dir = path.join(this.root, TMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${randomUUID()}`);
  }

  private async stage(body: Uint8Array | string, options?: PutOptions): Promise<string> {
    const tmp = await this.tempFile();
    // No fsync: the rename makes the object appear whole or not at all, and a killed process
    // loses nothing already written to the page cache. Surviving power loss is not this store's job.
    await fs.writeFile(tmp, body);
    // Object Lock's local stand-in: the file is read-only (nothing here can enforce a retention date).
    if (options?.objectLock) await fs.chmod(tmp, 0o444);
    return tmp;
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    const target = this.pathOf(key);
    const tmp = await this.stage(body, options);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(tmp, target);
  }

  async putIfAbsent(key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const target = this.pathOf(key);
    const tmp = await this.stage(body, options);
    await fs.mkdir(path.dirname(target), { recursive: true });
    try {
      await fs.link(tmp, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | null> {
    try {
      const body = new Uint8Array(await fs.readFile(this.pathOf(key)));
      return { body, version: versionOf(body) };
    } catch (err) {
      const mapped = this.mapError(err, key);
      if (mapped instanceof ObjectNotFoundError) return null;
      throw mapped;
    }
  }

  async putIfVersion(key: string, body: Uint8Array | string, expect: string | null, options?: PutOptions): Promise<string | null> {
    const target = this.pathOf(key);
    const tmp = await this.stage(body, options);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      return await this.exclusive(key, async () => {
        const current = await this.getVersioned(key);
        if ((current?.version ?? null) !== expect) return null;
        await fs.rename(tmp, target);
        return versionOf(body);
      });
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /**
   * Runs `section` holding the key's lock file (`.cclake-tmp/cas/<hash>.lock`, created by link(2)
   * with its owner inside). A lock whose owner was a process of this machine that is gone, or
   * whose owner is unknown and which is older than a minute, was left by a crash and is removed.
   */
  private async exclusive<T>(key: string, section: () => Promise<T>): Promise<T> {
    const dir = path.join(this.root, TMP_DIR, 'cas');
    await fs.mkdir(dir, { recursive: true });
    const lockPath = path.join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.lock`);
    const mine = await this.stage(JSON.stringify(thisProcess()));
    const deadline = Date.now() + CAS_WAIT_MS;
    try {
      for (;;) {
        try {
          await fs.link(mine, lockPath);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        if (await this.isStaleLock(lockPath)) {
          // Moved aside first, so of two processes clearing it only one removes it.
          const aside = `${lockPath}.stale-${randomUUID()}`;
          await fs.rename(lockPath, aside).then(
            () => fs.rm(aside, { force: true }),
            () => undefined,
          );
          continue;
        }
        if (Date.now() > deadline) throw new Error(`could not lock ${key} for a compare-and-swap within ${CAS_WAIT_MS / 1000} s (${lockPath})`);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 10));
      }
    } finally {
      await fs.rm(mine, { force: true });
    }
    try {
      return await section();
    } finally {
      await fs.rm(lockPath, { force: true });
    }
  }

  private async isStaleLock(lockPath: string): Promise<boolean> {
    try {
      const [text, st] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
      let owner: ProcessRef | null = null;
      try {
        owner = JSON.parse(text) as ProcessRef;
      } catch {
        owner = null;
      }
      if (owner && isDeadProcessHere(owner)) return true;
      return Date.now() - st.mtimeMs > CAS_STALE_MS;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // released meanwhile: try again
      throw err;
    }
  }

  async localFile(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key);
    const tmp = await this.tempFile();
    await pipeline(createReadStream(localPath), createWriteStream(tmp));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(tmp, target);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await fs.readFile(this.pathOf(key)));
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!(start >= 0 && end >= start)) throw new Error(`invalid byte range ${start}-${end} for ${key}`);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
    } catch (err) {
      throw this.mapError(err, key);
    }
    try {
      const { size } = await handle.stat();
      const last = Math.min(end, size - 1);
      if (start >= size) throw new Error(`byte range ${start}-${end} is past the end of ${key} (${size} bytes)`);
      const buf = new Uint8Array(last - start + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async getToFile(key: string, localPath: string): Promise<void> {
    try {
      await fs.copyFile(this.pathOf(key), localPath);
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size, lastModified: st.mtime } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the directory the prefix lies in, then filter: `raw/year=2026/mo` lists `raw/year=2026/`.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    if (dirKey) assertValidKey(dirKey);
    const start = dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root;
    yield* this.walk(start, dirKey ? dirKey + '/' : '', prefix);
  }

  private async *walk(dir: string, keyPrefix: string, filter: string): AsyncIterable<ObjectInfo> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    // S3 orders keys by their bytes; a directory `a` sorts as `a/` among its siblings.
    const named = entries
      .filter((e) => !(keyPrefix === '' && e.name === TMP_DIR))
      .map((e) => ({ e, sortKey: keyPrefix + e.name + (e.isDirectory() ? '/' : '') }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { e, sortKey } of named) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (sortKey.startsWith(filter) || filter.startsWith(sortKey)) yield* this.walk(full, sortKey, filter);
      } else if (e.isFile() && sortKey.startsWith(filter)) {
        const st = await fs.stat(full);
        yield { key: sortKey, size: st.size, lastModified: st.mtime };
      }
    }
  }

  async delete(keys: readonly string[]): Promise<{ deleted: string[]; failed: DeleteFailure[] }> {
    const deleted: string[] = [];
    const failed: DeleteFailure[] = [];
    for (const key of keys) {
      try {
        await fs.rm(this.pathOf(key), { force: true });
        deleted.push(key);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        failed.push({ key, code: e.code ?? 'Error', message: e.message });
      }
    }
    return { deleted, failed };
  }

  private mapError(err: unknown, key: string): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new ObjectNotFoundError(this.location, key);
    return err;
  }
}
