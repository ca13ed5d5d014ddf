/**
 * The compaction run's scratch folder (downloaded raw objects, the on-disk DuckDB staging database,
 * its spill files, the new generation before upload). A run deletes its own at the end; a run that
 * was killed cannot, and on Lambda /tmp outlives a crashed runtime, so each new run first deletes
 * the folders whose owner (recorded in `owner.json`) was a process of this machine that is gone.
 * A folder's name carries its maker's pid, so a run killed between creating its folder and writing
 * `owner.json` leaves an empty folder that the next run can still attribute and delete.
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
    return null; // not ours, or a folder whose run died before writing it
  }
}

/** An empty folder named for a pid of this machine that is gone: its run died before writing `owner.json`. */
function diedBeforeOwnerWritten(dir: string, name: string): boolean {
  const pid = /^cclake-compact-(\d+)-/.exec(name)?.[1];
  if (!pid || readdirSync(dir).some((f) => f !== OWNER)) return false;
  return isDeadProcessHere({ ...thisProcess(), pid: Number(pid) });
}

/** Removes the scratch folders under `parent` of dead runs of this machine, then creates this run's. */
export function makeStagingDir(parent: string): string {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, name);
    const owner = ownerOf(dir);
    if (owner ? isDeadProcessHere(owner) : diedBeforeOwnerWritten(dir, name)) rmSync(dir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(path.join(parent, `${PREFIX}${process.pid}-`));
  writeFileSync(path.join(dir, OWNER), JSON.stringify(thisProcess()));
  return dir;
}
