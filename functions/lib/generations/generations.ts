/**
 * How a new generation of a partition becomes visible, in one place, for every table cclake
 * rewrites a date at a time (curated events, the rollups, the anomalies): Iceberg's commit protocol.
 *
 *  1. `newLocation`: a writer prepares its files under a location of its own, unique per attempt
 *     (`gen=NNNNNN-<run>-<nonce>/`): Lambda keeps `awsRequestId` (the run id) across its retries of
 *     an asynchronous invocation, and an UNLOAD wants an empty target, so the run id alone is not
 *     enough. The work stays idempotent: the commits decide what is done, not the location.
 *  2. `commit`: swaps the partition's commit to the new location only if it still is the version
 *     the writer started from (S3 `If-Match` on its ETag, `If-None-Match: *` for a first commit; a
 *     per-key exclusive section locally), else throws CommitConflictError and nothing is visible.
 *     The generation it replaces is retired first (a marker with the time), so a crash after the
 *     swap never forgets it; a retired location that stays committed (the swap failed) is never
 *     deleted, because what is committed is always kept.
 *  3. `publish`: points the catalog partitions (Glue, or the local catalog) at committed
 *     generations; a failure leaves the commits standing and the partitions stage repairs it.
 *  4. `collectGarbage`: deletes, for each table given, the generations retired longer ago than the
 *     grace period and the orphans (never committed, files older than the grace period: a crashed
 *     or losing writer's), never a committed one nor one a catalog partition still reads.
 *
 * The lake lock (lock/lease.ts) keeps two runs from doing the same work at once; correctness comes
 * from the compare-and-swap, which a paused process whose lease ran out cannot get past either.
 */
