/**
 * The compaction run's scratch folder (downloaded raw objects, the on-disk DuckDB staging database,
 * its spill files, the new generation before upload). A run deletes its own at the end; a run that
 * was killed cannot, and on Lambda /tmp outlives a crashed runtime, so each new run first deletes
 * the folders of runs whose process is gone. The folder name carries the owner's pid for that.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { processAlive } from './lock';

const PREFIX = 'cclake-compact-';
const OWNED = new RegExp(`^${PREFIX}(\\d+)-`);

/** Removes the folders under `parent` of runs whose process is gone, then creates this run's. */
export function makeStagingDir(parent: string): string {
  for (const name of readdirSync(parent)) {
    const pid = OWNED.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  return mkdtempSync(path.join(parent, `${PREFIX}${process.pid}-`));
}
