/**
 * Deterministic `record_id`: SHA-256 (hex, first 32 chars) over a canonical serialization of the
 * record's identifying content — signal, name, event_time, start_time, value, temporality and every
 * kept attribute (column values and `attributes` map entries), in sorted key order. Content
 * attributes never take part, so opting in to keep them does not change any id.
 *
 * The canonical text is the JSON of sorted [key, value] pairs, map entries as `a:<key>` and columns
 * as `c:<name>` ('a:' sorts before 'c:', so map entries come first). It is built by string
 * concatenation over a precomputed column order because it runs once per record (millions per run).
 */
import { hash } from 'node:crypto';
import { RAW_COLUMN_NAMES, type RawRecord } from '../../../schemas/raw-record';
import { isContentKey } from './attributes';

const NOT_HASHED = new Set<string>(['record_id', 'attributes']);

/** Hashed columns in sorted order, each with its JSON-quoted `c:` key. */
const HASHED_COLUMNS: readonly (readonly [string, string])[] = RAW_COLUMN_NAMES.filter((c) => !NOT_HASHED.has(c))
  .sort()
  .map((c) => [c, JSON.stringify(`c:${c}`)] as const);

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Exactly JSON.stringify(v) for the value types records hold, without its generic dispatch. */
function json(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return JSON.stringify(v);
  }
}

/** The canonical text the id is computed over (exported for tests and debugging). */
export function canonicalIdentity(row: Omit<RawRecord, 'record_id'> | RawRecord): string {
  let out = '[';
  let first = true;
  const attrs = (row as { attributes?: Record<string, string> | null }).attributes;
  if (attrs) {
    const keys = Object.keys(attrs).sort();
    for (const k of keys) {
      const v = attrs[k];
      if (v === undefined || isContentKey(k)) continue;
      out += (first ? '[' : ',[') + json(`a:${k}`) + ',' + json(v) + ']';
      first = false;
    }
  }
  const values = row as unknown as Record<string, unknown>;
  for (const [name, key] of HASHED_COLUMNS) {
    const v = values[name];
    if (v === null || v === undefined) continue;
    out += (first ? '[' : ',[') + key + ',' + json(v) + ']';
    first = false;
  }
  return out + ']';
}

export function recordId(row: Omit<RawRecord, 'record_id'> | RawRecord): string {
  // One-shot crypto.hash (Node >= 20.12) is about 3x faster than createHash() for short inputs.
  return hash('sha256', canonicalIdentity(row), 'hex').slice(0, 32);
}
