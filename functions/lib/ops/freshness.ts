/**
 * Freshness per stage (issue 20), for `cclake status`: how old the newest data is that each reader
 * sees, end to end from Firehose.
 *
 *   events      the newest `event_time` visible in `events`: the curated events and the uncompacted
 *               tail (on a local lake; on AWS it would be an Athena query, which status does not run)
 *   rollups     the newest of: the end of the last day every daily table has computed
 *               (`rollupThrough`), and the run time of the newest intraday rollup (it read `events`
 *               with the tail as of then)
 *   dashboards  what the newest publish showed: no newer than the rollups' freshness and the
 *               publish time (the local dashboards' `index.html`; QuickSight's own refreshes are not
 *               seen from the lake)
 * An age is measured from `now`; a clock ahead of it (a skewed laptop) reads as age 0.
 */
import { INTRADAY_USER_DAILY } from '../../../schemas/rollups';
import { PartitionCommits } from '../catalog/commits';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { startOfDay } from '../exports/periods';
import { EVENTS_TAIL } from '../sql/events-tail';
import { listAll, type ObjectStore } from '../store/port';
import { addDays } from '../util/dates';
import type { LakeWatermarks } from './watermarks';

export interface Freshness {
  /** Newest event_time in `events` (curated and tail); null when unknown or empty. */
  eventsNewestMs: number | null;
  /** The daily rollups' end (the instant after their last complete day), null before any. */
  rollupDailyThroughMs: number | null;
  /** When the newest intraday rollup ran, and its day. */
  intradayAsOfMs: number | null;
  intradayDt: string | null;
  /** Newest data the rollups show: the later of the two above. */
  rollupsAsOfMs: number | null;
  /** When the dashboards were last published (local), and the newest data they can show. */
  dashboardsPublishedMs: number | null;
  dashboardsAsOfMs: number | null;
}

const later = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

export async function readFreshness(store: ObjectStore, config: Config, w: LakeWatermarks, engine: QueryEngine | null): Promise<Freshness> {
  let eventsNewestMs: number | null = null;
  if (engine) {
    // The newest curated date holds the newest curated events; the tail is small.
    const curated = w.curatedNewest ? `SELECT max(event_time) AS t FROM events_curated WHERE dt >= DATE '${addDays(w.curatedNewest, -1)}' UNION ALL ` : '';
    const r = await engine.query(`SELECT max(t) AS t FROM (${curated}SELECT max(event_time) AS t FROM ${EVENTS_TAIL}) AS newest`);
    const t = r.rows[0]?.t;
    eventsNewestMs = t === null || t === undefined ? null : Date.parse(String(t)); // TIMESTAMP reads as ISO-8601 UTC
    if (eventsNewestMs !== null && !Number.isFinite(eventsNewestMs)) eventsNewestMs = null;
  }
  const rollupDailyThroughMs = w.rollupThrough === null ? null : startOfDay(addDays(w.rollupThrough, 1), config.reporting.timeZone);
  const intraday = (await new PartitionCommits(store).list(INTRADAY_USER_DAILY.name)).sort((a, b) => (a.committedAt < b.committedAt ? -1 : 1)).at(-1);
  const intradayAsOfMs = intraday ? Date.parse(intraday.committedAt) : null;
  const rollupsAsOfMs = later(rollupDailyThroughMs, intradayAsOfMs);
  let dashboardsPublishedMs: number | null = null;
  for (const o of await listAll(store, config.publish.dashboardsPrefix)) {
    if (o.key.endsWith('/index.html')) dashboardsPublishedMs = later(dashboardsPublishedMs, o.lastModified.getTime());
  }
  const dashboardsAsOfMs = dashboardsPublishedMs === null || rollupsAsOfMs === null ? null : Math.min(dashboardsPublishedMs, rollupsAsOfMs);
  return {
    eventsNewestMs,
    rollupDailyThroughMs,
    intradayAsOfMs,
    intradayDt: intraday?.dt ?? null,
    rollupsAsOfMs,
    dashboardsPublishedMs,
    dashboardsAsOfMs,
  };
}

/** An age as people read it: `42 min`, `5 h 10 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export interface FreshnessRow {
  stage: string;
  /** The newest data that stage shows (ISO minute, UTC), null when none. */
  newest: string | null;
  age: string | null;
  note: string;
}

const iso = (ms: number | null) => (ms === null ? null : `${new Date(ms).toISOString().slice(0, 16)}Z`);

/** The freshness rows of `cclake status`. */
export function freshnessRows(f: Freshness, now: number): FreshnessRow[] {
  const age = (ms: number | null) => (ms === null ? null : formatAge(now - ms));
  return [
    { stage: 'events', newest: iso(f.eventsNewestMs), age: age(f.eventsNewestMs), note: 'newest event_time in events (curated and the uncompacted tail)' },
    {
      stage: 'rollups',
      newest: iso(f.rollupsAsOfMs),
      age: age(f.rollupsAsOfMs),
      note: `daily through ${iso(f.rollupDailyThroughMs) ?? '-'}; intraday ${f.intradayDt ?? '-'} as of ${iso(f.intradayAsOfMs) ?? '-'}`,
    },
    { stage: 'dashboards', newest: iso(f.dashboardsAsOfMs), age: age(f.dashboardsAsOfMs), note: `published ${iso(f.dashboardsPublishedMs) ?? 'never'}` },
  ];
}
