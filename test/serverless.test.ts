/**
 * Packaging: `osls package` (serverless.yml + serverless-esbuild) must produce a deployable
 * CloudFormation template, a self-contained transform bundle and a compaction bundle that carries
 * DuckDB's linux-x64 native binding. Runs offline, with no AWS credentials: the template is
 * asserted as generated, then each zip is unpacked outside the repo and its handler run in a fresh
 * Node process (as Lambda would, with the function's configured environment): the transform
 * against a Firehose transformation event, the compaction over a small generated local lake.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAGE = 'test';
const FUNCTION_NAME = `cclake-${STAGE}-transform`;
const COMPACT_NAME = `cclake-${STAGE}-compact`;
/** serverless.yml's default lake bucket (params.default.lakeBucket) for the test stage. */
const LAKE_BUCKET = `cclake-${STAGE}-lake`;
const lakeArn = (suffix = '') => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${LAKE_BUCKET}${suffix}` });

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
interface Resource {
  Type: string;
  Properties?: JsonObject;
  DependsOn?: string | string[];
}
interface Template {
  Resources: Record<string, Resource>;
}

/** The environment the packager runs with: no AWS credentials or profiles of any kind. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  env.AWS_CONFIG_FILE = '/dev/null';
  return env;
}

async function unzip(zip: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  const hasUnzip = await run('sh', ['-c', 'command -v unzip']).then(
    () => true,
    () => false,
  );
  if (hasUnzip) await run('unzip', ['-q', '-o', zip, '-d', dest]);
  else await run('python3', ['-m', 'zipfile', '-e', zip, dest]);
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );
}

/** Every IAM statement in the template (role policies, managed policies, bucket policies...). */
function statements(node: Json, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) for (const n of node) statements(n, out);
  else if (node !== null && typeof node === 'object') {
    const s = node.Statement;
    if (s !== undefined) for (const st of Array.isArray(s) ? s : [s]) if (st && typeof st === 'object' && !Array.isArray(st)) out.push(st);
    for (const v of Object.values(node)) statements(v, out);
  }
  return out;
}

const asList = (x: Json | undefined): Json[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const isWildcardAction = (a: Json) => typeof a === 'string' && (a === '*' || /^[A-Za-z0-9-]+:\*$/.test(a));

/** The OTLP/JSON logs fixture, reduced to its claude_code.api_request events. */
function apiRequestLogs(): Buffer {
  const doc = JSON.parse(readFileSync(join(ROOT, 'fixtures/otlp/claude-code-logs.json'), 'utf8'));
  for (const rl of doc.resourceLogs)
    for (const sl of rl.scopeLogs)
      sl.logRecords = sl.logRecords.filter((r: { body?: { stringValue?: string } }) => r.body?.stringValue === 'claude_code.api_request');
  return Buffer.from(JSON.stringify(doc));
}

// Runs the bundle like the Lambda runtime: a fresh Node process, cwd = the unpacked zip, no repo
// node_modules reachable, env = the function's configured variables. The response goes to a file
// (stdout carries the function's own log lines).
const RUN_HANDLER = `
const [handlerFile, eventFile, outFile] = process.argv.slice(1);
const { readFileSync, writeFileSync } = await import('node:fs');
const { pathToFileURL } = await import('node:url');
const mod = await import(pathToFileURL(handlerFile).href);
if (typeof mod.handler !== 'function') throw new Error('no handler export');
const res = await mod.handler(JSON.parse(readFileSync(eventFile, 'utf8')), {});
writeFileSync(outFile, JSON.stringify(res));
`;

// The same for the compaction handler, with the Lambda context it reads.
const RUN_COMPACT = `
const [handlerFile, requestId, outFile] = process.argv.slice(1);
const { writeFileSync } = await import('node:fs');
const { pathToFileURL } = await import('node:url');
const mod = await import(pathToFileURL(handlerFile).href);
if (typeof mod.handler !== 'function') throw new Error('no handler export');
const res = await mod.handler({}, { awsRequestId: requestId, getRemainingTimeInMillis: () => 600000 });
writeFileSync(outFile, JSON.stringify(res));
`;

/** Every file under a directory, path -> contents (catalog pointers, curated generations). */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(listFiles(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

/** The first top-level node_modules package names in a list of zip paths (`@scope/name` or `name`). */
function packagesIn(files: string[]): string[] {
  const names = files
    .filter((f) => f.startsWith('node_modules/'))
    .map((f) => {
      const parts = f.split('/');
      return parts[1]!.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]!;
    });
  return [...new Set(names)].sort();
}

describe('serverless package (osls + serverless-esbuild)', () => {
  let dir = '';
  let template: Template;
  let fn: Resource & { Properties: JsonObject };
  let compactFn: Resource & { Properties: JsonObject };
  let packageMs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cclake-sls-'));
    const t0 = Date.now();
    await run('npx', ['--no', '--', 'osls', 'package', '--stage', STAGE, '--package', join(dir, 'pkg')], {
      cwd: ROOT,
      env: offlineEnv(),
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    packageMs = Date.now() - t0;
    template = JSON.parse(readFileSync(join(dir, 'pkg', 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
    const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    const found = fns.find(([, r]) => r.Properties?.FunctionName === FUNCTION_NAME);
    if (!found) throw new Error(`no ${FUNCTION_NAME} in ${fns.map(([id]) => id).join(', ')}`);
    fn = found[1] as Resource & { Properties: JsonObject };
    const compact = fns.find(([, r]) => r.Properties?.FunctionName === COMPACT_NAME);
    if (!compact) throw new Error(`no ${COMPACT_NAME} in ${fns.map(([id]) => id).join(', ')}`);
    compactFn = compact[1] as Resource & { Properties: JsonObject };
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('declares the transform function: nodejs22.x on arm64, 256 MB, 60 s, its env', () => {
    expect(fn.Properties).toMatchObject({
      Handler: 'functions/transform/handler.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 60,
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'cclake-transform', CCLAKE_KEEP_CONTENT: 'false' } },
    });
    console.info(`osls package: ${packageMs} ms, transform.zip ${statSync(join(dir, 'pkg', 'transform.zip')).size} bytes`);
  });

  it('creates its log group with the configured retention', () => {
    const groups = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    const group = groups.find((r) => r.Properties?.LogGroupName === `/aws/lambda/${FUNCTION_NAME}`);
    expect(group?.Properties?.RetentionInDays).toBe(30);
    expect(asList(fn.DependsOn)).toContain('TransformLogGroup');
  });

  it('grants no wildcard actions; the transform role may only write its own logs', () => {
    const all = statements(template as unknown as Json);
    expect(all.length).toBeGreaterThan(0);
    for (const st of all) {
      expect(st.NotAction, JSON.stringify(st)).toBeUndefined();
      // The framework's deployment-bucket policy denies s3:* without TLS; a Deny grants nothing.
      if (st.Effect === 'Deny') continue;
      expect(st.Effect).toBe('Allow');
      expect(asList(st.Action).filter(isWildcardAction), JSON.stringify(st)).toEqual([]);
      expect(asList(st.Resource), JSON.stringify(st)).not.toContain('*');
    }

    const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['CompactRole', 'CompactSchedulerRole', 'TransformRole']);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['TransformRole', 'Arn'] });
    const allowed = statements(template.Resources.TransformRole!.Properties?.Policies ?? null).flatMap((st) => asList(st.Action));
    expect(allowed.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('declares the compact function: x86_64 (DuckDB binding), 2048 MB, 900 s, 10 GiB /tmp, one at a time', () => {
    expect(compactFn.Properties).toMatchObject({
      Handler: 'functions/compact/handler.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      MemorySize: 2048,
      Timeout: 900,
      EphemeralStorage: { Size: 10240 },
      ReservedConcurrentExecutions: 1,
      Role: { 'Fn::GetAtt': ['CompactRole', 'Arn'] },
    });
    const vars = (compactFn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(vars.POWERTOOLS_SERVICE_NAME).toBe('cclake-compact');
    // The default config: a minimal S3 lake in the stage's lake bucket, the same bucket the role names.
    expect(JSON.parse(vars.CCLAKE_CONFIG!)).toEqual({ lake: { s3: { bucket: LAKE_BUCKET, prefix: '' } } });
    expect(vars.CCLAKE_KEEP_CONTENT).toBeUndefined();

    const group = Object.values(template.Resources).find((r) => r.Type === 'AWS::Logs::LogGroup' && r.Properties?.LogGroupName === `/aws/lambda/${COMPACT_NAME}`);
    expect(group?.Properties?.RetentionInDays).toBe(30);
    expect(asList(compactFn.DependsOn)).toContain('CompactLogGroup');
  });

  it('runs compaction hourly (UTC) from EventBridge Scheduler, through a role that may only invoke it', () => {
    const schedules = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule');
    expect(schedules.length).toBe(1);
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule')).toEqual([]);
    const [, schedule] = schedules[0]!;
    expect(schedule.Properties).toMatchObject({
      Name: `cclake-${STAGE}-compact-hourly`,
      ScheduleExpression: 'rate(1 hour)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': ['CompactLambdaFunction', 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['CompactSchedulerRole', 'Arn'] }, Input: '{}' },
    });

    const role = template.Resources.CompactSchedulerRole!.Properties!;
    const trust = statements(role.AssumeRolePolicyDocument ?? null);
    expect(trust).toEqual([
      expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    ]);
    expect(statements(role.Policies ?? null)).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [{ 'Fn::GetAtt': ['CompactLambdaFunction', 'Arn'] }] },
    ]);
  });

  it('scopes the compact role to its log group and the lake prefixes compaction reads and writes', () => {
    const role = template.Resources.CompactRole!.Properties!;
    expect(statements(role.AssumeRolePolicyDocument ?? null)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const all = statements(role.Policies ?? null).map(({ Sid: _sid, ...st }) => st);
    expect(all).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': ['CompactLogGroup', 'Arn'] }] },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [lakeArn()],
        Condition: { StringLike: { 's3:prefix': ['raw/*', 'curated/events/*', '_cclake/locks/compact/*'] } },
      },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['/curated/events/*', '/quarantine/*', '/_cclake/locks/compact/*', '/_cclake/compaction/*', '/_cclake/catalog/*'].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/curated/events/*', '/_cclake/locks/compact/*'].map(lakeArn) },
    ]);
  });

  it('ships a self-contained ESM bundle that answers a Firehose transformation event', async () => {
    const code = fn.Properties.Code as JsonObject;
    const zipName = String(code.S3Key).split('/').pop()!;
    expect(zipName).toBe('transform.zip');
    const unpacked = join(dir, 'unpacked');
    await unzip(join(dir, 'pkg', zipName), unpacked);

    const files = listFiles(unpacked).sort();
    expect(files).toEqual(['functions/transform/handler.mjs', 'functions/transform/handler.mjs.map']);
    // DuckDB is external for every function, but only the bundles that import it get its packages.
    expect(files.filter((f) => f.startsWith('node_modules/'))).toEqual([]);
    const handlerFile = join(unpacked, 'functions/transform/handler.mjs');
    expect(existsSync(handlerFile)).toBe(true);

    const event: FirehoseTransformationEvent = {
      invocationId: 'inv-package-test',
      deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake-telemetry',
      region: 'us-east-1',
      records: [
        { recordId: 'rec-otlp', approximateArrivalTimestamp: 1773151400000, data: apiRequestLogs().toString('base64') },
        { recordId: 'rec-garbage', approximateArrivalTimestamp: 1773151400001, data: Buffer.from('\u0000not telemetry {').toString('base64') },
      ],
    };
    const eventFile = join(dir, 'event.json');
    const outFile = join(dir, 'response.json');
    writeFileSync(eventFile, JSON.stringify(event));

    const fnEnv = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', RUN_HANDLER, handlerFile, eventFile, outFile], {
      cwd: unpacked,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...fnEnv },
      timeout: 30_000,
    });

    const res = JSON.parse(readFileSync(outFile, 'utf8')) as FirehoseTransformationResult;
    expect(res.records.map((r) => r.recordId)).toEqual(['rec-otlp', 'rec-garbage']);

    const [ok, failed] = res.records;
    expect(ok?.result).toBe('Ok');
    const rows = Buffer.from(ok!.data!, 'base64')
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.length).toBe(2);
    for (const row of rows) expect(row.name).toBe('claude_code.api_request');

    expect(failed).toEqual({ recordId: 'rec-garbage', result: 'ProcessingFailed', data: event.records[1]!.data });

    // The powertools summary line, with the service name from the function's environment.
    const log = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'firehose transform');
    expect(log).toMatchObject({ service: 'cclake-transform', recordsIn: 2, ok: 1, processingFailed: 1, rowsOut: 2 });
  });

  it('ships the compaction bundle with DuckDB linux-x64; it compacts a lake once, and a retry adds nothing', async () => {
    const code = compactFn.Properties.Code as JsonObject;
    const zipName = String(code.S3Key).split('/').pop()!;
    expect(zipName).toBe('compact.zip');
    const zip = join(dir, 'pkg', zipName);
    const unpacked = join(dir, 'unpacked-compact');
    await unzip(zip, unpacked);

    const files = listFiles(unpacked).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/compact/handler.mjs', 'functions/compact/handler.mjs.map']);
    // Only DuckDB (and its libc probe) beside the bundle; the x64 glibc binding, no other platform's.
    expect(packagesIn(files)).toEqual(['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64', 'detect-libc']);
    const binding = join(unpacked, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node');
    expect(existsSync(binding)).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so'))).toBe(true);
    const elf = readFileSync(binding).subarray(0, 20);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(62); // e_machine EM_X86_64
    // The bundle imports DuckDB rather than inlining it.
    const handlerFile = join(unpacked, 'functions/compact/handler.mjs');
    expect(readFileSync(handlerFile, 'utf8')).toMatch(/from ["']@duckdb\/node-api["']/);
    const unzippedBytes = files.reduce((n, f) => n + statSync(join(unpacked, f)).size, 0);
    console.info(`compact.zip ${statSync(zip).size} bytes (${unzippedBytes} unzipped; Lambda allows 262144000)`);
    expect(unzippedBytes).toBeLessThan(250 * 1024 * 1024);

    // A small lake: 3 developers, one day of raw Firehose objects.
    const lake = join(dir, 'lake');
    await run(process.execPath, ['bin/cclake.mjs', 'generate', '--lake', lake, '--users', '3', '--days', '1', '--end', '2026-11-20', '--seed', 's'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const staging = join(dir, 'staging');
    mkdirSync(staging);

    const fnEnv = (compactFn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    const invoke = async (requestId: string, outName: string) => {
      const outFile = join(dir, outName);
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', RUN_COMPACT, handlerFile, requestId, outFile], {
        cwd: unpacked,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          TZ: 'UTC',
          ...fnEnv,
          CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } } }),
          CCLAKE_TMP_DIR: staging, // Lambda: /tmp
        },
        timeout: 60_000,
      });
      return { summary: JSON.parse(readFileSync(outFile, 'utf8')) as Record<string, Json>, stdout };
    };

    const first = await invoke('aaaabbbb-cccc', 'compact-1.json');
    expect(first.summary).toMatchObject({ runId: 'aaaabbbb', status: 'completed', quarantined: [], deferredDts: [] });
    expect(first.summary.rowsOut as number).toBeGreaterThan(0);
    expect(first.summary.dts).toEqual([expect.objectContaining({ dt: '2026-11-20', generation: 1, newRows: first.summary.rowsOut })]);
    const log = first.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'compaction run');
    expect(log).toMatchObject({ service: 'cclake-compact', status: 'completed', rowsOut: first.summary.rowsOut });

    const catalog = snapshot(join(lake, '_cclake/catalog'));
    const curated = snapshot(join(lake, 'curated'));
    expect(Object.keys(catalog)).toEqual(['events/dt=2026-11-20.json']);
    expect(Object.keys(curated).length).toBeGreaterThan(0);

    // Lambda retries a failed asynchronous invocation with the same request id: nothing is redone.
    const retry = await invoke('aaaabbbb-cccc', 'compact-2.json');
    expect(retry.summary).toMatchObject({ runId: 'aaaabbbb', status: 'completed', rowsOut: 0, dts: [] });
    expect(snapshot(join(lake, '_cclake/catalog'))).toEqual(catalog);
    expect(snapshot(join(lake, 'curated'))).toEqual(curated);
    // The lock was released and the staging folder cleaned up.
    expect(listFiles(join(lake, '_cclake')).filter((f) => f.startsWith('locks/'))).toEqual([]);
    expect(readdirSync(staging)).toEqual([]);
  }, 120_000);
});
