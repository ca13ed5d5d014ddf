/**
 * Raw retention (config `retention.rawDays`) in privacy mode: raw objects hold identities as they
 * arrived (e-mail addresses), so compaction deletes those whose arrival hour is older than `rawDays`
 * days, but only ones it has finished (compacted, or quarantined with a copy), never data it has not read:
 *  - a key this run or the runs it remembers finished (`state.finished` and this run's), or
 *  - an object below the horizon the state remembers (watermark - lookback - 1 day) that arrived
 *    within the lookback of its hour: every run lists the hours from (watermark - lookback) on and
 *    never moves the watermark past an unfinished object it listed, so such an object was listed
 *    and finished before the watermark passed it. An object delivered later than that was never
 *    compacted and is left alone.
 * Only the week of raw days before the cut-off is looked at (hourly runs delete each hour as it
 * ages out); older raw days are the partitions job's purge and, on AWS, the bucket's lifecycle
 * rule (serverless.yml, param rawDays) to delete.
 */
import { rawSourcesOf, type Config } from '../config/schema';
import { arrivalHourOf } from '../raw/keys';
import { addDays } from '../util/dates';
import { listAll, type ObjectStore } from '../store/port';
import { dayPrefixes, type CompactionState } from './state';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Raw days before the cut-off each run looks at. */
export const RAW_EXPIRY_WINDOW_DAYS = 7;

/** The first arrival hour (epoch ms) that is kept: midnight UTC `rawDays` days before `now`'s day. */
export const rawCutoffMs = (config: Config, now: number) =>
  Date.parse(`${addDays(new Date(now).toISOString().slice(0, 10), -config.retention.rawDays)}T00:00:00Z`);

/** Deletes the finished raw objects past retention; returns how many. */
export async function expireRaw(store: ObjectStore, config: Config, state: CompactionState, finished: ReadonlySet<string>, now: number): Promise<number> {
  const cutoff = rawCutoffMs(config, now);
  const lookback = config.compaction.lookbackHours * HOUR;
  const horizon = state.watermarkHourMs === null ? -Infinity : state.watermarkHourMs - lookback - DAY;
  const doomed: string[] = [];
  for (const { prefix } of rawSourcesOf(config)) {
    for (const p of dayPrefixes(prefix, cutoff - RAW_EXPIRY_WINDOW_DAYS * DAY, cutoff - 1)) {
      for (const o of await listAll(store, p)) {
        const h = arrivalHourOf(o.key);
        if (h === null || h >= cutoff) continue;
        const onTime = h < horizon && o.lastModified.getTime() <= h + HOUR + lookback;
        if (finished.has(o.key) || onTime) doomed.push(o.key);
      }
    }
  }
  let deleted = 0;
  for (let i = 0; i < doomed.length; i += 1000) {
    const r = await store.delete(doomed.slice(i, i + 1000));
    if (r.failed.length)
      throw new Error(
        `raw retention: ${r.failed.length} object(s) could not be deleted, e.g. ${r.failed[0]!.key}: ${r.failed[0]!.code} ${r.failed[0]!.message}`,
      );
    deleted += r.deleted.length;
  }
  return deleted;
}
