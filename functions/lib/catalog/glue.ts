/**
 * The Glue Data Catalog adapter of the catalog port: Parquet tables Athena can read, with their data
 * under the lake's S3 location. The port speaks lake keys; Glue stores `lakeUri + key`.
 *
 * Every request goes through the shared retry policy (util/retry.ts). Batch calls are split into
 * the limits the Glue API documents, and entries Glue reports as throttled or transiently failed are
 * re-sent on their own within the same attempt budget as whole-call retries. A call that fails as a
 * whole (not transient, or out of attempts) throws a GlueOperationError.
 */
import {
  BatchCreatePartitionCommand,
  BatchDeletePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
  type BatchCreatePartitionCommandInput,
  type BatchDeletePartitionCommandInput,
  type BatchUpdatePartitionCommandInput,
  type Column,
  type CreateTableCommandInput,
  type ErrorDetail,
  type Partition,
  type PartitionInput,
  type StorageDescriptor,
  type TableInput,
  type UpdateTableCommandInput,
} from '@aws-sdk/client-glue';
import { isTransient, isTransientName, retryPolicy, ServiceOperationError, withRetry, type RetryOptions, type RetryPolicy } from '../util/retry';
import type { CatalogColumn, CatalogOp, Catalog, CatalogRequest, PartitionEntryError, PartitionSpec, TableSpec } from './port';

/** Per-call entry limits from the Glue Web API reference (PartitionInputList, Entries, PartitionsToDelete). */
export const GLUE_BATCH_LIMITS = {
  BatchCreatePartition: 100,
  BatchUpdatePartition: 100,
  BatchDeletePartition: 25,
} as const;

const PARQUET_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';
const PARQUET_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';
/** Table parameters the adapter sets itself; TableSpec.parameters carries only the others. */
const OWN_PARAMETERS: Readonly<Record<string, string>> = { classification: 'parquet', EXTERNAL: 'TRUE' };

/** Glue's own error codes worth another attempt, beyond the generic throttling and timeout ones. */
const GLUE_TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'InternalServiceException',
  'OperationTimeoutException',
  'ConcurrentModificationException',
  'ResourceNotReadyException',
  'FederationSourceRetryableException',
]);

const ENTRY_CODES: Readonly<Record<string, string>> = {
  AlreadyExistsException: 'AlreadyExists',
  EntityNotFoundException: 'EntityNotFound',
};

export interface GlueCatalogOptions {
  database: string;
  /** `s3://bucket/prefix/` (or `s3://bucket/`): the lake root that lake keys are relative to. */
  lakeUri: string;
  /** The Data Catalog's id (an account id); Glue uses the caller's account when absent. */
  catalogId?: string;
  retry?: RetryOptions;
}

/** A Glue request that failed for good: names the operation and `database.table`, keeps Glue's error code. */
export class GlueOperationError extends ServiceOperationError {
  constructor(operation: string, target: string, attempts: number, cause: unknown) {
    super(operation, target, attempts, cause);
    this.name = 'GlueOperationError';
  }
}

type GlueRequest =
  | { operation: 'CreateTable'; input: CreateTableCommandInput }
  | { operation: 'UpdateTable'; input: UpdateTableCommandInput }
  | { operation: 'BatchCreatePartition'; input: BatchCreatePartitionCommandInput }
  | { operation: 'BatchUpdatePartition'; input: BatchUpdatePartitionCommandInput }
  | { operation: 'BatchDeletePartition'; input: BatchDeletePartitionCommandInput };

/** A per-entry failure as Glue reports it, before its code is normalised. */
interface EntryFailure {
  values: string[] | undefined;
  detail: ErrorDetail | undefined;
}

const valuesKey = (values: readonly string[]) => JSON.stringify(values);

function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toColumns(columns: readonly CatalogColumn[]): Column[] {
  return columns.map((c) => ({ Name: c.name, Type: c.type, ...(c.comment !== undefined ? { Comment: c.comment } : {}) }));
}

function fromColumns(columns: readonly Column[] | undefined): CatalogColumn[] {
  return (columns ?? []).map((c) => ({ name: c.Name ?? '', type: c.Type ?? '', ...(c.Comment !== undefined ? { comment: c.Comment } : {}) }));
}

