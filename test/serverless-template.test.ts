/**
 * The packaged CloudFormation template (osls package of serverless.yml, packaged once per content by
 * test/helpers/packaged-stack.ts): every function's runtime, size, environment and log group; the
 * scheduled functions' operations (failed-runs queue, alarms); the lake bucket, Glue database and
 * Athena workgroup; and each role's grants, scoped to named prefixes, tables and ids. The bundles
 * themselves are test/serverless-bundles.test.ts's; the IAM coverage of the code is
 * test/iam-coverage.test.ts's.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDetectorSql } from '../functions/lib/anomalies/queries';
import { BILL_LINES } from '../schemas/bills';
import { REIDENTIFICATION } from '../schemas/reidentification';
import {
  ANOMALIES_TABLE,
  ATHENA_WORKGROUP,
  COMPACT_NAME,
  FUNCTION_NAME,
  type FunctionResource,
  GLUE_DATABASE,
  type Json,
  type JsonObject,
  LAKE_BUCKET,
  QUICKSIGHT_PREFIX,
  ROLLUPS,
  ROOT,
  SEEDS,
  STAGE,
  type Template,
  VIEWS,
  asList,
  envOf,
  functionBasics,
  glueArn,
  glueTableArns,
  isWildcardAction,
  lakeArn,
  loadStack,
  statements,
} from './helpers/serverless-stack';

/** The imported bill lines (schemas/bills.ts): a generation table like the anomalies. */
const BILL_LINES_TABLE = BILL_LINES.name;

/**
 * Privacy mode's HMAC key (functions/lib/privacy/key.ts), read by the compact and rollup roles: SSM
 * parameters under param privacyKeyPath (`cclake/<stage>/` by default), and Secrets Manager secrets
 * under it through Parameter Store's /aws/reference/secretsmanager/ path, which needs both grants.
 */
