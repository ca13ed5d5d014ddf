/**
 * OTel attribute handling shared by every telemetry decoder: OTLP AnyValue decoding, the mapping of
 * attribute keys onto raw-record columns (derived from RAW_RECORD.columns[].otel, never retyped),
 * numeric/boolean coercion, and the content-attribute policy (prompts, responses, tool input never
 * reach the lake unless the operator opts in).
 */
import { RAW_RECORD, type RawRecord } from '../../../schemas/raw-record';
import type { LogicalType } from '../../../schemas/columns';

/** OTLP/JSON AnyValue (proto3 JSON: 64-bit ints may be numbers or decimal strings). */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}

export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}

/**
 * A decoded attribute value. Arrays and key/value lists become their JSON text; 64-bit integers
 * beyond 2^53 stay decimal strings so the attribute map keeps them exactly.
 */
export type AttrValue = string | number | boolean;

export type AttrMap = Map<string, AttrValue>;

function plainOfAnyValue(v: AnyValue | null | undefined): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return intOf(v.intValue);
  if (v.doubleValue !== undefined) return doubleOf(v.doubleValue);
  if (v.arrayValue !== undefined) return (v.arrayValue?.values ?? []).map(plainOfAnyValue);
  if (v.kvlistValue !== undefined) {
    const o: Record<string, unknown> = {};
    for (const kv of v.kvlistValue?.values ?? []) if (kv && typeof kv.key === 'string') o[kv.key] = plainOfAnyValue(kv.value);
    return o;
  }
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function intOf(x: string | number): number | string | null {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (typeof x === 'string' && /^[+-]?\d+$/.test(x.trim())) {
    const n = Number(x);
    return Number.isSafeInteger(n) ? n : x.trim();
  }
  return null;
}

function doubleOf(x: number | string): number | string | null {
  if (typeof x === 'number') return x;
  // proto3 JSON allows "NaN", "Infinity" and numeric strings for doubles.
  if (typeof x === 'string') {
    const n = Number(x);
    return Number.isFinite(n) && x.trim() !== '' ? n : x;
  }
  return null;
}

/** Decodes one OTLP AnyValue; null when empty. */
export function decodeAnyValue(v: AnyValue | null | undefined): AttrValue | null {
  return fromPlain(plainOfAnyValue(v));
}

/** A plain JSON value (as the awscloudwatchlogs exporter and EMF write attributes) as an AttrValue. */
export function fromPlain(v: unknown): AttrValue | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return JSON.stringify(v);
}

/** OTLP `attributes: KeyValue[]` to a map (later duplicates win, as the SDKs do). */
export function attrsFromKeyValues(list: unknown): AttrMap {
  const out: AttrMap = new Map();
  if (!Array.isArray(list)) return out;
  for (const kv of list as KeyValue[]) {
    if (!kv || typeof kv !== 'object' || typeof kv.key !== 'string') continue;
    const v = decodeAnyValue(kv.value);
    if (v !== null) out.set(kv.key, v);
  }
  return out;
}

/** A flat JSON object of attributes (awscloudwatchlogs exporter `attributes`/`resource`, EMF properties). */
export function attrsFromPlainObject(obj: unknown): AttrMap {
  const out: AttrMap = new Map();
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return out;
  for (const [k, raw] of Object.entries(obj as Record<string, unknown>)) {
    const v = fromPlain(raw);
    if (v !== null) out.set(k, v);
  }
  return out;
}

/** Either OTLP KeyValue[] or a flat object, whichever the producer wrote. */
export function attrsFromAny(x: unknown): AttrMap {
  return Array.isArray(x) ? attrsFromKeyValues(x) : attrsFromPlainObject(x);
}

