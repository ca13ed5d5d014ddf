/** Generator throughput: 10,000 developers x 1 day into a local lake (issue target: well under a minute). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../functions/lib/config/load';
import { generate } from '../functions/lib/jobs/generate';
import { LocalObjectStore } from '../functions/lib/store/local';
import type { BenchResult } from './run';

export async function benchGenerate(users = 10_000, days = 1): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cclake-bench-gen-'));
  try {
    const s = await generate(new LocalObjectStore(dir), parseConfig({}), { users, days, end: '2026-11-20', seed: 'bench' });
    const seconds = s.durationMs / 1000;
    return {
      name: `generate ${users.toLocaleString('en-US')} users x ${days} day`,
      lines: [
        `${s.rows.toLocaleString('en-US')} records, ${s.objects} objects, ${(s.bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s ` +
          `(${Math.round(s.rows / seconds).toLocaleString('en-US')} records/s)`,
      ],
      target: { description: 'well under 60 s', met: seconds < 45 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
