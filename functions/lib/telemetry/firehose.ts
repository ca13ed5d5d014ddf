/**
 * The Firehose data-transformation contract, as a pure function (the Lambda handler is a thin shell).
 *
 * - Exactly one response entry per input recordId, in input order.
 * - CloudWatch Logs CONTROL_MESSAGE and payloads that yield zero rows -> `Dropped`.
 * - Any decode error in a record -> that record `ProcessingFailed` with its ORIGINAL data, so
 *   Firehose writes it under the error prefix and nothing is lost. Bad data never throws.
 * - `Ok` records carry base64 of newline-delimited JSON rows for record-format conversion against
 *   the raw Glue table (see `toFirehoseJson`).
 * - Response size: a Lambda response is limited to 6 MB (6,291,456 bytes). Records are admitted in
 *   order while the response, plus the original data of every record still to come (each may have
 *   to be returned as ProcessingFailed), stays within the budget; once an Ok record would not fit,
 *   it and every later Ok record are returned ProcessingFailed with reason "response size limit" and
 *   their original data. Rows expand a compressed CloudWatch payload several-fold, so keep the
 *   Firehose processor parameter BufferSizeInMBs at 1 MB (the default): then this is rare, and the
 *   failed records are still delivered to the error prefix for replay.
 */
import type { FirehoseTransformationEvent, FirehoseTransformationResult, FirehoseTransformationResultRecord } from 'aws-lambda';
import { emptyRawRecord, RAW_RECORD, type RawRecord } from '../../../schemas/raw-record';
import { decodePayload, type DecodeOptions } from './decode';

export const LAMBDA_RESPONSE_LIMIT = 6_291_456;
/** Left for the Lambda runtime's envelope and anything we do not count. */
export const RESPONSE_HEADROOM = 64 * 1024;
export const SIZE_LIMIT_REASON = 'response size limit';

export interface TransformOptions extends DecodeOptions {
  /** Response budget in bytes (default LAMBDA_RESPONSE_LIMIT - RESPONSE_HEADROOM); tests lower it. */
  responseBudgetBytes?: number;
}

export interface TransformError {
  recordId: string;
  where: string;
  reason: string;
}

export interface TransformSummary {
  recordsIn: number;
  ok: number;
  dropped: number;
  processingFailed: number;
  /** Of processingFailed: records failed only because the response budget ran out. */
  sizeLimited: number;
  rowsOut: number;
  contentAttributesDropped: number;
  unsupportedDatapoints: number;
  responseBytes: number;
  errors: TransformError[];
}

export interface TransformOutcome {
  response: FirehoseTransformationResult;
  summary: TransformSummary;
}

const TIMESTAMP_COLUMNS = new Set<string>(RAW_RECORD.columns.filter((c) => c.type === 'timestamp').map((c) => c.name));

/**
 * One raw record as the JSON object Firehose's OpenX JSON SerDe converts into a Parquet row of the
 * raw Glue table: keys are exactly the RAW_RECORD column names, `attributes` is a JSON object (Glue
 * map<string,string>), null columns are omitted (the SerDe reads an absent key as null), and
 * timestamps are epoch MILLISECONDS as JSON numbers — one of the OpenX SerDe's built-in timestamp
 * forms (ISO 'T...Z', 'yyyy-MM-dd HH:mm:ss[.S]', epoch seconds, epoch millis), exact to the
 * millisecond, time-zone free (no local-time interpretation) and the cheapest to emit.
 */
export function toFirehoseJson(r: RawRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of RAW_RECORD.columns) {
    const v = r[c.name];
    if (v === null || v === undefined) continue;
    o[c.name] = v;
  }
  return o;
}

/** The inverse of toFirehoseJson (tests, replay of error-prefix data). */
export function fromFirehoseJson(o: Record<string, unknown>): RawRecord {
  const r = emptyRawRecord() as unknown as Record<string, unknown>;
  for (const c of RAW_RECORD.columns) {
    const v = o[c.name];
    if (v === undefined || v === null) continue;
    r[c.name] = TIMESTAMP_COLUMNS.has(c.name) && typeof v === 'string' ? Date.parse(v) : v;
  }
  return r as unknown as RawRecord;
}

