/**
 * `cclake doctor`: read-only checks of the AWS account a config points at, for what nothing in this
 * repository can test: the QuickSight subscription and its service role's access, the Athena
 * workgroup, the lake bucket's region and Object Lock, the Glue database and tables, the SNS topics.
 * Every request is a Get, Describe or Simulate: the doctor never writes to AWS. The clients are
 * injected (functions/lib/doctor/clients.ts builds the real ones), so the checks are unit-tested
 * against mocked clients whose requests are validated against the service models.
 */
import { GetWorkGroupCommand, type AthenaClient, type WorkGroup } from '@aws-sdk/client-athena';
import { GetDatabaseCommand, GetTableCommand, type GlueClient } from '@aws-sdk/client-glue';
import { SimulatePrincipalPolicyCommand, type EvaluationResult, type IAMClient } from '@aws-sdk/client-iam';
import {
  DescribeAccountSubscriptionCommand,
  DescribeGroupCommand,
  DescribeNamespaceCommand,
  DescribeUserCommand,
  type QuickSightClient,
} from '@aws-sdk/client-quicksight';
import { GetBucketLocationCommand, GetObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ANOMALIES_PREFIX } from '../../../schemas/anomalies';
import { CURATED_EVENTS, CURATED_EVENTS_PREFIX } from '../../../schemas/curated-events';
import { ROLLUP_TABLES } from '../../../schemas/rollups';
import { rawTable, rollupPrefix } from '../catalog/tables';
import type { Config } from '../config/schema';
import { SEEDS_PREFIX } from '../jobs/seeds';
import { errorFacts } from '../util/retry';

/** ok: as cclake needs it. missing: absent. wrong: present but not usable as is. unknown: could not be read. skipped: not used by this config. */
export type CheckStatus = 'ok' | 'missing' | 'wrong' | 'unknown' | 'skipped';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it, in one line (not for ok and skipped). */
  fix?: string;
}

export interface DoctorClients {
  sts: STSClient;
  s3: S3Client;
  athena: AthenaClient;
  glue: GlueClient;
  iam: IAMClient;
  quicksight: QuickSightClient;
  /** Users and groups are described in the account's QuickSight identity region (the region in their ARNs). */
  quicksightIn: (region: string) => QuickSightClient;
  /** SNS answers for a topic in the topic's own region: a client for that region. */
  sns: (region: string | undefined) => SNSClient;
  /** Resolves credentials through the default provider chain; throws CredentialsProviderError when it has none. */
  credentials: () => Promise<unknown>;
  /** The region the account-wide requests go to; throws when none is configured. */
  region: () => Promise<string>;
}

export interface DoctorOptions {
  /** The deployed stage: also checks the stack's topics cclake-<stage>-alerts and cclake-<stage>-alarms. */
  stage?: string;
  /** QuickSight's service role when it is not the default (a role name or ARN). */
  quicksightRole?: string;
  /** More SNS topics to check (ARNs). */
  topics?: string[];
}

export interface DoctorReport {
  account: string;
  callerArn: string;
  region: string;
  lake: string;
  checks: CheckResult[];
}

/** The doctor cannot start: no credentials, credentials AWS rejects, no region. */
export class DoctorSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DoctorSetupError';
  }
}

export const NO_CREDENTIALS_MESSAGE =
  'no AWS credentials found (the default provider chain has none): set AWS_PROFILE to a profile in ~/.aws/config ' +
  '(aws configure, or aws sso login --profile NAME), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
  '(and AWS_SESSION_TOKEN), or run where a role is attached (CloudShell, EC2, ECS)';

/** The SDK's message when no provider of the default chain had credentials. */
const GENERIC_CHAIN_MESSAGE = 'Could not load credentials from any providers';

export const NO_REGION_MESSAGE = 'no AWS region: set aws.region in the config, or AWS_REGION, or region in your AWS profile';

/** The role QuickSight creates at sign-up and uses for Athena, Glue and S3 unless another is chosen. */
export const QUICKSIGHT_DEFAULT_ROLE = 'service-role/aws-quicksight-service-role-v0';

export const ATHENA_ENGINE_V3 = 'Athena engine version 3';

