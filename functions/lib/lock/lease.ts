/**
 * A lease lock over the object store, taken by conditional create, with fencing numbers.
 *
 * Lock objects are numbered: `<prefix>000001.json`, `000002.json`, … The highest number is the
 * current holder. A run takes a free lock by creating the next number with create-if-absent (S3
 * `If-None-Match: *`, link(2) locally), so of two runs racing for it exactly one wins. A holder
 * whose lease expired (or, on this machine, whose process is gone) is replaced the same way, by
 * creating the next number (a dead process counts only with the same host name and kernel boot:
 * see this-machine.ts); before each commit the holder checks that no higher number exists, so
 * a run that lost its lease cannot commit over its successor.
 *
 * Every job that moves partitions of generation tables takes it. It is a liveness optimisation (two
 * runs seldom do the same work twice): correctness comes from the compare-and-swap of the partition
 * commits (generations/), which a paused process whose lease ran out cannot get past either.
 */
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { isDeadProcessHere, thisProcess, type ProcessRef } from './this-machine';

/** The holder's process (host, kernel boot, pid) and its lease. */
interface LockBody extends ProcessRef {
  owner: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface LockHolder {
  key: string;
  number: number;
  body: LockBody;
}

export type AcquireResult = { acquired: true; lock: LeaseLock } | { acquired: false; heldBy: LockBody };

/**
 * The lake lock of the jobs that rewrite generation tables and move catalog partitions (compaction,
 * the rollup, the anomalies job and the partitions stage): one holder at a time.
 */
export const COMPACT_LOCK_PREFIX = '_cclake/locks/compact/';

/**
 * The intraday rollup's own lock (issue 20): one `rollup --intraday` run at a time. It does not take
 * the lake lock: it only commits intraday tables (compare-and-swap, which no other job writes) and
 * reads curated events and the raw tail as any query does, so the daily rollup or a compaction
 * holding the lake lock never delays today's figures.
 */
export const INTRADAY_LOCK_PREFIX = '_cclake/locks/intraday/';

const NUMBER = /(\d{6,})\.json$/;

export class LockLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockLostError';
  }
}

export class LeaseLock {
  private constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
    readonly holder: LockHolder,
  ) {}

  private static async current(store: ObjectStore, prefix: string): Promise<LockHolder | null> {
    const keys = (await listAll(store, prefix)).map((o) => o.key).filter((k) => NUMBER.test(k));
    for (const key of keys.sort().reverse()) {
      try {
        const body = JSON.parse(new TextDecoder().decode(await store.get(key))) as LockBody;
        return { key, number: Number(NUMBER.exec(key)![1]), body };
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError)) throw err; // released between list and get
      }
    }
    return null;
  }

  static async acquire(store: ObjectStore, prefix: string, owner: string, leaseMs: number, now = Date.now()): Promise<AcquireResult> {
    const current = await LeaseLock.current(store, prefix);
    if (current) {
      const expired = Date.parse(current.body.expiresAt) <= now;
      // A holder on this very machine whose process is gone left the lock behind.
      const deadLocal = isDeadProcessHere(current.body);
      if (!expired && !deadLocal) return { acquired: false, heldBy: current.body };
    }
    const number = (current?.number ?? 0) + 1;
    const key = `${prefix}${String(number).padStart(6, '0')}.json`;
    const body: LockBody = {
      owner,
      ...thisProcess(),
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + leaseMs).toISOString(),
    };
    if (!(await store.putIfAbsent(key, JSON.stringify(body), { contentType: 'application/json' }))) {
      const winner = await LeaseLock.current(store, prefix);
      return { acquired: false, heldBy: winner?.body ?? body };
    }
    // Older lock objects are history now; remove them so listing stays small.
    if (current) await store.delete([current.key]);
    return { acquired: true, lock: new LeaseLock(store, prefix, { key, number, body }) };
  }

  /** Throws LockLostError when the lease ran out or a successor took over. Call before every commit. */
  async assertHeld(now = Date.now()): Promise<void> {
    if (Date.parse(this.holder.body.expiresAt) <= now) {
      throw new LockLostError(`compaction lease ${this.holder.key} expired at ${this.holder.body.expiresAt}`);
    }
    const current = await LeaseLock.current(this.store, this.prefix);
    if (!current || current.number !== this.holder.number) {
      throw new LockLostError(`compaction lock ${this.holder.key} was taken over by ${current?.key ?? 'nobody (released)'}`);
    }
  }

  async release(): Promise<void> {
    await this.store.delete([this.holder.key]);
  }
}

/**
 * Takes the lake lock (COMPACT_LOCK_PREFIX; or another lock's `prefix`) for a job, with the
 * configured lease; when another run holds it, says who and until when, for the job's `locked` summary.
 */
export async function takeLakeLock(
  store: ObjectStore,
  owner: string,
  leaseMinutes: number,
  prefix: string = COMPACT_LOCK_PREFIX,
): Promise<{ lock: LeaseLock } | { lockedBy: string }> {
  const taken = await LeaseLock.acquire(store, prefix, owner, leaseMinutes * 60_000);
  if (taken.acquired) return { lock: taken.lock };
  const h = taken.heldBy;
  return { lockedBy: `${h.owner} on ${h.host} (pid ${h.pid}) until ${h.expiresAt}` };
}
