/**
 * `cclake doctor` against an in-memory AWS account behind mocked SDK clients (every request the
 * doctor sends is validated against the service models first): a healthy account passes every check;
 * each check reports missing, wrong or unreadable state with its fix; the doctor only ever reads; no
 * credentials or no region stop it with exit 2. The CLI is run in-process through `main`, with the
 * real client factory and the real default credential provider chain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AthenaClient, GetWorkGroupCommand, InvalidRequestException, type WorkGroup } from '@aws-sdk/client-athena';
import { EntityNotFoundException, GetDatabaseCommand, GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { IAMClient, NoSuchEntityException, SimulatePrincipalPolicyCommand, type EvaluationResult } from '@aws-sdk/client-iam';
import {
  DescribeAccountSubscriptionCommand,
  DescribeGroupCommand,
  DescribeNamespaceCommand,
  DescribeUserCommand,
  QuickSightClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-quicksight';
import { GetBucketLocationCommand, GetObjectLockConfigurationCommand, NoSuchBucket, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, NotFoundException, SNSClient } from '@aws-sdk/client-sns';
import { ExpiredTokenException, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { parseConfig } from '../functions/lib/config/load';
import type { ConfigInput } from '../functions/lib/config/schema';
import { DoctorSetupError, NO_CREDENTIALS_MESSAGE, runDoctor, type CheckResult, type DoctorClients, type DoctorOptions } from '../functions/lib/doctor/checks';
import { modelCheckedMock } from './helpers/aws-model';

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const BUCKET = 'acme-cclake-lake';
const WG = 'cclake-prod';
const DB = 'cclake';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/service-role/aws-quicksight-service-role-v0`;
const RESULTS = `s3://${BUCKET}/_cclake/athena-results/`;
/** QuickSight's identity region, where its users and groups live (not the lake's region). */
const IDENTITY_REGION = 'us-east-1';
const VIEWERS = `arn:aws:quicksight:${IDENTITY_REGION}:${ACCOUNT}:group/default/eng-leads`;
const OWNER = `arn:aws:quicksight:${IDENTITY_REGION}:${ACCOUNT}:user/default/bi-admin`;

const meta = { $metadata: {} };

/** The account the mocks answer from; each test breaks one thing. */
interface Account {
  buckets: Map<string, { location: string; objectLock?: 'Enabled'; defaultRetention?: { Mode: 'COMPLIANCE' | 'GOVERNANCE'; Days: number } }>;
  workgroups: Map<string, WorkGroup>;
  databases: Map<string, Set<string>>;
  quicksight: { edition: string; status: string } | null;
  namespaces: Set<string>;
  /** QuickSight users and groups, as `user/<namespace>/<name>` or `group/<namespace>/<name>`. */
  principals: Set<string>;
  /** Per role ARN, the (action, resource glob) pairs its identity policies allow. */
  roles: Map<string, { action: string; resource: string }[]>;
  topics: Map<string, { confirmed: number; pending: number }>;
  /** Operations answered with AccessDenied. */
  denied: Set<string>;
}

const FULL_QUICKSIGHT_ROLE = [
  { action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}` },
  { action: 's3:GetBucketLocation', resource: `arn:aws:s3:::${BUCKET}` },
  { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/*` },
  { action: 's3:PutObject', resource: `arn:aws:s3:::${BUCKET}/*` },
  { action: 'athena:*', resource: '*' },
  { action: 'glue:Get*', resource: '*' },
];

function healthyAccount(): Account {
  return {
    buckets: new Map([[BUCKET, { location: REGION }]]),
    workgroups: new Map([
      [
        WG,
        {
          Name: WG,
          State: 'ENABLED',
          Configuration: {
            EnforceWorkGroupConfiguration: true,
            EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
            ResultConfiguration: { OutputLocation: RESULTS },
          },
        },
      ],
    ]),
    databases: new Map([[DB, new Set(['events_raw', 'events_curated'])]]),
    quicksight: { edition: 'ENTERPRISE', status: 'ACCOUNT_CREATED' },
    namespaces: new Set(['default']),
    principals: new Set(['group/default/eng-leads', 'user/default/bi-admin']),
    roles: new Map([[ROLE, [...FULL_QUICKSIGHT_ROLE]]]),
    topics: new Map(),
    denied: new Set(),
  };
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

let account: Account;
const sts = modelCheckedMock(STSClient);
const s3 = modelCheckedMock(S3Client);
const athena = modelCheckedMock(AthenaClient);
const glue = modelCheckedMock(GlueClient);
const iam = modelCheckedMock(IAMClient);
const quicksight = modelCheckedMock(QuickSightClient);
const sns = modelCheckedMock(SNSClient);
const ALL = [sts, s3, athena, glue, iam, quicksight, sns];

const accessDenied = (op: string) =>
  Object.assign(new Error(`User is not authorized to perform ${op}`), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
const s3Error = (name: string, message: string) => new S3ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 404 } });