const REJECTED_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
]);
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'AuthorizationErrorException', 'AuthorizationError', 'UnauthorizedOperation']);

/** A bucket's region from GetBucketLocation: empty means us-east-1, `EU` is the old name of eu-west-1. */
export function bucketRegion(locationConstraint: string | undefined | null): string {
  if (!locationConstraint) return 'us-east-1';
  return locationConstraint === 'EU' ? 'eu-west-1' : locationConstraint;
}

/** s3://bucket/prefix/ into its parts; null when it is not an S3 URI. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1]!, prefix: m[2]! } : null;
}

/** Runs every check; throws DoctorSetupError when there are no credentials or no region. */
export async function runDoctor(config: Config, clients: DoctorClients, options: DoctorOptions = {}): Promise<DoctorReport> {
  if (!('s3' in config.lake))
    throw new DoctorSetupError('doctor checks a lake on AWS, and the config has a local lake: pass --config with lake.s3 (the config the stack runs with)');
  const lake = config.lake.s3;

  let region: string;
  try {
    region = await clients.region();
  } catch {
    throw new DoctorSetupError(NO_REGION_MESSAGE);
  }
  try {
    await clients.credentials();
  } catch (err) {
    const f = errorFacts(err);
    if (f.name === 'CredentialsProviderError' || f.name === 'TokenProviderError') {
      // A provider that found its source but failed (an expired SSO session, say) stops the chain with its own reason.
      throw new DoctorSetupError(
        f.message === GENERIC_CHAIN_MESSAGE ? NO_CREDENTIALS_MESSAGE : `${NO_CREDENTIALS_MESSAGE}; the provider chain said: ${f.message.split('\n')[0]}`,
      );
    }
    throw err;
  }
  let account: string;
  let callerArn: string;
  try {
    const id = await clients.sts.send(new GetCallerIdentityCommand({}));
    account = id.Account!;
    callerArn = id.Arn!;
  } catch (err) {
    const f = errorFacts(err);
    if (f.name === 'CredentialsProviderError') throw new DoctorSetupError(NO_CREDENTIALS_MESSAGE);
    if (REJECTED_CREDENTIALS.has(f.name))
      throw new DoctorSetupError(`AWS rejected the credentials (${f.name}: ${f.message}): refresh them (aws sso login, or new access keys)`);
    if (f.code && UNREACHABLE.has(f.code))
      throw new Error(`cannot reach AWS STS in ${region} (${f.message}): check the network and the region`, { cause: err });
    throw err;
  }

  const ctx: Ctx = {
    config,
    clients,
    options,
    region,
    account,
    partition: callerArn.split(':')[1] || 'aws',
    lake,
    bucket: lake.bucket,
    prefix: lake.prefix,
    quicksightAccount: config.aws.quicksight.accountId ?? account,
  };
  const checks: CheckResult[] = [];
  const workgroup = await checkWorkgroup(ctx);
  checks.push(...(await checkBucket(ctx)));
  checks.push(...workgroup.checks);
  checks.push(...(await checkGlue(ctx)));
  checks.push(...(await checkQuickSight(ctx, workgroup.results)));
  checks.push(...(await checkTopics(ctx)));
  return { account, callerArn, region, lake: `s3://${lake.bucket}/${lake.prefix}`, checks };
}

interface Ctx {
  config: Config;
  clients: DoctorClients;
  options: DoctorOptions;
  region: string;
  account: string;
  partition: string;
  lake: Extract<Config['lake'], { s3: unknown }>['s3'];
  bucket: string;
  prefix: string;
  quicksightAccount: string;
}

/** A check that could not be read: access denied names the permission to grant, anything else is quoted. */
function unreadable(id: string, title: string, err: unknown, permission: string): CheckResult {
  const f = errorFacts(err);
  if (ACCESS_DENIED.has(f.name)) {
    return { id, title, status: 'unknown', detail: `not allowed to read it (${f.name})`, fix: `run the doctor with a principal allowed ${permission}` };
  }
  return {
    id,
    title,
    status: 'unknown',
    detail: `${f.name}: ${f.message.split('\n')[0]}`,
    fix: `check the error above, then run cclake doctor again (it needs ${permission})`,
  };
}