export class GlueCatalog implements Catalog {
  readonly location: string;
  private readonly database: string;
  private readonly lakeUri: string;
  private readonly catalogId: { CatalogId?: string };
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: GlueClient,
    options: GlueCatalogOptions,
  ) {
    if (!/^s3:\/\/[^/]+\/([^/]+\/)*$/.test(options.lakeUri)) {
      throw new Error(`invalid lake URI ${JSON.stringify(options.lakeUri)}: expected s3://bucket/ or s3://bucket/prefix/ (ending in '/')`);
    }
    if (!options.database) throw new Error('a Glue database name is required');
    this.database = options.database;
    this.lakeUri = options.lakeUri;
    this.catalogId = options.catalogId ? { CatalogId: options.catalogId } : {};
    this.location = `glue://${options.database}`;
    this.retry = retryPolicy(options.retry);
  }

  async getTable(name: string): Promise<TableSpec | null> {
    const out = await this.orNull(() =>
      this.call('GetTable', name, () => this.client.send(new GetTableCommand({ ...this.catalogId, DatabaseName: this.database, Name: name }))),
    );
    const table = out?.Table;
    if (!table) return null;
    const parameters = { ...table.Parameters };
    // Dropped only when they hold what the adapter writes, so a table that is not Parquet shows as differing.
    for (const [key, value] of Object.entries(OWN_PARAMETERS)) if (parameters[key] === value) delete parameters[key];
    return {
      name: table.Name ?? name,
      description: table.Description ?? '',
      location: this.toKey(table.StorageDescriptor?.Location),
      columns: fromColumns(table.StorageDescriptor?.Columns),
      partitionKeys: fromColumns(table.PartitionKeys),
      format: 'parquet',
      parameters,
    };
  }

  async getPartition(table: string, values: string[]): Promise<PartitionSpec | null> {
    const out = await this.orNull(() =>
      this.call('GetPartition', table, () =>
        this.client.send(new GetPartitionCommand({ ...this.catalogId, DatabaseName: this.database, TableName: table, PartitionValues: values })),
      ),
    );
    return out?.Partition ? this.toPartitionSpec(out.Partition) : null;
  }

  async listPartitions(table: string): Promise<PartitionSpec[]> {
    const partitions: PartitionSpec[] = [];
    let NextToken: string | undefined;
    do {
      const token = NextToken;
      const page = await this.call('GetPartitions', table, () =>
        this.client.send(
          // Columns are the table's in every partition cclake writes; leaving them out keeps pages small.
          new GetPartitionsCommand({ ...this.catalogId, DatabaseName: this.database, TableName: table, ExcludeColumnSchema: true, NextToken: token }),
        ),
      );
      for (const p of page.Partitions ?? []) partitions.push(this.toPartitionSpec(p));
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return partitions.sort((a, b) => compareValues(a.values, b.values));
  }

  async apply(op: CatalogOp): Promise<PartitionEntryError[]> {
    const failed: PartitionEntryError[] = [];
    for (const request of this.requests(op)) failed.push(...(await this.send(request)));
    return failed;
  }

  describe(op: CatalogOp): CatalogRequest[] {
    return this.requests(op).map(({ operation, input }) => ({ operation, input }));
  }

  private requests(op: CatalogOp): GlueRequest[] {
    const where = { ...this.catalogId, DatabaseName: this.database };
    switch (op.op) {
      case 'createTable':
        return [{ operation: 'CreateTable', input: { ...where, TableInput: this.tableInput(op.table) } }];
      case 'updateTable':
        return [{ operation: 'UpdateTable', input: { ...where, TableInput: this.tableInput(op.table) } }];
      case 'createPartitions':
        return chunks(op.partitions, GLUE_BATCH_LIMITS.BatchCreatePartition).map((batch) => ({
          operation: 'BatchCreatePartition',
          input: { ...where, TableName: op.table.name, PartitionInputList: batch.map((p) => this.partitionInput(op.table, p)) },
        }));
      case 'updatePartitions':
        return chunks(op.partitions, GLUE_BATCH_LIMITS.BatchUpdatePartition).map((batch) => ({
          operation: 'BatchUpdatePartition',
          input: {
            ...where,
            TableName: op.table.name,
            Entries: batch.map((p) => ({ PartitionValueList: p.values, PartitionInput: this.partitionInput(op.table, p) })),
          },
        }));
      case 'deletePartitions':
        return chunks(op.values, GLUE_BATCH_LIMITS.BatchDeletePartition).map((batch) => ({
          operation: 'BatchDeletePartition',
          input: { ...where, TableName: op.table.name, PartitionsToDelete: batch.map((Values) => ({ Values })) },
        }));
    }
  }

  private async send(request: GlueRequest): Promise<PartitionEntryError[]> {
    switch (request.operation) {
      case 'CreateTable': {
        const { input } = request;
        await this.call(request.operation, input.TableInput?.Name ?? '', () => this.client.send(new CreateTableCommand(input)));
        return [];
      }
      case 'UpdateTable': {
        const { input } = request;
        await this.call(request.operation, input.TableInput?.Name ?? '', () => this.client.send(new UpdateTableCommand(input)));
        return [];
      }
      case 'BatchCreatePartition': {
        const { input } = request;
        return this.sendBatch(
          request.operation,
          input.TableName ?? '',
          input.PartitionInputList ?? [],
          (p) => p.Values ?? [],
          async (PartitionInputList) => {
            const out = await this.client.send(new BatchCreatePartitionCommand({ ...input, PartitionInputList }));
            return (out.Errors ?? []).map((e) => ({ values: e.PartitionValues, detail: e.ErrorDetail }));
          },
        );
      }
      case 'BatchUpdatePartition': {
        const { input } = request;
        return this.sendBatch(
          request.operation,
          input.TableName ?? '',
          input.Entries ?? [],
          (e) => e.PartitionValueList ?? [],
          async (Entries) => {
            const out = await this.client.send(new BatchUpdatePartitionCommand({ ...input, Entries }));
            return (out.Errors ?? []).map((e) => ({ values: e.PartitionValueList, detail: e.ErrorDetail }));
          },
        );
      }
      case 'BatchDeletePartition': {
        const { input } = request;
        return this.sendBatch(
          request.operation,
          input.TableName ?? '',
          input.PartitionsToDelete ?? [],
          (p) => p.Values ?? [],
          async (PartitionsToDelete) => {
            const out = await this.client.send(new BatchDeletePartitionCommand({ ...input, PartitionsToDelete }));
            return (out.Errors ?? []).map((e) => ({ values: e.PartitionValues, detail: e.ErrorDetail }));
          },
        );
      }
    }
  }

  /**
   * Sends one batch. Entries failing transiently are re-sent on their own; whole-call failures and
   * those re-sends share one attempt budget. Entries still failing when it runs out are returned.
   */
  private async sendBatch<E>(
    operation: string,
    table: string,
    entries: E[],
    valuesOf: (entry: E) => string[],
    sendEntries: (entries: E[]) => Promise<EntryFailure[]>,
  ): Promise<PartitionEntryError[]> {
    const failed: EntryFailure[] = [];
    let pending = entries;
    const stillTransient = await withRetry(
      this.retry,
      async () => {
        const sent = new Set(pending.map((e) => valuesKey(valuesOf(e))));
        const transient: EntryFailure[] = [];
        for (const f of await sendEntries(pending)) {
          // A transient failure that names no entry just sent cannot be re-sent: it is final.
          const resend = f.values !== undefined && sent.has(valuesKey(f.values)) && isTransientName(f.detail?.ErrorCode ?? '', GLUE_TRANSIENT_NAMES);
          (resend ? transient : failed).push(f);
        }
        const again = new Set(transient.map((f) => valuesKey(f.values ?? [])));
        pending = pending.filter((e) => again.has(valuesKey(valuesOf(e))));
        return transient;
      },
      { ...this.hooks(operation, table), again: (transient) => transient.length > 0 },
    );
    return [...failed, ...stillTransient].map(({ values, detail }) => {
      const code = detail?.ErrorCode ?? 'Unknown';
      return { values: values ?? [], code: ENTRY_CODES[code] ?? code, message: detail?.ErrorMessage ?? '' };
    });
  }

  /** One request, retried on throttling and transient failures; a final failure throws a GlueOperationError. */
  private call<T>(operation: string, table: string, attempt: () => Promise<T>): Promise<T> {
    return withRetry(this.retry, attempt, this.hooks(operation, table));
  }

  private hooks(operation: string, table: string) {
    return {
      retryable: (err: unknown) => isTransient(err, GLUE_TRANSIENT_NAMES),
      giveUp: (err: unknown, attempts: number) => new GlueOperationError(operation, `${this.database}.${table}`, attempts, err),
    };
  }

  private async orNull<T>(run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof GlueOperationError && err.code === 'EntityNotFoundException') return null;
      throw err;
    }
  }

  private tableInput(table: TableSpec): TableInput {
    return {
      Name: table.name,
      Description: table.description,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { ...OWN_PARAMETERS, ...table.parameters },
      PartitionKeys: toColumns(table.partitionKeys),
      StorageDescriptor: this.storageDescriptor(table, table.location),
    };
  }

  private partitionInput(table: TableSpec, partition: PartitionSpec): PartitionInput {
    return {
      Values: partition.values,
      Parameters: partition.parameters,
      StorageDescriptor: this.storageDescriptor(table, partition.location),
    };
  }

  private storageDescriptor(table: TableSpec, location: string): StorageDescriptor {
    return {
      Columns: toColumns(table.columns),
      Location: this.toUri(location),
      InputFormat: PARQUET_INPUT_FORMAT,
      OutputFormat: PARQUET_OUTPUT_FORMAT,
      SerdeInfo: { SerializationLibrary: PARQUET_SERDE, Parameters: { 'serialization.format': '1' } },
    };
  }

  private toPartitionSpec(p: Partition): PartitionSpec {
    return { values: p.Values ?? [], location: this.toKey(p.StorageDescriptor?.Location), parameters: { ...p.Parameters } };
  }

  /** An absolute `s3://` location (as read back from outside the lake) is kept, so specs round-trip. */
  private toUri(key: string): string {
    return key.startsWith('s3://') ? key : this.lakeUri + key;
  }

  /** Outside the lake, the absolute URI is returned unchanged: the caller sees it is not the key it wants. */
  private toKey(uri: string | undefined): string {
    if (uri === undefined) return '';
    return uri.startsWith(this.lakeUri) ? uri.slice(this.lakeUri.length) : uri;
  }
}

/** A Glue client that makes one attempt per request: retries are the adapter's job and must not stack. */
export function glueClientFor(region?: string): GlueClient {
  return new GlueClient({ ...(region ? { region } : {}), maxAttempts: 1 });
}
