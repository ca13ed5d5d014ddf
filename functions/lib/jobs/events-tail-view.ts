/**
 * Re-creates the Athena view `events_tail` (sql/events-tail.ts) from compaction's state as it is
 * now: the raw hours from (watermark - lookback) on, without the objects compaction quarantined
 * there. The rollup runs it before applying the views (the `events` view reads it) and the hourly
 * `rollup --intraday` run before computing today, so the view's window follows compaction within
 * the hour. On DuckDB the tail is bound per session (engine/events-tail.ts): nothing to do.
 */
import type { Config } from '../config/schema';
import { dayPrefixes, loadState, QUARANTINE_PREFIX } from '../compaction/state';
import type { QueryEngine } from '../engine/port';
import { arrivalHourOf } from '../raw/keys';
import { athenaEventsTailViewSql, rawTableIsRecord } from '../sql/events-tail';
import { listAll, type ObjectStore } from '../store/port';

const HOUR = 3_600_000;

/** The view's SQL for the lake as it is now (null: the engine is not Athena). */
export async function athenaEventsTailSql(store: ObjectStore, config: Config, now: number): Promise<string | null> {
  if (!('s3' in config.lake)) return null;
  const { bucket, prefix } = config.lake.s3;
  const state = await loadState(store);
  const fromHourMs = state?.watermarkHourMs == null ? null : state.watermarkHourMs - config.compaction.lookbackHours * HOUR;
  const quarantined =
    fromHourMs === null ? [QUARANTINE_PREFIX + config.raw.prefix] : dayPrefixes(QUARANTINE_PREFIX + config.raw.prefix, fromHourMs, now + 24 * HOUR);
  const excludedPaths: string[] = [];
  for (const p of quarantined) {
    for (const o of await listAll(store, p)) {
      if (o.key.endsWith('.reason.json')) continue;
      const rawKey = o.key.slice(QUARANTINE_PREFIX.length);
      if (fromHourMs === null || (arrivalHourOf(rawKey) ?? fromHourMs) >= fromHourMs) excludedPaths.push(`s3://${bucket}/${prefix}${rawKey}`);
    }
  }
  return athenaEventsTailViewSql({ fromHourMs, excludedPaths, timeZone: config.reporting.timeZone, rawIsRecord: rawTableIsRecord(config) });
}

/** Re-creates `events_tail` on Athena; returns the SQL it ran (null on DuckDB). */
export async function refreshEventsTail(store: ObjectStore, engine: QueryEngine, config: Config, now: number): Promise<string | null> {
  if (engine.kind !== 'athena') return null;
  const sql = await athenaEventsTailSql(store, config, now);
  if (sql) await engine.query(sql);
  return sql;
}
