/**
 * The compaction run's scratch folder (downloaded raw objects, the on-disk DuckDB staging database,
 * its spill files, the new generation before upload). A run deletes its own at the end; a run that
 * was killed cannot, and on Lambda /tmp outlives a crashed runtime, so each new run first deletes
 * the folders whose owner (recorded in `owner.json`) was a process of this machine that is gone.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isDeadProcessHere, thisProcess, type ProcessRef } from '../lock/this-machine';

const PREFIX = 'cclake-compact-';
const OWNER = 'owner.json';

function ownerOf(dir: string): ProcessRef | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, OWNER), 'utf8')) as ProcessRef;
  } catch {
    return null; // not ours, or a folder whose run died before writing it: left alone
  }
}

/** Removes the scratch folders under `parent` of dead runs of this machine, then creates this run's. */
export function makeStagingDir(parent: string): string {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, name);
    const owner = ownerOf(dir);
    if (owner && isDeadProcessHere(owner)) rmSync(dir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(path.join(parent, PREFIX));
  writeFileSync(path.join(dir, OWNER), JSON.stringify(thisProcess()));
  return dir;
}