function wire(): void {
  for (const m of ALL) m.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops`, UserId: 'AIDAEXAMPLE', ...meta });
  s3.on(GetBucketLocationCommand).callsFake(({ Bucket }: { Bucket: string }) => {
    if (account.denied.has('GetBucketLocation')) throw accessDenied('s3:GetBucketLocation');
    const b = account.buckets.get(Bucket);
    if (!b) throw new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } });
    // S3 answers an empty constraint for us-east-1 and EU for the oldest eu-west-1 buckets.
    return { LocationConstraint: b.location === 'us-east-1' ? undefined : b.location, ...meta };
  });
  s3.on(GetObjectLockConfigurationCommand).callsFake(({ Bucket }: { Bucket: string }) => {
    const b = account.buckets.get(Bucket)!;
    if (!b.objectLock) throw s3Error('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket');
    return {
      ObjectLockConfiguration: { ObjectLockEnabled: b.objectLock, ...(b.defaultRetention ? { Rule: { DefaultRetention: b.defaultRetention } } : {}) },
      ...meta,
    };
  });
  athena.on(GetWorkGroupCommand).callsFake(({ WorkGroup: name }: { WorkGroup: string }) => {
    const wg = account.workgroups.get(name);
    if (!wg) throw new InvalidRequestException({ message: `WorkGroup ${name} is not found.`, $metadata: { httpStatusCode: 400 } });
    return { WorkGroup: wg, ...meta };
  });
  glue.on(GetDatabaseCommand).callsFake(({ Name }: { Name: string }) => {
    if (!account.databases.has(Name)) throw new EntityNotFoundException({ message: `Database ${Name} not found.`, $metadata: { httpStatusCode: 400 } });
    return { Database: { Name }, ...meta };
  });
  glue.on(GetTableCommand).callsFake(({ DatabaseName, Name }: { DatabaseName: string; Name: string }) => {
    if (!account.databases.get(DatabaseName)?.has(Name))
      throw new EntityNotFoundException({ message: `Table ${Name} not found.`, $metadata: { httpStatusCode: 400 } });
    return { Table: { Name, DatabaseName }, ...meta };
  });
  quicksight.on(DescribeAccountSubscriptionCommand).callsFake(() => {
    if (!account.quicksight)
      throw new ResourceNotFoundException({ message: `The account ${ACCOUNT} is not signed up with QuickSight.`, $metadata: { httpStatusCode: 404 } });
    return {
      AccountInfo: { AccountName: 'acme', Edition: account.quicksight.edition as 'ENTERPRISE', AccountSubscriptionStatus: account.quicksight.status },
      Status: 200,
      ...meta,
    };
  });
  quicksight.on(DescribeNamespaceCommand).callsFake(({ Namespace }: { Namespace: string }) => {
    if (!account.namespaces.has(Namespace))
      throw new ResourceNotFoundException({ message: `Namespace ${Namespace} not found`, $metadata: { httpStatusCode: 404 } });
    return { Namespace: { Name: Namespace, CreationStatus: 'CREATED', IdentityStore: 'QUICKSIGHT' }, Status: 200, ...meta };
  });
  const principal = (kind: string, ns: string, name: string) => {
    if (!account.principals.has(`${kind}/${ns}/${name}`))
      throw new ResourceNotFoundException({ message: `${kind} ${name} not found`, $metadata: { httpStatusCode: 404 } });
    return { Status: 200, ...meta };
  };
  quicksight
    .on(DescribeUserCommand)
    .callsFake(({ Namespace, UserName }: { Namespace: string; UserName: string }) => ({ User: { UserName }, ...principal('user', Namespace, UserName) }));
  quicksight
    .on(DescribeGroupCommand)
    .callsFake(({ Namespace, GroupName }: { Namespace: string; GroupName: string }) => ({ Group: { GroupName }, ...principal('group', Namespace, GroupName) }));
  // A small simulator: an action on a resource is allowed when an allow pair matches both (globs).
  iam
    .on(SimulatePrincipalPolicyCommand)
    .callsFake(({ PolicySourceArn, ActionNames, ResourceArns }: { PolicySourceArn: string; ActionNames: string[]; ResourceArns: string[] }) => {
      if (account.denied.has('SimulatePrincipalPolicy')) throw accessDenied('iam:SimulatePrincipalPolicy');
      const allows = account.roles.get(PolicySourceArn);
      if (!allows)
        throw new NoSuchEntityException({
          message: `The role with name ${PolicySourceArn.split('/').pop()} cannot be found.`,
          $metadata: { httpStatusCode: 404 },
        });
      const results: EvaluationResult[] = [];
      for (const action of ActionNames) {
        for (const resource of ResourceArns) {
          const ok = allows.some((a) => glob(a.action).test(action) && glob(a.resource).test(resource));
          results.push({ EvalActionName: action, EvalResourceName: resource, EvalDecision: ok ? 'allowed' : 'implicitDeny' });
        }
      }
      return { EvaluationResults: results, IsTruncated: false, ...meta };
    });
  sns.on(GetTopicAttributesCommand).callsFake(({ TopicArn }: { TopicArn: string }) => {
    const t = account.topics.get(TopicArn);
    if (!t) throw new NotFoundException({ message: 'Topic does not exist', $metadata: { httpStatusCode: 404 } });
    return { Attributes: { TopicArn, SubscriptionsConfirmed: String(t.confirmed), SubscriptionsPending: String(t.pending) }, ...meta };
  });
}

const snsRegions: (string | undefined)[] = [];
const quicksightRegions: string[] = [];
function clients(over: Partial<DoctorClients> = {}): DoctorClients {
  return {
    sts: new STSClient({ region: REGION }),
    s3: new S3Client({ region: REGION }),
    athena: new AthenaClient({ region: REGION }),
    glue: new GlueClient({ region: REGION }),
    iam: new IAMClient({ region: REGION }),
    quicksight: new QuickSightClient({ region: REGION }),
    quicksightIn: (region) => {
      quicksightRegions.push(region);
      return new QuickSightClient({ region });
    },
    sns: (region) => {
      snsRegions.push(region);
      return new SNSClient({ region: region ?? REGION });
    },
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    region: async () => REGION,
    ...over,
  };
}

const baseConfig: ConfigInput = {
  lake: { s3: { bucket: BUCKET, prefix: '' } },
  aws: { region: REGION, glueDatabase: DB, athena: { workgroup: WG }, quicksight: { principals: [VIEWERS], owners: [OWNER] } },
};
const configOf = (over: ConfigInput = {}) =>
  parseConfig({ ...baseConfig, ...over, lake: over.lake ?? baseConfig.lake, aws: { ...baseConfig.aws, ...over.aws } });

async function doctor(over: ConfigInput = {}, options: DoctorOptions = {}, c = clients()) {
  const report = await runDoctor(configOf(over), c, options);
  const byId = (id: string): CheckResult => {
    const found = report.checks.filter((x) => x.id === id);
    expect(found, `one check ${id}`).toHaveLength(1);
    return found[0]!;
  };
  const notOk = report.checks.filter((x) => x.status !== 'ok' && x.status !== 'skipped').map((x) => x.id);
  return { report, byId, notOk };
}

beforeEach(() => {
  account = healthyAccount();
  snsRegions.length = 0;
  quicksightRegions.length = 0;
  wire();
});

describe('a healthy account', () => {
  it('passes every check, and only reads', async () => {
    const { report, notOk } = await doctor({}, { stage: 'prod' });
    expect(report.account).toBe(ACCOUNT);
    expect(report.region).toBe(REGION);
    // The stage's two topics do not exist in this account: only they are not ok.
    expect(notOk).toEqual(['sns', 'sns']);
    const statuses = Object.fromEntries(report.checks.filter((c) => c.id !== 'sns').map((c) => [c.id, c.status]));
    expect(statuses).toEqual({
      bucket: 'ok',
      'object-lock': 'skipped',
      'athena-workgroup': 'ok',
      'athena-engine': 'ok',
      'athena-results': 'ok',
      'glue-database': 'ok',
      'glue-tables': 'ok',
      'quicksight-edition': 'ok',
      'quicksight-namespace': 'ok',
      'quicksight-principals': 'ok',
      'quicksight-role-lake': 'ok',
      'quicksight-role-results': 'ok',
      'quicksight-role-snapshots': 'ok',
      'quicksight-role-athena': 'ok',
    });
    // Read-only: every request any client received is a Get, Describe or a policy simulation.
    const operations = ALL.flatMap((m) => m.calls().map((c) => (c.args[0] as object).constructor.name));
    expect(operations.length).toBeGreaterThan(10);
    for (const op of operations) expect(op).toMatch(/^(Get|Describe|Simulate)[A-Za-z]+Command$/);
  });

  it('with the stack topics subscribed, every check is ok', async () => {
    account.topics.set(`arn:aws:sns:${REGION}:${ACCOUNT}:cclake-prod-alerts`, { confirmed: 2, pending: 0 });
    account.topics.set(`arn:aws:sns:${REGION}:${ACCOUNT}:cclake-prod-alarms`, { confirmed: 1, pending: 0 });
    const { report, notOk } = await doctor({}, { stage: 'prod' });
    expect(notOk).toEqual([]);
    expect(report.checks.filter((c) => c.id === 'sns').map((c) => c.title)).toEqual([
      'SNS alerts topic cclake-prod-alerts',
      'SNS operations alarms topic cclake-prod-alarms',
    ]);
  });
});

describe('the lake bucket', () => {
  it('missing: names the bucket and how to create it (with Object Lock when evidence needs it)', async () => {
    account.buckets.clear();
    const { byId } = await doctor({ lake: { s3: { bucket: BUCKET, objectLock: { mode: 'COMPLIANCE', retentionDays: 2555 } } } });
    expect(byId('bucket')).toMatchObject({ status: 'missing', detail: `no bucket ${BUCKET}` });
    expect(byId('bucket').fix).toContain(
      `aws s3api create-bucket --bucket ${BUCKET} --region ${REGION} --create-bucket-configuration LocationConstraint=${REGION} --object-lock-enabled-for-bucket`,
    );
    expect(byId('object-lock').status).toBe('skipped');
  });

  it('wrong: in another region than the one configured (an empty location is us-east-1)', async () => {
    account.buckets.set(BUCKET, { location: 'us-east-1' });
    const { byId } = await doctor();
    expect(byId('bucket')).toMatchObject({ status: 'wrong', detail: `in us-east-1, but cclake is configured for ${REGION}` });
    expect(byId('bucket').fix).toContain('set lake.s3.region and aws.region to us-east-1');
  });

  it('lake.s3.region is the region the bucket is compared with', async () => {
    account.buckets.set(BUCKET, { location: 'EU' });
    const { byId } = await doctor({ lake: { s3: { bucket: BUCKET, region: 'eu-west-1' } } });
    expect(byId('bucket')).toMatchObject({ status: 'ok', detail: 'in eu-west-1' });
  });

  it('unreadable: says which permission the doctor lacks', async () => {
    account.denied.add('GetBucketLocation');
    const { byId } = await doctor();
    expect(byId('bucket')).toMatchObject({ status: 'unknown', detail: 'not allowed to read it (AccessDenied)' });
    expect(byId('bucket').fix).toContain(`s3:GetBucketLocation on ${BUCKET}`);
  });
});

describe('Object Lock', () => {
  const lockConfig: ConfigInput = { lake: { s3: { bucket: BUCKET, objectLock: { mode: 'COMPLIANCE', retentionDays: 2555 } } } };

  it('ok when configured and enabled on the bucket', async () => {
    account.buckets.set(BUCKET, { location: REGION, objectLock: 'Enabled' });
    const { byId } = await doctor(lockConfig);
    expect(byId('object-lock')).toMatchObject({ status: 'ok', detail: 'enabled; evidence is written in COMPLIANCE mode for 2555 days' });
  });

  it('missing when configured and the bucket has none, with the commands that enable it', async () => {
    const { byId } = await doctor(lockConfig);
    expect(byId('object-lock').status).toBe('missing');
    expect(byId('object-lock').fix).toBe(
      `enable it (versioning first): aws s3api put-bucket-versioning --bucket ${BUCKET} --versioning-configuration Status=Enabled && aws s3api put-object-lock-configuration --bucket ${BUCKET} --object-lock-configuration ObjectLockEnabled=Enabled`,
    );
  });

  it('wrong when the bucket has a default retention, configured or not: it would lock the files cclake deletes', async () => {
    account.buckets.set(BUCKET, { location: REGION, objectLock: 'Enabled', defaultRetention: { Mode: 'COMPLIANCE', Days: 30 } });
    for (const cfg of [lockConfig, {}]) {
      const { byId } = await doctor(cfg);
      expect(byId('object-lock')).toMatchObject({ status: 'wrong' });
      expect(byId('object-lock').detail).toContain('default retention (COMPLIANCE 30 days)');
      expect(byId('object-lock').fix).toContain(`put-object-lock-configuration --bucket ${BUCKET} --object-lock-configuration ObjectLockEnabled=Enabled`);
    }
  });

  it('skipped when evidence is not configured for it', async () => {
    const { byId } = await doctor();
    expect(byId('object-lock')).toMatchObject({ status: 'skipped', detail: 'lake.s3.objectLock is not set: evidence is written without Object Lock' });
  });
});

describe('the Athena workgroup', () => {
  it('missing: the deploy creates it; engine and results are not judged', async () => {
    account.workgroups.clear();
    const { byId } = await doctor();
    expect(byId('athena-workgroup')).toMatchObject({ status: 'missing', detail: `no workgroup ${WG} in ${REGION}` });
    expect(byId('athena-workgroup').fix).toContain(`param athenaWorkgroup must equal aws.athena.workgroup: ${WG}`);
    expect([byId('athena-engine').status, byId('athena-results').status]).toEqual(['skipped', 'skipped']);
    // Without a results location, the QuickSight role is not asked about one.
    expect((await doctor()).report.checks.some((c) => c.id === 'quicksight-role-results')).toBe(false);
  });

  it('wrong: disabled', async () => {
    account.workgroups.get(WG)!.State = 'DISABLED';
    const { byId } = await doctor();
    expect(byId('athena-workgroup')).toMatchObject({ status: 'wrong', fix: `aws athena update-work-group --work-group ${WG} --state ENABLED` });
  });

  it('wrong: engine version 2, with the update that selects version 3', async () => {
    account.workgroups.get(WG)!.Configuration!.EngineVersion = {
      SelectedEngineVersion: 'Athena engine version 2',
      EffectiveEngineVersion: 'Athena engine version 2',
    };
    const { byId } = await doctor();
    expect(byId('athena-engine')).toMatchObject({
      status: 'wrong',
      fix: `aws athena update-work-group --work-group ${WG} --configuration-updates "EngineVersion={SelectedEngineVersion='Athena engine version 3'}"`,
    });
    expect(byId('athena-engine').detail).toMatch(/^Athena engine version 2:/);
  });

  it('missing: no result location in the workgroup or the config', async () => {
    account.workgroups.get(WG)!.Configuration = { EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' } };
    const { byId } = await doctor();
    expect(byId('athena-results').status).toBe('missing');
    expect(byId('athena-results').fix).toContain(`s3://${BUCKET}/_cclake/athena-results/`);
  });

  it('the config location counts when the workgroup does not enforce its own, and QuickSight must be able to use it', async () => {
    account.workgroups.get(WG)!.Configuration = { EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' } };
    const { byId } = await doctor({ aws: { athena: { workgroup: WG, outputLocation: 's3://other-results/cclake/' } } });
    expect(byId('athena-results')).toMatchObject({ status: 'ok', detail: 's3://other-results/cclake/' });
    expect(byId('quicksight-role-results').status).toBe('missing');
    expect(byId('quicksight-role-results').detail).toContain('s3:PutObject on arn:aws:s3:::other-results/cclake/');
    expect(byId('quicksight-role-results').fix).toContain('tick bucket other-results with "Write permission for Athena Workgroup"');
  });

  it('an enforced workgroup location wins over the config, and says so', async () => {
    const { byId } = await doctor({ aws: { athena: { workgroup: WG, outputLocation: 's3://other-results/cclake/' } } });
    expect(byId('athena-results')).toMatchObject({
      status: 'ok',
      detail: `${RESULTS} (enforced by the workgroup; aws.athena.outputLocation s3://other-results/cclake/ is ignored)`,
    });
    expect(byId('quicksight-role-results').status).toBe('ok');
  });
});

