/**
 * One decoder for every way telemetry reaches the lake: the Firehose transform and `cclake ingest`
 * both call `decodePayload`. Recognised payloads:
 *  (a) gzip (magic 1f 8b) CloudWatch Logs subscription JSON — CONTROL_MESSAGE is a connectivity
 *      check (kind 'control'); DATA_MESSAGE log events carry EMF JSON (awsemf exporter) or one
 *      log record as the awscloudwatchlogs exporter writes it (`{"body","attributes","resource",...}`);
 *      the same JSON uncompressed is accepted too;
 *  (b) OTLP/JSON request bodies (`resourceLogs` / `resourceMetrics` / `resourceSpans`), and a bare EMF document or
 *      log record (Firehose with CloudWatch message extraction);
 *  (c) JSON Lines of any of these.
 * Bad data never throws: every problem is returned as `{ where, reason }`.
 */
import { gunzipSync } from 'node:zlib';
import type { RawRecord } from '../../../schemas/raw-record';
import { attrsFromAny, decodeAnyValue, fromPlain, mergeUnder, type AnyValue } from './attributes';
import { isEmf, flattenEmf } from './emf';
import {
  addInto,
  emptyResult,
  flattenLogsRequest,
  flattenMetricsRequest,
  flattenTracesRequest,
  logRecordToRaw,
  nanosToMs,
  type DecodeIssue,
  type FlattenOptions,
  type FlattenResult,
} from './otlp';

export type { DecodeIssue } from './otlp';

export interface DecodeOptions extends FlattenOptions {}

export interface DecodeResult {
  /** 'control' when the payload was only CloudWatch Logs CONTROL_MESSAGEs (drop it). */
  kind: 'data' | 'control';
  records: RawRecord[];
  droppedContent: number;
  errors: DecodeIssue[];
  /** Histogram/summary datapoints and EMF stats values that the raw record cannot carry. */
  unsupported: number;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export const UNKNOWN_SIGNAL = 'unknown signal: object has none of resourceLogs, resourceMetrics, resourceSpans, logEvents, _aws';

const isOtlpRequest = (o: Obj) => 'resourceLogs' in o || 'resourceMetrics' in o || 'resourceSpans' in o;

/** Whole-payload problems (the payload cannot be read at all) use this location. */
export const PAYLOAD = '$';

function lineOf(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: pos - last };
}

/**
 * "not JSON: <parser message> at line L column C" (V8's "at position N" turned into a line).
 * `lineNo` is the line of a JSON Lines entry, whose text is then that one line.
 */
function notJson(err: unknown, text: string, lineNo?: number): string {
  let msg = (err instanceof Error ? err.message : String(err)).replace(/ \(line \d+ column \d+\)/, '');
  const m = / in JSON at position (\d+)/.exec(msg);
  if (m && Number(m[1]) >= text.trimEnd().length) {
    // The parser ran off the end: the document was cut short.
    msg = `Unexpected end of JSON input (truncated?) at line ${lineNo ?? lineOf(text, text.length).line}`;
  } else if (m) {
    const { line, column } = lineOf(text, Number(m[1]));
    msg = msg.replace(m[0], ` at line ${lineNo ?? line} column ${column}`);
  } else if (lineNo !== undefined) {
    msg = `${msg} at line ${lineNo}`;
  } else if (/Unexpected end of JSON input/.test(msg)) {
    msg = `${msg} at line ${lineOf(text, text.length).line}`;
  }
  return `not JSON: ${msg}`;
}

function prefixed(r: FlattenResult, prefix: string): FlattenResult {
  if (prefix) for (const e of r.errors) e.where = e.where === PAYLOAD ? prefix : `${prefix}.${e.where}`;
  return r;
}

function looksLikeLogRecord(o: Obj): boolean {
  if (!(isObj(o.attributes) || Array.isArray(o.attributes))) return false;
  return [
    'body',
    'resource',
    'scope',
    'timeUnixNano',
    'observedTimeUnixNano',
    'severity_number',
    'severityNumber',
    'severity_text',
    'severityText',
    'eventName',
  ].some((k) => k in o);
}

/** One log record as the awscloudwatchlogs exporter writes it (flat `attributes`/`resource`), or an OTLP LogRecord JSON. */
function singleLogRecord(o: Obj, opts: FlattenOptions, where: string, fallbackMs: number | null): FlattenResult {
  const out = emptyResult();
  const res = isObj(o.resource) && Array.isArray(o.resource.attributes) ? o.resource.attributes : o.resource;
  const attrs = mergeUnder(attrsFromAny(res), attrsFromAny(o.attributes));
  const body = isObj(o.body) && ('stringValue' in o.body || 'kvlistValue' in o.body) ? decodeAnyValue(o.body as AnyValue) : fromPlain(o.body);
  const r = logRecordToRaw(
    { attrs, body, eventName: o.eventName, fallbackTimes: [nanosToMs(o.timeUnixNano), nanosToMs(o.observedTimeUnixNano), fallbackMs] },
    opts,
  );
  if ('reason' in r) out.errors.push({ where, reason: `log record at ${where} ${r.reason}` });
  else {
    out.records.push(r.record);
    out.droppedContent += r.droppedContent;
  }
  return out;
}

interface Dispatched extends FlattenResult {
  controls: number;
  values: number;
}