import { randomBytes } from 'node:crypto';
import { COMMITS_PREFIX, commitKeyOf, partitionOfCommit, PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { Catalog, TableSpec } from '../catalog/port';
import { catalogMayRead, publishPartitions } from '../catalog/sync';
import { generationTables } from '../catalog/tables';
import { deletePrefix, listAll, type ObjectStore } from '../store/port';

/** Where the retirement markers are: `<prefix><table>/dt=<dt>/<gen folder>.json`. */
export const RETIRED_PREFIX = '_cclake/generations/retired/';

/** A partition's live commit and its version (what a writer expects to replace). */
export interface LiveGeneration {
  commit: PartitionCommit;
  version: string;
}

/** What a writer commits: the new generation's location and files, and where they came from. */
export type NewCommit = Omit<PartitionCommit, 'table' | 'dt' | 'committedAt'> & { committedAt?: string };

export class CommitConflictError extends Error {
  constructor(
    readonly table: string,
    readonly dt: string,
    /** The location the losing writer prepared (its files are left to garbage collection). */
    readonly location: string,
    /** The commit another writer made meanwhile (null: it was removed). */
    readonly found: PartitionCommit | null,
  ) {
    super(
      `${table} dt=${dt}: another writer committed ${found ? `generation ${found.generation} (${found.location}, run ${found.runId})` : 'a change'} ` +
        `since this run read the partition; ${location} was not committed`,
    );
    this.name = 'CommitConflictError';
  }
}

interface RetiredMarker {
  table: string;
  dt: string;
  location: string;
  retiredAt: string;
}

const pad6 = (n: number) => String(n).padStart(6, '0');

/** The lake key prefix of a generation table (`curated/events/`, `rollups/<t>/`, `anomalies/`). */
export function tablePrefix(table: string): string {
  const t = generationTables().find((x) => x.spec.name === table);
  if (!t) throw new Error(`${table} is not a generation table`);
  return t.spec.location;
}

/** The generation folder (`…/dt=D/gen=…/`) an object key lies in, or null for any other key. */
function generationOf(prefix: string, key: string): { dt: string; location: string } | null {
  const m = /^dt=([^/]+)\/(gen=[^/]+)\//.exec(key.slice(prefix.length));
  return m ? { dt: m[1]!, location: `${prefix}dt=${m[1]}/${m[2]}/` } : null;
}

const markerKey = (table: string, dt: string, location: string) => `${RETIRED_PREFIX}${table}/dt=${dt}/${location.split('/').at(-2)}.json`;

export class Generations {
  readonly commits: PartitionCommits;

  /**
   * `tables`: the generation tables this job writes and collects (catalog/tables.ts). A job names its
   * own, so its code reaches (and its role needs) those tables' catalog entries and no others.
   */
  constructor(
    private readonly store: ObjectStore,
    private readonly catalog: Catalog,
    private readonly tables: readonly TableSpec[],
  ) {
    this.commits = new PartitionCommits(store);
  }

  private spec(table: string): TableSpec {
    const spec = this.tables.find((t) => t.name === table);
    if (!spec) throw new Error(`${table} is not a generation table of this job (${this.tables.map((t) => t.name).join(', ')})`);
    return spec;
  }

  /** The partition's live commit with its version; null when the date has none. */
  current(table: string, dt: string): Promise<LiveGeneration | null> {
    return this.commits.getVersioned(table, dt);
  }

  /** A location no other attempt writes to: numbered after the live generation, named for the run and this attempt. */
  newLocation(table: string, dt: string, runId: string, live: PartitionCommit | null): { generation: number; location: string } {
    const generation = (live?.generation ?? 0) + 1;
    return { generation, location: `${this.spec(table).location}dt=${dt}/gen=${pad6(generation)}-${runId}-${randomBytes(3).toString('hex')}/` };
  }

  /**
   * Makes `next` the partition's live generation if the partition is still at `expect` (null: it
   * has no commit yet); else throws CommitConflictError. `retiredAt` is the job's clock.
   */
  async commit(table: string, dt: string, next: NewCommit, { expect, retiredAt }: { expect: LiveGeneration | null; retiredAt: Date }): Promise<LiveGeneration> {
    const commit: PartitionCommit = { table, dt, ...next, committedAt: next.committedAt ?? new Date().toISOString() };
    if (expect && expect.commit.location !== commit.location) await this.retire(table, dt, expect.commit.location, retiredAt);
    const version = await this.commits.putIfVersion(commit, expect?.version ?? null);
    if (version !== null) return { commit, version };
    // A swap S3 applied whose answer was lost is retried, and then fails its own condition: it won.
    const found = await this.current(table, dt);
    if (found?.commit.location === commit.location) return found;
    throw new CommitConflictError(table, dt, commit.location, found?.commit ?? null);
  }

  /** Records that `location` stops being live at `at`: deleted once the grace period has passed and nothing reads it. */
  async retire(table: string, dt: string, location: string, at: Date): Promise<void> {
    const marker: RetiredMarker = { table, dt, location, retiredAt: at.toISOString() };
    await this.store.put(markerKey(table, dt, location), JSON.stringify(marker), { contentType: 'application/json' });
  }

  /** Points the catalog partitions at committed generations; returns the failures (the commits stand; the partitions stage repairs). */
  async publish(table: string, commits: PartitionCommit[]): Promise<{ published: number; errors: string[] }> {
    if (!commits.length) return { published: 0, errors: [] };
    const spec = this.spec(table);
    try {
      const failed = await publishPartitions(this.catalog, spec, commits.map(partitionOfCommit));
      return { published: commits.length - failed.length, errors: failed.map((f) => `${table} dt=${f.values.join('/')}: ${f.code}: ${f.message}`) };
    } catch (err) {
      return { published: 0, errors: [`${table} dt=${commits.map((c) => c.dt).join(',')}: ${(err as Error).message}`] };
    }
  }

  /**
   * Deletes the retired generations of `tables` whose grace period is over and their orphans
   * (files older than the grace period, never committed), keeping every committed generation and
   * any a catalog partition still reads. `now` is the job's clock.
   */
  async collectGarbage(
    tables: readonly string[],
    { now, graceMinutes }: { now: number; graceMinutes: number },
  ): Promise<{ deleted: number; errors: string[] }> {
    const graceMs = graceMinutes * 60_000;
    let deleted = 0;
    const errors: string[] = [];
    for (const table of tables) {
      const prefix = this.spec(table).location;
      const markers = new Map<string, { key: string; marker: RetiredMarker }>();
      for (const o of await listAll(this.store, `${RETIRED_PREFIX}${table}/`)) {
        const marker = JSON.parse(new TextDecoder().decode(await this.store.get(o.key))) as RetiredMarker;
        markers.set(marker.location, { key: o.key, marker });
      }
      /** Each date's generation folders, with their newest file's time. */
      const byDt = new Map<string, Map<string, number>>();
      for (const o of await listAll(this.store, prefix)) {
        const g = generationOf(prefix, o.key);
        if (!g) continue;
        const folders = byDt.get(g.dt) ?? byDt.set(g.dt, new Map()).get(g.dt)!;
        folders.set(g.location, Math.max(folders.get(g.location) ?? 0, o.lastModified.getTime()));
      }
      const commitKeys = new Set((await listAll(this.store, `${COMMITS_PREFIX}${table}/`)).map((o) => o.key));
      const gone = new Set<string>();
      for (const [dt, folders] of byDt) {
        // Retired: from its retirement on; never retired: from its newest file (a writer may still be at work).
        const expired = [...folders].filter(([location, newest]) => {
          const m = markers.get(location)?.marker;
          return (m ? Date.parse(m.retiredAt) : newest) + graceMs <= now;
        });
        if (!expired.length) continue;
        // The one generation of a committed date, never retired, is its live one (no need to read the commit).
        if (folders.size === 1 && !markers.has(expired[0]![0]) && commitKeys.has(commitKeyOf(table, dt))) continue;
        const live = (await this.commits.get(table, dt))?.location;
        for (const [location] of expired) {
          if (location === live) continue;
          const { reads, unknown } = await catalogMayRead(this.catalog, table, dt, location);
          if (unknown) errors.push(unknown);
          if (reads) continue;
          await deletePrefix(this.store, location);
          gone.add(location);
          deleted++;
        }
      }
      // The markers of generations that are gone (deleted now or earlier) are done with.
      const present = new Set([...byDt.values()].flatMap((f) => [...f.keys()]));
      const stale = [...markers].filter(([location]) => gone.has(location) || !present.has(location)).map(([, m]) => m.key);
      if (stale.length) {
        const { failed } = await this.store.delete(stale);
        errors.push(...failed.map((f) => `could not delete ${f.key}: ${f.code}: ${f.message}`));
      }
    }
    return { deleted, errors };
  }
}
