/**
 * Flattens OTLP/JSON export requests into raw records (CONTRACTS section 2):
 * ExportLogsServiceRequest (`resourceLogs`) -> one `event` row per log record,
 * ExportMetricsServiceRequest (`resourceMetrics`) -> one `metric` row per sum/gauge datapoint, and
 * ExportTraceServiceRequest (`resourceSpans`) -> one `span` row per span.
 * Histogram-like metrics are counted as unsupported (Claude Code emits only counters); span events
 * and links are not kept (Claude Code's carry tool output, i.e. content).
 */
import { emptyRawRecord, type RawRecord } from '../../../schemas/raw-record';
import { attrsFromAny, decodeAnyValue, fromPlain, mapAttributes, mergeUnder, type AnyValue, type AttrMap, type AttrValue } from './attributes';
import { recordId } from './record-id';

export interface DecodeIssue {
  /** Where in the payload, e.g. `resourceLogs[0].scopeLogs[0].logRecords[4]`, `line 3`, `logEvents[2]`. */
  where: string;
  reason: string;
}

export interface FlattenOptions {
  /** Keep content attributes (prompts, responses, tool input) in `attributes` instead of dropping them. */
  keepContentAttributes?: boolean;
}

export interface FlattenResult {
  records: RawRecord[];
  /** Content attributes dropped (0 when they are kept). */
  droppedContent: number;
  errors: DecodeIssue[];
  /** Datapoints of metric kinds the raw record cannot carry (histogram, exponential histogram, summary). */
  unsupported: number;
}

export const emptyResult = (): FlattenResult => ({ records: [], droppedContent: 0, errors: [], unsupported: 0 });

export function addInto(into: FlattenResult, r: FlattenResult): FlattenResult {
  for (const x of r.records) into.records.push(x);
  for (const e of r.errors) into.errors.push(e);
  into.droppedContent += r.droppedContent;
  into.unsupported += r.unsupported;
  return into;
}

export const EVENT_PREFIX = 'claude_code.';

export interface SpanParts {
  traceId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  endTime: number | null;
  /** end - start in ms, from the nanosecond timestamps. */
  durationMs: number | null;
  /** OTLP Status.code: 0 unset, 1 ok, 2 error. */
  statusCode: number | null;
  statusMessage: string | null;
}

export interface RecordParts {
  signal: 'event' | 'metric' | 'span';
  name: string;
  eventTime: number;
  startTime?: number | null;
  value?: number | null;
  temporality?: 'delta' | 'cumulative' | null;
  span?: SpanParts;
}

/** Keys turned into columns by the flatteners themselves (not by the otel column mapping). */
const CONSUMED = new Set(['event.name', 'event.timestamp']);

/** A model id's context suffix, e.g. `claude-opus-4-6[1m]` -> model `claude-opus-4-6`, tier `1m`. */
const CONTEXT_SUFFIX = /^(.+?)\[([^\[\]]+)\]$/;

export function splitContextTier(model: string): { model: string; tier: string | null } {
  const m = CONTEXT_SUFFIX.exec(model.trim());
  return m ? { model: m[1]!.trim(), tier: m[2]!.trim().toLowerCase() } : { model, tier: null };
}

/** cost_usd_micros (an integer, 2026 versions) as USD; null when absent or not an integer. */
function costFromMicros(attrs: AttrMap): number | null {
  const v = attrs.get('cost_usd_micros');
  if (v === undefined) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n / 1e6 : null;
}

/**
 * Sets a column the flattener derives itself; a mapped attribute value it replaces is kept in
 * `attributes` under its own key when it differs, so nothing is lost.
 */
function override(record: RawRecord, column: 'cost_usd' | 'duration_ms' | 'status_code', value: number, attributeKey: string): void {
  const had = record[column];
  if (had !== null && had !== value) record.attributes = { ...record.attributes, [attributeKey]: String(had) };
  record[column] = value;
}

