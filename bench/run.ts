/**
 * `npm run bench [-- name ...]`: the speed and memory targets of the issues, measured on this
 * machine and printed one block per benchmark. Unit tests never time anything; this does.
 */
import { cpus, totalmem } from 'node:os';
import { benchAnomalies } from './anomalies';
import { benchBudgetForecast } from './budget-forecast';
import { benchCompactMemory, benchCompactThroughput, benchDauQuery } from './compact';
import { benchCost } from './cost';
import { benchFreshness } from './freshness';
import { benchGenerate } from './generate';
import { benchHelp, benchQueryCount } from './interactive';
import { benchRollupFull, benchRollupIncremental } from './rollup';

export interface BenchResult {
  name: string;
  lines: string[];
  target?: { description: string; met: boolean };
}

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  generate: () => benchGenerate(),
  'compact-throughput': () => benchCompactThroughput(),
  'dau-query': () => benchDauQuery(),
  'compact-memory': () => benchCompactMemory(),
  'rollup-incremental': () => benchRollupIncremental(),
  'rollup-full': () => benchRollupFull(),
  cost: () => benchCost(),
  anomalies: () => benchAnomalies(),
  'budget-forecast': () => benchBudgetForecast(),
  'cli-help': () => benchHelp(),
  'query-count': () => benchQueryCount(),
  freshness: () => benchFreshness(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(BENCHES);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  console.log(
    `cclake bench on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
  );
  let missed = 0;
  for (const name of names) {
    const r = await BENCHES[name]!();
    console.log(`== ${r.name}`);
    for (const l of r.lines) console.log(`   ${l}`);
    if (r.target) {
      console.log(`   target: ${r.target.description}: ${r.target.met ? 'met' : 'MISSED'}`);
      if (!r.target.met) missed++;
    }
    console.log();
  }
  if (missed) process.exitCode = 1;
}

await main();