/** Resource attributes merged under record/datapoint attributes: the record's value wins. */
export function mergeUnder(resource: AttrMap, record: AttrMap): AttrMap {
  const out: AttrMap = new Map(resource);
  for (const [k, v] of record) out.set(k, v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Content attributes

const CONTENT_KEYS = new Set([
  'prompt',
  'prompt_text',
  'response',
  'completion',
  'tool_input',
  'tool_parameters',
  'tool_output',
  'body',
  'content',
  'messages',
  'system_prompt',
  // Traces: the prompt on claude_code.interaction spans, the Bash command line on claude_code.tool spans.
  'user_prompt',
  'full_command',
]);

/** Prompt/response/tool-input text: never stored unless keepContentAttributes is on, never hashed into record_id. */
export function isContentKey(key: string): boolean {
  const k = key.toLowerCase();
  return CONTENT_KEYS.has(k) || k.endsWith('.content');
}

// ---------------------------------------------------------------------------------------------
// Column mapping, derived from RAW_RECORD.columns[].otel

type MappedType = Exclude<LogicalType, 'date' | 'map<string,string>' | 'timestamp'>;

interface ColumnTarget {
  readonly column: keyof RawRecord & string;
  readonly type: MappedType;
  /** Attribute keys in priority order: the first present key wins. */
  readonly keys: readonly string[];
}

export const COLUMN_TARGETS: readonly ColumnTarget[] = RAW_RECORD.columns.flatMap((c) => {
  const keys = (c as { otel?: readonly string[] }).otel;
  if (!keys || keys.length === 0) return [];
  return [{ column: c.name, type: c.type as MappedType, keys }];
});

/** attribute key -> the column it lands in. */
export const COLUMN_OF_KEY: ReadonlyMap<string, ColumnTarget> = new Map(COLUMN_TARGETS.flatMap((t) => t.keys.map((k) => [k, t] as const)));

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function toNumber(v: AttrValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!NUMERIC.test(s)) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** The value as its column type, or undefined when it does not conform (it then stays in `attributes`). */
export function coerce(type: MappedType, v: AttrValue): string | number | boolean | undefined {
  switch (type) {
    case 'string':
      return attrToString(v);
    case 'double': {
      const n = toNumber(v);
      return n === null ? undefined : n;
    }
    case 'int64': {
      const n = toNumber(v);
      return n !== null && Number.isInteger(n) && Number.isSafeInteger(n) ? n : undefined;
    }
    case 'int32': {
      const n = toNumber(v);
      return n !== null && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (s === 'true') return true;
        if (s === 'false') return false;
      }
      return undefined;
  }
}

/** How a value is written into the string-valued `attributes` map. */
export function attrToString(v: AttrValue): string {
  return typeof v === 'string' ? v : String(v);
}

export interface MappedAttributes {
  /** Column values (only the columns that received a value). */
  columns: Partial<RawRecord>;
  /** Everything else that is kept; content keys only when keepContent is true. */
  attributes: Record<string, string>;
  /** Content attributes dropped. */
  droppedContent: number;
}

export interface MapOptions {
  keepContentAttributes?: boolean;
  /** Keys the caller already turned into columns itself (e.g. event.name, event.timestamp). */
  consumed?: ReadonlySet<string>;
}

/**
 * Splits merged attributes into columns and the `attributes` map. A column takes the first of its
 * keys whose value conforms to the column type; a non-conforming value (e.g. "n/a" for a number
 * column) stays in the map under its own key, as does an alias key whose value differs from what
 * the column took.
 */
export function mapAttributes(attrs: AttrMap, opts: MapOptions = {}): MappedAttributes {
  const columns: Record<string, string | number | boolean> = {};
  const attributes: Record<string, string> = {};
  let droppedContent = 0;
  const used = new Set<string>();

  for (const t of COLUMN_TARGETS) {
    let taken: string | number | boolean | undefined;
    for (const key of t.keys) {
      const v = attrs.get(key);
      if (v === undefined) continue;
      const c = coerce(t.type, v);
      if (c === undefined) continue; // stays in the map below
      if (taken === undefined) {
        taken = c;
        used.add(key);
      } else if (c === taken) {
        used.add(key); // the same value under an alias: nothing to keep twice
      }
    }
    if (taken !== undefined) columns[t.column] = taken;
  }

  for (const [key, v] of attrs) {
    if (used.has(key) || opts.consumed?.has(key)) continue;
    if (isContentKey(key) && !opts.keepContentAttributes) {
      droppedContent++;
      continue;
    }
    attributes[key] = attrToString(v);
  }
  return { columns: columns as Partial<RawRecord>, attributes, droppedContent };
}
