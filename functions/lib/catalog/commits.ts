/**
 * Partition commits: the lake's own record of which generation of files is live for each partition
 * of a table that cclake rewrites (curated events, later the rollups). Writing a commit is the
 * commit point of a rewrite, as in Iceberg's protocol: one object per partition, written in a single
 * atomic PUT (rename locally), so a partition is at the old generation or the new one, never a mix.
 *
 * The catalog (Glue, or the local catalog files) is then pointed at the committed location: the
 * compactor does so right after committing, and the partitions stage repairs any gap. Keeping the
 * commit in the lake means the catalog can always be rebuilt from the lake alone.
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

const keyOf = (table: string, dt: string) => `${COMMITS_PREFIX}${table}/dt=${dt}.json`;
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as PartitionCommit;

export class PartitionCommits {
  constructor(private readonly store: ObjectStore) {}

  async get(table: string, dt: string): Promise<PartitionCommit | null> {
    try {
      return decode(await this.store.get(keyOf(table, dt)));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  /** Every commit of the table, by date. */
  async list(table: string): Promise<PartitionCommit[]> {
    const objects = (await listAll(this.store, `${COMMITS_PREFIX}${table}/`)).filter((o) => o.key.endsWith('.json'));
    const out: PartitionCommit[] = [];
    for (const o of objects) out.push(decode(await this.store.get(o.key)));
    return out.sort((a, b) => (a.dt < b.dt ? -1 : a.dt > b.dt ? 1 : 0));
  }

  async put(commit: PartitionCommit): Promise<void> {
    await this.store.put(keyOf(commit.table, commit.dt), JSON.stringify(commit, null, 1), { contentType: 'application/json' });
  }

  /** Forgets a partition (retention): its files must be gone from every catalog first. */
  async remove(table: string, dt: string): Promise<void> {
    const { failed } = await this.store.delete([keyOf(table, dt)]);
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
