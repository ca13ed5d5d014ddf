/**
 * The readable raw objects of a run and the SQL that reads them: every column any of them has (null
 * where a file lacks it), each row tagged with its object's small integer id (listing order: the
 * order in which the first copy of a redelivered record is kept), in batches of bytes.
 */
import { duckdbColumns } from '../../../schemas/columns';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { sqlIdent, sqlString } from '../engine/duckdb';

/** A readable raw object; `id` is its position in listing order, `schema` its column list as text. */
export interface RawSource {
  key: string;
  file: string;
  size: number;
  arrivalDate: string;
  columns: { name: string; type: string }[];
  id: number;
  schema: string;
}

export class RawReader {
  private readonly known = duckdbColumns(CURATED_EVENTS);
  private readonly present = new Map<string, string>();
  private readonly extras: string[];
  readonly byId: Map<number, RawSource>;

  /** `sources`: every readable object of the run (their columns make up the column list). */
  constructor(
    sources: RawSource[],
    /** Raw files are read in batches of about this many bytes. */
    private readonly batchBytes: number,
  ) {
    for (const g of sources) for (const c of g.columns) if (!this.present.has(c.name)) this.present.set(c.name, c.type);
    const knownNames = new Set(this.known.map((c) => c.name));
    this.extras = [...this.present.keys()].filter((n) => !knownNames.has(n));
    this.byId = new Map(sources.map((g) => [g.id, g]));
  }

  /** The columns read from a batch of files: every column any file has, null where this batch lacks it. */
  selectList(batch: RawSource[]): string {
    const here = new Set(batch.flatMap((g) => g.columns.map((c) => c.name)));
    const col = (name: string, type: string) => (here.has(name) ? `CAST(r.${sqlIdent(name)} AS ${type})` : `CAST(NULL AS ${type})`) + ` AS ${sqlIdent(name)}`;
    return [...this.known.map((c) => col(c.name, c.type)), ...this.extras.map((n) => col(n, this.present.get(n)!))].join(', ');
  }

  /**
   * The batch's files as relation `r`. union_by_name only where the files' columns differ: it
   * reads every footer up front and holds them for the whole read.
   */
  from(batch: RawSource[]): string {
    const same = batch.every((g) => g.schema === batch[0]!.schema);
    return `read_parquet([${batch.map((g) => sqlString(g.file)).join(', ')}], union_by_name = ${!same}, file_row_number = true, hive_partitioning = false) r`;
  }

  /** Each row's object id, by its file's position in `batch` (no join on file names per row). */
  objectId(batch: RawSource[]): string {
    return `[${batch.map((g) => g.id).join(', ')}][CAST(r.file_index AS BIGINT) + 1]`;
  }

  /**
   * Batches of about `batchBytes` (a quarter of the memory budget): one read over thousands of
   * files at once keeps every file's metadata and buffers, far beyond the limit.
   */
  batches(list: RawSource[]): RawSource[][] {
    const out: RawSource[][] = [];
    let bytes = 0;
    for (const g of list) {
      const last = out[out.length - 1];
      if (last && bytes + g.size <= this.batchBytes) {
        last.push(g);
        bytes += g.size;
      } else {
        out.push([g]);
        bytes = g.size;
      }
    }
    return out;
  }
}