const s3Arn = (ctx: Ctx, bucket: string, key?: string) => `arn:${ctx.partition}:s3:::${bucket}${key === undefined ? '' : `/${key}`}`;

// ---------------------------------------------------------------- the lake bucket

async function checkBucket(ctx: Ctx): Promise<CheckResult[]> {
  const { bucket } = ctx;
  const configured = ctx.lake.region ?? ctx.config.aws.region ?? ctx.region;
  const objectLock = ctx.lake.objectLock;
  const title = `lake bucket ${bucket}`;
  const lockTitle = 'bucket Object Lock';
  let where: string;
  try {
    const out = await ctx.clients.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    where = bucketRegion(out.LocationConstraint);
  } catch (err) {
    const name = errorFacts(err).name;
    if (name === 'NoSuchBucket' || name === 'NotFound') {
      const lockFlag = objectLock ? ' --object-lock-enabled-for-bucket' : '';
      return [
        {
          id: 'bucket',
          title,
          status: 'missing',
          detail: `no bucket ${bucket}`,
          fix: `osls deploy creates it (param createLakeBucket "true"${objectLock ? ', lakeObjectLock "true"' : ''}), or: aws s3api create-bucket --bucket ${bucket} --region ${configured}${configured === 'us-east-1' ? '' : ` --create-bucket-configuration LocationConstraint=${configured}`}${lockFlag}`,
        },
        { id: 'object-lock', title: lockTitle, status: 'skipped', detail: 'no bucket to check' },
      ];
    }
    return [
      unreadable('bucket', title, err, `s3:GetBucketLocation on ${bucket} (a bucket of another account is unreadable too)`),
      { id: 'object-lock', title: lockTitle, status: 'skipped', detail: 'bucket not readable' },
    ];
  }
  const checks: CheckResult[] = [
    where === configured
      ? { id: 'bucket', title, status: 'ok', detail: `in ${where}` }
      : {
          id: 'bucket',
          title,
          status: 'wrong',
          detail: `in ${where}, but cclake is configured for ${configured}`,
          fix: `set lake.s3.region and aws.region to ${where} and deploy the stack in ${where} (Athena, Glue and the functions must share the bucket's region)`,
        },
  ];
  checks.push(await checkObjectLock(ctx, objectLock));
  return checks;
}

async function checkObjectLock(ctx: Ctx, wanted: { mode: string; retentionDays: number } | undefined): Promise<CheckResult> {
  const id = 'object-lock';
  const title = 'bucket Object Lock';
  const { bucket } = ctx;
  let enabled = false;
  let rule: { Mode?: string; Days?: number; Years?: number } | undefined;
  try {
    const out = await ctx.clients.s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    enabled = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    rule = out.ObjectLockConfiguration?.Rule?.DefaultRetention;
  } catch (err) {
    if (errorFacts(err).name !== 'ObjectLockConfigurationNotFoundError') return unreadable(id, title, err, `s3:GetBucketObjectLockConfiguration on ${bucket}`);
  }
  if (rule) {
    // A default retention locks every new object: lock files, replaced generations and expired
    // partitions could no longer be deleted. cclake sets retention per evidence object instead.
    const span = rule.Days ? `${rule.Days} days` : `${rule.Years} years`;
    return {
      id,
      title,
      status: 'wrong',
      detail: `a default retention (${rule.Mode} ${span}) locks every object the lake writes, including the locks and old generations cclake deletes`,
      fix: `remove the default rule (cclake locks only evidence objects, each with its own retention): aws s3api put-object-lock-configuration --bucket ${bucket} --object-lock-configuration ObjectLockEnabled=Enabled`,
    };
  }
  if (!wanted) {
    return {
      id,
      title,
      status: 'skipped',
      detail: `lake.s3.objectLock is not set: evidence is written without Object Lock${enabled ? ' (the bucket has it enabled)' : ''}`,
    };
  }
  if (enabled) return { id, title, status: 'ok', detail: `enabled; evidence is written in ${wanted.mode} mode for ${wanted.retentionDays} days` };
  return {
    id,
    title,
    status: 'missing',
    detail: `lake.s3.objectLock is set but bucket ${bucket} has no Object Lock: evidence writes will fail`,
    fix: `enable it (versioning first): aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled && aws s3api put-object-lock-configuration --bucket ${bucket} --object-lock-configuration ObjectLockEnabled=Enabled`,
  };
}

