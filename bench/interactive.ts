/**
 * Interactive speed (issue 20), measured end to end in child processes as a user runs them:
 *  - `cclake --help` (the built CLI: dist/, which this bench builds first), next to a bare `node -e 0`;
 *  - `cclake query "SELECT count(*) FROM events"` on the demo lake (200 developers x 14 days) next
 *    to a bare DuckDB process (node + @duckdb/node-api, nothing of cclake) counting the same curated
 *    files, alternately, best of each; the ratio is taken within the run;
 *  - that query's peak RSS (GNU time's %M).
 * The demo lake is made once under the OS temp dir (or CCLAKE_BENCH_DEMO_LAKE names one).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { catalogFiles } from '../functions/lib/engine/lake-views';
import { LocalObjectStore } from '../functions/lib/store/local';
import { CURATED_EVENTS } from '../schemas/curated-events';
import type { BenchResult } from './run';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'bin', 'cclake.mjs');
const CACHE = path.join(tmpdir(), 'cclake-bench-cache');
const GNU_TIME = '/usr/bin/time';

interface Timed {
  seconds: number;
  maxRssMiB: number | null;
  stdout: string;
}

/** Runs a command; wall time and peak RSS from GNU time when it is there, else wall time alone. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const out = mkdtempSync(path.join(tmpdir(), 'cclake-bench-time-'));
  try {
    const report = path.join(out, 'time');
    const gnu = existsSync(GNU_TIME);
    const t = performance.now();
    const r = gnu
      ? spawnSync(GNU_TIME, ['-f', '%e %M', '-o', report, ...argv], { encoding: 'utf8', env, cwd: REPO, maxBuffer: 16 * 1024 * 1024 })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    const wall = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
    const rss = gnu ? Number(readFileSync(report, 'utf8').trim().split(/\s+/).pop()) / 1024 : null;
    return { seconds: wall, maxRssMiB: rss, stdout: r.stdout };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const best = (xs: Timed[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const secs = (xs: Timed[]) => xs.map((x) => x.seconds.toFixed(2)).join(', ');
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function buildCli(): void {
  const r = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build.mjs')], { encoding: 'utf8', cwd: REPO });
  if (r.status !== 0 || !existsSync(path.join(REPO, 'dist', 'main.mjs'))) throw new Error(`build failed: ${r.stderr}`);
}

export async function benchHelp(rounds = 5): Promise<BenchResult> {
  buildCli();
  const bare: Timed[] = [];
  const help: Timed[] = [];
  for (let i = 0; i < rounds; i++) {
    bare.push(timed([process.execPath, '-e', '0']));
    help.push(timed([process.execPath, CLI, '--help']));
  }
  const h = best(help);
  return {
    name: `cclake --help (built CLI, dist/), ${rounds} runs, load average ${load()}`,
    lines: [
      `bare node -e 0: best ${best(bare).seconds.toFixed(2)} s of ${secs(bare)}`,
      `cclake --help: best ${h.seconds.toFixed(2)} s of ${secs(help)}${h.maxRssMiB === null ? '' : `, peak RSS ${h.maxRssMiB.toFixed(0)} MiB`}`,
    ],
    target: { description: 'best <= 0.3 s', met: h.seconds <= 0.3 },
  };
}

/** The demo lake (200 developers x 14 days), made once by `cclake demo`. */
function demoLake(): string {
  const named = process.env.CCLAKE_BENCH_DEMO_LAKE;
  if (named) return named;
  const dir = path.join(CACHE, 'demo-200u-14d');
  if (existsSync(path.join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`   (making the demo lake, 200 developers x 14 days, into ${dir}, once)\n`);
  const r = spawnSync(process.execPath, [CLI, 'demo', '--lake', dir, '--end', '2026-11-20'], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`cclake demo failed: ${r.stderr}`);
  writeFileSync(path.join(dir, '.complete'), new Date().toISOString());
  return dir;
}

/** What a bare DuckDB process runs: the count over the files, nothing of cclake loaded. */
const BARE_DUCKDB = `
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
const files = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const list = files.map((f) => "'" + f.replace(/'/g, "''") + "'").join(', ');
const reader = await conn.runAndReadAll('SELECT count(*) AS n FROM read_parquet([' + list + '], hive_partitioning = true, union_by_name = true)');
console.log(String(reader.getRowsJS()[0][0]));
`;

export async function benchQueryCount(rounds = 5): Promise<BenchResult> {
  buildCli();
  const lake = demoLake();
  const store = new LocalObjectStore(lake);
  const catalog = new LocalCatalog(store, parseConfig({}).aws.glueDatabase);
  const files = (await catalogFiles(catalog, store, CURATED_EVENTS.name)).map((k) => path.join(lake, ...k.split('/')));
  const work = mkdtempSync(path.join(tmpdir(), 'cclake-bench-query-'));
  try {
    const list = path.join(work, 'files.json');
    writeFileSync(list, JSON.stringify(files));
    const ours: Timed[] = [];
    const bare: Timed[] = [];
    for (let i = 0; i < rounds; i++) {
      // (-e code resolves packages from the working directory: the repo's node_modules)
      bare.push(timed([process.execPath, '--input-type=module', '-e', BARE_DUCKDB, list]));
      ours.push(timed([process.execPath, CLI, 'query', '--lake', lake, '--format', 'json', 'SELECT count(*) AS n FROM events']));
    }
    const n = (JSON.parse(ours[0]!.stdout) as { n: number }[])[0]!.n;
    if (String(n) !== bare[0]!.stdout.trim()) throw new Error(`cclake counted ${n} events, bare DuckDB ${bare[0]!.stdout.trim()}`);
    const o = best(ours);
    const b = best(bare);
    const ratio = o.seconds / b.seconds;
    const rss = Math.max(...ours.map((x) => x.maxRssMiB ?? 0));
    const met = o.seconds <= 1.0 && ratio <= 3 && (o.maxRssMiB === null || rss <= 200);
    return {
      name: `cclake query "SELECT count(*) FROM events" on the demo lake (${n.toLocaleString('en-US')} events, ${files.length} curated files), ${rounds} runs each, load average ${load()}`,
      lines: [
        `bare DuckDB process (node + @duckdb/node-api) counting the same files: best ${b.seconds.toFixed(2)} s of ${secs(bare)}, peak RSS ${b.maxRssMiB?.toFixed(0) ?? '?'} MiB`,
        `cclake query (built CLI): best ${o.seconds.toFixed(2)} s of ${secs(ours)}, peak RSS at most ${o.maxRssMiB === null ? '?' : rss.toFixed(0)} MiB`,
        `ratio cclake / bare DuckDB: ${ratio.toFixed(2)}`,
      ],
      target: { description: 'best <= 1.0 s, ratio <= 3, peak RSS <= 200 MiB', met },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
