/**
 * `cclake ingest --lake DIR FILE...`: local OTLP/JSON exports (logs, metrics or traces, `.json` = one
 * request or one CloudWatch Logs subscription payload, `.jsonl` = one per line, gzip accepted) ->
 * raw Parquet, exactly as Firehose would write it: the same `decodePayload` as the Firehose
 * transform, Snappy Parquet of RAW_RECORD rows, keys in the Firehose layout for the arrival time,
 * at most 50,000 rows per object.
 *
 * A file that cannot be read or decoded at all (missing, not JSON, unknown signal, ...) is listed in
 * `filesFailed` with its reason while the other files land; a record-level problem inside a file is
 * listed in `errors` with file and location, and the file's good records still land.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema';
import { writeRows } from '../parquet/io';
import { rawObjectKey } from '../raw/keys';
import type { ObjectStore } from '../store/port';
import { RAW_RECORD, type RawRecord } from '../../../schemas/raw-record';
import { decodePayload } from '../telemetry/decode';

export const MAX_ROWS_PER_OBJECT = 50_000;

export interface IngestError {
  file: string;
  /** Location inside the file (`$` = the whole file, `line 3`, `resourceLogs[0].scopeLogs[0].logRecords[4]`). */
  where: string;
  reason: string;
}

export interface IngestFileResult {
  file: string;
  records: number;
  errors: number;
  failed: boolean;
}

export interface IngestSummary {
  /** Files read and decoded (possibly with record-level errors). */
  filesRead: number;
  filesFailed: { file: string; reason: string }[];
  recordsWritten: number;
  objectsWritten: string[];
  contentAttributesDropped: number;
  /** Histogram/summary datapoints the raw record cannot carry (counted, not stored). */
  unsupportedDatapoints: number;
  /** Every problem, per file and location (including the reasons of failed files). */
  errors: IngestError[];
  files: IngestFileResult[];
}

function readFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'cannot read: file not found';
  if (e?.code === 'EISDIR') return 'cannot read: is a directory';
  if (e?.code === 'EACCES') return 'cannot read: permission denied';
  return `cannot read: ${e?.message ?? String(err)}`;
}

export async function ingestFiles(store: ObjectStore, config: Config, files: string[], opts: { now?: number } = {}): Promise<IngestSummary> {
  const arrivalMs = opts.now ?? Date.now();
  const summary: IngestSummary = {
    filesRead: 0,
    filesFailed: [],
    recordsWritten: 0,
    objectsWritten: [],
    contentAttributesDropped: 0,
    unsupportedDatapoints: 0,
    errors: [],
    files: [],
  };
  let pending: RawRecord[] = [];

  const flush = async (all: boolean) => {
    while (pending.length >= MAX_ROWS_PER_OBJECT || (all && pending.length > 0)) {
      const chunk = pending.slice(0, MAX_ROWS_PER_OBJECT);
      pending = pending.slice(chunk.length);
      const key = rawObjectKey(config.raw.prefix, config.raw.streamName, arrivalMs);
      await store.put(key, writeRows(RAW_RECORD, chunk, { codec: 'snappy' }));
      summary.objectsWritten.push(key);
      summary.recordsWritten += chunk.length;
    }
  };

  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (err) {
      const reason = readFailure(err);
      summary.filesFailed.push({ file, reason });
      summary.errors.push({ file, where: '$', reason });
      summary.files.push({ file, records: 0, errors: 1, failed: true });
      continue;
    }
    const decoded = decodePayload(bytes, { keepContentAttributes: config.ingest.keepContentAttributes });
    for (const e of decoded.errors) summary.errors.push({ file, where: e.where, reason: e.reason });
    const failed = decoded.records.length === 0 && decoded.errors.length > 0;
    if (failed) {
      const first = decoded.errors[0]!.reason;
      const more = decoded.errors.length - 1;
      summary.filesFailed.push({ file, reason: more > 0 ? `${first} (and ${more} more)` : first });
    } else {
      summary.filesRead++;
      summary.contentAttributesDropped += decoded.droppedContent;
      summary.unsupportedDatapoints += decoded.unsupported;
      for (const r of decoded.records) pending.push(r);
      await flush(false);
    }
    summary.files.push({ file, records: failed ? 0 : decoded.records.length, errors: decoded.errors.length, failed });
  }
  await flush(true);
  return summary;
}
