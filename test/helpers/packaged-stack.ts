/**
 * `osls package` once per content: the packaged stack (CloudFormation template and zips) is cached
 * in the system temp folder under a hash of everything that goes into it, so several test files
 * (and re-runs) share one packaging run (about a minute and a half). A lock folder makes
 * concurrent test workers wait for the one that packages. Offline: no AWS credentials or profiles.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INPUTS = ['serverless.yml', 'package.json', 'tsconfig.json', 'functions', 'schemas', 'sql', 'quicksight-templates'];

function files(root: string, rel: string): string[] {
  const full = join(root, rel);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [rel];
  return readdirSync(full)
    .sort()
    .flatMap((f) => files(root, join(rel, f)));
}

function inputsHash(root: string, stage: string, params: readonly string[]): string {
  const h = createHash('sha256').update(stage).update(params.join('\0'));
  for (const f of INPUTS.flatMap((i) => files(root, i)))
    h.update(relative(root, join(root, f)))
      .update('\0')
      .update(readFileSync(join(root, f)))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  env.AWS_CONFIG_FILE = '/dev/null';
  return env;
}

export interface PackagedStack {
  /** The folder holding cloudformation-template-update-stack.json and one zip per function. */
  dir: string;
  template: { Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }>; Conditions?: Record<string, unknown> };
}

/**
 * The packaged stack for `stage` (and stack `params`, passed as `--param=name=value`); packages only
 * when no run with the same inputs is cached.
 */
export async function packagedStack(root: string, stage = 'test', params: Record<string, string> = {}): Promise<PackagedStack> {
  const base = join(tmpdir(), 'cclake-packaged');
  mkdirSync(base, { recursive: true });
  const paramArgs = Object.entries(params).map(([k, v]) => `--param=${k}=${v}`);
  const dir = join(base, `${stage}-${inputsHash(root, stage, paramArgs)}`);
  const templateFile = join(dir, 'cloudformation-template-update-stack.json');
  // One packaging at a time per checkout, whatever the params: osls and serverless-esbuild build in
  // the checkout's own .serverless/ and .esbuild/ folders, which two runs would clobber.
  const lock = join(base, `packaging-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.lock`);
  for (;;) {
    if (existsSync(templateFile)) return { dir, template: JSON.parse(readFileSync(templateFile, 'utf8')) };
    try {
      mkdirSync(lock);
    } catch {
      // Another worker is packaging; a lock older than 15 minutes is left over from a killed run.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 900_000) rmSync(lock, { recursive: true, force: true });
      await sleep(2000);
      continue;
    }
    try {
      if (existsSync(templateFile)) continue; // packaged by the worker that held the lock
      const out = `${dir}.tmp-${process.pid}`;
      rmSync(out, { recursive: true, force: true });
      await run('npx', ['--no', '--', 'osls', 'package', '--stage', stage, ...paramArgs, '--package', out], {
        cwd: root,
        env: offlineEnv(),
        timeout: 600_000, // about 5 minutes on a busy 2-core machine
        maxBuffer: 16 * 1024 * 1024,
      });
      renameSync(out, dir);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
