/**
 * Phase 6, verify: before anyone can see a new generation, every file's footer is read and the rows
 * counted; the total must be the live rows plus the new ones, else nothing is committed.
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { PartitionCommit } from '../catalog/commits';
import { sqlString } from '../engine/duckdb';
import type { CompactionContext } from './context';

/** A verified file: where it is now, and its entry in the commit. */
export interface VerifiedFile {
  local: string;
  entry: PartitionCommit['files'][number];
}

export async function verifyGeneration(
  ctx: CompactionContext,
  dir: string,
  location: string,
  expected: { dt: string; live: number; new: number },
): Promise<VerifiedFile[]> {
  const written = readdirSync(dir)
    .filter((f) => f.endsWith('.parquet'))
    .sort((a, b) => Number(/\d+/.exec(a)?.[0] ?? 0) - Number(/\d+/.exec(b)?.[0] ?? 0));
  const files: VerifiedFile[] = [];
  let counted = 0;
  for (const [i, f] of written.entries()) {
    const local = path.join(dir, f);
    const rows = (await ctx.engine.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(local)}, hive_partitioning = false)`)).rows[0]!.n as number;
    counted += rows;
    files.push({ local, entry: { key: `${location}part-${String(i).padStart(5, '0')}.parquet`, bytes: statSync(local).size, rows } });
  }
  const total = expected.live + expected.new;
  if (counted !== total) {
    throw new Error(
      `verification failed for dt=${expected.dt}: wrote ${counted} rows, expected ${total} (live ${expected.live} + new ${expected.new}); nothing was committed`,
    );
  }
  return files;
}
