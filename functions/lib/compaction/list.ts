/**
 * Phase 1, list: the raw objects a run has to look at. After the first run only the raw day
 * prefixes from (watermark - lookback) on are listed, so a run's cost follows new data, not the
 * lake's age; objects already finished are left out (a rebuild takes every one). Each raw source of
 * the lake (`raw.sources`) is listed.
 */
import { rawSourcesOf, type Config } from '../config/schema';
import { arrivalHourOf } from '../raw/keys';
import { listAll, type ObjectInfo, type ObjectStore } from '../store/port';
import { dayPrefixes, type CompactionState } from './state';

export const HOUR = 3_600_000;

export interface RawListing {
  listed: ObjectInfo[];
  /** The listed objects to compact this run. */
  candidates: ObjectInfo[];
  /** Newest Firehose arrival hour (epoch ms) among the objects listed. */
  rawNewestHourMs: number | null;
}

export async function listRaw(store: ObjectStore, config: Config, state: CompactionState, options: { rebuild?: boolean; now: number }): Promise<RawListing> {
  let listed: ObjectInfo[];
  listed = [];
  // Every raw source of the lake (raw.sources), one after the other.
  for (const { prefix } of rawSourcesOf(config)) {
    if (state.watermarkHourMs === null || options.rebuild) {
      listed.push(...(await listAll(store, prefix)));
    } else {
      const from = state.watermarkHourMs - config.compaction.lookbackHours * HOUR;
      for (const p of dayPrefixes(prefix, from, options.now + 24 * HOUR)) listed.push(...(await listAll(store, p)));
    }
  }
  const finished = new Set(state.finished);
  const candidates = options.rebuild ? listed : listed.filter((o) => !finished.has(o.key));
  let rawNewestHourMs: number | null = null;
  for (const o of listed) {
    const h = arrivalHourOf(o.key);
    if (h !== null && (rawNewestHourMs === null || h > rawNewestHourMs)) rawNewestHourMs = h;
  }
  return { listed, candidates, rawNewestHourMs };
}