describe('the Glue database and tables', () => {
  it('missing database: the deploy creates it; tables not judged', async () => {
    account.databases.clear();
    const { byId } = await doctor();
    expect(byId('glue-database')).toMatchObject({ status: 'missing', detail: `no database ${DB} in ${REGION}` });
    expect(byId('glue-tables').status).toBe('skipped');
  });

  it("missing tables: invoke the stage's partitions function once", async () => {
    account.databases.set(DB, new Set());
    const { byId } = await doctor({}, { stage: 'prod' });
    expect(byId('glue-tables')).toMatchObject({
      status: 'missing',
      detail: `no events_raw, events_curated in ${DB}: Firehose's Parquet conversion reads the raw table`,
    });
    expect(byId('glue-tables').fix).toContain('aws lambda invoke --function-name cclake-prod-partitions');
  });

  it('the bedrock-guidance profile looks for its raw table, metrics', async () => {
    const { byId } = await doctor({ raw: { profile: 'bedrock-guidance' } });
    expect(byId('glue-tables')).toMatchObject({ status: 'missing', detail: `no metrics in ${DB}: Firehose's Parquet conversion reads the raw table` });
  });
});

describe('QuickSight', () => {
  it('missing: no subscription in the account', async () => {
    account.quicksight = null;
    const { byId } = await doctor();
    expect(byId('quicksight-edition')).toMatchObject({ status: 'missing', detail: `no QuickSight subscription in account ${ACCOUNT}` });
    expect(byId('quicksight-edition').fix).toContain('Enterprise');
  });

  it('wrong: Standard edition', async () => {
    account.quicksight = { edition: 'STANDARD', status: 'ACCOUNT_CREATED' };
    const { byId } = await doctor();
    expect(byId('quicksight-edition').status).toBe('wrong');
    expect(byId('quicksight-edition').detail).toContain('STANDARD edition: report snapshots, row-level security');
  });

  it('ok: Enterprise with Q; missing: unsubscribed', async () => {
    account.quicksight = { edition: 'ENTERPRISE_AND_Q', status: 'ACCOUNT_CREATED' };
    expect((await doctor()).byId('quicksight-edition').status).toBe('ok');
    account.quicksight = { edition: 'ENTERPRISE', status: 'UNSUBSCRIBED' };
    expect((await doctor()).byId('quicksight-edition').status).toBe('missing');
  });

  it("asks the configured account, not the caller's, when aws.quicksight.accountId is set", async () => {
    await doctor({ aws: { quicksight: { accountId: '210987654321' } } });
    expect(quicksight.commandCalls(DescribeAccountSubscriptionCommand)[0]!.args[0].input).toEqual({ AwsAccountId: '210987654321' });
    expect(iam.commandCalls(SimulatePrincipalPolicyCommand)[0]!.args[0].input.PolicySourceArn).toBe(
      'arn:aws:iam::210987654321:role/service-role/aws-quicksight-service-role-v0',
    );
  });

  it('viewers and owners are described in the identity region of their ARNs; an unknown one is missing', async () => {
    expect((await doctor()).byId('quicksight-principals')).toMatchObject({ status: 'ok', detail: '2 principal(s) exist' });
    expect(quicksightRegions).toEqual([IDENTITY_REGION, IDENTITY_REGION]);
    expect(quicksight.commandCalls(DescribeGroupCommand)[0]!.args[0].input).toEqual({ AwsAccountId: ACCOUNT, Namespace: 'default', GroupName: 'eng-leads' });
    account.principals.delete('user/default/bi-admin');
    const { byId } = await doctor();
    expect(byId('quicksight-principals')).toMatchObject({ status: 'missing', detail: `no such principal: ${OWNER}` });
  });

  it('no viewers is missing; an ARN that is no QuickSight principal is wrong', async () => {
    expect((await doctor({ aws: { quicksight: { principals: [] } } })).byId('quicksight-principals')).toMatchObject({
      status: 'missing',
      detail: 'aws.quicksight.principals is empty: nobody can open the dashboards',
    });
    const iamArn = `arn:aws:iam::${ACCOUNT}:role/viewers`;
    expect((await doctor({ aws: { quicksight: { principals: [iamArn] } } })).byId('quicksight-principals')).toMatchObject({
      status: 'wrong',
      detail: `not a QuickSight user or group ARN: ${iamArn}`,
    });
  });

  it('missing: the configured namespace', async () => {
    const { byId } = await doctor({ aws: { quicksight: { namespace: 'finance' } } });
    expect(byId('quicksight-namespace')).toMatchObject({ status: 'missing', detail: `no namespace finance in account ${ACCOUNT}` });
  });
});

