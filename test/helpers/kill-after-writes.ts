/**
 * Runs `cclake <args>` in this process, which SIGKILLs itself just before its Nth write to the
 * lake (`CCLAKE_KILL_AFTER_WRITES`: put, putFile, putIfAbsent, putIfVersion or delete), counting
 * only writes to keys under `CCLAKE_KILL_PREFIX` when that is set, so a test can crash a job
 * between any two of its writes, or in a chosen phase. Run it with `node --import tsx`.
 */
import { main } from '../../functions/cli/main';
import { LocalObjectStore } from '../../functions/lib/store/local';

const limit = Number(process.env.CCLAKE_KILL_AFTER_WRITES);
if (!Number.isInteger(limit) || limit < 1) throw new Error('set CCLAKE_KILL_AFTER_WRITES to a positive integer');
const prefix = process.env.CCLAKE_KILL_PREFIX ?? '';
let writes = 0;
const proto = LocalObjectStore.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const method of ['put', 'putFile', 'putIfAbsent', 'putIfVersion', 'delete']) {
  const original = proto[method]!;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    const keys = Array.isArray(args[0]) ? (args[0] as string[]) : [args[0] as string];
    if (keys.some((k) => k.startsWith(prefix)) && ++writes >= limit) process.kill(process.pid, 'SIGKILL');
    return original.apply(this, args);
  };
}
process.exitCode = await main(process.argv.slice(2));
