/**
 * Freshness (issue 20): a raw object written to a compacted lake is visible in `events` on the next
 * query, with no compaction in between; `rollup --intraday` then computes today so far. Measured
 * end to end with the built CLI on a small generated lake (made fresh in the OS temp dir): the
 * query before and after the object lands (its count must grow by the records ingested), the
 * intraday run, and the intraday schedule's longest gap read from serverless.yml.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'bin', 'cclake.mjs');

function cli(...argv: string[]): { seconds: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`cclake ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds: (performance.now() - t) / 1000, stdout: r.stdout };
}

/** The hours of a day a `cron(M H * * ? *)` expression fires in, from its hour field (`*`, lists, ranges). */
export function cronHours(expression: string): number[] {
  const field = /^cron\(\S+ (\S+) /.exec(expression)?.[1];
  if (!field) throw new Error(`not a cron expression: ${expression}`);
  if (field === '*') return Array.from({ length: 24 }, (_, h) => h);
  return field.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/** The longest time between two runs of an hourly-ish schedule, in hours (wrapping midnight). */
export function longestGapHours(hours: number[]): number {
  const sorted = [...hours].sort((x, y) => x - y);
  return Math.max(...sorted.map((h, i) => (i + 1 < sorted.length ? sorted[i + 1]! - h : sorted[0]! + 24 - h)));
}

export async function benchFreshness(): Promise<BenchResult> {
  const lake = mkdtempSync(path.join(tmpdir(), 'cclake-bench-fresh-'));
  try {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    cli('generate', '--lake', lake, '--users', '20', '--days', '2', '--end', yesterday, '--seed', '5');
    cli('compact', '--lake', lake);
    cli('rollup', '--lake', lake);
    const count = () => {
      const r = cli('query', '--lake', lake, '--format', 'json', 'SELECT count(*) AS n FROM events');
      return { ...r, n: (JSON.parse(r.stdout) as { n: number }[])[0]!.n };
    };
    const before = count();
    const ingested = cli('ingest', '--lake', lake, path.join(REPO, 'fixtures', 'otlp', 'claude-code-logs.json'));
    const after = count();
    const intraday = cli('rollup', '--lake', lake, '--intraday');
    const yml = readFileSync(path.join(REPO, 'serverless.yml'), 'utf8');
    const expression = /rollup-intraday[\s\S]*?rate:\s*\n\s*- (cron\([^)]*\))/.exec(yml)?.[1] ?? '';
    const gap = longestGapHours(cronHours(expression));
    const visible = after.n > before.n;
    return {
      name: 'freshness: a raw object visible in events on the next query (no compaction), and the intraday rollup (20 developers x 2 days, built CLI)',
      lines: [
        `events before the object: ${before.n.toLocaleString('en-US')} (query ${before.seconds.toFixed(2)} s); after \`cclake ingest\` (${ingested.seconds.toFixed(2)} s): ${after.n.toLocaleString('en-US')} (query ${after.seconds.toFixed(2)} s)`,
        `\`cclake rollup --intraday\`: ${intraday.seconds.toFixed(2)} s`,
        `intraday schedule ${expression}: runs ${cronHours(expression).length} times a day, longest gap ${gap} h`,
      ],
      target: { description: 'the object visible on the next query; intraday at most 1 h old by schedule', met: visible && gap <= 1 },
    };
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
}