describe("QuickSight's service role", () => {
  it('missing: a role that cannot read the lake, naming what is denied', async () => {
    account.roles.set(
      ROLE,
      FULL_QUICKSIGHT_ROLE.filter((a) => a.action !== 's3:GetObject'),
    );
    const { byId } = await doctor({ lake: { s3: { bucket: BUCKET, prefix: 'lake/' } } });
    const lake = byId('quicksight-role-lake');
    expect(lake.status).toBe('missing');
    expect(lake.detail).toContain(`s3:GetObject on arn:aws:s3:::${BUCKET}/lake/curated/events/`);
    expect(lake.detail).toContain(`s3:GetObject on arn:aws:s3:::${BUCKET}/lake/rollups/user_daily/`);
    expect(lake.fix).toContain(`tick Amazon S3 and bucket ${BUCKET}`);
    // Reading the Athena results needs GetObject too.
    expect(byId('quicksight-role-results').status).toBe('missing');
  });

  it('missing: a role that may read but not write the snapshots', async () => {
    account.roles.set(ROLE, [
      ...FULL_QUICKSIGHT_ROLE.filter((a) => a.action !== 's3:PutObject'),
      { action: 's3:PutObject', resource: `arn:aws:s3:::${BUCKET}/_cclake/athena-results/*` },
    ]);
    const { byId } = await doctor();
    expect(byId('quicksight-role-results').status).toBe('ok');
    expect(byId('quicksight-role-snapshots')).toMatchObject({
      status: 'missing',
      detail: `denied: s3:PutObject on arn:aws:s3:::${BUCKET}/reports/snapshots/2026-01-01/executive.pdf (implicitDeny)`,
    });
  });

  it('missing: no Athena or Glue access', async () => {
    account.roles.set(
      ROLE,
      FULL_QUICKSIGHT_ROLE.filter((a) => !a.action.startsWith('athena') && !a.action.startsWith('glue')),
    );
    const { byId } = await doctor();
    const a = byId('quicksight-role-athena');
    expect(a.status).toBe('missing');
    expect(a.detail).toContain(`athena:StartQueryExecution on arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${WG}`);
    expect(a.detail).toContain(`glue:GetTable on arn:aws:glue:${REGION}:${ACCOUNT}:database/${DB}`);
    expect(a.fix).toContain('tick Amazon Athena');
  });

  it('missing: no such role; another role is given by name', async () => {
    account.roles.clear();
    const { byId } = await doctor();
    expect(byId('quicksight-role-lake')).toMatchObject({ status: 'missing', detail: `no role ${ROLE}` });
    expect(byId('quicksight-role-lake').fix).toContain('--quicksight-role NAME');
    account.roles.set(`arn:aws:iam::${ACCOUNT}:role/qs-custom`, [...FULL_QUICKSIGHT_ROLE]);
    expect((await doctor({}, { quicksightRole: 'qs-custom' })).notOk).toEqual([]);
  });

  it('unknown when the caller may not simulate: names the permission', async () => {
    account.denied.add('SimulatePrincipalPolicy');
    const { byId } = await doctor();
    expect(byId('quicksight-role-lake')).toMatchObject({
      status: 'unknown',
      fix: `run the doctor with a principal allowed iam:SimulatePrincipalPolicy on ${ROLE}`,
    });
  });
});

