/**
 * Packaging: `osls package` (serverless.yml + serverless-esbuild) must produce a deployable
 * CloudFormation template and a self-contained transform bundle. Runs offline, with no AWS
 * credentials: the template is asserted as generated, then the zip is unpacked outside the repo and
 * its handler run in a fresh Node process (as Lambda would, with the function's configured
 * environment) against a Firehose transformation event.
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

describe('serverless package (osls + serverless-esbuild)', () => {
  let dir = '';
  let template: Template;
  let fn: Resource & { Properties: JsonObject };
  let fnLogicalId = '';
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
    [fnLogicalId] = found;
    fn = found[1] as Resource & { Properties: JsonObject };
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
    expect(roles.map(([id]) => id)).toEqual(['TransformRole']);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['TransformRole', 'Arn'] });
    const allowed = statements(roles[0]![1].Properties?.Policies ?? null).flatMap((st) => asList(st.Action));
    expect(allowed.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('ships a self-contained ESM bundle that answers a Firehose transformation event', async () => {
    const code = fn.Properties.Code as JsonObject;
    const zipName = String(code.S3Key).split('/').pop()!;
    expect(zipName).toBe('transform.zip');
    const unpacked = join(dir, 'unpacked');
    await unzip(join(dir, 'pkg', zipName), unpacked);

    const files = listFiles(unpacked).sort();
    expect(files).toEqual(['functions/transform/handler.mjs', 'functions/transform/handler.mjs.map']);
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
});
