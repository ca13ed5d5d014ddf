/**
 * Partition commits: the lake's own record of which generation of files is live for each partition
 * of a table that cclake rewrites (curated events, the rollups, the anomalies). Writing a commit is
 * the commit point of a rewrite, as in Iceberg's protocol: one object per partition, swapped by a
 * compare-and-swap on its version (`putIfVersion`), so a partition is at the old generation or the
 * new one, never a mix, and of two writers that started from one version only one gets in.
 * The jobs commit through generations/ (which also retires and collects); `put` is unconditional,
 * for fixtures and repairs only.
 *
 * The catalog (Glue, or the local catalog files) is then pointed at the committed location, right
 * after committing, and the partitions stage repairs any gap. Keeping the commit in the lake means
 * the catalog can always be rebuilt from the lake alone.
 */
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import type { PartitionSpec } from './port';

export const COMMITS_PREFIX = '_cclake/commits/';

export interface PartitionCommit {
  table: string;
  dt: string; // YYYY-MM-DD
  /** Lake key prefix of the live generation, ending in '/'. */
  location: string;
  generation: number;
  files: { key: string; bytes: number; rows: number | null }[];
  /** null where the writer could not count them (an Athena UNLOAD). */
  rows: number | null;
  committedAt: string;
  runId: string;
  /** For a rollup day: the curated generation it was computed from, and by which model. */
  source?: { table: string; generation: number };
  model?: { file: string; version: number; checksum: string };
}

export const commitKeyOf = (table: string, dt: string) => `${COMMITS_PREFIX}${table}/dt=${dt}.json`;
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as PartitionCommit;

export class PartitionCommits {
  constructor(private readonly store: ObjectStore) {}

  async get(table: string, dt: string): Promise<PartitionCommit | null> {
    try {
      return decode(await this.store.get(commitKeyOf(table, dt)));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  /** The commit with its version, the expectation of a later `putIfVersion`. */
  async getVersioned(table: string, dt: string): Promise<{ commit: PartitionCommit; version: string } | null> {
    const got = await this.store.getVersioned(commitKeyOf(table, dt));
    return got && { commit: decode(got.body), version: got.version };
  }

  /** Swaps the commit in only when it is still at `expect` (null: no commit yet); the new version, or null when it is not. */
  async putIfVersion(commit: PartitionCommit, expect: string | null): Promise<string | null> {
    return this.store.putIfVersion(commitKeyOf(commit.table, commit.dt), JSON.stringify(commit, null, 1), expect, { contentType: 'application/json' });
  }

  /** Every commit of the table, by date. */
  async list(table: string): Promise<PartitionCommit[]> {
    const objects = (await listAll(this.store, `${COMMITS_PREFIX}${table}/`)).filter((o) => o.key.endsWith('.json'));
    const out: PartitionCommit[] = [];
    for (const o of objects) out.push(decode(await this.store.get(o.key)));
    return out.sort((a, b) => (a.dt < b.dt ? -1 : a.dt > b.dt ? 1 : 0));
  }

  async put(commit: PartitionCommit): Promise<void> {
    await this.store.put(commitKeyOf(commit.table, commit.dt), JSON.stringify(commit, null, 1), { contentType: 'application/json' });
  }

  /** Forgets a partition (retention): its files must be gone from every catalog first. */
  async remove(table: string, dt: string): Promise<void> {
    const { failed } = await this.store.delete([commitKeyOf(table, dt)]);
    if (failed.length) throw new Error(`could not delete the commit of ${table} dt=${dt}: ${failed[0]!.code} ${failed[0]!.message}`);
  }
}

/** The catalog partition a commit stands for: its location, and the generation as parameters. */
export function partitionOfCommit(commit: PartitionCommit): PartitionSpec {
  return {
    values: [commit.dt],
    location: commit.location,
    parameters: {
      'cclake.generation': String(commit.generation),
      ...(commit.rows === null ? {} : { 'cclake.rows': String(commit.rows) }),
      'cclake.run_id': commit.runId,
    },
  };
}
