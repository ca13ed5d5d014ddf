/**
 * The ingest path in the packaged template (issue 17 section 1), on both paths: `osls package` with the
 * default parameters (ingestSource "kinesis") and with ingestSource "cloudwatch". The template's
 * conditions are evaluated as CloudFormation would, and the delivery stream, the Glue table and the
 * subscription filter are turned into the API requests CloudFormation makes and checked against the
 * published service models (test/aws-models/): a property AWS would reject fails here.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GlueCatalog } from '../functions/lib/catalog/glue';
import { rawTable } from '../functions/lib/catalog/tables';
import { parseConfig } from '../functions/lib/config/load';
import { glueColumns } from '../schemas/columns';
import { RAW_RECORD } from '../schemas/raw-record';
import { validateInput, formatViolations } from './helpers/aws-model';
import { packagedStack, type PackagedStack } from './helpers/packaged-stack';

const ROOT = new URL('..', import.meta.url).pathname;
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** Fake physical ids of the resources an intrinsic may name, in the forms AWS returns. */
function arnOf(logicalId: string, type: string): string {
  switch (type) {
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/cclake-test-${logicalId}`;
    case 'AWS::Kinesis::Stream':
      return `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/cclake-test-ingest`; // its Name
    case 'AWS::KinesisFirehose::DeliveryStream':
      return `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/cclake-test-raw`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:cclake-test-${logicalId}`;
    case 'AWS::S3::Bucket':
      return 'arn:aws:s3:::cclake-test-lake';
    default:
      return `arn:aws:test:${REGION}:${ACCOUNT}:${logicalId}`;
  }
}

/** A template with its conditions decided: `resolve` evaluates intrinsics as CloudFormation does. */
class Stack {
  readonly conditions: Record<string, boolean> = {};
  constructor(readonly t: PackagedStack['template'] & { Conditions?: Record<string, Json> }) {
    for (const name of Object.keys(t.Conditions ?? {})) this.condition(name);
  }
  condition(name: string): boolean {
    if (!(name in this.conditions)) this.conditions[name] = this.truth(this.t.Conditions![name]);
    return this.conditions[name]!;
  }
  private truth(c: Json): boolean {
    if ('Condition' in c) return this.condition(c.Condition);
    if ('Fn::Equals' in c) return JSON.stringify(this.resolve(c['Fn::Equals'][0])) === JSON.stringify(this.resolve(c['Fn::Equals'][1]));
    if ('Fn::Or' in c) return c['Fn::Or'].some((x: Json) => this.truth(x));
    if ('Fn::And' in c) return c['Fn::And'].every((x: Json) => this.truth(x));
    if ('Fn::Not' in c) return !this.truth(c['Fn::Not'][0]);
    throw new Error(`unknown condition ${JSON.stringify(c)}`);
  }
  /** The resources CloudFormation would create. */
  get created(): Set<string> {
    return new Set(
      Object.entries(this.t.Resources)
        .filter(([, r]) => !r.Condition || this.condition(r.Condition))
        .map(([k]) => k),
    );
  }
  resource(id: string) {
    const r = this.t.Resources[id];
    if (!r) throw new Error(`no resource ${id}`);
    return r;
  }
  private pseudo(name: string): string | undefined {
    return { 'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' }[name];
  }
  private ref(name: string): Json {
    const p = this.pseudo(name);
    if (p !== undefined) return p;
    if (name === 'AWS::NoValue') return undefined;
    const r = this.resource(name);
    if (r.Condition && !this.condition(r.Condition)) throw new Error(`Ref to ${name}, which is not created`);
    if (r.Type === 'AWS::Glue::Table') return (r.Properties as Json).TableInput.Name;
    if (r.Type === 'AWS::Logs::LogGroup') return this.resolve((r.Properties as Json).LogGroupName);
    if (r.Type === 'AWS::Logs::LogStream') return this.resolve((r.Properties as Json).LogStreamName);
    return `cclake-test-${name}`;
  }
  resolve(v: Json): Json {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x)).filter((x) => x !== undefined);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const a = v[k];
      if (k === 'Ref') return this.ref(a);
      if (k === 'Fn::If') return this.resolve(this.condition(a[0]) ? a[1] : a[2]);
      if (k === 'Fn::GetAtt') {
        const r = this.resource(a[0]);
        if (r.Condition && !this.condition(r.Condition)) throw new Error(`GetAtt of ${a[0]}, which is not created`);
        if (r.Type === 'AWS::Kinesis::Stream') return `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${(r.Properties as Json).Name}`;
        return arnOf(a[0], r.Type);
      }
      if (k === 'Fn::Sub') return String(a).replace(/\$\{([^}]+)\}/g, (_, n: string) => String(this.ref(n)));
      if (k === 'Fn::Join') return (this.resolve(a[1]) as string[]).join(a[0]);
    }
    const o: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = this.resolve(x);
      if (r !== undefined) o[k] = r;
    }
    return o;
  }
  props(id: string): Json {
    return this.resolve(this.resource(id).Properties);
  }
}