const PRIVACY_KEY_GRANTS = [
  {
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    Resource: [
      { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/cclake/${STAGE}/*` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/aws/reference/secretsmanager/cclake/${STAGE}/*` },
    ],
  },
  {
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue'],
    Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:cclake/${STAGE}/*` }],
  },
];
/** The re-identification table's objects: no lake-wide reader but the compactor may read them (README "Privacy"). */
const DENY_REIDENTIFICATION = { Effect: 'Deny', Action: ['s3:GetObject'], Resource: [lakeArn('/reidentify/*')] };

describe('serverless package: the template', () => {
  let pkgDir = '';
  let template: Template;
  let fn: FunctionResource;
  let compactFn: FunctionResource;
  let partitionsFn: FunctionResource;
  let rollupFn: FunctionResource;
  let publishFn: FunctionResource;
  let chargebackFn: FunctionResource;
  let importBillFn: FunctionResource;
  let evidenceFn: FunctionResource;
  let anomaliesFn: FunctionResource;
  let packageMs = 0;

  beforeAll(async () => {
    const stack = await loadStack();
    ({ dir: pkgDir, template, packageMs } = stack);
    ({ fn, compactFn, partitionsFn, rollupFn, publishFn, chargebackFn, evidenceFn, anomaliesFn, importBillFn } = stack.functions);
  }, 600_000);

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
    console.info(`osls package (or its cache): ${packageMs} ms, transform.zip ${statSync(join(pkgDir, 'transform.zip')).size} bytes`);
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
      'EraseRole',
      'EvidenceRole',
      'EvidenceSchedulerRole',
      'FirehoseRole',
      'ImportBillRole',
      'ImportBillSchedulerRole',
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
    expect(glue.length).toBe(20); // the two of compact-catalog (events_curated; creating reidentification), partitions-catalog, the five of rollup-catalog, publish-catalog, two each of chargeback- and evidence-catalog, the three of anomalies-catalog, erase-catalog, import-bill-catalog, Firehose's read of events_raw, ReidentificationReaderPolicy's read of reidentification
    // Athena's documented `default` database grant is the one database outside the lake's.
    const allowed = [
      ...glueTableArns(
        'events_raw',
        'events_curated',
        ...ROLLUPS,
        ANOMALIES_TABLE,
        ...SEEDS,
        ...VIEWS,
        'events_tail',
        'intraday_user_daily',
        'bi_row_access',
        BILL_LINES.name,
        REIDENTIFICATION.name,
      ),
      glueArn('database/default'),
    ];
    for (const st of glue) {
      for (const a of asList(st.Action)) expect(String(a), JSON.stringify(st)).toMatch(/^glue:[A-Za-z]+$/);
      for (const r of asList(st.Resource)) expect(allowed, JSON.stringify(st)).toContainEqual(r);
      expect(JSON.stringify(st.Resource)).not.toMatch(/\*/);
    }
    // The re-identification table is named by the compactor (which creates it) and the reader policy only.
    const reidentificationTable = glueArn(`table/${GLUE_DATABASE}/${REIDENTIFICATION.name}`);
    expect(
      glue
        .filter((st) => asList(st.Resource).some((r) => JSON.stringify(r) === JSON.stringify(reidentificationTable)))
        .map(({ Sid, Action }) => ({ Sid, Action })),
    ).toEqual([
      { Sid: 'KeepReidentificationTable', Action: ['glue:GetTable', 'glue:CreateTable'] },
      { Sid: 'ReidentificationTable', Action: ['glue:GetDatabase', 'glue:GetTable'] },
    ]);
  });

  it('operates every scheduled function: failed runs to the SQS queue, alarms on errors and on duration near the timeout', () => {
    const alarms = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties!);
    const lambdaAlarm = (metric: string, functionName: string) =>
      alarms.find(
        (a) =>
          a.Namespace === 'AWS/Lambda' &&
          a.MetricName === metric &&
          JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: functionName }]),
      );
    for (const f of [fn, compactFn, partitionsFn, rollupFn, publishFn, chargebackFn, evidenceFn, anomaliesFn, importBillFn]) {
      const name = String(f.Properties.FunctionName);
      const errors = lambdaAlarm('Errors', name);
      expect(errors, name).toMatchObject({
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'OpsAlarmTopic' }],
      });
      // Duration: 80% of the function's own timeout, in milliseconds.
      const duration = lambdaAlarm('Duration', name);
      expect(duration, name).toMatchObject({
        Statistic: 'Maximum',
        Threshold: Number(f.Properties.Timeout) * 1000 * 0.8,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: 'OpsAlarmTopic' }],
      });
    }
    // Asynchronous (scheduled) invocations that fail after their retries go to the queue; the
    // function's own role may send there, and only there. The transform is invoked synchronously by Firehose.
    const invokeConfigs = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')
      .map((r) => r.Properties!);
    for (const [id, role] of [
      ['CompactLambdaFunction', 'CompactRole'],
      ['PartitionsLambdaFunction', 'PartitionsRole'],
      ['RollupLambdaFunction', 'RollupRole'],
      ['PublishLambdaFunction', 'PublishRole'],
      ['ChargebackLambdaFunction', 'ChargebackRole'],
      ['EvidenceLambdaFunction', 'EvidenceRole'],
      ['AnomaliesLambdaFunction', 'AnomaliesRole'],
      ['ImportBillLambdaFunction', 'ImportBillRole'],
    ] as const) {
      expect(invokeConfigs.find((c) => JSON.stringify(c.FunctionName) === JSON.stringify({ Ref: id }))?.DestinationConfig, id).toEqual({
        OnFailure: { Destination: { 'Fn::GetAtt': ['FailedRunsQueue', 'Arn'] } },
      });
      const sqs = statements(template.Resources[role]!.Properties?.Policies ?? null).filter((st) =>
        asList(st.Action).some((a) => String(a).startsWith('sqs:')),
      );
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

  it('creates the lake bucket when asked: encrypted, private, TLS-only, and lifecycle only where nothing catalogues but raw/ (its retention)', () => {
    const bucket = template.Resources.LakeBucket!;
    expect(bucket).toMatchObject({ Condition: 'CreateLakeBucket', DeletionPolicy: 'Retain' });
    expect(bucket.Properties).toMatchObject({
      BucketName: LAKE_BUCKET,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      ObjectLockEnabled: { 'Fn::If': ['LakeObjectLock', true, { Ref: 'AWS::NoValue' }] },
    });
    // (The Object Lock bucket's noncurrent-version rules, under Fn::If, are checked in test/iam-coverage.test.ts.)
    const rules = ((bucket.Properties!.LifecycleConfiguration as JsonObject).Rules as JsonObject[])
      .filter((r) => r.Id !== undefined)
      .map((r) => [r.Prefix, r.ExpirationInDays ?? null]);
    // curated/ and rollups/ are never expired by lifecycle: the partitions function removes their
    // catalog partitions before their objects. raw/ is (expire-raw, param rawDays, README "Privacy"):
    // it holds identities as they arrived, and the rule is the guarantee behind retention.rawDays
    // (the partitions function and compaction have deleted them by then already).
    expect(rules).toEqual([
      ['', null],
      ['quarantine/', 30],
      ['raw-errors/', 90],
      ['raw/', 90],
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
    expect(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::Glue::Table' || r.Type === 'AWS::Glue::Partition')
        .map(([id]) => id),
    ).toEqual(['RawGlueTable']);
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
    // Daily in the lake lock's quiet window: after the 02:30 catalog sync (5 min), before the 03:00 compaction and, on the 1st, the chargeback.
    { job: 'import-bill', every: 'daily', expression: 'cron(40 2 * * ? *)', functionId: 'ImportBillLambdaFunction', roleId: 'ImportBillSchedulerRole' },
  ])(
    'runs $job $every ($expression, UTC) from EventBridge Scheduler, through a role that may only invoke it',
    ({ job, every, expression, functionId, roleId }) => {
      expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule')).toEqual([]);
      const schedules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
      expect(schedules.length).toBe(9);
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
      expect(statements(role.Policies ?? null)).toEqual([
        { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [{ 'Fn::GetAtt': [functionId, 'Arn'] }] },
      ]);
    },
  );

  /**
   * A function role's statements (Sids left out), once its trust is checked to be Lambda's alone,
   * its first grant to be writing its own log group and its next (after the statements `beforeFailedRuns`,
   * exactly) the on-failure destination.
   */
  function functionRoleGrants(roleId: string, logGroupId: string, beforeFailedRuns: JsonObject[] = []): JsonObject[] {
    const role = template.Resources[roleId]!.Properties!;
    expect(statements(role.AssumeRolePolicyDocument ?? null)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const [logs, ...others] = statements(role.Policies ?? null).map(({ Sid: _sid, ...st }) => st);
    expect(logs).toEqual({ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] });
    expect(others.slice(0, beforeFailedRuns.length)).toEqual(beforeFailedRuns);
    const [failedRuns, ...rest] = others.slice(beforeFailedRuns.length);
    // The on-failure destination (asserted with the alarms).
    expect(failedRuns).toEqual({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['FailedRunsQueue', 'Arn'] }] });
    return rest;
  }
  const listLake = (prefixes: string[]) => ({
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: [lakeArn()],
    Condition: { StringLike: { 's3:prefix': prefixes } },
  });

  it('scopes the compact role to its log group, the lake prefixes compaction reads and writes, and the curated Glue table', () => {
    expect(functionRoleGrants('CompactRole', 'CompactLogGroup')).toEqual([
      // Unconditional: a GET of a missing commit must come back 404, not 403 (see serverless.yml).
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [lakeArn()] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
      // reidentify/: privacy mode's re-identification table, appended to before the curated
      // generation carrying the new pseudonyms is committed (compaction/pseudonymise.ts).
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['/curated/events/*', '/quarantine/*', '/_cclake/locks/compact/*', '/_cclake/compaction/*', '/_cclake/commits/*', '/reidentify/*'].map(
          lakeArn,
        ),
      },
      // A multipart upload (lib-storage) that fails aborts itself.
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload'],
        Resource: ['/curated/events/*', '/quarantine/*', '/_cclake/locks/compact/*', '/_cclake/compaction/*', '/_cclake/commits/*', '/reidentify/*'].map(
          lakeArn,
        ),
      },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/curated/events/*', '/_cclake/locks/compact/*'].map(lakeArn) },
      // Raw retention (compaction/raw-retention.ts): the raw objects it has finished, past retention.rawDays.
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: [lakeArn('/raw/*')] },
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:CreateTable', 'glue:GetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        Resource: glueTableArns('events_curated'),
      },
      // The re-identification table, created when absent (not partitioned, never updated).
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable'], Resource: glueTableArns(REIDENTIFICATION.name) },
      ...PRIVACY_KEY_GRANTS,
    ]);
  });

  it('scopes the partitions role to its log group, the lock, the commits, retention deletes and its Glue tables', () => {
    expect(functionRoleGrants('PartitionsRole', 'PartitionsLogGroup')).toEqual([
      listLake(['raw/*', 'curated/events/*', 'rollups/*', 'anomalies/*', 'bills/lines/*', '_cclake/commits/*', '_cclake/locks/compact/*']),
      // It reads no data, only the lock and the commits.
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['/_cclake/locks/compact/*', '/_cclake/commits/*'].map(lakeArn) },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [lakeArn('/_cclake/locks/compact/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject'],
        Resource: ['/_cclake/locks/compact/*', '/raw/*', '/curated/events/*', '/rollups/*', '/anomalies/*', '/bills/lines/*', '/_cclake/commits/*'].map(
          lakeArn,
        ),
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
        Resource: glueTableArns('events_raw', 'events_curated', ...ROLLUPS, ANOMALIES_TABLE, BILL_LINES_TABLE, 'intraday_user_daily'),
      },
    ]);
  });

  it('runs the intraday rollup every hour at minute 45, 01:45 too (it does not wait for the lake lock), with input {"intraday": true}', () => {
    const schedule = Object.values(template.Resources).find((r) => r.Properties?.Name === `cclake-${STAGE}-rollup-intraday`);
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'cron(45 * * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: { Arn: { 'Fn::GetAtt': ['RollupLambdaFunction', 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['RollupSchedulerRole', 'Arn'] }, Input: '{"intraday":true}' },
    });
  });

  it('scopes the rollup role to its log group, its workgroup, the lake prefixes it and Athena write, and named Glue tables and views', () => {
    const commits = [...ROLLUPS, 'intraday_user_daily'].map((t) => `/_cclake/commits/${t}/*`);
    // events_tail: the view every rollup run re-creates over events_raw (issue 20, freshness).
    const views = ['events', 'events_tail', ...VIEWS.filter((v) => v !== 'events')];
    // The privacy key (rollup-privacy-key, before the on-failure destination): the seeds
    // pseudonymise the org directory with it.
    expect(functionRoleGrants('RollupRole', 'RollupLogGroup', PRIVACY_KEY_GRANTS)).toEqual([
      // Unconditional listing (a missing ledger, state or commit reads as 404), plus what Athena
      // needs of a bucket it reads and writes.
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
      DENY_REIDENTIFICATION,
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [
          '/rollups/*',
          '/seeds/*',
          ...commits,
          '/_cclake/sql/*',
          '/_cclake/rollup/*',
          '/_cclake/locks/compact/*',
          '/_cclake/locks/intraday/*',
          '/_cclake/athena-results/*',
        ].map(lakeArn),
      },
      // UNLOAD's parallel (multipart) writes, and the query results.
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: ['/rollups/*', '/_cclake/athena-results/*'].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/rollups/*', '/_cclake/locks/compact/*', '/_cclake/locks/intraday/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
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
        ],
        Resource: glueTableArns(...ROLLUPS, ANOMALIES_TABLE, BILL_LINES_TABLE, 'intraday_user_daily', ...SEEDS),
      },
      // ensureTables: events_curated is created when absent and widened, its partitions left alone.
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: glueTableArns('events_curated') },
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        Resource: glueTableArns('events_curated', 'events_raw', 'intraday_user_daily', ...ROLLUPS, ANOMALIES_TABLE, BILL_LINES_TABLE, ...SEEDS, ...views),
      },
      { Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: glueTableArns(...views) },
      { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:CreateDatabase'], Resource: [glueArn('catalog'), glueArn('database/default')] },
    ]);
  });

  /**
   * The grants the two export roles share: the lake's listing and reads (but the re-identification
   * table's), Athena's results, the export's own lock, its workgroup.
   */
  const exportRoleGrants = (job: 'chargeback' | 'evidence', outputs: JsonObject, tables: string[]) => [
    { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/*')] },
    DENY_REIDENTIFICATION,
    outputs,
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [lakeArn('/_cclake/athena-results/*')] },
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: [lakeArn(`/_cclake/locks/${job}/*`)] },
    {
      Effect: 'Allow',
      Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
      Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
    },
    {
      Effect: 'Allow',
      Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
      Resource: glueTableArns(...tables),
    },
    { Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:CreateDatabase'], Resource: [glueArn('catalog'), glueArn('database/default')] },
  ];

  it('scopes the chargeback role to reading the lake, writing exports/chargeback/ only, its workgroup and the three tables it queries', () => {
    expect(functionRoleGrants('ChargebackRole', 'ChargebackLogGroup')).toEqual(
      exportRoleGrants('chargeback', { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [lakeArn('/exports/chargeback/*')] }, [
        'chargeback_daily',
        'token_burn_daily',
        BILL_LINES.name,
      ]),
    );
  });

  it('scopes the evidence role to writing reports/evidence/ only (with Object Lock retention), its workgroup and the tables and views it queries', () => {
    expect(functionRoleGrants('EvidenceRole', 'EvidenceLogGroup')).toEqual(
      exportRoleGrants('evidence', { Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectRetention'], Resource: [lakeArn('/reports/evidence/*')] }, [
        'events_curated',
        'user_daily',
        'compliance_daily',
        'compliance_policy',
        'events',
        'compliance_findings',
      ]),
    );
  });

  it('declares the importBill function: arm64 (no DuckDB), 2048 MB, 600 s, one at a time, the same config', () => {
    expect(importBillFn.Properties).toMatchObject({
      Handler: 'functions/import-bill/handler.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 2048,
      Timeout: 600,
      ReservedConcurrentExecutions: 1,
      Role: { 'Fn::GetAtt': ['ImportBillRole', 'Arn'] },
    });
    expect(envOf(importBillFn).POWERTOOLS_SERVICE_NAME).toBe('cclake-import-bill');
    expect(envOf(importBillFn).CCLAKE_CONFIG).toBe(envOf(compactFn).CCLAKE_CONFIG);
  });

  it('scopes the importBill role to the billing exports prefix (read), the bill_lines objects, commits, its state and the lake lock, and the bill_lines Glue table', () => {
    const sources = (suffix = '') => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::cclake-${STAGE}-billing-exports${suffix}` });
    expect(functionRoleGrants('ImportBillRole', 'ImportBillLogGroup')).toEqual([
      // The default billSourcePrefix is "": the whole billing exports bucket.
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [sources()], Condition: { StringLike: { 's3:prefix': ['*'] } } },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [sources('/*')] },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [lakeArn()] },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: ['/bills/lines/*', '/_cclake/generations/retired/bill_lines/*', '/_cclake/locks/compact/*'].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: ['/_cclake/commits/bill_lines/*', '/_cclake/bills/sources/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:CreateTable', 'glue:GetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        Resource: glueTableArns(BILL_LINES.name),
      },
    ]);
  });

  it('declares the ReidentificationReaderPolicy: listing and reading reidentify/ and the reidentification table only, attached to no one by the stack', () => {
    // Privacy mode (README "Privacy"): for the operator to attach to finance's and compliance's
    // principals; the function roles that read the whole lake are denied reidentify/ instead.
    expect(template.Resources.ReidentificationReaderPolicy).toEqual({
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        Description: expect.any(String),
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ListReidentification',
              Effect: 'Allow',
              Action: ['s3:ListBucket'],
              Resource: [lakeArn()],
              Condition: { StringLike: { 's3:prefix': ['reidentify/*'] } },
            },
            { Sid: 'ReadReidentification', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [lakeArn('/reidentify/*')] },
            { Sid: 'ReidentificationTable', Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:GetTable'], Resource: glueTableArns(REIDENTIFICATION.name) },
          ],
        },
      },
    });
  });

  it('scopes the anomalies role to its log group, the rollups it reads, its own lake prefixes, its Glue table, its workgroup and the alerts topic', () => {
    const detectorRollups = [
      ...new Set(Object.values(readDetectorSql(join(ROOT, 'sql'))).flatMap((q) => [...q.matchAll(/\bFROM\s+([a-z_]+_daily)\b/g)].map((m) => m[1]!))),
    ];
    // The one view a detector reads; anything else it names must be a rollup table.
    expect(detectorRollups.filter((t) => !(ROLLUPS as string[]).includes(t))).toEqual(['budget_forecast_daily']);
    const topic = { 'Fn::If': ['CreateAlertsTopic', { Ref: 'AlertsTopic' }, ''] };
    expect(functionRoleGrants('AnomaliesRole', 'AnomaliesLogGroup')).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'], Resource: [lakeArn()] },
      // No raw or curated data: the rollups (through Athena), the commits, its state and ledger, the lock, the query results.
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [
          '/rollups/*',
          '/seeds/budgets/*',
          '/bills/lines/*',
          '/_cclake/commits/*',
          '/_cclake/anomalies/*',
          '/_cclake/locks/compact/*',
          '/_cclake/athena-results/*',
        ].map(lakeArn),
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [
          '/anomalies/*',
          `/_cclake/commits/${ANOMALIES_TABLE}/*`,
          '/_cclake/anomalies/*',
          '/_cclake/locks/compact/*',
          '/_cclake/athena-results/*',
        ].map(lakeArn),
      },
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [lakeArn('/_cclake/athena-results/*')] },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['/anomalies/*', '/_cclake/locks/compact/*'].map(lakeArn) },
      {
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:athena:\${AWS::Region}:\${AWS::AccountId}:workgroup/${ATHENA_WORKGROUP}` }],
      },
      {
        Effect: 'Allow',
        Action: ['glue:GetTable', 'glue:CreateTable', 'glue:GetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        Resource: glueTableArns(ANOMALIES_TABLE),
      },
      // Exactly the tables the detector queries read, and the view budget_spend reads (user_daily,
      // which spike_series reads too, the view rollup_days and the seed budgets behind it), then
      // bill_variance's view with the view and tables it reads through.
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        Resource: glueTableArns(
          ...detectorRollups
            .filter((t) => (ROLLUPS as string[]).includes(t))
            .sort((a, b) => (ROLLUPS as string[]).indexOf(a) - (ROLLUPS as string[]).indexOf(b)),
          'budget_forecast_daily',
          'rollup_days',
          'budgets',
          'token_burn_daily',
          'chargeback_daily',
          BILL_LINES_TABLE,
          'telemetry_cost_monthly',
          'bill_reconciliation_monthly',
        ),
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
    const sent = [...new Set(readFileSync(join(ROOT, 'functions/lib/publish/quicksight.ts'), 'utf8').match(/\b[A-Z][A-Za-z]+(?=Command\()/g)!)].map(
      (op) => `quicksight:${op}`,
    );
    expect({ ...quicksight, Action: (asList(quicksight!.Action) as string[]).slice().sort() }).toEqual({
      Effect: 'Allow',
      Action: [...sent, 'quicksight:PassDataSource', 'quicksight:PassDataSet'].sort(),
      Resource: [qsArn('datasource'), qsArn('dataset'), qsArn('dashboard')],
    });
  });
});