describe('SNS topics', () => {
  const TOPIC = `arn:aws:sns:us-west-2:${ACCOUNT}:ops-alerts`;

  it('skipped when neither the config nor --stage names one', async () => {
    const { byId } = await doctor();
    expect(byId('sns').status).toBe('skipped');
  });

  it("the config's topic is asked in its own region; no subscriber is missing", async () => {
    account.topics.set(TOPIC, { confirmed: 0, pending: 1 });
    const { byId } = await doctor({ anomalies: { delivery: { snsTopicArn: TOPIC } } });
    expect(snsRegions).toEqual(['us-west-2']);
    expect(byId('sns')).toMatchObject({ status: 'missing', detail: 'no confirmed subscription (1 pending confirmation): messages reach nobody' });
    expect(byId('sns').fix).toContain(`aws sns subscribe --topic-arn ${TOPIC} --protocol email`);
  });

  it('a missing config topic: fix the ARN; a missing stack topic: deploy', async () => {
    const { report } = await doctor({ anomalies: { delivery: { snsTopicArn: TOPIC } } }, { stage: 'dev' });
    const sns = report.checks.filter((c) => c.id === 'sns');
    // With a configured alerts topic the stack's own alerts topic is not expected.
    expect(sns.map((c) => [c.title, c.status, c.fix])).toEqual([
      ['SNS alerts (anomalies.delivery.snsTopicArn) topic ops-alerts', 'missing', 'create the topic or fix the ARN in the config'],
      ['SNS operations alarms topic cclake-dev-alarms', 'missing', 'osls deploy creates it (deploy this stage first)'],
    ]);
  });
});

