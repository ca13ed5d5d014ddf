/**
 * What compaction has already done, kept in the lake (`_cclake/compaction/state.json`): the raw
 * objects it finished (compacted or quarantined) within the lookback window and the latest arrival
 * hour it has seen. (Retired generations are recorded by generations/; `retired` stays empty.)
 * A run lists only the raw day prefixes from (watermark - lookback) on, so its cost follows new
 * data, not the lake's age.
 */
import { ObjectNotFoundError, type ObjectStore } from '../store/port';

export const STATE_KEY = '_cclake/compaction/state.json';

/** Where compaction copies an object it cannot read: `quarantine/<raw key>`, with `<raw key>.reason.json`. */
export const QUARANTINE_PREFIX = 'quarantine/';

export interface RetiredEntry {
  table: string;
  dt: string;
  location: string;
  retiredAt: string;
}

export interface CompactionState {
  version: 1;
  /** Latest arrival hour (epoch ms) among finished objects; null before the first run. */
  watermarkHourMs: number | null;
  /** Raw keys finished (compacted or quarantined) within the lookback window. */
  finished: string[];
  retired: RetiredEntry[];
  updatedAt: string;
}

export async function loadState(store: ObjectStore): Promise<CompactionState | null> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(STATE_KEY))) as CompactionState;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

export async function saveState(store: ObjectStore, state: CompactionState): Promise<void> {
  await store.put(STATE_KEY, JSON.stringify(state), { contentType: 'application/json' });
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Raw day prefixes (`raw/year=YYYY/month=MM/day=DD/`) covering [fromMs, toMs]. */
export function dayPrefixes(rawPrefix: string, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  const d = new Date(fromMs);
  d.setUTCHours(0, 0, 0, 0);
  for (; d.getTime() <= toMs; d.setUTCDate(d.getUTCDate() + 1)) {
    out.push(`${rawPrefix}year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/`);
  }
  return out;
}