// ---------------------------------------------------------------- Athena

interface ResultsLocation {
  bucket: string;
  prefix: string;
}

async function checkWorkgroup(ctx: Ctx): Promise<{ checks: CheckResult[]; results: ResultsLocation | null }> {
  const name = ctx.config.aws.athena.workgroup;
  const title = `Athena workgroup ${name}`;
  const engineTitle = 'Athena engine version';
  const resultsTitle = 'Athena query result location';
  const skip = (why: string): CheckResult[] => [
    { id: 'athena-engine', title: engineTitle, status: 'skipped', detail: why },
    { id: 'athena-results', title: resultsTitle, status: 'skipped', detail: why },
  ];
  let wg: WorkGroup | undefined;
  try {
    wg = (await ctx.clients.athena.send(new GetWorkGroupCommand({ WorkGroup: name }))).WorkGroup;
  } catch (err) {
    const f = errorFacts(err);
    if (f.name === 'InvalidRequestException' && /not found/i.test(f.message)) {
      return {
        checks: [
          {
            id: 'athena-workgroup',
            title,
            status: 'missing',
            detail: `no workgroup ${name} in ${ctx.region}`,
            fix: `osls deploy creates it (param athenaWorkgroup must equal aws.athena.workgroup: ${name})`,
          },
          ...skip('no workgroup'),
        ],
        results: null,
      };
    }
    return {
      checks: [unreadable('athena-workgroup', title, err, `athena:GetWorkGroup on workgroup/${name}`), ...skip('workgroup not readable')],
      results: null,
    };
  }
  const checks: CheckResult[] = [];
  checks.push(
    wg?.State === 'DISABLED'
      ? {
          id: 'athena-workgroup',
          title,
          status: 'wrong',
          detail: 'disabled: no query can run in it',
          fix: `aws athena update-work-group --work-group ${name} --state ENABLED`,
        }
      : { id: 'athena-workgroup', title, status: 'ok', detail: `enabled in ${ctx.region}` },
  );

  const conf = wg?.Configuration;
  const effective = conf?.EngineVersion?.EffectiveEngineVersion ?? conf?.EngineVersion?.SelectedEngineVersion;
  checks.push(
    effective === ATHENA_ENGINE_V3
      ? { id: 'athena-engine', title: engineTitle, status: 'ok', detail: effective }
      : {
          id: 'athena-engine',
          title: engineTitle,
          status: 'wrong',
          detail: `${effective ?? 'not reported'}: the SQL under sql/ is written for Trino (engine version 3)`,
          fix: `aws athena update-work-group --work-group ${name} --configuration-updates "EngineVersion={SelectedEngineVersion='${ATHENA_ENGINE_V3}'}"`,
        },
  );

  // Where results land: the workgroup's location when it enforces its configuration, else the
  // config's aws.athena.outputLocation (sent with every query), else the workgroup's.
  const wgLocation = conf?.ResultConfiguration?.OutputLocation;
  const configured = ctx.config.aws.athena.outputLocation;
  const enforced = conf?.EnforceWorkGroupConfiguration === true;
  const location = enforced ? wgLocation : (configured ?? wgLocation);
  const parsed = location ? parseS3Uri(location) : null;
  if (conf?.ManagedQueryResultsConfiguration?.Enabled) {
    checks.push({ id: 'athena-results', title: resultsTitle, status: 'ok', detail: 'managed query results (Athena keeps them)' });
    return { checks, results: null };
  }
  if (!location || !parsed) {
    checks.push({
      id: 'athena-results',
      title: resultsTitle,
      status: 'missing',
      detail: location ? `not an S3 location: ${location}` : 'neither the workgroup nor aws.athena.outputLocation names one: every query fails',
      fix: `osls deploy sets the workgroup's to s3://${ctx.bucket}/${ctx.prefix}_cclake/athena-results/; or set aws.athena.outputLocation`,
    });
    return { checks, results: null };
  }
  const note =
    enforced && configured && configured !== wgLocation
      ? ` (enforced by the workgroup; aws.athena.outputLocation ${configured} is ignored)`
      : enforced
        ? ' (enforced by the workgroup)'
        : '';
  checks.push({ id: 'athena-results', title: resultsTitle, status: 'ok', detail: `${location}${note}` });
  return { checks, results: parsed };
}

