/**
 * Request shapes, batching, per-entry errors and retries of GlueCatalog, against aws-sdk-client-mock
 * (no network).
 */
import {
  AlreadyExistsException,
  BatchCreatePartitionCommand,
  BatchDeletePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
  InternalServiceException,
  ThrottlingException,
  UpdateTableCommand,
  type Partition,
  type PartitionInput,
  type TableInput,
} from '@aws-sdk/client-glue';
import { modelCheckedMock } from './helpers/aws-model';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GlueCatalog, GlueOperationError, glueClientFor } from '../functions/lib/catalog/glue';
import type { CatalogOp, PartitionSpec, TableSpec } from '../functions/lib/catalog/port';
import type { RetryOptions } from '../functions/lib/util/retry';

const LAKE = 's3://acme-lake/cclake/';

const EVENTS: TableSpec = {
  name: 'events',
  description: 'Claude Code events, one row per event',
  location: 'curated/events/',
  columns: [
    { name: 'event_name', type: 'string' },
    { name: 'ts', type: 'timestamp', comment: 'event time, UTC' },
    { name: 'attributes', type: 'map<string,string>' },
  ],
  partitionKeys: [{ name: 'dt', type: 'date', comment: 'UTC day' }],
  format: 'parquet',
  parameters: { 'cclake.schema': '3' },
};

const COLUMNS = [
  { Name: 'event_name', Type: 'string' },
  { Name: 'ts', Type: 'timestamp', Comment: 'event time, UTC' },
  { Name: 'attributes', Type: 'map<string,string>' },
];
const PARQUET = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', Parameters: { 'serialization.format': '1' } },
};

const day = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

function partition(i: number): PartitionSpec {
  return { values: [day(i)], location: `curated/events/dt=${day(i)}/gen=000001-ab12cd34/`, parameters: { 'cclake.generation': '1' } };
}

function entryError(dt: string, code: string, message = `${code} (simulated)`) {
  return { PartitionValues: [dt], ErrorDetail: { ErrorCode: code, ErrorMessage: message } };
}

const meta = { $metadata: { httpStatusCode: 400 } };
const throttled = () => new ThrottlingException({ ...meta, message: 'Rate exceeded' });

const client = new GlueClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const glue = modelCheckedMock(client);
let sleeps: number[];

function makeCatalog(retry: RetryOptions = {}, catalogId?: string): GlueCatalog {
  return new GlueCatalog(client, {
    database: 'analytics',
    lakeUri: LAKE,
    ...(catalogId ? { catalogId } : {}),
    retry: { sleep: async (ms) => void sleeps.push(ms), ...retry },
  });
}

beforeEach(() => {
  glue.reset();
  sleeps = [];
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GlueCatalog configuration', () => {
  it('names its database and checks the lake URI', () => {
    expect(makeCatalog().location).toBe('glue://analytics');
    expect(new GlueCatalog(client, { database: 'd', lakeUri: 's3://acme-lake/' }).location).toBe('glue://d');
    for (const lakeUri of ['s3://acme-lake/cclake', 's3://acme-lake', 'acme-lake/cclake/', 's3:///cclake/', 's3://acme-lake//']) {
      expect(() => new GlueCatalog(client, { database: 'd', lakeUri }), lakeUri).toThrow(/invalid lake URI .*\(ending in '\/'\)/);
    }
  });

  it('builds a client that leaves retries to the adapter', async () => {
    const built = glueClientFor('eu-west-1');
    expect(await built.config.maxAttempts()).toBe(1);
    expect(await built.config.region()).toBe('eu-west-1');
  });
});