/** Builds one raw record (with its record_id) from its parts and merged attributes. */
export function buildRecord(parts: RecordParts, attrs: AttrMap, opts: FlattenOptions): { record: RawRecord; droppedContent: number } {
  const micros = costFromMicros(attrs);
  const consumed = micros === null ? CONSUMED : new Set([...CONSUMED, 'cost_usd_micros']);
  const mapped = mapAttributes(attrs, { keepContentAttributes: opts.keepContentAttributes, consumed });
  const record: RawRecord = {
    ...emptyRawRecord(),
    ...mapped.columns,
    signal: parts.signal,
    name: parts.name,
    event_time: parts.eventTime,
    start_time: parts.startTime ?? null,
    value: parts.value ?? null,
    temporality: parts.temporality ?? null,
    attributes: mapped.attributes,
  };
  if (record.model !== null) {
    const { model, tier } = splitContextTier(record.model);
    record.model = model;
    record.context_tier = tier;
  }
  // The integer micro-dollars are exact; a cost_usd double beside them that disagrees stays in attributes.
  if (micros !== null) override(record, 'cost_usd', micros, 'cost_usd');
  const span = parts.span;
  if (span) {
    record.trace_id = span.traceId;
    record.span_id = span.spanId;
    record.parent_span_id = span.parentSpanId;
    record.end_time = span.endTime;
    if (span.durationMs !== null) override(record, 'duration_ms', span.durationMs, 'duration_ms');
    // status_code of a span is its OTLP status; an HTTP status_code attribute stays in attributes.
    if (record.status_code !== null) record.attributes = { ...record.attributes, status_code: String(record.status_code) };
    record.status_code = span.statusCode;
    if (record.error === null && span.statusMessage) record.error = span.statusMessage;
  }
  record.record_id = recordId(record);
  return { record, droppedContent: mapped.droppedContent };
}

// ---------------------------------------------------------------------------------------------
// time helpers

/** OTLP fixed64 nanoseconds (decimal string or JSON number) -> epoch ms; null when absent or 0 (unset). */
export function nanosToMs(x: unknown): number | null {
  if (typeof x === 'string') {
    const s = x.trim();
    if (!/^\d+$/.test(s)) return null;
    const ms = Number(BigInt(s) / 1_000_000n);
    return ms > 0 ? ms : null;
  }
  if (typeof x === 'number' && Number.isFinite(x) && x > 0) {
    const ms = Math.floor(x / 1e6);
    return ms > 0 ? ms : null;
  }
  return null;
}

/** `event.timestamp` (ISO 8601) -> epoch ms; a number is taken as epoch ms. */
export function isoToMs(v: AttrValue | undefined): number | null {
  if (typeof v === 'string') {
    const s = v.trim();
    if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return null;
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? ms : null;
  }
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  return null;
}

// ---------------------------------------------------------------------------------------------
// logs

export interface LogRecordInput {
  /** Record attributes already merged over resource attributes. */
  attrs: AttrMap;
  body: AttrValue | null;
  /** LogRecord.eventName (newer OTLP field), when set. */
  eventName?: unknown;
  /** Fallback event times in order (timeUnixNano, observedTimeUnixNano, CloudWatch event time), epoch ms. */
  fallbackTimes: (number | null)[];
}

/** The event name: `event.name` (prefixed `claude_code.` when it is the short form), else LogRecord.eventName, else the body string. */
export function eventNameOf(input: LogRecordInput): string | null {
  const en = input.attrs.get('event.name');
  if (typeof en === 'string' && en.trim() !== '') {
    const n = en.trim();
    return n.startsWith(EVENT_PREFIX) ? n : EVENT_PREFIX + n;
  }
  if (typeof input.eventName === 'string' && input.eventName.trim() !== '') return input.eventName.trim();
  if (typeof input.body === 'string' && input.body.trim() !== '') return input.body.trim();
  return null;
}