// ---------------------------------------------------------------- Glue

async function checkGlue(ctx: Ctx): Promise<CheckResult[]> {
  const db = ctx.config.aws.glueDatabase;
  const title = `Glue database ${db}`;
  try {
    await ctx.clients.glue.send(new GetDatabaseCommand({ Name: db }));
  } catch (err) {
    const tablesSkipped: CheckResult = { id: 'glue-tables', title: 'Glue tables', status: 'skipped', detail: 'no database' };
    if (errorFacts(err).name === 'EntityNotFoundException') {
      return [
        {
          id: 'glue-database',
          title,
          status: 'missing',
          detail: `no database ${db} in ${ctx.region}`,
          fix: `osls deploy creates it (param glueDatabase must equal aws.glueDatabase: ${db})`,
        },
        tablesSkipped,
      ];
    }
    return [unreadable('glue-database', title, err, `glue:GetDatabase on database/${db}`), { ...tablesSkipped, detail: 'database not readable' }];
  }
  const checks: CheckResult[] = [{ id: 'glue-database', title, status: 'ok', detail: `in ${ctx.region}` }];

  // The raw table must exist before Firehose converts to Parquet (it reads its schema); the curated
  // table before anything queries. The partitions function creates both.
  const tables = [rawTable(ctx.config).name, CURATED_EVENTS.name];
  const absent: string[] = [];
  for (const table of tables) {
    try {
      await ctx.clients.glue.send(new GetTableCommand({ DatabaseName: db, Name: table }));
    } catch (err) {
      if (errorFacts(err).name === 'EntityNotFoundException') absent.push(table);
      else return [...checks, unreadable('glue-tables', 'Glue tables', err, `glue:GetTable on table/${db}/${table}`)];
    }
  }
  const fn = `cclake-${ctx.options.stage ?? '<stage>'}-partitions`;
  checks.push(
    absent.length === 0
      ? { id: 'glue-tables', title: 'Glue tables', status: 'ok', detail: tables.join(', ') }
      : {
          id: 'glue-tables',
          title: 'Glue tables',
          status: 'missing',
          detail: `no ${absent.join(', ')} in ${db}: Firehose's Parquet conversion reads the raw table`,
          fix: `invoke the partitions function once after the first deploy: aws lambda invoke --function-name ${fn} --payload '{}' --cli-binary-format raw-in-base64-out /dev/stdout`,
        },
  );
  return checks;
}

// ---------------------------------------------------------------- QuickSight

