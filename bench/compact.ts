/**
 * Compaction targets (issue 3), on generated raw data:
 *  - throughput vs a plain DuckDB `COPY (SELECT * FROM read_parquet([...])) TO ... (zstd)` of the
 *    same files, while also validating, deduplicating, re-partitioning, sorting and verifying;
 *  - peak RSS compacting a ~2 GB raw day (measured in a child process) and the file-count reduction;
 *  - a DAU-style query over 30 curated days vs the same over the raw small files.
 * Generated lakes are cached under the OS temp dir, so a second run skips generation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import type { BenchResult } from './run';

const CACHE = path.join(tmpdir(), 'cclake-bench-cache');
const config = parseConfig({});

/** A generated raw lake, made once per parameter set and reused. */
export async function cachedRawLake(name: string, users: number, days: number, options: { anomalies?: boolean } = {}): Promise<string> {
  const dir = path.join(CACHE, `${name}-${users}u-${days}d${options.anomalies ? '-anomalies' : ''}`);
  if (existsSync(path.join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stdout.write(`   (generating ${users.toLocaleString('en-US')} users x ${days} day(s) into ${dir}, once)\n`);
  await generate(new LocalObjectStore(dir), config, { users, days, end: '2026-11-20', seed: `bench-${name}`, ...options });
  writeFileSync(path.join(dir, '.complete'), new Date().toISOString());
  return dir;
}

/** A fresh copy of the raw zone (compaction writes beside it). */
export function freshCopy(src: string, label: string): string {
  const dst = path.join(CACHE, `work-${label}`);
  rmSync(dst, { recursive: true, force: true });
  spawnSync('cp', ['-r', src, dst], { stdio: 'inherit' });
  return dst;
}

async function rawFiles(dir: string): Promise<{ files: string[]; bytes: number }> {
  const objs = (await listAll(new LocalObjectStore(dir), 'raw/')).filter((o) => o.key.endsWith('.parquet') && o.size > 0);
  return { files: objs.map((o) => path.join(dir, o.key)), bytes: objs.reduce((s, o) => s + o.size, 0) };
}

async function duckdbCopySeconds(files: string[], out: string): Promise<number> {
  const engine = await DuckDBEngine.open({ memoryLimit: `${config.compaction.memoryLimitMiB}MB`, tempDirectory: path.join(CACHE, 'spill') });
  try {
    const t = performance.now();
    await engine.run(
      `COPY (SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    return (performance.now() - t) / 1000;
  } finally {
    engine.close();
    rmSync(out, { force: true });
  }
}

/** Runs one compaction in a child process and returns its summary and peak RSS. */
function compactInChild(lake: string): {
  seconds: number;
  maxRssMiB: number;
  summary: { rowsIn: number; rowsOut: number; phasesMs: Record<string, number>; dts: { files: number; bytes: number }[] };
} {
  const script = fileURLToPath(new URL('./compact-child.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, lake], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`compaction child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export async function benchCompactThroughput(users = 10_000, rounds = 2): Promise<BenchResult> {
  const src = await cachedRawLake('day', users, 1);
  const { files, bytes } = await rawFiles(src);
  // This machine's speed drifts by a quarter from minute to minute (a shared VM): the two are run
  // alternately, `rounds` times each on a fresh copy, and the best of each is compared.
  const copies: number[] = [];
  const runs: ReturnType<typeof compactInChild>[] = [];
  for (let r = 0; r < rounds; r++) {
    const lake = freshCopy(src, 'throughput');
    copies.push(await duckdbCopySeconds((await rawFiles(lake)).files, path.join(CACHE, 'copy-baseline.parquet')));
    runs.push(compactInChild(lake));
    rmSync(lake, { recursive: true, force: true });
  }
  const copy = Math.min(...copies);
  const ours = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const mb = bytes / 1e6;
  const ratio = copy / ours.seconds;
  const phases = Object.entries(ours.summary.phasesMs)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
    .join(', ');
  return {
    name: `compaction throughput: ${users.toLocaleString('en-US')} users x 1 day, ${files.length} raw files, ${mb.toFixed(0)} MB`,
    lines: [
      `plain DuckDB COPY to one zstd file: best ${copy.toFixed(1)} s of ${copies.map((c) => c.toFixed(1)).join(', ')} (${(mb / copy).toFixed(1)} MB/s)`,
      `cclake compact (validate, dedupe, re-partition, sort, verify, commit): best ${ours.seconds.toFixed(1)} s of ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} ` +
        `(${(mb / ours.seconds).toFixed(1)} MB/s), ${ours.summary.rowsIn.toLocaleString('en-US')} rows in, ${ours.summary.rowsOut.toLocaleString('en-US')} out, ` +
        `${ours.summary.dts.reduce((s, d) => s + d.files, 0)} file(s), ${(ours.summary.dts.reduce((s, d) => s + d.bytes, 0) / 1e6).toFixed(0)} MB`,
      `phases of the best run (s): ${phases}; peak RSS ${ours.maxRssMiB.toFixed(0)} MiB`,
      `throughput ratio cclake / DuckDB COPY: ${ratio.toFixed(2)}`,
    ],
    target: { description: 'ratio >= 0.6', met: ratio >= 0.6 },
  };
}

export async function benchCompactMemory(users = 90_000): Promise<BenchResult> {
  const src = await cachedRawLake('day', users, 1);
  const lake = freshCopy(src, 'memory');
  const { files, bytes } = await rawFiles(lake);
  const ours = compactInChild(lake);
  const curatedFiles = ours.summary.dts.reduce((s, d) => s + d.files, 0);
  rmSync(lake, { recursive: true, force: true });
  const gb = bytes / 2 ** 30;
  return {
    name: `compaction memory: ${users.toLocaleString('en-US')} users x 1 day, ${(bytes / 1e9).toFixed(2)} GB raw in ${files.length} files`,
    lines: [
      `peak RSS ${ours.maxRssMiB.toFixed(0)} MiB in ${ours.seconds.toFixed(1)} s (DuckDB memory limit ${config.compaction.memoryLimitMiB} MiB, spilling to temp)`,
      `curated files ${curatedFiles} vs raw files ${files.length}: ${(files.length / curatedFiles).toFixed(0)}x fewer`,
    ],
    target: {
      description: 'peak RSS <= 1 GB for >= 2 GB raw; >= 5x fewer files',
      met: ours.maxRssMiB <= 1024 && gb >= 1.85 && files.length / curatedFiles >= 5,
    },
  };
}

export async function benchDauQuery(users = 300, days = 30): Promise<BenchResult> {
  const src = await cachedRawLake('month', users, days);
  const lake = freshCopy(src, 'dau');
  const store = new LocalObjectStore(lake);
  await compact(store, catalogFromConfig(config, store), config);
  const engine = await DuckDBEngine.open();
  try {
    await registerLakeViews(engine, store, config);
    const time = async (sql: string) => {
      const t = performance.now();
      const r = await engine.query(sql);
      return { seconds: (performance.now() - t) / 1000, rows: r.rows.length };
    };
    const raw = await time(
      `SELECT CAST(event_time AS DATE) AS d, count(DISTINCT coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id)) AS dau FROM events_raw GROUP BY 1`,
    );
    const curated = await time(`SELECT dt, count(DISTINCT user_key) AS dau FROM events GROUP BY 1`);
    const speedup = raw.seconds / curated.seconds;
    const rawCount = readdirSync(path.join(lake, 'raw'), { recursive: true }).filter((f) => String(f).endsWith('.parquet')).length;
    return {
      name: `DAU query over ${days} days (${users} users): curated vs raw small files`,
      lines: [
        `raw (${rawCount} files): ${(raw.seconds * 1000).toFixed(0)} ms; curated (${days}+ partitions): ${(curated.seconds * 1000).toFixed(0)} ms; speed-up ${speedup.toFixed(1)}x`,
      ],
      target: { description: 'curated >= 10x faster', met: speedup >= 10 },
    };
  } finally {
    engine.close();
    rmSync(lake, { recursive: true, force: true });
  }
}
