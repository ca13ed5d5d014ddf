/**
 * The anomalies function's module wired as on Lambda: the config from CCLAKE_CONFIG, the lake on S3
 * (s3rver on loopback), Athena, Glue and SNS through their real clients with `send` mocked. Athena
 * answers the detector queries with canned rollup series (an error-rate incident on the day judged),
 * Glue is a small in-memory catalog. One requested day runs end to end: the queries, the Parquet day
 * in a new generation, its commit and Glue partition, one SNS message, the ledger, the log line; a
 * rerun stores a new generation and sends nothing. Event validation and the missing topic too.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetTableCommand,
  GlueClient,
  type BatchCreatePartitionCommandInput,
  type BatchUpdatePartitionCommandInput,
  type Partition,
  type Table,
} from '@aws-sdk/client-glue';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { modelCheckedMock } from './helpers/aws-model';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { BUNDLED_SQL_DIR, handler, parseAnomaliesEvent } from '../functions/anomalies/handler';
import { loadLedger } from '../functions/lib/anomalies/delivery';
import { readDetectorSql } from '../functions/lib/anomalies/queries';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { readRows } from '../functions/lib/parquet/io';
import { listAll } from '../functions/lib/store/port';
import { S3ObjectStore } from '../functions/lib/store/s3';
import { addDays } from '../functions/lib/util/dates';
import { startS3rver, type S3rverHandle } from './helpers/s3rver';

const BUCKET = 'cclake-anomalies-lake';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:cclake-test-alerts';
const DT = '2026-11-18';
const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const SQL = readDetectorSql(BUNDLED_SQL_DIR);

describe('parseAnomaliesEvent', () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [{ dt: DT }, { dt: DT }],
    [
      { from: '2026-11-01', to: DT },
      { from: '2026-11-01', to: DT },
    ],
  ])('accepts %j', (event, parsed) => {
    expect(parseAnomaliesEvent(event)).toEqual(parsed);
  });

  it.each([
    ['a string', DT, /the anomalies event must be an object such as \{\}/],
    ['unknown keys', { dt: DT, force: true }, /accepts only "dt", "from" and "to", got "force"/],
    ['a bad date', { dt: '2026-13-01' }, /event\.dt must be a date YYYY-MM-DD, got "2026-13-01"/],
    ['a reversed range', { from: DT, to: '2026-11-01' }, /event\.to 2026-11-01 is before event\.from 2026-11-18/],
  ])('rejects %s', (_what, event, message) => {
    expect(() => parseAnomaliesEvent(event)).toThrow(message);
  });
});

describe('anomalies handler on S3 + Glue + Athena + SNS (mocked)', () => {
  let server: S3rverHandle;
  const savedEnv = { ...process.env };
  const athena = modelCheckedMock(AthenaClient);
  const glue = modelCheckedMock(GlueClient);
  const sns = modelCheckedMock(SNSClient);
  const tables = new Map<string, Table>();
  const partitions = new Map<string, Partition>();
  let started: (StartQueryExecutionCommandInput & { id: string })[];
  let stdout: MockInstance;
  let stderr: MockInstance;
  let prefixNo = 0;
  const notFound = (what: string) => new EntityNotFoundException({ $metadata: { httpStatusCode: 400 }, message: `${what} not found` });

  /** api_health_daily as Athena would return it: 28 days at 1% errors, then 14% on DT. */
  const healthRows = () => [
    ...Array.from({ length: 28 }, (_, i) => [addDays(DT, -(28 - i)), MODEL, '1000', '10', String(10 / 1010), '6000']),
    [DT, MODEL, '1000', '160', String(160 / 1160), '6100'],
  ];
  const varchar = (Name: string, Type = 'varchar') => ({ Name, Label: Name, Type });

  beforeAll(async () => {
    server = await startS3rver({ bucket: BUCKET });
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    athena.restore();
    glue.restore();
    sns.restore();
    process.env = savedEnv;
    await server?.close();
  });

  beforeEach(() => {
    athena.reset();
    glue.reset();
    sns.reset();
    tables.clear();
    partitions.clear();
    started = [];
    stdout?.mockRestore();
    stderr?.mockRestore();
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let n = 0;
    athena.on(StartQueryExecutionCommand).callsFake(async (input: StartQueryExecutionCommandInput) => {
      const id = `q-${++n}`;
      started.push({ ...input, id });
      return { QueryExecutionId: id };
    });
    athena.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => ({
      QueryExecution: {
        QueryExecutionId,
        StatementType: 'DML',
        Status: { State: 'SUCCEEDED' },
        Statistics: { DataScannedInBytes: 2048, TotalExecutionTimeInMillis: 40 },
      },
    }));
    athena.on(GetQueryResultsCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => {
      const sql = started.find((q) => q.id === QueryExecutionId)?.QueryString ?? '';
      if (sql !== SQL.api_health_series) return { ResultSet: { Rows: [], ResultSetMetadata: { ColumnInfo: [] } } };
      const cols = [
        varchar('dt', 'date'),
        varchar('model'),
        varchar('requests', 'bigint'),
        varchar('errors', 'bigint'),
        varchar('error_rate', 'double'),
        varchar('p95_ms', 'double'),
      ];
      const header = { Data: cols.map((c) => ({ VarCharValue: c.Name })) };
      return {
        ResultSet: { ResultSetMetadata: { ColumnInfo: cols }, Rows: [header, ...healthRows().map((r) => ({ Data: r.map((v) => ({ VarCharValue: v })) }))] },
      };
    });
    glue.on(GetTableCommand).callsFake(async ({ Name }: { Name: string }) => {
      const table = tables.get(Name);
      if (!table) throw notFound(`table ${Name}`);
      return { Table: table };
    });
    glue.on(CreateTableCommand).callsFake(async ({ TableInput }: { TableInput: Table }) => void tables.set(TableInput.Name!, TableInput));
    glue.on(GetPartitionCommand).callsFake(async ({ TableName, PartitionValues }: { TableName: string; PartitionValues: string[] }) => {
      const p = partitions.get(`${TableName}/${PartitionValues.join('/')}`);
      if (!p) throw notFound(`partition ${TableName}`);
      return { Partition: p };
    });
    glue.on(BatchCreatePartitionCommand).callsFake(async ({ TableName, PartitionInputList }: BatchCreatePartitionCommandInput) => {
      const errors = [];
      for (const p of PartitionInputList ?? []) {
        const key = `${TableName}/${p.Values!.join('/')}`;
        if (partitions.has(key)) errors.push({ PartitionValues: p.Values, ErrorDetail: { ErrorCode: 'AlreadyExistsException', ErrorMessage: 'exists' } });
        else partitions.set(key, { ...p, TableName });
      }
      return { Errors: errors };
    });
    glue.on(BatchUpdatePartitionCommand).callsFake(async ({ TableName, Entries }: BatchUpdatePartitionCommandInput) => {
      for (const e of Entries ?? []) partitions.set(`${TableName}/${e.PartitionValueList!.join('/')}`, { ...e.PartitionInput, TableName });
      return { Errors: [] };
    });
    sns.on(PublishBatchCommand).callsFake(async (input: PublishBatchCommandInput) => ({
      Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id!, MessageId: `sns-${e.Id}` })),
      Failed: [],
    }));
  });

  /** A fresh lake prefix, configured as the function's CCLAKE_CONFIG (and the stack's topic); its store. */
  function freshLake(): { store: S3ObjectStore } {
    const prefix = `lake${++prefixNo}/`;
    process.env.CCLAKE_CONFIG = JSON.stringify({
      lake: { s3: { bucket: BUCKET, prefix } },
      aws: { glueDatabase: 'cclake', athena: { workgroup: 'cclake-wg' } },
    });
    process.env.CCLAKE_ALERTS_TOPIC_ARN = TOPIC;
    return { store: new S3ObjectStore({ client: server.client, bucket: BUCKET, prefix, multipartThresholdBytes: 64 * 1024 * 1024 }) };
  }

  const logLine = (message: string) =>
    [...stdout.mock.calls, ...stderr.mock.calls]
      .map(([chunk]) => String(chunk))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === message)
      .at(-1);

  it('judges a requested day on Athena, stores it as a Glue partition, sends the new anomaly once', async () => {
    const { store } = freshLake();
    const summary = await handler({ dt: DT }, { awsRequestId: 'beef0001-2222' });
    expect(summary).toMatchObject({ runId: 'beef0001', status: 'completed', catalogErrors: [], byDetector: { error_rate: 1 } });
    expect(summary.anomalies.map((a) => [a.detector, a.entity, a.dt])).toEqual([['error_rate', MODEL, DT]]);

    // The detector queries: the window is the 28 days before the day; parameters bound as literals.
    const health = started.find((q) => q.QueryString === SQL.api_health_series)!;
    expect(health).toMatchObject({
      WorkGroup: 'cclake-wg',
      QueryExecutionContext: { Database: 'cclake' },
      ExecutionParameters: [`'${addDays(DT, -28)}'`, `'${DT}'`],
    });
    expect(started.map((q) => q.QueryString)).toEqual([
      SQL.spike_series,
      SQL.api_health_series,
      SQL.user_hours_series,
      SQL.new_resources,
      SQL.compliance_series,
    ]);

    // The day: one Parquet file in generation 1, committed, the Glue partition pointing at it.
    // A location of this attempt's own (a retry keeps the awsRequestId): generation 1, the run, a nonce.
    const location = summary.days[0]!.location;
    expect(location).toMatch(new RegExp(`^anomalies/dt=${DT}/gen=000001-beef0001-[0-9a-f]{6}/$`));
    const files = await listAll(store, location);
    expect(files.map((f) => f.key)).toEqual([`${location}part-00000.parquet`]);
    const rows = readRows(await store.get(files[0]!.key));
    expect(rows).toEqual([
      expect.objectContaining({ anomaly_id: summary.anomalies[0]!.id, detector: 'error_rate', entity_type: 'model', entity: MODEL, severity: 'critical' }),
    ]);
    expect(await new PartitionCommits(store).get('detected_anomalies', DT)).toMatchObject({ location, generation: 1, rows: 1 });
    expect(tables.get('detected_anomalies')?.PartitionKeys).toEqual([expect.objectContaining({ Name: 'dt', Type: 'date' })]);
    expect(partitions.get(`detected_anomalies/${DT}`)?.StorageDescriptor?.Location).toBe(`s3://${BUCKET}/lake1/${location}`);

    // SNS: the one alert, and the ledger records it.
    const sent = sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      TopicArn: TOPIC,
      PublishBatchRequestEntries: [expect.objectContaining({ Id: 'm0', Subject: `[critical] ${DT} error_rate model ${MODEL}` })],
    });
    expect(JSON.parse(sent[0]!.PublishBatchRequestEntries![0]!.Message!)).toMatchObject({
      kind: 'anomaly',
      detector: 'error_rate',
      message: expect.stringMatching(/^Error rate of model .* was 13.8%/),
    });
    expect((await loadLedger(store)).delivered[summary.anomalies[0]!.id]).toMatchObject({ via: `sns://${TOPIC}`, messageId: 'sns-m0' });
    expect(logLine('anomalies run')).toMatchObject({
      level: 'INFO',
      service: 'cclake-anomalies',
      runId: 'beef0001',
      anomalies: 1,
      byDetector: { error_rate: 1 },
      delivery: expect.objectContaining({ delivered: 1 }),
    });
    expect(await listAll(store, '_cclake/locks/')).toEqual([]);

    // A rerun of the day: a new generation with the same anomaly, nothing sent again.
    const again = await handler({ dt: DT }, { awsRequestId: 'beef0002-2222' });
    expect(again.anomalies.map((a) => a.id)).toEqual(summary.anomalies.map((a) => a.id));
    expect(again.delivery).toMatchObject({ alreadyDelivered: 1, attempted: 0 });
    expect(sns.commandCalls(PublishBatchCommand)).toHaveLength(1);
    expect(partitions.get(`detected_anomalies/${DT}`)?.StorageDescriptor?.Location).toMatch(
      new RegExp(`^s3://${BUCKET}/lake1/anomalies/dt=${DT}/gen=000002-beef0002-[0-9a-f]{6}/$`),
    );
  });

  it('logs alerts SNS refused as a warning; they stay pending', async () => {
    const { store } = freshLake();
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [{ Id: 'm0', Code: 'AuthorizationError', Message: 'denied', SenderFault: true }] });
    const summary = await handler({ dt: DT }, { awsRequestId: 'beef0003-2222' });
    expect(summary.delivery?.failed).toEqual([{ id: summary.anomalies[0]!.id, error: 'SNS refused the message: AuthorizationError: denied' }]);
    expect((await loadLedger(store)).pending.map((p) => p.id)).toEqual([summary.anomalies[0]!.id]);
    expect(logLine('anomalies run')).toMatchObject({ level: 'WARN' });
  });

  it('refuses to run without a topic, naming both ways to give one', async () => {
    freshLake();
    delete process.env.CCLAKE_ALERTS_TOPIC_ARN;
    await expect(handler({}, { awsRequestId: 'x' })).rejects.toThrow(
      /no SNS topic for alerts: set CCLAKE_ALERTS_TOPIC_ARN .* or anomalies\.delivery\.snsTopicArn/,
    );
    expect(started).toEqual([]);
  });
});