describe('GlueCatalog tables', () => {
  const tableInput = {
    Name: 'events',
    Description: 'Claude Code events, one row per event',
    TableType: 'EXTERNAL_TABLE',
    Parameters: { classification: 'parquet', EXTERNAL: 'TRUE', 'cclake.schema': '3' },
    PartitionKeys: [{ Name: 'dt', Type: 'date', Comment: 'UTC day' }],
    StorageDescriptor: { Columns: COLUMNS, Location: 's3://acme-lake/cclake/curated/events/', ...PARQUET },
  };

  it('creates an external Parquet table with its columns, partition keys and S3 location', async () => {
    glue.on(CreateTableCommand).resolves({});

    expect(await makeCatalog().apply({ op: 'createTable', table: EVENTS })).toEqual([]);

    expect(glue.calls()).toHaveLength(1);
    expect(glue.commandCalls(CreateTableCommand)[0]?.args[0].input).toEqual({ DatabaseName: 'analytics', TableInput: tableInput });
  });

  it('updates a table with the same TableInput and includes CatalogId when given', async () => {
    glue.on(UpdateTableCommand).resolves({});
    const catalog = makeCatalog({}, '123456789012');
    const op: CatalogOp = { op: 'updateTable', table: EVENTS };

    await catalog.apply(op);

    const sent = glue.commandCalls(UpdateTableCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([{ CatalogId: '123456789012', DatabaseName: 'analytics', TableInput: tableInput }]);
    expect(catalog.describe(op)).toEqual([{ operation: 'UpdateTable', input: sent[0] }]);
  });

  it('maps GetTable back to the spec it was created from', async () => {
    glue.on(CreateTableCommand).resolves({});
    const catalog = makeCatalog();
    await catalog.apply({ op: 'createTable', table: EVENTS });
    const created = glue.commandCalls(CreateTableCommand)[0]!.args[0].input.TableInput as TableInput;
    glue.on(GetTableCommand, { DatabaseName: 'analytics', Name: 'events' }).resolves({ Table: { ...created, Name: 'events', DatabaseName: 'analytics' } });

    expect(await catalog.getTable('events')).toEqual(EVENTS);
  });

  it('keeps parameters that differ from what the adapter writes, and a location outside the lake', async () => {
    glue.on(GetTableCommand).resolves({
      Table: {
        Name: 'legacy',
        Parameters: { classification: 'csv', EXTERNAL: 'TRUE', owner: 'someone' },
        StorageDescriptor: { Columns: [{ Name: 'a', Type: 'int' }], Location: 's3://other-bucket/legacy/' },
      },
    });

    expect(await makeCatalog().getTable('legacy')).toEqual({
      name: 'legacy',
      description: '',
      location: 's3://other-bucket/legacy/',
      columns: [{ name: 'a', type: 'int' }],
      partitionKeys: [],
      format: 'parquet',
      parameters: { classification: 'csv', owner: 'someone' },
    });
  });

  it('returns null for a missing table without retrying', async () => {
    glue.on(GetTableCommand).rejects(new EntityNotFoundException({ ...meta, message: 'Table events not found.' }));

    expect(await makeCatalog().getTable('events')).toBeNull();
    expect(glue.calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('throws a clear error when a table operation fails for good, without retrying', async () => {
    glue.on(CreateTableCommand).rejects(new AlreadyExistsException({ ...meta, message: 'Table already exists.' }));

    const err = await makeCatalog()
      .apply({ op: 'createTable', table: EVENTS })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(GlueOperationError);
    expect((err as Error).message).toBe('CreateTable analytics.events failed: AlreadyExistsException: Table already exists.');
    expect(err).toMatchObject({ code: 'AlreadyExistsException', attempts: 1, operation: 'CreateTable' });
    expect(glue.calls()).toHaveLength(1);
  });

  it('retries a throttled table update, then succeeds', async () => {
    glue.on(UpdateTableCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolvesOnce({});

    await makeCatalog({ baseDelayMs: 100 }).apply({ op: 'updateTable', table: EVENTS });

    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('gives up after maxAttempts with a message naming the operation, table and Glue error', async () => {
    glue.on(UpdateTableCommand).rejects(new InternalServiceException({ $metadata: { httpStatusCode: 500 }, message: 'Internal service error' }));

    const err = await makeCatalog({ maxAttempts: 4 })
      .apply({ op: 'updateTable', table: EVENTS })
      .catch((e: unknown) => e);

    expect((err as Error).message).toBe('UpdateTable analytics.events failed after 4 attempts: InternalServiceException: Internal service error');
    expect((err as Error).cause).toBeInstanceOf(InternalServiceException);
    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });
});

describe('GlueCatalog partitions', () => {
  it('creates partitions in batches of 100 with the table storage descriptor and S3 locations', async () => {
    glue.on(BatchCreatePartitionCommand).resolves({});
    const catalog = makeCatalog();
    const op: CatalogOp = { op: 'createPartitions', table: EVENTS, partitions: Array.from({ length: 250 }, (_, i) => partition(i)) };

    expect(await catalog.apply(op)).toEqual([]);

    const inputs = glue.commandCalls(BatchCreatePartitionCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.PartitionInputList?.length)).toEqual([100, 100, 50]);
    expect(inputs.every((i) => i.DatabaseName === 'analytics' && i.TableName === 'events' && !('CatalogId' in i))).toBe(true);
    expect(inputs[0]?.PartitionInputList?.[0]).toEqual({
      Values: ['2026-01-01'],
      Parameters: { 'cclake.generation': '1' },
      StorageDescriptor: { Columns: COLUMNS, Location: 's3://acme-lake/cclake/curated/events/dt=2026-01-01/gen=000001-ab12cd34/', ...PARQUET },
    });
    expect(inputs[2]?.PartitionInputList?.at(-1)?.Values).toEqual([day(249)]);
    expect(catalog.describe(op)).toEqual(inputs.map((input) => ({ operation: 'BatchCreatePartition', input })));
  });

  it('updates partitions in batches of 100 entries naming each partition by its values', async () => {
    glue.on(BatchUpdatePartitionCommand).resolves({});
    const catalog = makeCatalog({}, '123456789012');
    const op: CatalogOp = { op: 'updatePartitions', table: EVENTS, partitions: Array.from({ length: 150 }, (_, i) => partition(i)) };

    await catalog.apply(op);

    const inputs = glue.commandCalls(BatchUpdatePartitionCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.Entries?.length)).toEqual([100, 50]);
    expect(inputs[1]).toMatchObject({ CatalogId: '123456789012', DatabaseName: 'analytics', TableName: 'events' });
    expect(inputs[1]?.Entries?.[0]).toEqual({
      PartitionValueList: [day(100)],
      PartitionInput: {
        Values: [day(100)],
        Parameters: { 'cclake.generation': '1' },
        StorageDescriptor: { Columns: COLUMNS, Location: `s3://acme-lake/cclake/curated/events/dt=${day(100)}/gen=000001-ab12cd34/`, ...PARQUET },
      },
    });
    expect(catalog.describe(op)).toEqual(inputs.map((input) => ({ operation: 'BatchUpdatePartition', input })));
  });

  it('deletes partitions in batches of 25', async () => {
    glue.on(BatchDeletePartitionCommand).resolves({});
    const catalog = makeCatalog();
    const op: CatalogOp = { op: 'deletePartitions', table: EVENTS, values: Array.from({ length: 60 }, (_, i) => [day(i)]) };

    await catalog.apply(op);

    const inputs = glue.commandCalls(BatchDeletePartitionCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.PartitionsToDelete?.length)).toEqual([25, 25, 10]);
    expect(inputs[0]).toMatchObject({ DatabaseName: 'analytics', TableName: 'events' });
    expect(inputs[0]?.PartitionsToDelete?.slice(0, 2)).toEqual([{ Values: ['2026-01-01'] }, { Values: ['2026-01-02'] }]);
    expect(inputs[2]?.PartitionsToDelete?.at(-1)).toEqual({ Values: [day(59)] });
    expect(catalog.describe(op)).toEqual(inputs.map((input) => ({ operation: 'BatchDeletePartition', input })));
  });

  it('sends nothing for an operation without partitions', async () => {
    const catalog = makeCatalog();
    for (const op of [
      { op: 'createPartitions', table: EVENTS, partitions: [] },
      { op: 'updatePartitions', table: EVENTS, partitions: [] },
      { op: 'deletePartitions', table: EVENTS, values: [] },
    ] satisfies CatalogOp[]) {
      expect(await catalog.apply(op)).toEqual([]);
      expect(catalog.describe(op)).toEqual([]);
    }
    expect(glue.calls()).toHaveLength(0);
  });

  it('returns per-entry failures with normalised codes, without retrying them', async () => {
    glue.on(BatchCreatePartitionCommand).resolves({
      Errors: [entryError(day(0), 'AlreadyExistsException', 'Partition already exists.'), entryError(day(2), 'InvalidInputException', 'Invalid location.')],
    });
    glue.on(BatchDeletePartitionCommand).resolves({ Errors: [entryError(day(1), 'EntityNotFoundException', 'Partition not found.')] });
    const catalog = makeCatalog();

    const created = await catalog.apply({ op: 'createPartitions', table: EVENTS, partitions: [partition(0), partition(1), partition(2)] });
    const deleted = await catalog.apply({ op: 'deletePartitions', table: EVENTS, values: [[day(0)], [day(1)]] });

    expect(created).toEqual([
      { values: [day(0)], code: 'AlreadyExists', message: 'Partition already exists.' },
      { values: [day(2)], code: 'InvalidInputException', message: 'Invalid location.' },
    ]);
    expect(deleted).toEqual([{ values: [day(1)], code: 'EntityNotFound', message: 'Partition not found.' }]);
    expect(glue.calls()).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('maps BatchUpdatePartition failures, which name partitions by PartitionValueList', async () => {
    glue.on(BatchUpdatePartitionCommand).resolves({
      Errors: [{ PartitionValueList: [day(1)], ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: 'Partition not found.' } }],
    });

    expect(await makeCatalog().apply({ op: 'updatePartitions', table: EVENTS, partitions: [partition(0), partition(1)] })).toEqual([
      { values: [day(1)], code: 'EntityNotFound', message: 'Partition not found.' },
    ]);
  });

  it('re-sends only the entries that were throttled, then succeeds', async () => {
    glue
      .on(BatchCreatePartitionCommand)
      .resolvesOnce({
        Errors: [
          entryError(day(1), 'ThrottlingException'),
          entryError(day(2), 'AlreadyExistsException', 'Partition already exists.'),
          entryError(day(3), 'InternalServiceException'),
        ],
      })
      .resolvesOnce({ Errors: [entryError(day(3), 'ConcurrentModificationException')] })
      .resolvesOnce({});

    const failed = await makeCatalog({ baseDelayMs: 100 }).apply({
      op: 'createPartitions',
      table: EVENTS,
      partitions: [0, 1, 2, 3, 4].map(partition),
    });

    expect(failed).toEqual([{ values: [day(2)], code: 'AlreadyExists', message: 'Partition already exists.' }]);
    const sent = glue.commandCalls(BatchCreatePartitionCommand).map((c) => c.args[0].input.PartitionInputList?.map((p: PartitionInput) => p.Values?.[0]));
    expect(sent).toEqual([[day(0), day(1), day(2), day(3), day(4)], [day(1), day(3)], [day(3)]]);
    expect(sleeps).toEqual([50, 100]);
  });

  it('returns entries still throttled when attempts run out', async () => {
    glue.on(BatchDeletePartitionCommand).resolves({ Errors: [entryError(day(1), 'ThrottlingException', 'Rate exceeded')] });

    const failed = await makeCatalog({ maxAttempts: 3 }).apply({ op: 'deletePartitions', table: EVENTS, values: [[day(0)], [day(1)]] });

    expect(failed).toEqual([{ values: [day(1)], code: 'ThrottlingException', message: 'Rate exceeded' }]);
    expect(glue.commandCalls(BatchDeletePartitionCommand).map((c) => c.args[0].input.PartitionsToDelete)).toEqual([
      [{ Values: [day(0)] }, { Values: [day(1)] }],
      [{ Values: [day(1)] }],
      [{ Values: [day(1)] }],
    ]);
    expect(sleeps).toHaveLength(2);
  });

  it('retries a batch throttled as a whole with the same entries', async () => {
    glue.on(BatchDeletePartitionCommand).rejectsOnce(throttled()).resolves({});

    const values = Array.from({ length: 30 }, (_, i) => [day(i)]);
    expect(await makeCatalog().apply({ op: 'deletePartitions', table: EVENTS, values })).toEqual([]);

    const inputs = glue.commandCalls(BatchDeletePartitionCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.PartitionsToDelete?.length)).toEqual([25, 25, 5]);
    expect(inputs[1]).toEqual(inputs[0]);
    expect(sleeps).toHaveLength(1);
  });

  it('throws when a batch fails as a whole for good, naming the operation and table', async () => {
    glue.on(BatchCreatePartitionCommand).rejects(throttled());

    const err = await makeCatalog({ maxAttempts: 2 })
      .apply({ op: 'createPartitions', table: EVENTS, partitions: [partition(0)] })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(GlueOperationError);
    expect((err as Error).message).toBe('BatchCreatePartition analytics.events failed after 2 attempts: ThrottlingException: Rate exceeded');
    expect(glue.commandCalls(BatchCreatePartitionCommand)).toHaveLength(2);
  });

  it('reads a partition back as it was created, and null when it is missing', async () => {
    glue.on(BatchCreatePartitionCommand).resolves({});
    const catalog = makeCatalog();
    await catalog.apply({ op: 'createPartitions', table: EVENTS, partitions: [partition(4)] });
    const created = glue.commandCalls(BatchCreatePartitionCommand)[0]!.args[0].input.PartitionInputList![0]!;
    glue
      .on(GetPartitionCommand)
      .resolvesOnce({ Partition: { ...created, DatabaseName: 'analytics', TableName: 'events' } })
      .rejectsOnce(new EntityNotFoundException({ ...meta, message: 'Partition not found.' }));

    expect(await catalog.getPartition('events', [day(4)])).toEqual(partition(4));
    expect(await catalog.getPartition('events', [day(5)])).toBeNull();
    expect(glue.commandCalls(GetPartitionCommand).map((c) => c.args[0].input)).toEqual([
      { DatabaseName: 'analytics', TableName: 'events', PartitionValues: [day(4)] },
      { DatabaseName: 'analytics', TableName: 'events', PartitionValues: [day(5)] },
    ]);
    expect(sleeps).toEqual([]);
  });

  it('lists every page of partitions, sorted by values, with locations as lake keys or foreign URIs', async () => {
    const glueParts = (...entries: [string, string][]): Partition[] =>
      entries.map(([dt, Location]) => ({ Values: [dt], Parameters: { n: dt }, StorageDescriptor: { Location } }));
    glue
      .on(GetPartitionsCommand)
      .resolvesOnce({
        Partitions: glueParts(['2026-01-03', `${LAKE}curated/events/dt=2026-01-03/`], ['2026-01-01', `${LAKE}curated/events/dt=2026-01-01/`]),
        NextToken: 'page-2',
      })
      .rejectsOnce(throttled())
      .resolvesOnce({ Partitions: glueParts(['2026-01-02', 's3://elsewhere/events/dt=2026-01-02/']), NextToken: 'page-3' })
      .resolvesOnce({ Partitions: [] });

    expect(await makeCatalog({}, '123456789012').listPartitions('events')).toEqual([
      { values: ['2026-01-01'], location: 'curated/events/dt=2026-01-01/', parameters: { n: '2026-01-01' } },
      { values: ['2026-01-02'], location: 's3://elsewhere/events/dt=2026-01-02/', parameters: { n: '2026-01-02' } },
      { values: ['2026-01-03'], location: 'curated/events/dt=2026-01-03/', parameters: { n: '2026-01-03' } },
    ]);
    const base = { CatalogId: '123456789012', DatabaseName: 'analytics', TableName: 'events', ExcludeColumnSchema: true };
    expect(glue.commandCalls(GetPartitionsCommand).map((c) => c.args[0].input)).toEqual([
      { ...base, NextToken: undefined },
      { ...base, NextToken: 'page-2' },
      { ...base, NextToken: 'page-2' },
      { ...base, NextToken: 'page-3' },
    ]);
  });

  it('sorts multi-key partitions key by key', async () => {
    glue.on(GetPartitionsCommand).resolves({
      Partitions: [
        ['2026-01-02', 'b'],
        ['2026-01-01', 'b'],
        ['2026-01-02', 'a'],
      ].map((Values) => ({ Values })),
    });

    expect((await makeCatalog().listPartitions('events')).map((p) => p.values)).toEqual([
      ['2026-01-01', 'b'],
      ['2026-01-02', 'a'],
      ['2026-01-02', 'b'],
    ]);
  });

  it('keeps an absolute location outside the lake when writing it back', async () => {
    glue.on(BatchUpdatePartitionCommand).resolves({});
    const foreign: PartitionSpec = { values: [day(0)], location: 's3://elsewhere/events/dt=2026-01-01/', parameters: {} };

    await makeCatalog().apply({ op: 'updatePartitions', table: EVENTS, partitions: [foreign] });

    const entry = glue.commandCalls(BatchUpdatePartitionCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry?.PartitionInput?.StorageDescriptor?.Location).toBe('s3://elsewhere/events/dt=2026-01-01/');
  });
});