/** One log record -> one event row, or the reason it cannot be one ("has no timestamp", "has no event name"). */
export function logRecordToRaw(input: LogRecordInput, opts: FlattenOptions): { record: RawRecord; droppedContent: number } | { reason: string } {
  const name = eventNameOf(input);
  if (!name) return { reason: 'has no event name (no event.name attribute, eventName or string body)' };
  let eventTime = isoToMs(input.attrs.get('event.timestamp'));
  for (const t of input.fallbackTimes) if (eventTime === null && t !== null) eventTime = t;
  if (eventTime === null) return { reason: 'has no timestamp' };
  return buildRecord({ signal: 'event', name, eventTime }, input.attrs, opts);
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

/**
 * Visits every scope of every resource of an OTLP request (`resourceLogs`/`resourceMetrics`/`resourceSpans`),
 * with the resource's attributes and the scope's path for error messages. `legacyScopes` is the
 * pre-1.0 name of the scope list (`instrumentationLibraryLogs`, `instrumentationLibraryMetrics`, `instrumentationLibrarySpans`).
 */
function forEachScope(
  resources: unknown,
  resourcesField: string,
  scopesField: string,
  legacyScopesField: string,
  at: string,
  visit: (resource: ReturnType<typeof attrsFromAny>, scope: Obj, container: string) => void,
): void {
  arr(resources).forEach((r, i) => {
    if (!isObj(r)) return;
    const resource = attrsFromAny(isObj(r.resource) ? r.resource.attributes : undefined);
    const field = r[scopesField] !== undefined ? scopesField : legacyScopesField;
    arr(r[field]).forEach((scope, j) => {
      if (isObj(scope)) visit(resource, scope, `${at}${resourcesField}[${i}].${field}[${j}]`);
    });
  });
}

export function flattenLogsRequest(req: Obj, opts: FlattenOptions = {}, at = ''): FlattenResult {
  const out = emptyResult();
  forEachScope(req.resourceLogs, 'resourceLogs', 'scopeLogs', 'instrumentationLibraryLogs', at, (resource, sl, container) => {
    arr(sl.logRecords).forEach((lr, k) => {
      const where = `${container}.logRecords[${k}]`;
      if (!isObj(lr)) {
        out.errors.push({ where, reason: `log record ${k} in ${container} is not an object` });
        return;
      }
      const attrs = mergeUnder(resource, attrsFromAny(lr.attributes));
      const body = isObj(lr.body) ? decodeAnyValue(lr.body as AnyValue) : fromPlain(lr.body);
      const r = logRecordToRaw({ attrs, body, eventName: lr.eventName, fallbackTimes: [nanosToMs(lr.timeUnixNano), nanosToMs(lr.observedTimeUnixNano)] }, opts);
      if ('reason' in r) out.errors.push({ where, reason: `log record ${k} in ${container} ${r.reason}` });
      else {
        out.records.push(r.record);
        out.droppedContent += r.droppedContent;
      }
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// traces

/**
 * A trace or span id as lower-case hex. OTLP/JSON writes ids as hex (the specification's exception
 * to proto3 JSON); some exporters write protobuf's default base64 instead, which is converted.
 * Returns null for an absent, empty or all-zero (invalid) id, and undefined when it is neither.
 */
export function spanIdHex(x: unknown, bytes: 8 | 16): string | null | undefined {
  if (x === undefined || x === null || x === '') return null;
  if (typeof x !== 'string') return undefined;
  const s = x.trim();
  let hex: string | undefined;
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) hex = s.toLowerCase();
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) {
    const b = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === bytes) hex = b.toString('hex');
  }
  if (hex === undefined) return undefined;
  return /^0+$/.test(hex) ? null : hex;
}

/** OTLP Status.code as a number (the enum may arrive as its name). */
export function spanStatusCode(status: unknown): number | null {
  if (!isObj(status)) return null;
  const c = status.code;
  if (c === 0 || c === 1 || c === 2) return c;
  if (c === '0' || c === 'STATUS_CODE_UNSET') return 0;
  if (c === '1' || c === 'STATUS_CODE_OK') return 1;
  if (c === '2' || c === 'STATUS_CODE_ERROR') return 2;
  return c === undefined ? 0 : null;
}

/** Nanosecond timestamps' difference in ms, exact to the nanosecond (both as decimal strings or numbers). */
function nanosDiffMs(start: unknown, end: unknown): number | null {
  const big = (x: unknown): bigint | null =>
    typeof x === 'string' && /^\d+$/.test(x.trim())
      ? BigInt(x.trim())
      : typeof x === 'number' && Number.isSafeInteger(x)
        ? BigInt(x)
        : typeof x === 'number' && Number.isFinite(x)
          ? BigInt(Math.round(x))
          : null;
  const s = big(start);
  const e = big(end);
  if (s === null || e === null || e < s) return null;
  return Number(e - s) / 1e6;
}

export function flattenTracesRequest(req: Obj, opts: FlattenOptions = {}, at = ''): FlattenResult {
  const out = emptyResult();
  forEachScope(req.resourceSpans, 'resourceSpans', 'scopeSpans', 'instrumentationLibrarySpans', at, (resource, ss, container) => {
    arr(ss.spans).forEach((sp, k) => {
      const where = `${container}.spans[${k}]`;
      const what = `span ${k} in ${container}`;
      if (!isObj(sp)) {
        out.errors.push({ where, reason: `${what} is not an object` });
        return;
      }
      if (typeof sp.name !== 'string' || sp.name.trim() === '') {
        out.errors.push({ where, reason: `${what} has no name` });
        return;
      }
      const start = nanosToMs(sp.startTimeUnixNano);
      if (start === null) {
        out.errors.push({ where, reason: `${what} (${sp.name}) has no startTimeUnixNano` });
        return;
      }
      const traceId = spanIdHex(sp.traceId, 16);
      const spanId = spanIdHex(sp.spanId, 8);
      const parentSpanId = spanIdHex(sp.parentSpanId, 8);
      if (traceId === undefined || spanId === undefined || parentSpanId === undefined || !traceId || !spanId) {
        const bad = traceId === undefined || !traceId ? 'traceId' : spanId === undefined || !spanId ? 'spanId' : 'parentSpanId';
        out.errors.push({ where, reason: `${what} (${sp.name}) has no valid ${bad} (hex or base64 of ${bad === 'traceId' ? 16 : 8} bytes)` });
        return;
      }
      const end = nanosToMs(sp.endTimeUnixNano);
      const status = isObj(sp.status) ? sp.status : undefined;
      const r = buildRecord(
        {
          signal: 'span',
          name: sp.name.trim(),
          eventTime: start,
          startTime: start,
          span: {
            traceId,
            spanId,
            parentSpanId,
            endTime: end,
            durationMs: end === null ? null : nanosDiffMs(sp.startTimeUnixNano, sp.endTimeUnixNano),
            statusCode: spanStatusCode(status ?? {}),
            statusMessage: status && typeof status.message === 'string' && status.message !== '' ? status.message : null,
          },
        },
        mergeUnder(resource, attrsFromAny(sp.attributes)),
        opts,
      );
      out.records.push(r.record);
      out.droppedContent += r.droppedContent;
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// metrics

/** aggregationTemporality 1 = DELTA, 2 = CUMULATIVE (names accepted defensively). */
export function temporalityOf(x: unknown): 'delta' | 'cumulative' | null {
  if (x === 1 || x === '1' || x === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (x === 2 || x === '2' || x === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return null;
}

function numberOf(x: unknown): number | null {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (typeof x === 'string' && x.trim() !== '') {
    const n = Number(x);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const UNSUPPORTED_KINDS = ['histogram', 'exponentialHistogram', 'summary'] as const;

export function flattenMetricsRequest(req: Obj, opts: FlattenOptions = {}, at = ''): FlattenResult {
  const out = emptyResult();
  forEachScope(req.resourceMetrics, 'resourceMetrics', 'scopeMetrics', 'instrumentationLibraryMetrics', at, (resource, sm, container) => {
    arr(sm.metrics).forEach((m, k) => {
      const mWhere = `${container}.metrics[${k}]`;
      if (!isObj(m) || typeof m.name !== 'string' || m.name === '') {
        out.errors.push({ where: mWhere, reason: `metric ${k} in ${container} has no name` });
        return;
      }
      const name = m.name;
      let points: unknown[];
      let temporality: 'delta' | 'cumulative' | null;
      if (isObj(m.sum)) {
        points = arr(m.sum.dataPoints);
        temporality = temporalityOf(m.sum.aggregationTemporality);
      } else if (isObj(m.gauge)) {
        points = arr(m.gauge.dataPoints);
        temporality = null;
      } else {
        const kind = UNSUPPORTED_KINDS.find((kd) => isObj(m[kd]));
        const n = kind ? arr((m[kind] as Obj).dataPoints).length : 0;
        out.unsupported += Math.max(n, 1);
        return;
      }
      points.forEach((dp, d) => {
        const where = `${mWhere}.dataPoints[${d}]`;
        const what = `datapoint ${d} of ${name} in ${container}`;
        if (!isObj(dp)) {
          out.errors.push({ where, reason: `${what} is not an object` });
          return;
        }
        const value = dp.asInt !== undefined ? numberOf(dp.asInt) : dp.asDouble !== undefined ? numberOf(dp.asDouble) : null;
        if (value === null) {
          // flags bit 0 = FLAG_NO_RECORDED_VALUE: an explicit gap, not an error.
          if (typeof dp.flags === 'number' && (dp.flags & 1) === 1) {
            out.unsupported++;
            return;
          }
          const has = dp.asInt !== undefined || dp.asDouble !== undefined;
          out.errors.push({ where, reason: `${what} ${has ? 'has a non-finite value' : 'has no value'}` });
          return;
        }
        const eventTime = nanosToMs(dp.timeUnixNano);
        if (eventTime === null) {
          out.errors.push({ where, reason: `${what} has no timestamp` });
          return;
        }
        const attrs = mergeUnder(resource, attrsFromAny(dp.attributes));
        const r = buildRecord({ signal: 'metric', name, eventTime, startTime: nanosToMs(dp.startTimeUnixNano), value, temporality }, attrs, opts);
        out.records.push(r.record);
        out.droppedContent += r.droppedContent;
      });
    });
  });
  return out;
}