/** Newline-delimited JSON of rows (each row ends with '\n', so records concatenate safely). */
export function rowsToNdjson(rows: readonly RawRecord[]): string {
  let s = '';
  for (const r of rows) s += JSON.stringify(toFirehoseJson(r)) + '\n';
  return s;
}

const entryBytes = (e: FirehoseTransformationResultRecord) => Buffer.byteLength(JSON.stringify(e)) + 1; // + separating comma
const ENVELOPE_BYTES = Buffer.byteLength('{"records":[]}');

interface Planned {
  entry: FirehoseTransformationResultRecord;
  bytes: number;
  /** The ProcessingFailed fallback (original data), for Ok entries. */
  fallback?: FirehoseTransformationResultRecord;
  fallbackBytes: number;
  rows: number;
}

export function transformBatch(event: FirehoseTransformationEvent, opts: TransformOptions = {}): TransformOutcome {
  const budget = opts.responseBudgetBytes ?? LAMBDA_RESPONSE_LIMIT - RESPONSE_HEADROOM;
  const inputs = Array.isArray(event?.records) ? event.records : [];
  const summary: TransformSummary = {
    recordsIn: inputs.length,
    ok: 0,
    dropped: 0,
    processingFailed: 0,
    sizeLimited: 0,
    rowsOut: 0,
    contentAttributesDropped: 0,
    unsupportedDatapoints: 0,
    responseBytes: 0,
    errors: [],
  };

  const planned: Planned[] = inputs.map((rec) => {
    const recordId = String(rec?.recordId ?? '');
    const original = typeof rec?.data === 'string' ? rec.data : '';
    const failed = (): FirehoseTransformationResultRecord => ({ recordId, result: 'ProcessingFailed', data: original });
    const decoded = decodePayload(Buffer.from(original, 'base64'), { keepContentAttributes: opts.keepContentAttributes });
    summary.unsupportedDatapoints += decoded.unsupported;
    if (decoded.errors.length > 0) {
      for (const e of decoded.errors) summary.errors.push({ recordId, where: e.where, reason: e.reason });
      const entry = failed();
      const b = entryBytes(entry);
      return { entry, bytes: b, fallbackBytes: b, rows: 0 };
    }
    if (decoded.kind === 'control' || decoded.records.length === 0) {
      // Firehose documents `data` as required on every record, Dropped ones included: send it empty.
      const entry: FirehoseTransformationResultRecord = { recordId, result: 'Dropped', data: '' };
      const b = entryBytes(entry);
      return { entry, bytes: b, fallbackBytes: b, rows: 0 };
    }
    summary.contentAttributesDropped += decoded.droppedContent;
    const data = Buffer.from(rowsToNdjson(decoded.records), 'utf8').toString('base64');
    const entry: FirehoseTransformationResultRecord = { recordId, result: 'Ok', data };
    const fallback = failed();
    return { entry, bytes: entryBytes(entry), fallback, fallbackBytes: entryBytes(fallback), rows: decoded.records.length };
  });

  // Bytes the records after i need at least (an Ok record may still fall back to its original data).
  const reserveAfter = new Array<number>(planned.length + 1).fill(0);
  for (let i = planned.length - 1; i >= 0; i--) {
    const p = planned[i]!;
    reserveAfter[i] = reserveAfter[i + 1]! + (p.fallback ? p.fallbackBytes : p.bytes);
  }

  const records: FirehoseTransformationResultRecord[] = [];
  let used = ENVELOPE_BYTES;
  let overflowed = false;
  planned.forEach((p, i) => {
    let entry = p.entry;
    if (p.fallback) {
      if (!overflowed && used + p.bytes + reserveAfter[i + 1]! > budget) overflowed = true;
      if (overflowed) {
        entry = p.fallback;
        summary.sizeLimited++;
        summary.errors.push({ recordId: entry.recordId, where: '$', reason: SIZE_LIMIT_REASON });
      }
    }
    used += entry === p.entry ? p.bytes : p.fallbackBytes;
    records.push(entry);
    if (entry.result === 'Ok') {
      summary.ok++;
      summary.rowsOut += p.rows;
    } else if (entry.result === 'Dropped') summary.dropped++;
    else summary.processingFailed++;
  });
  summary.responseBytes = used - (records.length > 0 ? 1 : 0);
  return { response: { records }, summary };
}