const expectModelValid = (service: string, op: string, input: unknown) => {
  const v = validateInput(service, op, input);
  expect(v, formatViolations(service, op, v)).toEqual([]);
};

/** Every statement of a role's inline policies. */
const statements = (role: Json): Json[] => role.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);

const deliveryRequest = (s: Stack) => {
  const p = s.props('RawDeliveryStream');
  return { input: p, violations: validateInput('firehose', 'CreateDeliveryStream', p) };
};

describe('ingest path, default parameters (collector -> Kinesis Data Stream -> Firehose -> raw/)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = new Stack((await packagedStack(ROOT)).template);
  }, 600_000);

  it('creates the stream, the delivery stream, its role, the producer policy and the raw table, and no CloudWatch Logs subscription', () => {
    const c = s.created;
    for (const id of ['IngestStream', 'IngestProducerPolicy', 'RawDeliveryStream', 'FirehoseRole', 'RawGlueTable', 'FirehoseLogGroup'])
      expect(c.has(id), id).toBe(true);
    for (const id of ['IngestSubscriptionFilter', 'CloudWatchToFirehoseRole']) expect(c.has(id), id).toBe(false);
    expect(s.props('IngestStream')).toMatchObject({
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 1,
      StreamEncryption: { EncryptionType: 'KMS' },
    });
  });

  it('the delivery stream reads the Kinesis stream, runs the transform, converts to Parquet with the raw table and writes the arrival-hour layout (a valid CreateDeliveryStream request)', () => {
    const { input, violations } = deliveryRequest(s);
    expect(violations, formatViolations('firehose', 'CreateDeliveryStream', violations)).toEqual([]);
    expect(input.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(input.KinesisStreamSourceConfiguration).toEqual({
      KinesisStreamARN: arnOf('IngestStream', 'AWS::Kinesis::Stream'),
      RoleARN: arnOf('FirehoseRole', 'AWS::IAM::Role'),
    });
    const d = input.ExtendedS3DestinationConfiguration;
    expect(d.BucketARN).toBe('arn:aws:s3:::cclake-test-lake');
    expect(d.Prefix).toBe('raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/');
    // Firehose's rule: a Prefix with expressions needs an ErrorOutputPrefix, which names the error output type.
    expect(d.ErrorOutputPrefix).toMatch(/^raw-errors\/!\{firehose:error-output-type\}\//);
    expect(d.BufferingHints).toEqual({ SizeInMBs: 64, IntervalInSeconds: 300 });
    expect(d.CompressionFormat).toBe('UNCOMPRESSED'); // required with record format conversion
    expect(d.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [
        {
          Type: 'Lambda',
          Parameters: [
            { ParameterName: 'LambdaArn', ParameterValue: arnOf('TransformLambdaFunction', 'AWS::Lambda::Function') },
            { ParameterName: 'BufferSizeInMBs', ParameterValue: '1' },
            { ParameterName: 'BufferIntervalInSeconds', ParameterValue: '60' },
          ],
        },
      ],
    });
    expect(d.DataFormatConversionConfiguration).toMatchObject({
      Enabled: true,
      InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
      OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } },
      SchemaConfiguration: { CatalogId: ACCOUNT, DatabaseName: 'cclake', TableName: 'events_raw', Region: REGION, VersionId: 'LATEST' },
    });
  });

  it('the prefix is the raw key layout compaction reads (functions/lib/raw/keys.ts)', async () => {
    const { hourPrefix, arrivalHourOf } = await import('../functions/lib/raw/keys');
    const at = Date.parse('2026-12-05T09:00:00Z');
    const firehoseKey = s
      .props('RawDeliveryStream')
      .ExtendedS3DestinationConfiguration.Prefix.replace('!{timestamp:yyyy}', '2026')
      .replace('!{timestamp:MM}', '12')
      .replace('!{timestamp:dd}', '05')
      .replace('!{timestamp:HH}', '09');
    expect(firehoseKey).toBe(hourPrefix('raw/', at));
    expect(arrivalHourOf(`${firehoseKey}cclake-test-raw-1-2026-12-05-09-12-01-0b5e4c1a-6a39-4c3e-9f4c-5c1d1e2f3a4b.parquet`)).toBe(at);
  });

  it('a buffering parameter outside Firehose bounds is what the model rejects', () => {
    const p = s.props('RawDeliveryStream');
    p.ExtendedS3DestinationConfiguration.BufferingHints = { SizeInMBs: 129, IntervalInSeconds: 901 };
    const v = validateInput('firehose', 'CreateDeliveryStream', p).map((x) => x.path);
    expect(v).toEqual(expect.arrayContaining([expect.stringContaining('SizeInMBs'), expect.stringContaining('IntervalInSeconds')]));
  });

  it('the raw table is the CreateTable request the partitions job would send, from schemas/ (a valid Glue request)', () => {
    const p = s.props('RawGlueTable');
    expect((s.resource('RawGlueTable') as Json).DependsOn).toEqual(['GlueDatabase']);
    const config = parseConfig({ lake: { s3: { bucket: 'cclake-test-lake', prefix: '' } }, aws: { glueDatabase: 'cclake' } });
    const [req] = new GlueCatalog(new GlueClient({ region: REGION }), { database: 'cclake', lakeUri: 's3://cclake-test-lake/' }).describe({
      op: 'createTable',
      table: rawTable(config),
    });
    expect({ CatalogId: p.CatalogId, DatabaseName: p.DatabaseName, TableInput: p.TableInput }).toEqual({ CatalogId: ACCOUNT, ...(req!.input as object) });
    expect(p.TableInput.StorageDescriptor.Columns).toEqual(glueColumns(RAW_RECORD));
    expect(p.TableInput.StorageDescriptor.Location).toBe('s3://cclake-test-lake/raw/');
    expectModelValid('glue', 'CreateTable', { CatalogId: p.CatalogId, DatabaseName: p.DatabaseName, TableInput: p.TableInput });
  });

  it('scopes the Firehose role: raw/ and raw-errors/ objects, the transform, the raw table, its own log group, the source stream', () => {
    const role = s.props('FirehoseRole');
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'firehose.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': ACCOUNT } },
      },
    ]);
    const st = statements(role);
    for (const x of st) for (const a of [x.Action].flat()) expect(a).not.toMatch(/\*/);
    const resourcesOf = (action: string) => st.filter((x) => [x.Action].flat().includes(action)).flatMap((x) => [x.Resource].flat());
    expect(resourcesOf('s3:PutObject')).toEqual(['arn:aws:s3:::cclake-test-lake/raw/*', 'arn:aws:s3:::cclake-test-lake/raw-errors/*']);
    expect(resourcesOf('lambda:InvokeFunction')).toEqual([
      arnOf('TransformLambdaFunction', 'AWS::Lambda::Function'),
      `${arnOf('TransformLambdaFunction', 'AWS::Lambda::Function')}:*`,
    ]);
    expect(resourcesOf('glue:GetTable')).toEqual([
      `arn:aws:glue:${REGION}:${ACCOUNT}:catalog`,
      `arn:aws:glue:${REGION}:${ACCOUNT}:database/cclake`,
      `arn:aws:glue:${REGION}:${ACCOUNT}:table/cclake/events_raw`,
    ]);
    expect(resourcesOf('kinesis:GetRecords')).toEqual([arnOf('IngestStream', 'AWS::Kinesis::Stream')]);
    expect(resourcesOf('firehose:PutRecord')).toEqual([]);
    for (const x of st) expect([x.Resource].flat()).not.toContain('*');
  });

  it('the collector policy may only put records into the stream', () => {
    expect(s.props('IngestProducerPolicy').PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'],
        Resource: [arnOf('IngestStream', 'AWS::Kinesis::Stream')],
      },
    ]);
  });
});