function cloudWatchSubscription(o: Obj, opts: FlattenOptions, out: Dispatched): void {
  if (o.messageType === 'CONTROL_MESSAGE') {
    out.controls++;
    return;
  }
  if (!Array.isArray(o.logEvents)) {
    out.errors.push({ where: PAYLOAD, reason: 'CloudWatch Logs payload has no logEvents array' });
    return;
  }
  o.logEvents.forEach((ev, i) => {
    const where = `logEvents[${i}]`;
    if (!isObj(ev) || typeof ev.message !== 'string') {
      out.errors.push({ where, reason: `${where} has no message string` });
      return;
    }
    const fallback = typeof ev.timestamp === 'number' && ev.timestamp > 0 ? ev.timestamp : null;
    let msg: unknown;
    try {
      msg = JSON.parse(ev.message);
    } catch (err) {
      out.errors.push({ where, reason: `${where}.message is ${notJson(err, ev.message)}` });
      return;
    }
    addInto(out, prefixed(dispatchMessage(msg, opts, fallback, where), where));
  });
}

/** A CloudWatch log event message: EMF, one log record, or (rarely) a whole OTLP request. */
function dispatchMessage(msg: unknown, opts: FlattenOptions, fallbackMs: number | null, where: string): FlattenResult {
  if (isObj(msg)) {
    if (isEmf(msg)) return flattenEmf(msg, opts, where, fallbackMs);
    if (isOtlpRequest(msg)) return otlpRequest(msg, opts);
    if (looksLikeLogRecord(msg)) return singleLogRecord(msg, opts, where, fallbackMs);
  }
  const out = emptyResult();
  out.errors.push({ where: PAYLOAD, reason: `${where}.message: ${isObj(msg) ? UNKNOWN_SIGNAL : 'unknown signal: not a JSON object'}` });
  return out;
}

function otlpRequest(o: Obj, opts: FlattenOptions): FlattenResult {
  const out = emptyResult();
  if ('resourceLogs' in o) addInto(out, flattenLogsRequest(o, opts));
  if ('resourceMetrics' in o) addInto(out, flattenMetricsRequest(o, opts));
  if ('resourceSpans' in o) addInto(out, flattenTracesRequest(o, opts));
  return out;
}

function dispatchValue(v: unknown, opts: FlattenOptions, out: Dispatched, prefix: string): void {
  out.values++;
  if (Array.isArray(v)) {
    v.forEach((x, i) => dispatchValue(x, opts, out, `${prefix || ''}[${i}]`));
    return;
  }
  const push = (r: FlattenResult) => addInto(out, prefixed(r, prefix));
  if (!isObj(v)) {
    push({ ...emptyResult(), errors: [{ where: PAYLOAD, reason: 'unknown signal: not a JSON object' }] });
    return;
  }
  if (isOtlpRequest(v)) return void push(otlpRequest(v, opts));
  if ('logEvents' in v || v.messageType === 'CONTROL_MESSAGE' || v.messageType === 'DATA_MESSAGE') {
    const sub: Dispatched = { ...emptyResult(), controls: 0, values: 0 };
    cloudWatchSubscription(v, opts, sub);
    out.controls += sub.controls;
    return void push(sub);
  }
  if (isEmf(v)) return void push(flattenEmf(v, opts));
  if (looksLikeLogRecord(v)) return void push(singleLogRecord(v, opts, PAYLOAD, null));
  push({ ...emptyResult(), errors: [{ where: PAYLOAD, reason: UNKNOWN_SIGNAL }] });
}

function gunzip(bytes: Uint8Array): { ok: Uint8Array } | { reason: string } {
  try {
    return { ok: new Uint8Array(gunzipSync(bytes)) };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { reason: /unexpected end of file/i.test(msg) ? `truncated gzip: ${msg}` : `bad gzip: ${msg}` };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodePayload(bytes: Uint8Array, opts: DecodeOptions = {}): DecodeResult {
  const fail = (reason: string): DecodeResult => ({ kind: 'data', records: [], droppedContent: 0, errors: [{ where: PAYLOAD, reason }], unsupported: 0 });
  let data = bytes;
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    const g = gunzip(data);
    if ('reason' in g) return fail(g.reason);
    data = g.ok;
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return fail('not UTF-8 text');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const out: Dispatched = { ...emptyResult(), controls: 0, values: 0 };
  if (text.trim() !== '') {
    let whole: unknown;
    let wholeErr: unknown = null;
    try {
      whole = JSON.parse(text);
    } catch (err) {
      wholeErr = err;
    }
    if (wholeErr === null) {
      dispatchValue(whole, opts, out, '');
    } else {
      const lines = text.split('\n');
      const first = lines.findIndex((l) => l.trim() !== '');
      let firstParses = false;
      try {
        JSON.parse(lines[first] ?? '');
        firstParses = true;
      } catch {
        /* not JSON Lines */
      }
      if (!firstParses) return fail(notJson(wholeErr, text));
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        const where = `line ${i + 1}`;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch (err) {
          out.errors.push({ where, reason: notJson(err, line, i + 1) });
          return;
        }
        dispatchValue(v, opts, out, where);
      });
    }
  }
  const control = out.controls > 0 && out.records.length === 0 && out.errors.length === 0;
  return { kind: control ? 'control' : 'data', records: out.records, droppedContent: out.droppedContent, errors: out.errors, unsupported: out.unsupported };
}
