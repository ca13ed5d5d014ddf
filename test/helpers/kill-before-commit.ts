/**
 * Runs `cclake <args>` in this process, which SIGKILLs itself the moment it is about to commit a
 * partition of `CCLAKE_KILL_TABLE` (its new generation written, the commit not yet swapped in): the
 * crash the generations protocol must survive. Run it with `node --import tsx`.
 */
import { main } from '../../functions/cli/main';
import { COMMITS_PREFIX } from '../../functions/lib/catalog/commits';
import { LocalObjectStore } from '../../functions/lib/store/local';

const table = process.env.CCLAKE_KILL_TABLE;
if (!table) throw new Error('set CCLAKE_KILL_TABLE');
const putIfVersion = LocalObjectStore.prototype.putIfVersion;
LocalObjectStore.prototype.putIfVersion = function (key, ...rest) {
  if (key.startsWith(`${COMMITS_PREFIX}${table}/`)) process.kill(process.pid, 'SIGKILL');
  return putIfVersion.call(this, key, ...rest);
};
process.exitCode = await main(process.argv.slice(2));
