/**
 * Deterministic `record_id`: SHA-256 (hex, first 32 chars) over a canonical serialization of the
 * record's identifying content — signal, name, event_time, start_time, value, temporality and every
 * kept attribute (column values and `attributes` map entries), in sorted key order. Content
 * attributes never take part, so opting in to keep them does not change any id.
 */
import { createHash } from 'node:crypto';
import type { RawRecord } from '../../../schemas/raw-record';
import { isContentKey } from './attributes';

const NOT_HASHED = new Set<string>(['record_id', 'attributes']);

/** The canonical text the id is computed over (exported for tests and debugging). */
export function canonicalIdentity(row: Omit<RawRecord, 'record_id'> | RawRecord): string {
  const entries: [string, unknown][] = [];
  for (const [k, v] of Object.entries(row)) {
    if (NOT_HASHED.has(k) || v === null || v === undefined) continue;
    // Column names are prefixed so a column can never collide with an attribute-map key.
    entries.push([`c:${k}`, v]);
  }
  const attrs = (row as { attributes?: Record<string, string> | null }).attributes;
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) if (!isContentKey(k)) entries.push([`a:${k}`, v]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // JSON of [key, value] pairs: unambiguous (keys and values are quoted/escaped; numbers print canonically).
  return JSON.stringify(entries);
}

export function recordId(row: Omit<RawRecord, 'record_id'> | RawRecord): string {
  return createHash('sha256').update(canonicalIdentity(row)).digest('hex').slice(0, 32);
}
