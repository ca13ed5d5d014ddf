/**
 * Packaging: `osls package` (serverless.yml + serverless-esbuild) must produce a deployable
 * CloudFormation template, a self-contained transform bundle, a compaction bundle that carries
 * DuckDB's linux-x64 native binding, a self-contained partitions (catalog) bundle and a rollup
 * bundle that carries the SQL files and parquet-wasm (and no DuckDB). Runs offline, with no AWS
 * credentials: the template is asserted as generated, then each zip is unpacked outside the repo
 * and its handler run in a fresh Node process (as Lambda would, with the function's configured
 * environment): the transform against a Firehose transformation event, the compaction over a small
 * generated local lake, the partitions function over a generated and compacted lake, the rollup
 * function (Athena only, so no lake run here: test/rollup-handler.test.ts runs its module) against
 * bad events, with its SQL and parquet-wasm checked from the unpacked zip, and the anomalies
 * function likewise (test/anomalies-handler.test.ts runs its module), with its SNS topic and role.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { ROLLUP_TABLES } from '../schemas/rollups';
import { SEED_TABLES } from '../schemas/seeds';
import { readSqlTree } from '../functions/lib/sql/files';
import { readDetectorSql } from '../functions/lib/anomalies/queries';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAGE = 'test';
const FUNCTION_NAME = `cclake-${STAGE}-transform`;
const COMPACT_NAME = `cclake-${STAGE}-compact`;
const PARTITIONS_NAME = `cclake-${STAGE}-partitions`;
const ROLLUP_NAME = `cclake-${STAGE}-rollup`;
const PUBLISH_NAME = `cclake-${STAGE}-publish`;
/** serverless.yml's default QuickSight id prefix (params.default.quicksightPrefix) for the test stage. */
const QUICKSIGHT_PREFIX = `cclake-${STAGE}-`;
const CHARGEBACK_NAME = `cclake-${STAGE}-chargeback`;
const EVIDENCE_NAME = `cclake-${STAGE}-evidence`;
const ANOMALIES_NAME = `cclake-${STAGE}-anomalies`;
/** The anomalies table (schemas/anomalies.ts): created by the rollup (the view is over it), kept by partitions and the anomalies job. */
const ANOMALIES_TABLE = 'detected_anomalies';
/** serverless.yml's default Athena workgroup (params.default.athenaWorkgroup) for the test stage. */
const ATHENA_WORKGROUP = `cclake-${STAGE}`;
/** serverless.yml's default lake bucket (params.default.lakeBucket) for the test stage. */
const LAKE_BUCKET = `cclake-${STAGE}-lake`;
const lakeArn = (suffix = '') => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${LAKE_BUCKET}${suffix}` });
/** serverless.yml's default Glue database (params.default.glueDatabase). */
const GLUE_DATABASE = 'cclake';
const glueArn = (resource: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:${resource}` });
/** The Glue resources a call on `table` is authorised on: the catalog, the database, the table. */
const glueTableArns = (...tables: string[]) => [glueArn('catalog'), glueArn(`database/${GLUE_DATABASE}`), ...tables.map((t) => glueArn(`table/${GLUE_DATABASE}/${t}`))];
const ROLLUPS = ROLLUP_TABLES.map((t) => t.name);
const SEEDS = SEED_TABLES.map((t) => t.name);
/** The SQL files the rollup bundle must ship, as zip paths (sql/models/V*.sql, sql/views/R__*.sql). */
const SQL_FILES = ['models', 'views'].flatMap((d) => readdirSync(join(ROOT, 'sql', d)).filter((f) => f.endsWith('.sql')).map((f) => `sql/${d}/${f}`));
/** The detector queries the anomalies bundle must ship. */
const DETECTOR_FILES = readdirSync(join(ROOT, 'sql', 'detectors')).filter((f) => f.endsWith('.sql')).map((f) => `sql/detectors/${f}`);
/** The views the rollup creates (CREATE OR REPLACE VIEW): the generated `events` and those of sql/views/. */
const VIEWS = readSqlTree(join(ROOT, 'sql')).views.map((v) => v.view);
/** The exports' query files (sql/exports/*.sql), shipped in chargeback.zip and evidence.zip. */
const EXPORT_SQL = readdirSync(join(ROOT, 'sql', 'exports')).filter((f) => f.endsWith('.sql')).map((f) => `sql/exports/${f}`);
const sqlFilesIn = (dir: string) => readdirSync(join(ROOT, 'sql', dir)).filter((f) => f.endsWith('.sql')).map((f) => `sql/${dir}/${f}`);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
interface Resource {
  Type: string;
  Condition?: string;
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
// node_modules reachable, env = the function's configured variables, the Lambda context fields the
// handlers read. The response goes to a file (stdout carries the function's own log lines).
const RUN_HANDLER = `
const [handlerFile, eventFile, requestId, outFile] = process.argv.slice(1);
const { readFileSync, writeFileSync } = await import('node:fs');
const { pathToFileURL } = await import('node:url');
const mod = await import(pathToFileURL(handlerFile).href);
if (typeof mod.handler !== 'function') throw new Error('no handler export');
const context = { awsRequestId: requestId, getRemainingTimeInMillis: () => 600000 };
const res = await mod.handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
writeFileSync(outFile, JSON.stringify(res));
`;

interface Invocation {
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
async function invokeBundle<T>(inv: Invocation): Promise<{ result: T; stdout: string }> {
  const base = join(inv.workDir, `invoke-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${base}.event.json`, JSON.stringify(inv.event));
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', RUN_HANDLER, inv.handlerFile, `${base}.event.json`, inv.requestId, `${base}.out.json`], {
    cwd: inv.unpacked,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...inv.env },
    timeout: 60_000,
  });
  return { result: JSON.parse(readFileSync(`${base}.out.json`, 'utf8')) as T, stdout };
}

/** The powertools JSON line with this message in a handler's stdout. */
function logLine(stdout: string, message: string): Record<string, unknown> | undefined {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.message === message);
}

/** A small lake: 3 developers, `days` days (ending `end`) of raw Firehose objects, generated by the CLI. */
async function generateLake(lake: string, end: string, days: number, seed: string): Promise<void> {
  await run(process.execPath, ['bin/cclake.mjs', 'generate', '--lake', lake, '--users', '3', '--days', String(days), '--end', end, '--seed', seed], {
    cwd: ROOT,
    timeout: 60_000,
  });
}

/** Every file under a directory, path -> contents (catalog files, commits, curated generations). */
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

type FunctionResource = Resource & { Properties: JsonObject };