async function checkQuickSight(ctx: Ctx, results: ResultsLocation | null): Promise<CheckResult[]> {
  const qs = ctx.config.aws.quicksight;
  const account = ctx.quicksightAccount;
  const checks: CheckResult[] = [];
  const title = 'QuickSight subscription';
  try {
    const info = (await ctx.clients.quicksight.send(new DescribeAccountSubscriptionCommand({ AwsAccountId: account }))).AccountInfo;
    const edition = info?.Edition;
    const status = info?.AccountSubscriptionStatus;
    if (status && status !== 'ACCOUNT_CREATED') {
      checks.push({
        id: 'quicksight-edition',
        title,
        status: status === 'UNSUBSCRIBED' ? 'missing' : 'wrong',
        detail: `account ${account}: subscription status ${status}`,
        fix: 'sign up for QuickSight Enterprise edition in this account (QuickSight console, Sign up)',
      });
    } else if (edition === 'ENTERPRISE' || edition === 'ENTERPRISE_AND_Q') {
      checks.push({ id: 'quicksight-edition', title, status: 'ok', detail: `${edition} edition (account ${account})` });
    } else {
      checks.push({
        id: 'quicksight-edition',
        title,
        status: 'wrong',
        detail: `${edition ?? 'unknown'} edition: report snapshots, row-level security and 32 SPICE refreshes a day need Enterprise`,
        fix: 'upgrade to Enterprise edition: QuickSight console, Manage QuickSight, Your subscriptions',
      });
    }
  } catch (err) {
    if (errorFacts(err).name === 'ResourceNotFoundException') {
      checks.push({
        id: 'quicksight-edition',
        title,
        status: 'missing',
        detail: `no QuickSight subscription in account ${account}`,
        fix: 'sign up for QuickSight Enterprise edition in this account (QuickSight console, Sign up)',
      });
    } else {
      checks.push(unreadable('quicksight-edition', title, err, 'quicksight:DescribeAccountSubscription'));
    }
  }

  const nsTitle = `QuickSight namespace ${qs.namespace}`;
  try {
    const ns = (await ctx.clients.quicksight.send(new DescribeNamespaceCommand({ AwsAccountId: account, Namespace: qs.namespace }))).Namespace;
    checks.push(
      !ns?.CreationStatus || ns.CreationStatus === 'CREATED'
        ? { id: 'quicksight-namespace', title: nsTitle, status: 'ok', detail: `identity store ${ns?.IdentityStore ?? 'QUICKSIGHT'}` }
        : {
            id: 'quicksight-namespace',
            title: nsTitle,
            status: 'wrong',
            detail: `creation status ${ns.CreationStatus}`,
            fix: 'wait for the namespace to be created, or fix aws.quicksight.namespace',
          },
    );
  } catch (err) {
    if (errorFacts(err).name === 'ResourceNotFoundException') {
      checks.push({
        id: 'quicksight-namespace',
        title: nsTitle,
        status: 'missing',
        detail: `no namespace ${qs.namespace} in account ${account}`,
        fix: "set aws.quicksight.namespace to an existing namespace ('default' always exists)",
      });
    } else {
      checks.push(unreadable('quicksight-namespace', nsTitle, err, 'quicksight:DescribeNamespace'));
    }
  }

  checks.push(await checkPrincipals(ctx));
  checks.push(...(await checkQuickSightRole(ctx, results)));
  return checks;
}

const PRINCIPAL_ARN = /^arn:[a-z-]+:quicksight:([a-z0-9-]+):(\d{12}):(user|group)\/([A-Za-z0-9._-]+)\/(.+)$/;

/** The viewers and owners named in the config exist (publish grants them permissions, which fails for an unknown principal). */
async function checkPrincipals(ctx: Ctx): Promise<CheckResult> {
  const id = 'quicksight-principals';
  const title = 'QuickSight viewers and owners';
  const { principals, owners } = ctx.config.aws.quicksight;
  if (principals.length === 0) {
    return {
      id,
      title,
      status: 'missing',
      detail: 'aws.quicksight.principals is empty: nobody can open the dashboards',
      fix: 'add the ARNs of the QuickSight groups (or users) who read the dashboards to aws.quicksight.principals',
    };
  }
  const absent: string[] = [];
  const malformed: string[] = [];
  for (const arn of [...new Set([...principals, ...owners])]) {
    const m = PRINCIPAL_ARN.exec(arn);
    if (!m) {
      malformed.push(arn);
      continue;
    }
    const [, region, account, kind, namespace, name] = m as unknown as [string, string, string, 'user' | 'group', string, string];
    const client = ctx.clients.quicksightIn(region);
    try {
      if (kind === 'user') await client.send(new DescribeUserCommand({ AwsAccountId: account, Namespace: namespace, UserName: name }));
      else await client.send(new DescribeGroupCommand({ AwsAccountId: account, Namespace: namespace, GroupName: name }));
    } catch (err) {
      if (errorFacts(err).name === 'ResourceNotFoundException') absent.push(arn);
      else return unreadable(id, title, err, `quicksight:Describe${kind === 'user' ? 'User' : 'Group'} in ${region}`);
    }
  }
  if (malformed.length) {
    return {
      id,
      title,
      status: 'wrong',
      detail: `not a QuickSight user or group ARN: ${malformed.join(', ')}`,
      fix: 'use arn:aws:quicksight:<identity region>:<account>:group/<namespace>/<name> (or user/...)',
    };
  }
  if (absent.length) {
    return {
      id,
      title,
      status: 'missing',
      detail: `no such principal: ${absent.join(', ')}`,
      fix: 'create them (aws quicksight create-group, or invite the users) or fix aws.quicksight.principals and owners',
    };
  }
  const n = new Set([...principals, ...owners]).size;
  return { id, title, status: 'ok', detail: `${n} principal(s) exist` };
}

