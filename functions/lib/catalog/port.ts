/**
 * The catalog port: which generation of files is live for each partition. Moving a pointer is
 * the commit point of a rewrite (as in Iceberg's commit protocol): readers resolve the pointer and
 * read that generation only, so they see the old generation or the new one, never a mix.
 * On AWS the pointer is the Glue partition's location; locally (and in tests) it is an object
 * per partition in the lake itself.
 */
export interface PartitionPointer {
  table: string;
  dt: string; // YYYY-MM-DD
  /** Lake key prefix of the live generation, ending in '/'. */
  location: string;
  generation: number;
  files: { key: string; bytes: number; rows: number }[];
  rows: number;
  committedAt: string;
  runId: string;
}

export interface CatalogPort {
  getPartition(table: string, dt: string): Promise<PartitionPointer | null>;
  listPartitions(table: string): Promise<PartitionPointer[]>;
  /** Makes `pointer` the live generation of its partition, atomically. */
  putPartition(pointer: PartitionPointer): Promise<void>;
}
