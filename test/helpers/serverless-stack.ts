/**
 * The packaged stack as test/serverless-template.test.ts and test/serverless-bundles.test.ts read it:
 * the template's types and IAM helpers, the stack's names (serverless.yml's defaults for the test
 * stage), and the functions found in the template. Packaging itself is test/helpers/packaged-stack.ts
 * (once per content, shared with test/iam-coverage.test.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ROLLUP_TABLES } from '../../schemas/rollups';
import { SEED_TABLES } from '../../schemas/seeds';
import { readSqlTree } from '../../functions/lib/sql/files';
import { packagedStack } from './packaged-stack';

export const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STAGE = 'test';
export const FUNCTION_NAME = `cclake-${STAGE}-transform`;
export const COMPACT_NAME = `cclake-${STAGE}-compact`;
export const PARTITIONS_NAME = `cclake-${STAGE}-partitions`;
export const ROLLUP_NAME = `cclake-${STAGE}-rollup`;
export const PUBLISH_NAME = `cclake-${STAGE}-publish`;
/** serverless.yml's default QuickSight id prefix (params.default.quicksightPrefix) for the test stage. */
export const QUICKSIGHT_PREFIX = `cclake-${STAGE}-`;
export const CHARGEBACK_NAME = `cclake-${STAGE}-chargeback`;
export const EVIDENCE_NAME = `cclake-${STAGE}-evidence`;
export const ANOMALIES_NAME = `cclake-${STAGE}-anomalies`;
export const IMPORT_BILL_NAME = `cclake-${STAGE}-importBill`;
/** The anomalies table (schemas/anomalies.ts): created by the rollup (the view is over it), kept by partitions and the anomalies job. */
export const ANOMALIES_TABLE = 'detected_anomalies';
/** serverless.yml's default Athena workgroup (params.default.athenaWorkgroup) for the test stage. */
export const ATHENA_WORKGROUP = `cclake-${STAGE}`;
/** serverless.yml's default lake bucket (params.default.lakeBucket) for the test stage. */
export const LAKE_BUCKET = `cclake-${STAGE}-lake`;
export const lakeArn = (suffix = '') => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${LAKE_BUCKET}${suffix}` });
/** serverless.yml's default Glue database (params.default.glueDatabase). */
export const GLUE_DATABASE = 'cclake';
export const glueArn = (resource: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:${resource}` });
/** The Glue resources a call on `table` is authorised on: the catalog, the database, the table. */
export const glueTableArns = (...tables: string[]) => [
  glueArn('catalog'),
  glueArn(`database/${GLUE_DATABASE}`),
  ...tables.map((t) => glueArn(`table/${GLUE_DATABASE}/${t}`)),
];
export const ROLLUPS = ROLLUP_TABLES.map((t) => t.name);
export const SEEDS = SEED_TABLES.map((t) => t.name);
/** The SQL files the rollup bundle must ship, as zip paths (sql/models/V*.sql, sql/views/R__*.sql). */
export const SQL_FILES = ['models', 'views'].flatMap((d) =>
  readdirSync(join(ROOT, 'sql', d))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => `sql/${d}/${f}`),
);
/** The detector queries the anomalies bundle must ship. */
export const DETECTOR_FILES = readdirSync(join(ROOT, 'sql', 'detectors'))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => `sql/detectors/${f}`);
/** The views the rollup creates (CREATE OR REPLACE VIEW): the generated `events` and those of sql/views/. */
export const VIEWS = readSqlTree(join(ROOT, 'sql')).views.map((v) => v.view);
/** The exports' query files (sql/exports/*.sql), shipped in chargeback.zip and evidence.zip. */
export const EXPORT_SQL = readdirSync(join(ROOT, 'sql', 'exports'))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => `sql/exports/${f}`);
export const sqlFilesIn = (dir: string) =>
  readdirSync(join(ROOT, 'sql', dir))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => `sql/${dir}/${f}`);

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };
export interface Resource {
  Type: string;
  Condition?: string;
  Properties?: JsonObject;
  DependsOn?: string | string[];
}
export interface Template {
  Resources: Record<string, Resource>;
}

export async function unzip(zip: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  const hasUnzip = await run('sh', ['-c', 'command -v unzip']).then(
    () => true,
    () => false,
  );
  if (hasUnzip) await run('unzip', ['-q', '-o', zip, '-d', dest]);
  else await run('python3', ['-m', 'zipfile', '-e', zip, dest]);
}

export function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );
}

/** Every IAM statement in the template (role policies, managed policies, bucket policies...). */
export function statements(node: Json, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) for (const n of node) statements(n, out);
  else if (node !== null && typeof node === 'object') {
    const s = node.Statement;
    if (s !== undefined) for (const st of Array.isArray(s) ? s : [s]) if (st && typeof st === 'object' && !Array.isArray(st)) out.push(st);
    for (const v of Object.values(node)) statements(v, out);
  }
  return out;
}