interface Access {
  id: string;
  title: string;
  /** Each action must be allowed on each of the resources. */
  needs: { actions: string[]; resources: string[] }[];
  fix: string;
}

/** What QuickSight's role needs: read the lake, use the Athena results location, write the snapshots, run Athena over Glue. */
function quickSightAccess(ctx: Ctx, results: ResultsLocation | null): Access[] {
  const { bucket, prefix, partition, region, account } = ctx;
  const db = ctx.config.aws.glueDatabase;
  const consoleFix = (what: string) => `QuickSight console, Manage QuickSight, Security & permissions, AWS resources: ${what}`;
  const sample = [CURATED_EVENTS_PREFIX, rollupPrefix(ROLLUP_TABLES[0].name), SEEDS_PREFIX, ANOMALIES_PREFIX].map((p) =>
    s3Arn(ctx, bucket, `${prefix}${p}dt=2026-01-01/part-0.parquet`),
  );
  const access: Access[] = [
    {
      id: 'quicksight-role-lake',
      title: 'QuickSight role reads the lake',
      needs: [
        { actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [s3Arn(ctx, bucket)] },
        { actions: ['s3:GetObject'], resources: sample },
      ],
      fix: consoleFix(`tick Amazon S3 and bucket ${bucket}`),
    },
  ];
  if (results) {
    access.push({
      id: 'quicksight-role-results',
      title: 'QuickSight role uses the Athena results location',
      needs: [
        { actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [s3Arn(ctx, results.bucket)] },
        { actions: ['s3:GetObject', 's3:PutObject'], resources: [s3Arn(ctx, results.bucket, `${results.prefix}00000000-0000-0000-0000-000000000000.csv`)] },
      ],
      fix: consoleFix(`tick bucket ${results.bucket} with "Write permission for Athena Workgroup"`),
    });
  }
  access.push(
    {
      id: 'quicksight-role-snapshots',
      title: 'QuickSight role writes the report snapshots',
      needs: [{ actions: ['s3:PutObject'], resources: [s3Arn(ctx, bucket, `${prefix}${ctx.config.publish.snapshot.prefix}2026-01-01/executive.pdf`)] }],
      fix: consoleFix(`tick bucket ${bucket} with "Write permission for Athena Workgroup" (snapshots are written with the same role)`),
    },
    {
      id: 'quicksight-role-athena',
      title: 'QuickSight role queries Athena over Glue',
      needs: [
        {
          actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
          resources: [`arn:${partition}:athena:${region}:${account}:workgroup/${ctx.config.aws.athena.workgroup}`],
        },
        {
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
          resources: [
            `arn:${partition}:glue:${region}:${account}:catalog`,
            `arn:${partition}:glue:${region}:${account}:database/${db}`,
            `arn:${partition}:glue:${region}:${account}:table/${db}/${ROLLUP_TABLES[0].name}`,
          ],
        },
      ],
      fix: consoleFix('tick Amazon Athena'),
    },
  );
  return access;
}

async function checkQuickSightRole(ctx: Ctx, results: ResultsLocation | null): Promise<CheckResult[]> {
  const given = ctx.options.quicksightRole;
  const roleArn = given?.startsWith('arn:') ? given : `arn:${ctx.partition}:iam::${ctx.quicksightAccount}:role/${given ?? QUICKSIGHT_DEFAULT_ROLE}`;
  const out: CheckResult[] = [];
  for (const a of quickSightAccess(ctx, results)) {
    const denied: string[] = [];
    try {
      for (const need of a.needs) {
        for (const r of await simulate(ctx.clients.iam, roleArn, need.actions, need.resources)) {
          if (r.EvalDecision !== 'allowed') denied.push(`${r.EvalActionName} on ${r.EvalResourceName} (${r.EvalDecision})`);
        }
      }
    } catch (err) {
      if (errorFacts(err).name === 'NoSuchEntityException') {
        out.push({
          id: a.id,
          title: a.title,
          status: 'missing',
          detail: `no role ${roleArn}`,
          fix: given
            ? 'pass the role QuickSight uses (QuickSight console, Security & permissions) with --quicksight-role'
            : 'QuickSight creates it at sign-up; if QuickSight uses another role, pass it with --quicksight-role NAME',
        });
      } else {
        out.push(unreadable(a.id, a.title, err, `iam:SimulatePrincipalPolicy on ${roleArn}`));
      }
      continue;
    }
    out.push(
      denied.length === 0
        ? { id: a.id, title: a.title, status: 'ok', detail: `${roleArn.split('/').pop()}: allowed (its identity policies, simulated)` }
        : { id: a.id, title: a.title, status: 'missing', detail: `denied: ${denied.join('; ')}`, fix: a.fix },
    );
  }
  return out;
}