describe('ingest path, ingestSource "cloudwatch" (collector -> CloudWatch Logs -> subscription -> Firehose)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = new Stack((await packagedStack(ROOT, 'test', { ingestSource: 'cloudwatch' })).template);
  }, 600_000);

  it('creates a Direct PUT delivery stream, the subscription filter and its role, and the raw table; no Kinesis stream', () => {
    const c = s.created;
    for (const id of ['RawDeliveryStream', 'FirehoseRole', 'RawGlueTable', 'IngestSubscriptionFilter', 'CloudWatchToFirehoseRole'])
      expect(c.has(id), id).toBe(true);
    for (const id of ['IngestStream', 'IngestProducerPolicy']) expect(c.has(id), id).toBe(false);
    const { input, violations } = deliveryRequest(s);
    expect(violations, formatViolations('firehose', 'CreateDeliveryStream', violations)).toEqual([]);
    expect(input.DeliveryStreamType).toBe('DirectPut');
    expect(input.KinesisStreamSourceConfiguration).toBeUndefined();
    expect(input.ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.SchemaConfiguration.TableName).toBe('events_raw');
    // The Kinesis read names only the stack's stream name, which this path does not create.
    const kinesis = statements(s.props('FirehoseRole')).filter((x) => [x.Action].flat().some((a: string) => a.startsWith('kinesis:')));
    expect(kinesis.flatMap((x) => [x.Resource].flat())).toEqual([`arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/cclake-test-ingest`]);
  });

  it('subscribes the log group to the delivery stream (a valid PutSubscriptionFilter request); the role CloudWatch Logs assumes may only put records into it', () => {
    const f = s.props('IngestSubscriptionFilter');
    expect(f).toEqual({
      LogGroupName: '/cclake/test/claude-code',
      FilterPattern: '',
      DestinationArn: arnOf('RawDeliveryStream', 'AWS::KinesisFirehose::DeliveryStream'),
      RoleArn: arnOf('CloudWatchToFirehoseRole', 'AWS::IAM::Role'),
    });
    expectModelValid('logs', 'PutSubscriptionFilter', {
      logGroupName: f.LogGroupName,
      filterName: 'cclake',
      filterPattern: f.FilterPattern,
      destinationArn: f.DestinationArn,
      roleArn: f.RoleArn,
    });
    const role = s.props('CloudWatchToFirehoseRole');
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'logs.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringLike: { 'aws:SourceArn': `arn:aws:logs:${REGION}:${ACCOUNT}:*` } },
      },
    ]);
    expect(statements(role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        Resource: [arnOf('RawDeliveryStream', 'AWS::KinesisFirehose::DeliveryStream')],
      },
    ]);
  });
});

describe('README', () => {
  it('the Deploying section lists no manual step for ingest', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const deploying = readme.slice(readme.indexOf('## Deploying'), readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1));
    expect(deploying).not.toMatch(/invoke it once|is the operator's|create the raw|before Firehose needs/i);
    expect(deploying).toMatch(/ingestSource/);
  });
});
