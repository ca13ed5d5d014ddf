/**
 * Which process made something, so a later run can tell a leftover of a dead process on this very
 * machine from the work of a live one. Both the host name and the kernel boot id must match: Lambda
 * sandboxes may share a host name but not a kernel, and containers share a kernel but (by default)
 * not a host name, while their process ids are in other namespaces and look dead from here.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessRef {
  host: string;
  /** Kernel boot id (null off Linux: then nothing is ever judged dead). */
  boot: string | null;
  pid: number;
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

export function thisProcess(): ProcessRef {
  return { host: hostname(), boot: bootId(), pid: process.pid };
}

/** True only for another process of this machine (same host, same boot) that no longer runs. */
export function isDeadProcessHere(ref: ProcessRef): boolean {
  const here = thisProcess();
  if (here.boot === null || ref.boot !== here.boot || ref.host !== here.host || ref.pid === here.pid) return false;
  try {
    process.kill(ref.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: it runs, as another user
  }
}
