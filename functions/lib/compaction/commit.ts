/**
 * Phase 7, commit: the verified files are uploaded to the new generation's location and the
 * partition is swapped to it through generations/ (compare-and-swap from the commit the run read;
 * the replaced generation retired). The lease is checked first: a run that lost it stops here
 * rather than at the swap (which would refuse it anyway if another run committed meanwhile).
 */
import { rmSync } from 'node:fs';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import type { PartitionCommit } from '../catalog/commits';
import type { Generations, LiveGeneration } from '../generations/generations';
import type { LeaseLock } from '../lock/lease';
import type { CompactionContext } from './context';
import type { VerifiedFile } from './verify';

export async function uploadAndCommit(
  ctx: CompactionContext,
  generations: Generations,
  lock: LeaseLock,
  dt: string,
  next: { location: string; generation: number; dir: string; files: VerifiedFile[]; rows: number; expect: LiveGeneration | null },
): Promise<PartitionCommit> {
  for (const f of next.files) await ctx.store.putFile(f.entry.key, f.local);
  rmSync(next.dir, { recursive: true, force: true });
  await lock.assertHeld();
  const files = next.files.map((f) => f.entry);
  const { commit } = await generations.commit(
    CURATED_EVENTS.name,
    dt,
    { location: next.location, generation: next.generation, files, rows: next.rows, runId: ctx.runId },
    { expect: next.expect, retiredAt: new Date() },
  );
  return commit;
}
