/**
 * The catalog port: the metastore analysts' engines read tables and partitions from — the Glue Data
 * Catalog on AWS (read by Athena), a catalog kept as files in the lake locally (read by DuckDB's
 * views). Its operations mirror Glue's, so the job that keeps the catalog in line with the lake is
 * written once and each adapter is a thin translation.
 *
 * Locations are lake keys (relative to the lake root, ending in '/'); the Glue adapter turns them
 * into `s3://bucket/prefix/...` URIs and back.
 */

export interface CatalogColumn {
  name: string;
  /** Hive type as Glue and Athena spell it: `string`, `bigint`, `timestamp`, `map<string,string>`, `date`, ... */
  type: string;
  comment?: string;
}

export interface TableSpec {
  name: string;
  description: string;
  /** Lake key prefix of the table's data, ending in '/'. */
  location: string;
  columns: CatalogColumn[];
  partitionKeys: CatalogColumn[];
  /** Storage format of the data files (Parquet is the only one cclake writes or reads). */
  format: 'parquet';
  /** Table parameters beyond the ones the adapter sets itself (classification, EXTERNAL). */
  parameters: Record<string, string>;
}

export interface PartitionSpec {
  /** One value per partition key, in the table's key order, as strings (a date is `YYYY-MM-DD`). */
  values: string[];
  /** Lake key prefix of the partition's files, ending in '/'. */
  location: string;
  parameters: Record<string, string>;
}

/**
 * A per-entry failure of a batch operation. Codes are normalised across adapters:
 * `AlreadyExists` (create of a partition that exists), `EntityNotFound` (update or delete of one
 * that does not), otherwise the service's own error code.
 */
export interface PartitionEntryError {
  values: string[];
  code: string;
  message: string;
}

/** One change to the catalog. Partition operations carry the table they belong to (Glue needs its storage descriptor). */
export type CatalogOp =
  | { op: 'createTable'; table: TableSpec }
  | { op: 'updateTable'; table: TableSpec }
  | { op: 'createPartitions'; table: TableSpec; partitions: PartitionSpec[] }
  | { op: 'updatePartitions'; table: TableSpec; partitions: PartitionSpec[] }
  | { op: 'deletePartitions'; table: TableSpec; values: string[][] };

/** A request as the adapter would send it: for `--dry-run` and review. */
export interface CatalogRequest {
  operation: string;
  input: unknown;
}

export interface Catalog {
  /** `glue://database` or `file:///lake/_cclake/catalog/database/`: for messages. */
  readonly location: string;
  /** null when the table does not exist. */
  getTable(name: string): Promise<TableSpec | null>;
  /** null when the partition does not exist. */
  getPartition(table: string, values: string[]): Promise<PartitionSpec | null>;
  /** Every partition of the table (all pages), sorted by values. */
  listPartitions(table: string): Promise<PartitionSpec[]>;
  /**
   * Applies one change. Batch operations are split into the service's batch limits; throttling
   * and transient failures are retried with backoff. Entries that still fail are returned, never
   * swallowed; a failure of a whole table operation throws.
   */
  apply(op: CatalogOp): Promise<PartitionEntryError[]>;
  /** The requests `apply(op)` would send, in order, without sending them. */
  describe(op: CatalogOp): CatalogRequest[];
}