/** iam:SimulatePrincipalPolicy over every page of results. */
async function simulate(iam: IAMClient, role: string, actions: string[], resources: string[]): Promise<EvaluationResult[]> {
  const results: EvaluationResult[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: role, ActionNames: actions, ResourceArns: resources, ...(marker ? { Marker: marker } : {}) }),
    );
    results.push(...(page.EvaluationResults ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return results;
}

// ---------------------------------------------------------------- SNS

function topicsToCheck(ctx: Ctx): { arn: string; role: string; fromStack: boolean }[] {
  const topics: { arn: string; role: string; fromStack: boolean }[] = [];
  const configured = ctx.config.anomalies.delivery.snsTopicArn;
  const stackArn = (name: string) => `arn:${ctx.partition}:sns:${ctx.region}:${ctx.account}:${name}`;
  if (configured) topics.push({ arn: configured, role: 'alerts (anomalies.delivery.snsTopicArn)', fromStack: false });
  if (ctx.options.stage) {
    if (!configured) topics.push({ arn: stackArn(`cclake-${ctx.options.stage}-alerts`), role: 'alerts', fromStack: true });
    topics.push({ arn: stackArn(`cclake-${ctx.options.stage}-alarms`), role: 'operations alarms', fromStack: true });
  }
  for (const arn of ctx.options.topics ?? []) if (!topics.some((t) => t.arn === arn)) topics.push({ arn, role: 'topic', fromStack: false });
  return topics;
}

async function checkTopics(ctx: Ctx): Promise<CheckResult[]> {
  const topics = topicsToCheck(ctx);
  if (topics.length === 0) {
    return [
      { id: 'sns', title: 'SNS topics', status: 'skipped', detail: "no topic in the config: pass --stage NAME to check the stack's alerts and alarms topics" },
    ];
  }
  const out: CheckResult[] = [];
  for (const t of topics) {
    const name = t.arn.split(':').pop()!;
    const title = `SNS ${t.role} topic ${name}`;
    try {
      const attrs = (await ctx.clients.sns(t.arn.split(':')[3] || undefined).send(new GetTopicAttributesCommand({ TopicArn: t.arn }))).Attributes ?? {};
      const confirmed = Number(attrs.SubscriptionsConfirmed ?? '0');
      out.push(
        confirmed > 0
          ? { id: 'sns', title, status: 'ok', detail: `${confirmed} confirmed subscription(s)` }
          : {
              id: 'sns',
              title,
              status: 'missing',
              detail: `no confirmed subscription${Number(attrs.SubscriptionsPending ?? '0') > 0 ? ` (${attrs.SubscriptionsPending} pending confirmation)` : ''}: messages reach nobody`,
              fix: `aws sns subscribe --topic-arn ${t.arn} --protocol email --notification-endpoint YOU@EXAMPLE.COM (then confirm the e-mail)`,
            },
      );
    } catch (err) {
      if (errorFacts(err).name === 'NotFoundException') {
        out.push({
          id: 'sns',
          title,
          status: 'missing',
          detail: `no topic ${t.arn}`,
          fix: t.fromStack ? 'osls deploy creates it (deploy this stage first)' : 'create the topic or fix the ARN in the config',
        });
      } else {
        out.push(unreadable('sns', title, err, `sns:GetTopicAttributes on ${t.arn}`));
      }
    }
  }
  return out;
}