/** The properties every cclake function declares: its handler file, Node 22, architecture, size. */
const functionBasics = (name: string, arch: 'arm64' | 'x86_64', memorySize: number, timeout: number) => ({
  Handler: `functions/${name}/handler.handler`,
  Runtime: 'nodejs22.x',
  Architectures: [arch],
  MemorySize: memorySize,
  Timeout: timeout,
});
const envOf = (f: FunctionResource) => (f.Properties.Environment as { Variables: Record<string, string> }).Variables;

describe('serverless package (osls + serverless-esbuild)', () => {
  let dir = '';
  let template: Template;
  let fn: FunctionResource;
  let compactFn: FunctionResource;
  let partitionsFn: FunctionResource;
  let rollupFn: FunctionResource;
  let publishFn: FunctionResource;
  let chargebackFn: FunctionResource;
  let evidenceFn: FunctionResource;
  let anomaliesFn: FunctionResource;
  let packageMs = 0;
  const unpacked = new Map<string, Promise<string>>();

  /** The function's zip, unpacked once into its own folder (tests share it). */
  function unpackFunction(f: FunctionResource, expectedZip: string): Promise<string> {
    const zipName = String((f.Properties.Code as JsonObject).S3Key).split('/').pop()!;
    expect(zipName).toBe(expectedZip);
    let done = unpacked.get(zipName);
    if (!done) {
      const dest = join(dir, `unpacked-${zipName.replace(/\.zip$/, '')}`);
      done = unzip(join(dir, 'pkg', zipName), dest).then(() => dest);
      unpacked.set(zipName, done);
    }
    return done;
  }

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
    const named = (name: string) => {
      const found = fns.find(([, r]) => r.Properties?.FunctionName === name);
      if (!found) throw new Error(`no ${name} in ${fns.map(([id]) => id).join(', ')}`);
      return found[1] as FunctionResource;
    };
    fn = named(FUNCTION_NAME);
    compactFn = named(COMPACT_NAME);
    partitionsFn = named(PARTITIONS_NAME);
    rollupFn = named(ROLLUP_NAME);
    publishFn = named(PUBLISH_NAME);
    chargebackFn = named(CHARGEBACK_NAME);
    evidenceFn = named(EVIDENCE_NAME);
    anomaliesFn = named(ANOMALIES_NAME);
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The function's own log group, created by the stack with the configured retention, before it. */
  function expectOwnLogGroup(f: FunctionResource, functionName: string, logGroupId: string): void {
    const group = template.Resources[logGroupId];
    expect(group?.Type).toBe('AWS::Logs::LogGroup');
    expect(group?.Properties).toMatchObject({ LogGroupName: `/aws/lambda/${functionName}`, RetentionInDays: 30 });
    expect(asList(f.DependsOn)).toContain(logGroupId);
  }

  it('declares the transform function: nodejs22.x on arm64, 256 MB, 60 s, its env', () => {
    expect(fn.Properties).toMatchObject({
      ...functionBasics('transform', 'arm64', 256, 60),
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'cclake-transform', CCLAKE_KEEP_CONTENT: 'false' } },
    });
    console.info(`osls package: ${packageMs} ms, transform.zip ${statSync(join(dir, 'pkg', 'transform.zip')).size} bytes`);
  });

  it('creates its log group with the configured retention', () => {
    expectOwnLogGroup(fn, FUNCTION_NAME, 'TransformLogGroup');
  });

  it('grants no wildcard actions; the transform role may only write its own logs', () => {
    const all = statements(template as unknown as Json);
    expect(all.length).toBeGreaterThan(0);
    for (const st of all) {
      expect(st.NotAction, JSON.stringify(st)).toBeUndefined();
      expect(st.NotResource, JSON.stringify(st)).toBeUndefined();
      // The framework's deployment-bucket policy denies s3:* without TLS; a Deny grants nothing.
      if (st.Effect === 'Deny') continue;
      expect(st.Effect).toBe('Allow');
      expect(asList(st.Action).filter(isWildcardAction), JSON.stringify(st)).toEqual([]);
      expect(asList(st.Resource), JSON.stringify(st)).not.toContain('*');
    }

    const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual([
      'AnomaliesRole',
      'AnomaliesSchedulerRole',
      'ChargebackRole',
      'ChargebackSchedulerRole',
      'CloudWatchToFirehoseRole',
      'CompactRole',
      'CompactSchedulerRole',
      'EvidenceRole',
      'EvidenceSchedulerRole',
      'FirehoseRole',
      'PartitionsRole',
      'PartitionsSchedulerRole',
      'PublishRole',
      'PublishSchedulerRole',
      'RollupRole',
      'RollupSchedulerRole',
      'TransformRole',
    ]);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['TransformRole', 'Arn'] });
    const allowed = statements(template.Resources.TransformRole!.Properties?.Policies ?? null).flatMap((st) => asList(st.Action));
    expect(allowed.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('scopes every Glue grant to the catalog, the lake database and named tables (never a wildcard table)', () => {
    const glue = statements(template as unknown as Json).filter((st) => asList(st.Action).some((a) => typeof a === 'string' && a.startsWith('glue:')));
    expect(glue.length).toBe(16); // compact-catalog, partitions-catalog, the five of rollup-catalog, publish-catalog, two each of chargeback- and evidence-catalog, the three of anomalies-catalog, Firehose's read of events_raw
    // Athena's documented `default` database grant is the one database outside the lake's.
    const allowed = [...glueTableArns('events_raw', 'events_curated', ...ROLLUPS, ANOMALIES_TABLE, ...SEEDS, ...VIEWS, 'bi_row_access'), glueArn('database/default')];
    for (const st of glue) {
      for (const a of asList(st.Action)) expect(String(a), JSON.stringify(st)).toMatch(/^glue:[A-Za-z]+$/);
      for (const r of asList(st.Resource)) expect(allowed, JSON.stringify(st)).toContainEqual(r);
      expect(JSON.stringify(st.Resource)).not.toMatch(/\*/);
    }
  });

  it('operates every scheduled function: failed runs to the SQS queue, alarms on errors and on duration near the timeout', () => {
    const alarms = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties!);
    const lambdaAlarm = (metric: string, functionName: string) =>
      alarms.find((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === metric && JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: functionName }]));
    for (const f of [fn, compactFn, partitionsFn, rollupFn, publishFn, chargebackFn, evidenceFn, anomaliesFn]) {
      const name = String(f.Properties.FunctionName);
      const errors = lambdaAlarm('Errors', name);
      expect(errors, name).toMatchObject({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: 'OpsAlarmTopic' }] });
      // Duration: 80% of the function's own timeout, in milliseconds.
      const duration = lambdaAlarm('Duration', name);
      expect(duration, name).toMatchObject({ Statistic: 'Maximum', Threshold: Number(f.Properties.Timeout) * 1000 * 0.8, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [{ Ref: 'OpsAlarmTopic' }] });
    }
    // Asynchronous (scheduled) invocations that fail after their retries go to the queue; the
    // function's own role may send there, and only there. The transform is invoked synchronously by Firehose.
    const invokeConfigs = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig').map((r) => r.Properties!);
    for (const [id, role] of [['CompactLambdaFunction', 'CompactRole'], ['PartitionsLambdaFunction', 'PartitionsRole'], ['RollupLambdaFunction', 'RollupRole'], ['PublishLambdaFunction', 'PublishRole'], ['ChargebackLambdaFunction', 'ChargebackRole'], ['EvidenceLambdaFunction', 'EvidenceRole'], ['AnomaliesLambdaFunction', 'AnomaliesRole']] as const) {
      expect(invokeConfigs.find((c) => JSON.stringify(c.FunctionName) === JSON.stringify({ Ref: id }))?.DestinationConfig, id).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': ['FailedRunsQueue', 'Arn'] } } });
      const sqs = statements(template.Resources[role]!.Properties?.Policies ?? null).filter((st) => asList(st.Action).some((a) => String(a).startsWith('sqs:')));
      expect(sqs, role).toEqual([{ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['FailedRunsQueue', 'Arn'] }] }]);
    }
    expect(invokeConfigs.some((c) => JSON.stringify(c.FunctionName).includes('Transform'))).toBe(false);
    expect(template.Resources.FailedRunsQueue?.Properties).toMatchObject({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    expect(alarms.find((a) => a.Namespace === 'AWS/SQS')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedRunsQueue', 'QueueName'] } }],
      Threshold: 1,
    });
    // Data freshness: from the compact function's EMF metrics (namespace cclake, dimension service);
    // silence is itself a failure there.
    const emf = (metric: string) => alarms.find((a) => a.Namespace === 'cclake' && a.MetricName === metric);
    expect(emf('RawFreshnessHours')).toMatchObject({ Dimensions: [{ Name: 'service', Value: 'cclake-compact' }], Threshold: 6, TreatMissingData: 'breaching' });
    expect(emf('CompactionBacklogHours')).toMatchObject({ Dimensions: [{ Name: 'service', Value: 'cclake-compact' }], Threshold: 3 });
    expect(emf('QuarantinedObjects')).toMatchObject({ Dimensions: [{ Name: 'service', Value: 'cclake-compact' }], Threshold: 1 });
    expect(emf('ProcessingFailed')).toMatchObject({ Dimensions: [{ Name: 'service', Value: 'cclake-transform' }], Threshold: 1 });
    for (const a of alarms) expect(a.AlarmActions, String(a.AlarmName)).toEqual([{ Ref: 'OpsAlarmTopic' }]);
  });

  it('creates the lake bucket when asked: encrypted, private, TLS-only, and lifecycle only where nothing catalogues', () => {
    const bucket = template.Resources.LakeBucket!;
    expect(bucket).toMatchObject({ Condition: 'CreateLakeBucket', DeletionPolicy: 'Retain' });
    expect(bucket.Properties).toMatchObject({
      BucketName: LAKE_BUCKET,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      ObjectLockEnabled: { 'Fn::If': ['LakeObjectLock', true, { Ref: 'AWS::NoValue' }] },
    });
    // (The Object Lock bucket's noncurrent-version rules, under Fn::If, are checked in test/iam-coverage.test.ts.)
    const rules = ((bucket.Properties!.LifecycleConfiguration as JsonObject).Rules as JsonObject[]).filter((r) => r.Id !== undefined).map((r) => [r.Prefix, r.ExpirationInDays ?? null]);
    // raw/, curated/ and rollups/ are never expired by lifecycle: the partitions function removes
    // their catalog partitions before their objects.
    expect(rules).toEqual([
      ['', null],
      ['quarantine/', 30],
      ['raw-errors/', 90],
      ['_cclake/athena-results/', 7],
    ]);
    const policy = template.Resources.LakeBucketPolicy!;
    expect(policy.Condition).toBe('CreateLakeBucket');
    expect(statements(policy.Properties!.PolicyDocument as Json)).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    expect((template as unknown as { Conditions: JsonObject }).Conditions.CreateLakeBucket).toEqual({ 'Fn::Equals': ['true', 'true'] });
  });

  it('declares the Glue database the jobs keep their tables in', () => {
    const dbs = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Glue::Database');
    expect(dbs.map(([id]) => id)).toEqual(['GlueDatabase']);
    expect(dbs[0]![1].Properties).toMatchObject({ CatalogId: { Ref: 'AWS::AccountId' }, DatabaseInput: { Name: GLUE_DATABASE } });
    // Tables and partitions are the code's (from schemas/ and the lake's commits), not the stack's,
    // but for the raw table Firehose needs before the first record (test/ingest-stack.test.ts).
    expect(Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Glue::Table' || r.Type === 'AWS::Glue::Partition').map(([id]) => id)).toEqual(['RawGlueTable']);
  });

  it('declares the compact function: x86_64 (DuckDB binding), 2048 MB, 900 s, 10 GiB /tmp, one at a time', () => {
    expect(compactFn.Properties).toMatchObject({
      ...functionBasics('compact', 'x86_64', 2048, 900),
      EphemeralStorage: { Size: 10240 },
      ReservedConcurrentExecutions: 1,
      Role: { 'Fn::GetAtt': ['CompactRole', 'Arn'] },
    });
    const vars = envOf(compactFn);
    expect(vars.POWERTOOLS_SERVICE_NAME).toBe('cclake-compact');
    // The default config: a minimal S3 lake in the stage's lake bucket, the same bucket the role
    // names, and the Glue database the stack creates.
    expect(JSON.parse(vars.CCLAKE_CONFIG!)).toEqual({
      lake: { s3: { bucket: LAKE_BUCKET, prefix: '' } },
      aws: { glueDatabase: GLUE_DATABASE, athena: { workgroup: ATHENA_WORKGROUP }, quicksight: { resourcePrefix: QUICKSIGHT_PREFIX } },
    });
    expect(vars.CCLAKE_KEEP_CONTENT).toBeUndefined();

    expectOwnLogGroup(compactFn, COMPACT_NAME, 'CompactLogGroup');
  });

  it.each([
    { job: 'partitions', why: 'no native module', memorySize: 512, timeout: 300 },
    { job: 'rollup', why: 'Athena, no DuckDB', memorySize: 1024, timeout: 900 },
    { job: 'publish', why: 'QuickSight API calls only', memorySize: 512, timeout: 900 },
    { job: 'chargeback', why: 'Athena, no DuckDB', memorySize: 1024, timeout: 900 },
    { job: 'evidence', why: 'Athena and pdf-lib, no DuckDB', memorySize: 1024, timeout: 600 },
    { job: 'anomalies', why: 'Athena, no DuckDB', memorySize: 1024, timeout: 900 },
  ])('declares the $job function: arm64 ($why), $memorySize MB, $timeout s, one at a time, the same config', ({ job, memorySize, timeout }) => {
    const f = { rollup: rollupFn, partitions: partitionsFn, publish: publishFn, chargeback: chargebackFn, evidence: evidenceFn, anomalies: anomaliesFn }[job]!;
    const id = job[0]!.toUpperCase() + job.slice(1);
    expect(f.Properties).toMatchObject({
      ...functionBasics(job, 'arm64', memorySize, timeout),
      ReservedConcurrentExecutions: 1,
      Role: { 'Fn::GetAtt': [`${id}Role`, 'Arn'] },
    });
    const vars = envOf(f);
    expect(vars.POWERTOOLS_SERVICE_NAME).toBe(`cclake-${job}`);
    expect(vars.CCLAKE_CONFIG).toBe(envOf(compactFn).CCLAKE_CONFIG);

    expectOwnLogGroup(f, `cclake-${STAGE}-${job}`, `${id}LogGroup`);
  });

  it('declares the Athena workgroup: engine version 3, results enforced into the lake bucket, a per-query scan cutoff', () => {
    expect(JSON.parse(envOf(rollupFn).CCLAKE_CONFIG!).aws.athena).toEqual({ workgroup: ATHENA_WORKGROUP });
    const groups = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Athena::WorkGroup');
    expect(groups.map(([id]) => id)).toEqual(['AthenaWorkGroup']);
    expect(groups[0]![1].Properties).toEqual({
      Name: ATHENA_WORKGROUP,
      Description: expect.any(String),
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        // A client's own result location or settings cannot override these (the config sends none:
        // it names the workgroup only).
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        // UNLOAD ... WITH (format = 'PARQUET', compression = 'ZSTD') needs engine version 3.
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        // Inside the lake prefix, where the rollup role may write (and nowhere else).
        ResultConfiguration: { OutputLocation: `s3://${LAKE_BUCKET}/_cclake/athena-results/` },
      },
    });
  });

  it.each([
    { job: 'compact', every: 'hourly', expression: 'cron(0 * * * ? *)', functionId: 'CompactLambdaFunction', roleId: 'CompactSchedulerRole' },
    // Half an hour after compaction starts: its 15-minute limit has passed, the lock is free.
    { job: 'partitions', every: 'hourly', expression: 'cron(30 * * * ? *)', functionId: 'PartitionsLambdaFunction', roleId: 'PartitionsSchedulerRole' },
    // Daily, after the 01:00 compaction (15 min) and the 01:30 catalog sync (5 min); done by the 02:00 compaction.
    { job: 'rollup', every: 'daily', expression: 'cron(40 1 * * ? *)', functionId: 'RollupLambdaFunction', roleId: 'RollupSchedulerRole' },
    // Daily, after the rollup (done by 01:55) and the anomalies run (02:20, done by 02:35): the datasets refresh from both.
    { job: 'publish', every: 'daily', expression: 'cron(45 2 * * ? *)', functionId: 'PublishLambdaFunction', roleId: 'PublishSchedulerRole' },
    // The 1st at 03:00: after the 01:40 rollup of the month's last day (reporting time zone UTC).
    { job: 'chargeback', every: 'monthly', expression: 'cron(0 3 1 * ? *)', functionId: 'ChargebackLambdaFunction', roleId: 'ChargebackSchedulerRole' },
    // Param evidenceSchedule's default: Mondays at 04:00, after the daily rollup.
    { job: 'evidence', every: 'scheduled', expression: 'cron(0 4 ? * MON *)', functionId: 'EvidenceLambdaFunction', roleId: 'EvidenceSchedulerRole' },
    // Daily, after the rollup (done by 01:55) and the 02:00 compaction (15 min); before the 02:30 catalog sync.
    { job: 'anomalies', every: 'daily', expression: 'cron(20 2 * * ? *)', functionId: 'AnomaliesLambdaFunction', roleId: 'AnomaliesSchedulerRole' },
  ])('runs $job $every ($expression, UTC) from EventBridge Scheduler, through a role that may only invoke it', ({ job, every, expression, functionId, roleId }) => {
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule')).toEqual([]);
    const schedules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    expect(schedules.length).toBe(7);
    const name = `cclake-${STAGE}-${job}-${every}`;
    const schedule = schedules.find((r) => r.Properties?.Name === name);
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': [functionId, 'Arn'] }, RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] }, Input: '{}' },
    });

    const role = template.Resources[roleId]!.Properties!;
    // Confused-deputy protection: only this account's schedule of that name may assume the role.
    expect(statements(role.AssumeRolePolicyDocument ?? null)).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule/default/${name}` } },
        },
      },
    ]);
    expect(statements(role.Policies ?? null)).toEqual([{ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [{ 'Fn::GetAtt': [functionId, 'Arn'] }] }]);
  });

  /**
   * A function role's statements (Sids left out), once its trust is checked to be Lambda's alone
   * and its first grant to be writing its own log group.
   */
  function functionRoleGrants(roleId: string, logGroupId: string): JsonObject[] {
    const role = template.Resources[roleId]!.Properties!;
    expect(statements(role.AssumeRolePolicyDocument ?? null)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const [logs, failedRuns, ...rest] = statements(role.Policies ?? null).map(({ Sid: _sid, ...st }) => st);
    expect(logs).toEqual({ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] });
    // The on-failure destination (asserted with the alarms).
    expect(failedRuns).toEqual({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['FailedRunsQueue', 'Arn'] }] });
    return rest;
  }
  const listLake = (prefixes: string[]) => ({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [lakeArn()], Condition: { StringLike: { 's3:prefix': prefixes } } });

  it('scopes the compact role to its log group, the lake prefixes compaction reads and writes, and the curated Glue table', () => {
    expect(functionRoleGrants('CompactRole', 'CompactLogGroup')).toEqual([
      // Unconditional: a GET of a missing commit must come back 404, not 403 (see serverless.yml).
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [lakeArn()] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['/curated/events/*', '/quarantine/*', '/_cclake/locks/compact/*', '/_cclake/compaction/*', '/_cclake/commits/*'].map(lakeArn),
      },
      // A multipart upload (lib-storage) that fails aborts itself.
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload'],
        Resource: ['/curated/events/*', '/quarantine/*', '/_cclake/locks/compact/*', '/_cclake/compaction/*', '/_cclake/commits/*'].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/curated/events/*', '/_cclake/locks/compact/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:CreateTable', 'glue:GetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        Resource: glueTableArns('events_curated'),
      },
    ]);
  });

  it('scopes the partitions role to its log group, the lock, the commits, retention deletes and its Glue tables', () => {
    expect(functionRoleGrants('PartitionsRole', 'PartitionsLogGroup')).toEqual([
      listLake(['raw/*', 'curated/events/*', 'rollups/*', 'anomalies/*', '_cclake/commits/*', '_cclake/locks/compact/*']),
      // It reads no data, only the lock and the commits.
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['/_cclake/locks/compact/*', '/_cclake/commits/*'].map(lakeArn) },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [lakeArn('/_cclake/locks/compact/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject'],
        Resource: ['/_cclake/locks/compact/*', '/raw/*', '/curated/events/*', '/rollups/*', '/anomalies/*', '/_cclake/commits/*'].map(lakeArn),
      },
      {
        Effect: 'Allow',
        Action: [
          'glue:GetTable',
          'glue:CreateTable',
          'glue:UpdateTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchCreatePartition',
          'glue:BatchUpdatePartition',
          'glue:BatchDeletePartition',
        ],
        Resource: glueTableArns('events_raw', 'events_curated', ...ROLLUPS, ANOMALIES_TABLE),
      },
    ]);
  });

  it('scopes the rollup role to its log group, its workgroup, the lake prefixes it and Athena write, and named Glue tables and views', () => {
    const commits = ROLLUPS.map((t) => `/_cclake/commits/${t}/*`);
    expect(functionRoleGrants('RollupRole', 'RollupLogGroup')).toEqual([
      // Unconditional listing (a missing ledger, state or commit reads as 404), plus what Athena
      // needs of a bucket it reads and writes.
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['/rollups/*', '/seeds/*', ...commits, '/_cclake/sql/*', '/_cclake/rollup/*', '/_cclake/locks/compact/*', '/_cclake/athena-results/*'].map(lakeArn),
      },
      // UNLOAD's parallel (multipart) writes, and the query results.
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: ['/rollups/*', '/_cclake/athena-results/*'].map(lakeArn) },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/rollups/*', '/_cclake/locks/compact/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
      },
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        Resource: glueTableArns(...ROLLUPS, ANOMALIES_TABLE, ...SEEDS),
      },
      // ensureTables: events_curated is created when absent and widened, its partitions left alone.
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: glueTableArns('events_curated') },
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        Resource: glueTableArns('events_curated', ...ROLLUPS, ANOMALIES_TABLE, ...SEEDS, ...VIEWS),
      },
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: glueTableArns(...VIEWS) },
      { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:CreateDatabase'], Resource: [glueArn('catalog'), glueArn('database/default')] },
    ]);
  });

  /** The grants the two export roles share: the lake's listing and reads, Athena's results, the export's own lock, its workgroup. */
  const exportRoleGrants = (job: 'chargeback' | 'evidence', outputs: JsonObject, tables: string[]) => [
    { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
    outputs,
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [lakeArn('/_cclake/athena-results/*')] },
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: [lakeArn(`/_cclake/locks/${job}/*`)] },
    {
      Effect: 'Allow',
      Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
      Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
    },
    { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'], Resource: glueTableArns(...tables) },
    { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:CreateDatabase'], Resource: [glueArn('catalog'), glueArn('database/default')] },
  ];

  it('scopes the chargeback role to reading the lake, writing exports/chargeback/ only, its workgroup and the two tables it queries', () => {
    expect(functionRoleGrants('ChargebackRole', 'ChargebackLogGroup')).toEqual(
      exportRoleGrants('chargeback', { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [lakeArn('/exports/chargeback/*')] }, ['chargeback_daily', 'token_burn_daily']),
    );
  });

  it('scopes the evidence role to writing reports/evidence/ only (with Object Lock retention), its workgroup and the tables and views it queries', () => {
    expect(functionRoleGrants('EvidenceRole', 'EvidenceLogGroup')).toEqual(
      exportRoleGrants(
        'evidence',
        { Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectRetention'], Resource: [lakeArn('/reports/evidence/*')] },
        ['events_curated', 'user_daily', 'compliance_daily', 'compliance_policy', 'events', 'compliance_findings'],
      ),
    );
  });

  it('scopes the anomalies role to its log group, the rollups it reads, its own lake prefixes, its Glue table, its workgroup and the alerts topic', () => {
    const topic = { 'Fn::If': ['CreateAlertsTopic', { Ref: 'AlertsTopic' }, ''] };
    expect(functionRoleGrants('AnomaliesRole', 'AnomaliesLogGroup')).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
      // No raw or curated data: the rollups (through Athena), the commits, its state and ledger, the lock, the query results.
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['/rollups/*', '/_cclake/commits/*', '/_cclake/anomalies/*', '/_cclake/locks/compact/*', '/_cclake/athena-results/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['/anomalies/*', `/_cclake/commits/${ANOMALIES_TABLE}/*`, '/_cclake/anomalies/*', '/_cclake/locks/compact/*', '/_cclake/athena-results/*'].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [lakeArn('/_cclake/athena-results/*')] },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/anomalies/*', '/_cclake/locks/compact/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
      },
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:GetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'], Resource: glueTableArns(ANOMALIES_TABLE) },
      // Exactly the tables the detector queries read.
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        Resource: glueTableArns(...[...new Set(Object.values(readDetectorSql(join(ROOT, 'sql'))).flatMap((q) => [...q.matchAll(/\bFROM\s+([a-z_]+_daily)\b/g)].map((m) => m[1]!)))].sort((a, b) => (ROLLUPS as string[]).indexOf(a) - (ROLLUPS as string[]).indexOf(b))),
      },
      { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:CreateDatabase'], Resource: [glueArn('catalog'), glueArn('database/default')] },
      { Effect: 'Allow', Action: ['sns:Publish'], Resource: [topic] },
    ]);
    // The topic: the stack's own unless param alertsTopicArn names one; encrypted with SNS's managed key.
    expect((template as unknown as { Conditions: JsonObject }).Conditions).toMatchObject({ CreateAlertsTopic: { 'Fn::Equals': ['', ''] } });
    expect(template.Resources.AlertsTopic).toEqual({
      Type: 'AWS::SNS::Topic',
      Condition: 'CreateAlertsTopic',
      Properties: { TopicName: `cclake-${STAGE}-alerts`, DisplayName: 'cclake alerts', KmsMasterKeyId: 'alias/aws/sns' },
    });
    expect(envOf(anomaliesFn).CCLAKE_ALERTS_TOPIC_ARN).toEqual(topic);
  });

  it('ships a self-contained ESM bundle that answers a Firehose transformation event', async () => {
    const dest = await unpackFunction(fn, 'transform.zip');
    const files = listFiles(dest).sort();
    expect(files).toEqual(['functions/transform/handler.mjs', 'functions/transform/handler.mjs.map']);
    // DuckDB is external for every function, but only the bundles that import it get its packages.
    expect(files.filter((f) => f.startsWith('node_modules/'))).toEqual([]);
    const handlerFile = join(dest, 'functions/transform/handler.mjs');
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
    const { result: res, stdout } = await invokeBundle<FirehoseTransformationResult>({
      unpacked: dest,
      handlerFile,
      event,
      requestId: 'transform-1',
      env: envOf(fn),
      workDir: dir,
    });
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
    expect(logLine(stdout, 'firehose transform')).toMatchObject({ service: 'cclake-transform', recordsIn: 2, ok: 1, processingFailed: 1, rowsOut: 2 });
  });

  /** Runs the bundled compact handler over a local lake, with the function's environment. */
  async function invokeCompact(lake: string, staging: string, requestId: string) {
    const dest = await unpackFunction(compactFn, 'compact.zip');
    return invokeBundle<Record<string, Json>>({
      unpacked: dest,
      handlerFile: join(dest, 'functions/compact/handler.mjs'),
      event: {},
      requestId,
      env: { ...envOf(compactFn), CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } } }), CCLAKE_TMP_DIR: staging /* Lambda: /tmp */ },
      workDir: dir,
    });
  }

  it('ships the compaction bundle with DuckDB linux-x64; it compacts a lake once, and a retry adds nothing', async () => {
    const dest = await unpackFunction(compactFn, 'compact.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/compact/handler.mjs', 'functions/compact/handler.mjs.map']);
    // Only DuckDB (and its libc probe) beside the bundle; the x64 glibc binding, no other platform's.
    expect(packagesIn(files)).toEqual(['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64', 'detect-libc']);
    const binding = join(dest, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node');
    expect(existsSync(binding)).toBe(true);
    expect(existsSync(join(dest, 'node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so'))).toBe(true);
    const elf = readFileSync(binding).subarray(0, 20);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(62); // e_machine EM_X86_64
    // The bundle imports DuckDB rather than inlining it.
    expect(readFileSync(join(dest, 'functions/compact/handler.mjs'), 'utf8')).toMatch(/from ["']@duckdb\/node-api["']/);
    const unzippedBytes = files.reduce((n, f) => n + statSync(join(dest, f)).size, 0);
    console.info(`compact.zip ${statSync(join(dir, 'pkg', 'compact.zip')).size} bytes (${unzippedBytes} unzipped; Lambda allows 262144000)`);
    expect(unzippedBytes).toBeLessThan(250 * 1024 * 1024);

    const lake = join(dir, 'lake');
    await generateLake(lake, '2026-11-20', 1, 's');
    const staging = join(dir, 'staging');
    mkdirSync(staging);

    const first = await invokeCompact(lake, staging, 'aaaabbbb-cccc');
    expect(first.result).toMatchObject({ runId: 'aaaabbbb', status: 'completed', quarantined: [], deferredDts: [], catalogPublished: 1, catalogErrors: [] });
    expect(first.result.rowsOut as number).toBeGreaterThan(0);
    expect(first.result.dts).toEqual([expect.objectContaining({ dt: '2026-11-20', generation: 1, newRows: first.result.rowsOut })]);
    expect(logLine(first.stdout, 'compaction run')).toMatchObject({ service: 'cclake-compact', status: 'completed', rowsOut: first.result.rowsOut });

    // The commit point of the date, and (a local lake) the local catalog pointed at it.
    const commits = snapshot(join(lake, '_cclake/commits'));
    const catalog = snapshot(join(lake, '_cclake/catalog'));
    const curated = snapshot(join(lake, 'curated'));
    expect(Object.keys(commits)).toEqual(['events_curated/dt=2026-11-20.json']);
    expect(Object.keys(catalog).sort()).toEqual(['cclake/events_curated/_table.json', 'cclake/events_curated/partitions/dt=2026-11-20.json']);
    expect(Object.keys(curated).length).toBeGreaterThan(0);

    // Lambda retries a failed asynchronous invocation with the same request id: nothing is redone.
    const retry = await invokeCompact(lake, staging, 'aaaabbbb-cccc');
    expect(retry.result).toMatchObject({ runId: 'aaaabbbb', status: 'completed', rowsOut: 0, dts: [] });
    expect(snapshot(join(lake, '_cclake/commits'))).toEqual(commits);
    expect(snapshot(join(lake, '_cclake/catalog'))).toEqual(catalog);
    expect(snapshot(join(lake, 'curated'))).toEqual(curated);
    // The lock was released and the staging folder cleaned up.
    expect(listFiles(join(lake, '_cclake')).filter((f) => f.startsWith('locks/'))).toEqual([]);
    expect(readdirSync(staging)).toEqual([]);
  }, 120_000);

  it('ships the partitions bundle without DuckDB; it rebuilds a lost local catalog from the lake, and a second run sends nothing', async () => {
    const dest = await unpackFunction(partitionsFn, 'partitions.zip');
    const files = listFiles(dest).sort();
    // Nothing beside the bundle: no DuckDB (or any other node_modules), so arm64 is fine.
    expect(files).toEqual(['functions/partitions/handler.mjs', 'functions/partitions/handler.mjs.map']);
    const handlerFile = join(dest, 'functions/partitions/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).not.toMatch(/@duckdb\//);
    expect(bundle).not.toMatch(/\bduckdb\.node\b/);
    console.info(`partitions.zip ${statSync(join(dir, 'pkg', 'partitions.zip')).size} bytes`);

    // A lake compacted by the bundled compactor: the four days up to two days back (inside every
    // default retention; four days hold at least two weekdays, when the generated developers work).
    const end = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const lake = join(dir, 'lake-partitions');
    await generateLake(lake, end, 4, 'p');
    const staging = join(dir, 'staging-partitions');
    mkdirSync(staging);
    const compacted = await invokeCompact(lake, staging, 'cccc0000-1111');
    expect(compacted.result).toMatchObject({ status: 'completed', catalogErrors: [] });
    const dts = (compacted.result.dts as { dt: string }[]).map((d) => d.dt).sort();
    expect(dts.length).toBeGreaterThan(0);
    const commitOf = (dt: string) => JSON.parse(readFileSync(join(lake, `_cclake/commits/events_curated/dt=${dt}.json`), 'utf8')) as { location: string; generation: number };
    // The catalog is lost (a new Glue database, a deleted folder): the lake alone must rebuild it.
    rmSync(join(lake, '_cclake/catalog'), { recursive: true, force: true });

    const env = { ...envOf(partitionsFn), CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } } }) };
    const invoke = (event: unknown, requestId: string) =>
      invokeBundle<{ status: string; runId: string; tables: Record<string, Json>[]; requests: { operation: string }[]; objectsDeleted: number; failures: Json[]; warnings: string[] }>({
        unpacked: dest,
        handlerFile,
        event,
        requestId,
        env,
        workDir: dir,
      });

    // A malformed event fails with a clear message, before touching anything.
    await expect(invoke({ dryRun: 'yes' }, 'bad00000-0000')).rejects.toThrow(/event\.dryRun must be true or false, got "yes"/);

    // A dry run: the requests it would send, and no change.
    const dry = await invoke({ dryRun: true }, 'dddd0000-0000');
    expect(dry.result.status).toBe('dry-run');
    // events_raw and events_curated with their partitions, then every rollup table (no commits yet).
    expect(dry.result.requests.map((r) => r.operation)).toEqual(['CreateTable', 'BatchCreatePartition', 'CreateTable', 'BatchCreatePartition', ...[...ROLLUPS, ANOMALIES_TABLE].map(() => 'CreateTable')]);
    expect(existsSync(join(lake, '_cclake/catalog'))).toBe(false);

    const first = await invoke({}, 'eeeeffff-0000');
    expect(first.result).toMatchObject({ runId: 'eeeeffff', status: 'completed', objectsDeleted: 0, failures: [], warnings: [] });
    const [raw, curatedTable] = first.result.tables;
    expect(raw).toMatchObject({ table: 'events_raw', tableAction: 'create', updated: 0, deleted: 0, unchanged: 0 });
    expect(raw!.created as number).toBeGreaterThan(0);
    expect(curatedTable).toMatchObject({ table: 'events_curated', tableAction: 'create', created: dts.length, updated: 0, deleted: 0, unchanged: 0 });
    expect(logLine(first.stdout, 'partitions run')).toMatchObject({
      service: 'cclake-partitions',
      status: 'completed',
      requests: first.result.requests.length,
      objectsDeleted: 0,
      failures: [],
      tables: first.result.tables,
    });

    // The local catalog lists the curated dates, each pointed at its committed generation, and one
    // raw partition per arrival hour.
    const root = join(lake, '_cclake/catalog', GLUE_DATABASE);
    expect(listFiles(join(root, 'events_curated')).sort()).toEqual(['_table.json', ...dts.map((dt) => `partitions/dt=${dt}.json`)]);
    for (const dt of dts) {
      const partition = JSON.parse(readFileSync(join(root, `events_curated/partitions/dt=${dt}.json`), 'utf8')) as Record<string, Json>;
      const commit = commitOf(dt);
      expect(partition).toMatchObject({ values: [dt], location: commit.location, parameters: { 'cclake.generation': String(commit.generation) } });
    }
    const rawPartitions = listFiles(join(root, 'events_raw/partitions'));
    expect(rawPartitions.length).toBe(raw!.created);
    for (const p of rawPartitions) expect(p).toMatch(/^year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\.json$/);

    // Nothing changed in the lake since: the next run sends no request and writes nothing.
    const catalog = snapshot(join(lake, '_cclake/catalog'));
    const second = await invoke({}, 'eeeeffff-1111');
    expect(second.result).toMatchObject({ status: 'completed', requests: [], objectsDeleted: 0, failures: [] });
    expect(second.result.tables.map((t) => [t.table, t.tableAction, t.created, t.updated, t.deleted])).toEqual(
      ['events_raw', 'events_curated', ...ROLLUPS, ANOMALIES_TABLE].map((table) => [table, 'unchanged', 0, 0, 0]),
    );
    expect(snapshot(join(lake, '_cclake/catalog'))).toEqual(catalog);
    expect(listFiles(join(lake, '_cclake')).filter((f) => f.startsWith('locks/'))).toEqual([]);
  }, 180_000);

  it('ships the rollup bundle with the SQL files and parquet-wasm where the bundled code finds them, and no DuckDB; it rejects a bad event', async () => {
    const dest = await unpackFunction(rollupFn, 'rollup.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/rollup/handler.mjs', 'functions/rollup/handler.mjs.map', 'data/prices/list-prices.csv', ...SQL_FILES].sort());
    // parquet-wasm alone beside the bundle (external: its Node entry loads the .wasm from its own folder).
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    expect(existsSync(join(dest, 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm'))).toBe(true);
    const handlerFile = join(dest, 'functions/rollup/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).toMatch(/from ["']parquet-wasm["']/);
    expect(bundle).not.toMatch(/@duckdb\//);
    expect(bundle).not.toMatch(/\bduckdb\.node\b/);
    // The shipped tree reads as the repository's: the same models and views, in the same order.
    const shipped = readSqlTree(join(dest, 'sql'));
    const repo = readSqlTree(join(ROOT, 'sql'));
    expect(shipped.models.map((m) => [m.file, m.table, m.version])).toEqual(repo.models.map((m) => [m.file, m.table, m.version]));
    expect(shipped.views.map((v) => v.file)).toEqual(repo.views.map((v) => v.file));
    console.info(`rollup.zip ${statSync(join(dir, 'pkg', 'rollup.zip')).size} bytes`);

    // Loaded like Lambda loads it (parquet-wasm's entry instantiates its .wasm as it loads), the
    // bundle resolves sql/ to the one in the zip; the parquet-wasm it resolves (from the unpacked
    // zip, as its own import does) encodes a table as Parquet and decodes it again.
    const ipc = join(dir, 'rollup-probe.arrows');
    writeFileSync(ipc, tableToIPC(tableFromArrays({ team: ['payments', 'search'] }), 'stream'));
    const handlerUrl = JSON.stringify(pathToFileURL(handlerFile).href);
    const probe = [
      `const mod = await import(${handlerUrl});`,
      `const { createRequire } = await import('node:module');`,
      `const { readFileSync } = await import('node:fs');`,
      `const pq = createRequire(${handlerUrl})('parquet-wasm');`,
      `const bytes = pq.writeParquet(pq.Table.fromIPCStream(readFileSync(${JSON.stringify(ipc)})));`,
      `const rows = pq.readParquet(bytes).recordBatches().reduce((n, b) => n + b.numRows, 0);`,
      `console.log(JSON.stringify({ sqlDir: mod.BUNDLED_SQL_DIR, entry: createRequire(${handlerUrl}).resolve('parquet-wasm'), magic: Buffer.from(bytes.subarray(0, 4)).toString('latin1'), rows }));`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: dest,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(rollupFn) },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      sqlDir: join(dest, 'sql/'),
      entry: join(dest, 'node_modules/parquet-wasm/node/parquet_wasm.js'),
      magic: 'PAR1',
      rows: 2,
    });

    const invoke = (event: unknown) =>
      invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'rollup00-0000', env: envOf(rollupFn), workDir: dir });
    // Malformed events fail with a clear message, before the config or AWS is touched.
    await expect(invoke({ dt: '2026-13-01' })).rejects.toThrow(/event\.dt must be a date YYYY-MM-DD, got "2026-13-01"/);
    await expect(invoke({ day: '2026-11-20' })).rejects.toThrow(/the rollup event accepts only "dt", "from" and "to", got "day"/);
    await expect(invoke({ from: '2026-11-20', to: '2026-11-01' })).rejects.toThrow(/event\.to 2026-11-01 is before event\.from 2026-11-20/);
  }, 120_000);
  it('scopes the publish role to its log group, its ledger and rules seed, the rules Glue table and the QuickSight ids with the stack prefix', () => {
    const qsArn = (kind: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:quicksight:\${AWS::Region}:\${AWS::AccountId}:${kind}/${QUICKSIGHT_PREFIX}*` });
    const grants = functionRoleGrants('PublishRole', 'PublishLogGroup');
    const [quicksight] = grants.splice(-1, 1);
    expect(grants).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [lakeArn()] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/_cclake/publish/*')] },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['/_cclake/publish/*', '/seeds/bi_row_access/*'].map(lakeArn) },
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: glueTableArns('bi_row_access') },
    ]);
    // Exactly the operations the adapter sends (QuickSight's IAM actions are named as its API), plus
    // the two pass-role style checks a dataset and a dashboard make on what they name.
    const sent = [...new Set(readFileSync(join(ROOT, 'functions/lib/publish/quicksight.ts'), 'utf8').match(/\b[A-Z][A-Za-z]+(?=Command\()/g)!)].map((op) => `quicksight:${op}`);
    expect({ ...quicksight, Action: (asList(quicksight!.Action) as string[]).slice().sort() }).toEqual({
      Effect: 'Allow',
      Action: [...sent, 'quicksight:PassDataSource', 'quicksight:PassDataSet'].sort(),
      Resource: [qsArn('datasource'), qsArn('dataset'), qsArn('dashboard')],
    });
  });

  it('ships the publish bundle with the definitions and parquet-wasm, no DuckDB, vega or browser; it rejects a bad event', async () => {
    const dest = await unpackFunction(publishFn, 'publish.zip');
    const files = listFiles(dest).sort();
    const templates = listFiles(join(ROOT, 'quicksight-templates')).filter((f) => f.endsWith('.json')).map((f) => `quicksight-templates/${f}`);
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/publish/handler.mjs', 'functions/publish/handler.mjs.map', ...templates].sort());
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    const handlerFile = join(dest, 'functions/publish/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    for (const absent of [/@duckdb\//, /playwright/, /vega-lite/]) expect(bundle).not.toMatch(absent);
    console.info(`publish.zip ${statSync(join(dir, 'pkg', 'publish.zip')).size} bytes`);
    // The bundle finds and checks the definitions shipped beside it.
    const probe = `const m = await import(${JSON.stringify(pathToFileURL(handlerFile).href)}); console.log(JSON.stringify({ dir: m.BUNDLED_TEMPLATES_DIR }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: dest, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(publishFn) }, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ dir: join(dest, 'quicksight-templates/') });
    const invoke = (event: unknown) => invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'publish0-0000', env: envOf(publishFn), workDir: dir });
    await expect(invoke({ dt: '2026-11-20' })).rejects.toThrow(/the publish event takes no fields, got "dt"/);
  });

  it.each([
    { job: 'chargeback', sql: ['models', 'exports'], packages: ['parquet-wasm'], bad: [{ month: '2026-13' }, /event\.month must be a month YYYY-MM, got "2026-13"/], unknown: [{ dt: '2026-11-01' }, /the chargeback event accepts only "month", got "dt"/] },
    { job: 'evidence', sql: ['models', 'views', 'exports'], packages: [], bad: [{ from: '2026-11-01' }, /event\.to must be a date YYYY-MM-DD \(give both from and to\), got undefined/], unknown: [{ month: '2026-11' }, /the evidence event accepts only "from" and "to", got "month"/] },
  ])('ships the $job bundle with its SQL and no DuckDB; it rejects bad events before touching AWS', async ({ job, sql, packages, bad, unknown }) => {
    const f = job === 'chargeback' ? chargebackFn : evidenceFn;
    const dest = await unpackFunction(f, `${job}.zip`);
    const files = listFiles(dest).sort();
    const expected = sql.flatMap((d) => (d === 'exports' ? EXPORT_SQL : sqlFilesIn(d)));
    expect(files.filter((x) => !x.startsWith('node_modules/'))).toEqual([`functions/${job}/handler.mjs`, `functions/${job}/handler.mjs.map`, ...expected].sort());
    expect(packagesIn(files)).toEqual(packages);
    const handlerFile = join(dest, `functions/${job}/handler.mjs`);
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).not.toMatch(/@duckdb\//);
    console.info(`${job}.zip ${statSync(join(dir, 'pkg', `${job}.zip`)).size} bytes`);
    // Loaded as Lambda loads it, the bundle finds sql/ in the zip.
    const handlerUrl = JSON.stringify(pathToFileURL(handlerFile).href);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${handlerUrl}); console.log(JSON.stringify({ sqlDir: m.BUNDLED_SQL_DIR }));`], {
      cwd: dest,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(f) },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ sqlDir: join(dest, 'sql/') });
    const invoke = (event: unknown) => invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: `${job}00-0000`, env: envOf(f), workDir: dir });
    await expect(invoke(bad[0])).rejects.toThrow(bad[1] as RegExp);
    await expect(invoke(unknown[0])).rejects.toThrow(unknown[1] as RegExp);
  });

  it('ships the anomalies bundle with the detector queries and parquet-wasm, and no DuckDB; it rejects a bad event and a missing topic', async () => {
    const dest = await unpackFunction(anomaliesFn, 'anomalies.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/anomalies/handler.mjs', 'functions/anomalies/handler.mjs.map', ...DETECTOR_FILES].sort());
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    const handlerFile = join(dest, 'functions/anomalies/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).toMatch(/from ["']parquet-wasm["']/);
    expect(bundle).not.toMatch(/@duckdb\//);
    // The queries read back from the zip as the repository has them.
    expect(readDetectorSql(join(dest, 'sql'))).toEqual(readDetectorSql(join(ROOT, 'sql')));
    console.info(`anomalies.zip ${statSync(join(dir, 'pkg', 'anomalies.zip')).size} bytes`);

    const env = { ...Object.fromEntries(Object.entries(envOf(anomaliesFn)).filter(([, v]) => typeof v === 'string')), AWS_REGION: 'us-east-1' };
    const invoke = (event: unknown, extra: Record<string, string> = {}) =>
      invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'anomal00-0000', env: { ...env, ...extra }, workDir: dir });
    await expect(invoke({ dt: '2026-13-01' })).rejects.toThrow(/event\.dt must be a date YYYY-MM-DD, got "2026-13-01"/);
    await expect(invoke({ day: '2026-11-20' })).rejects.toThrow(/the anomalies event accepts only "dt", "from" and "to", got "day"/);
    // Deployed, the stack always sets the topic; without it the function refuses to run rather than drop alerts.
    await expect(invoke({})).rejects.toThrow(/no SNS topic for alerts/);
  }, 120_000);
});
