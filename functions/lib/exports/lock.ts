/**
 * One export run at a time per kind (`_cclake/locks/chargeback/`, `_cclake/locks/evidence/`): two
 * runs writing the same revision's or sequence number's files could otherwise leave a manifest whose
 * digests name the other run's bytes. The lease lock is the lake's (lock/lease.ts), on its
 * own prefix, so an export never waits for compaction or the rollup, nor they for it.
 */
import { LeaseLock } from '../lock/lease';
import type { ObjectStore } from '../store/port';

export const exportLockPrefix = (kind: 'chargeback' | 'evidence') => `_cclake/locks/${kind}/`;

export async function withExportLock<T>(
  store: ObjectStore,
  kind: 'chargeback' | 'evidence',
  owner: string,
  leaseMinutes: number,
  run: (lock: LeaseLock) => Promise<T>,
): Promise<T> {
  const taken = await LeaseLock.acquire(store, exportLockPrefix(kind), owner, leaseMinutes * 60_000);
  if (!taken.acquired) {
    const h = taken.heldBy;
    throw new Error(`another ${kind} export is running (${h.owner} on ${h.host}, pid ${h.pid}, until ${h.expiresAt}); run again after it`);
  }
  try {
    return await run(taken.lock);
  } finally {
    await taken.lock.release();
  }
}