export const asList = (x: Json | undefined): Json[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
export const isWildcardAction = (a: Json) => typeof a === 'string' && (a === '*' || /^[A-Za-z0-9-]+:\*$/.test(a));

/** The OTLP/JSON logs fixture, reduced to its claude_code.api_request events. */
export function apiRequestLogs(): Buffer {
  const doc = JSON.parse(readFileSync(join(ROOT, 'fixtures/otlp/claude-code-logs.json'), 'utf8'));
  for (const rl of doc.resourceLogs)
    for (const sl of rl.scopeLogs)
      sl.logRecords = sl.logRecords.filter((r: { body?: { stringValue?: string } }) => r.body?.stringValue === 'claude_code.api_request');
  return Buffer.from(JSON.stringify(doc));
}

// Runs the bundle like the Lambda runtime: a fresh Node process, cwd = the unpacked zip, no repo
// node_modules reachable, env = the function's configured variables, the Lambda context fields the
// handlers read. The response goes to a file (stdout carries the function's own log lines).
export const RUN_HANDLER = `
const [handlerFile, eventFile, requestId, outFile] = process.argv.slice(1);
const { readFileSync, writeFileSync } = await import('node:fs');
const { pathToFileURL } = await import('node:url');
const mod = await import(pathToFileURL(handlerFile).href);
if (typeof mod.handler !== 'function') throw new Error('no handler export');
const context = { awsRequestId: requestId, getRemainingTimeInMillis: () => 600000 };
const res = await mod.handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
writeFileSync(outFile, JSON.stringify(res));
`;

export interface Invocation {
  /** The unpacked zip (the working directory) and the handler file in it. */
  unpacked: string;
  handlerFile: string;
  event: unknown;
  requestId: string;
  /** The function's configured variables plus any overrides (CCLAKE_CONFIG for a local lake). */
  env: Record<string, string>;
  /** Scratch folder for the event and the response. */
  workDir: string;
}

/** Invokes a bundled handler once; its response and its stdout (the powertools lines). */
export async function invokeBundle<T>(inv: Invocation): Promise<{ result: T; stdout: string }> {
  const base = join(inv.workDir, `invoke-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${base}.event.json`, JSON.stringify(inv.event));
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', RUN_HANDLER, inv.handlerFile, `${base}.event.json`, inv.requestId, `${base}.out.json`],
    {
      cwd: inv.unpacked,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...inv.env },
      timeout: 60_000,
    },
  );
  return { result: JSON.parse(readFileSync(`${base}.out.json`, 'utf8')) as T, stdout };
}

/** The powertools JSON line with this message in a handler's stdout. */
export function logLine(stdout: string, message: string): Record<string, unknown> | undefined {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.message === message);
}

/** A small lake: 3 developers, `days` days (ending `end`) of raw Firehose objects, generated by the CLI. */
export async function generateLake(lake: string, end: string, days: number, seed: string): Promise<void> {
  await run(process.execPath, ['bin/cclake.mjs', 'generate', '--lake', lake, '--users', '3', '--days', String(days), '--end', end, '--seed', seed], {
    cwd: ROOT,
    timeout: 60_000,
  });
}

/** Every file under a directory, path -> contents (catalog files, commits, curated generations). */
export function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(listFiles(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

/** The first top-level node_modules package names in a list of zip paths (`@scope/name` or `name`). */
export function packagesIn(files: string[]): string[] {
  const names = files
    .filter((f) => f.startsWith('node_modules/'))
    .map((f) => {
      const parts = f.split('/');
      return parts[1]!.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]!;
    });
  return [...new Set(names)].sort();
}

export type FunctionResource = Resource & { Properties: JsonObject };

/** The properties every cclake function declares: its handler file, Node 22, architecture, size. */
export const functionBasics = (name: string, arch: 'arm64' | 'x86_64', memorySize: number, timeout: number) => ({
  Handler: `functions/${name}/handler.handler`,
  Runtime: 'nodejs22.x',
  Architectures: [arch],
  MemorySize: memorySize,
  Timeout: timeout,
});
export const envOf = (f: FunctionResource) => (f.Properties.Environment as { Variables: Record<string, string> }).Variables;

export interface StackFunctions {
  fn: FunctionResource;
  compactFn: FunctionResource;
  partitionsFn: FunctionResource;
  rollupFn: FunctionResource;
  publishFn: FunctionResource;
  chargebackFn: FunctionResource;
  evidenceFn: FunctionResource;
  anomaliesFn: FunctionResource;
  importBillFn: FunctionResource;
}

/** The packaged stack (packaged once per content) and its functions, by the names serverless.yml gives them. */
export async function loadStack(): Promise<{ dir: string; template: Template; functions: StackFunctions; packageMs: number }> {
  const t0 = Date.now();
  const stack = await packagedStack(ROOT, STAGE);
  const packageMs = Date.now() - t0;
  const template = stack.template as unknown as Template;
  const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const named = (name: string) => {
    const found = fns.find(([, r]) => r.Properties?.FunctionName === name);
    if (!found) throw new Error(`no ${name} in ${fns.map(([id]) => id).join(', ')}`);
    return found[1] as FunctionResource;
  };
  return {
    dir: stack.dir,
    template,
    packageMs,
    functions: {
      fn: named(FUNCTION_NAME),
      compactFn: named(COMPACT_NAME),
      partitionsFn: named(PARTITIONS_NAME),
      rollupFn: named(ROLLUP_NAME),
      publishFn: named(PUBLISH_NAME),
      chargebackFn: named(CHARGEBACK_NAME),
      evidenceFn: named(EVIDENCE_NAME),
      anomaliesFn: named(ANOMALIES_NAME),
      importBillFn: named(IMPORT_BILL_NAME),
    },
  };
}