describe('cannot start', () => {
  it('no credentials in the provider chain', async () => {
    const noCreds = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    await expect(doctor({}, {}, clients({ credentials: () => Promise.reject(noCreds) }))).rejects.toThrow(new DoctorSetupError(NO_CREDENTIALS_MESSAGE));
    expect(sts.calls()).toHaveLength(0);
  });

  it('a provider that found its source but failed says why', async () => {
    // The SDK's SSO provider's words (credential-provider-sso) for an expired session.
    const sso = 'The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login with the corresponding profile.';
    const expired = Object.assign(new Error(sso), { name: 'CredentialsProviderError' });
    await expect(doctor({}, {}, clients({ credentials: () => Promise.reject(expired) }))).rejects.toThrow(
      new DoctorSetupError(`${NO_CREDENTIALS_MESSAGE}; the provider chain said: ${sso}`),
    );
  });

  it('no region', async () => {
    await expect(doctor({}, {}, clients({ region: () => Promise.reject(new Error('Region is missing')) }))).rejects.toThrow(/^no AWS region: set aws.region/);
  });

  it('credentials AWS rejects', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(new ExpiredTokenException({ message: 'The security token included in the request is expired', $metadata: { httpStatusCode: 400 } }));
    await expect(doctor()).rejects.toThrow(/^AWS rejected the credentials \(ExpiredTokenException: The security token included in the request is expired\)/);
  });

  it('AWS out of reach: the connection error a closed port really gives', async () => {
    // Port 9 (discard) is closed here; the SDK's Node handler passes Node's connection error through.
    const refused = await new Promise<Error>((resolve) => connect(9, '127.0.0.1').on('error', resolve));
    sts.on(GetCallerIdentityCommand).rejects(refused);
    await expect(doctor()).rejects.toThrow(/^cannot reach AWS STS in eu-central-1 \(connect ECONNREFUSED 127\.0\.0\.1:9\): check the network and the region$/);
  });

  it('a local lake', async () => {
    await expect(runDoctor(parseConfig({}), clients())).rejects.toThrow(DoctorSetupError);
  });
});

describe('cclake doctor (CLI, real client factory and credential chain)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cclake-doctor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'cclake.config.json');
  writeFileSync(configFile, JSON.stringify(baseConfig));
  const CRED_VARS = [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ];
  const saved = { ...process.env };
  beforeEach(() => {
    for (const v of CRED_VARS) delete process.env[v];
    // No shared files and no instance metadata: the chain's only possible source is what a test sets.
    Object.assign(process.env, {
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (s) => out.push(...s.split('\n')), err: (s) => err.push(...s.split('\n')) });
    return { code, out, err };
  }
  const withKeys = () => Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });

  it('exit 2 and how to provide credentials when the default chain has none; nothing is sent', async () => {
    const r = await cli('doctor', '--config', configFile);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`cclake: ${NO_CREDENTIALS_MESSAGE}`]);
    expect(r.out).toEqual([]);
    for (const m of ALL) expect(m.calls()).toHaveLength(0);
  });

  it('exit 0 and one ok line per check on a healthy account', async () => {
    withKeys();
    const r = await cli('doctor', '--config', configFile);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`account ${ACCOUNT} (arn:aws:iam::${ACCOUNT}:user/ops), region ${REGION}, lake s3://${BUCKET}/`);
    expect(r.out.find((l) => l.includes('Athena engine version  '))).toMatch(/^ok {7}Athena engine version +Athena engine version 3$/);
    expect(r.out.at(-1)).toBe('all 15 checks ok or not used by this config');
    expect(r.out.filter((l) => l.startsWith('ok '))).toHaveLength(13);
  });

  it('exit 1 with a fix line under each failing check', async () => {
    withKeys();
    account.quicksight = { edition: 'STANDARD', status: 'ACCOUNT_CREATED' };
    account.databases.clear();
    const r = await cli('doctor', '--config', configFile, '--stage', 'prod');
    expect(r.code).toBe(1);
    const wrong = r.out.findIndex((l) => l.startsWith('WRONG    QuickSight subscription'));
    expect(r.out[wrong + 1]).toBe('         fix: upgrade to Enterprise edition: QuickSight console, Manage QuickSight, Your subscriptions');
    const missing = r.out.findIndex((l) => l.startsWith(`MISSING  Glue database ${DB}`));
    expect(r.out[missing + 1]).toBe(`         fix: osls deploy creates it (param glueDatabase must equal aws.glueDatabase: ${DB})`);
    expect(r.err).toEqual([
      `cclake: 4 of 16 check(s) not ok: Glue database ${DB}, QuickSight subscription, SNS alerts topic cclake-prod-alerts, SNS operations alarms topic cclake-prod-alarms`,
    ]);
  });

  it('--format json prints the report', async () => {
    withKeys();
    const r = await cli('doctor', '--config', configFile, '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out.join('\n'));
    expect(report).toMatchObject({ account: ACCOUNT, region: REGION, lake: `s3://${BUCKET}/` });
    expect(report.checks).toHaveLength(15);
  });

  it('exit 2 for a local lake', async () => {
    const r = await cli('doctor', '--lake', dir);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^cclake: doctor checks a lake on AWS, and the config has a local lake/);
  });
});
