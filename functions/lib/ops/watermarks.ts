/**
 * Watermarks: how far each stage has got, read from what the stages leave in the lake (never from a
 * separate bookkeeping that could disagree with the data). Each stage consumes only what its
 * upstream has completed, so a late or failed stage delays the ones after it and never feeds them a
 * half-done input:
 *
 *   raw         newest Firehose arrival hour present under raw/
 *   compact     newest arrival hour compacted (`_cclake/compaction/state.json`); an event date is
 *               *complete* once compaction has finished every object that arrived after the date
 *               ended (in the reporting time zone). Later arrivals still reach it as late data.
 *   catalog     newest events_raw hour registered, and generation partitions (curated, rollups)
 *               that do not yet point at their committed generation
 *   rollup      newest date through which every rollup table is computed from the current curated
 *               generation of every complete date (`_cclake/commits/<table>/`)
 *   anomalies   newest date judged by the detectors (`_cclake/commits/detected_anomalies/`)
 *   chargeback  newest month with a committed revision; a month is ready once the rollup watermark
 *               has passed its last day
 *   evidence    last day of the newest committed evidence report
 *
 * Jobs downstream of the rollups (dashboards, exports, anomalies) read `rollupThrough`.
 */
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { ROLLUP_TABLES } from '../../../schemas/rollups';
import { DETECTED_ANOMALIES } from '../../../schemas/anomalies';
import { PartitionCommits, partitionOfCommit, type PartitionCommit } from '../catalog/commits';
import type { Catalog } from '../catalog/port';
import { partitionMatches } from '../catalog/sync';
import { RAW_TABLE } from '../catalog/tables';
import { dayPrefixes, loadState } from '../compaction/state';
import type { Config } from '../config/schema';
import { arrivalHourOf } from '../raw/keys';
import { currentModels, readSqlTree, type SqlTree } from '../sql/files';
import { listAll, type ObjectStore } from '../store/port';
import { addDays, dateIn } from '../util/dates';
import { staleRollupDays } from '../jobs/rollup';
import { CHARGEBACK_PREFIX } from '../jobs/chargeback';
import { listReports } from '../jobs/evidence';
import { monthDays, previousMonth } from '../exports/periods';

const HOUR = 3_600_000;
const ANOMALIES_TABLE = DETECTED_ANOMALIES.name;

export interface LakeWatermarks {
  /** Start (epoch ms) of the newest arrival hour under raw/, null when raw/ is empty. */
  rawNewestHourMs: number | null;
  /** Raw objects in the compaction window (lookback) that compaction has not finished. */
  rawPending: number;
  /** Start of the newest arrival hour compaction finished, null before its first run. */
  compactedHourMs: number | null;
  /** Newest event date (reporting time zone) complete in curated; null before one is. */
  curatedThrough: string | null;
  /** Newest event date with a curated generation. */
  curatedNewest: string | null;
  /** Start of the newest events_raw hour in the catalog. */
  catalogRawHourMs: number | null;
  /** Generation partitions (curated and rollups) the catalog does not yet point at their commit. */
  catalogBehind: number;
  /** Newest complete date every rollup table has computed from the current curated data. */
  rollupThrough: string | null;
  /** Table-days the next rollup run would (re)compute, up to `curatedThrough`. */
  rollupPending: number;
  /** Newest date the anomaly detectors judged. */
  anomaliesThrough: string | null;
  /** Newest month with a committed chargeback revision. */
  chargebackMonth: string | null;
  /** Newest month the rollups cover to its last day (what a chargeback may close). */
  chargebackReadyMonth: string | null;
  /** Last day of the newest committed evidence report. */
  evidenceThrough: string | null;
}

/** Raw objects under the day prefixes from `fromMs` on (all of raw/ when null). */
async function rawObjects(store: ObjectStore, config: Config, fromMs: number | null, now: number) {
  if (fromMs === null) return listAll(store, config.raw.prefix);
  const out = [];
  for (const p of dayPrefixes(config.raw.prefix, fromMs, now + 24 * HOUR)) out.push(...(await listAll(store, p)));
  return out;
}

/** A table's partitions; none when the table is not in the catalog yet. */
async function partitionsOf(catalog: Catalog, table: string) {
  return (await catalog.getTable(table)) ? catalog.listPartitions(table) : [];
}

export async function readWatermarks(
  store: ObjectStore,
  catalog: Catalog,
  config: Config,
  options: { now?: number; sql?: SqlTree } = {},
): Promise<LakeWatermarks> {
  const now = options.now ?? Date.now();
  const state = await loadState(store);
  const compactedHourMs = state?.watermarkHourMs ?? null;

  // The compaction window: the lookback before the watermark, as compaction itself lists it.
  const windowFrom = compactedHourMs === null ? null : compactedHourMs - config.compaction.lookbackHours * HOUR;
  const raw = (await rawObjects(store, config, windowFrom, now)).filter((o) => o.key.endsWith('.parquet'));
  const finished = new Set(state?.finished ?? []);
  let rawNewestHourMs: number | null = null;
  let rawPending = 0;
  for (const o of raw) {
    const hour = arrivalHourOf(o.key.slice(config.raw.prefix.length));
    if (hour !== null && (rawNewestHourMs === null || hour > rawNewestHourMs)) rawNewestHourMs = hour;
    if (!finished.has(o.key) && (windowFrom === null || hour === null || hour >= windowFrom)) rawPending++;
  }

  const tz = config.reporting.timeZone;
  const curatedThrough = compactedHourMs === null ? null : addDays(dateIn(tz, compactedHourMs), -1);

  const commits = new PartitionCommits(store);
  const curated = new Map((await commits.list(CURATED_EVENTS.name)).map((c) => [c.dt, c]));
  const curatedNewest = [...curated.keys()].sort().at(-1) ?? null;

  // The catalog: raw hours registered, and generation partitions pointing at their commits.
  const rawParts = await partitionsOf(catalog, RAW_TABLE);
  let catalogRawHourMs: number | null = null;
  for (const p of rawParts) {
    const [y, m, d, h] = p.values;
    const ms = Date.parse(`${y}-${m}-${d}T${h}:00:00Z`);
    if (Number.isFinite(ms) && (catalogRawHourMs === null || ms > catalogRawHourMs)) catalogRawHourMs = ms;
  }
  const done = new Map<string, Map<string, PartitionCommit>>();
  for (const t of ROLLUP_TABLES) done.set(t.name, new Map((await commits.list(t.name)).map((c) => [c.dt, c])));
  let catalogBehind = 0;
  for (const [table, byDt] of [[CURATED_EVENTS.name, curated] as const, ...done]) {
    const have = new Map((await partitionsOf(catalog, table)).map((p) => [p.values[0]!, p]));
    for (const c of byDt.values()) {
      const p = have.get(c.dt);
      if (!p || !partitionMatches(partitionOfCommit(c), p)) catalogBehind++;
    }
  }

  // The rollups: stale table-days among the complete dates.
  const models = currentModels(options.sql ?? readSqlTree());
  let rollupPending = 0;
  let firstStale: string | null = null;
  const complete = new Map([...curated].filter(([dt]) => curatedThrough !== null && dt <= curatedThrough));
  for (const t of ROLLUP_TABLES) {
    const model = models.get(t.name);
    const stale = model ? staleRollupDays(complete, done.get(t.name)!, model) : [...complete.keys()].map((dt) => ({ dt }));
    rollupPending += stale.length;
    if (stale.length && (firstStale === null || stale[0]!.dt < firstStale)) firstStale = stale[0]!.dt;
  }
  const completeDays = [...complete.keys()].sort();
  const rollupThrough = firstStale === null ? (completeDays.at(-1) ?? null) : (completeDays.filter((d) => d < firstStale).at(-1) ?? null);

  // The deliverables: what has been exported, and what the rollups allow.
  let chargebackMonth: string | null = null;
  for (const o of await listAll(store, CHARGEBACK_PREFIX)) {
    const m = /month=(\d{4}-\d{2})\/rev=\d{3,}\/manifest\.json$/.exec(o.key);
    if (m && (chargebackMonth === null || m[1]! > chargebackMonth)) chargebackMonth = m[1]!;
  }
  let chargebackReadyMonth: string | null = null;
  if (rollupThrough !== null) {
    const month = rollupThrough.slice(0, 7);
    chargebackReadyMonth = monthDays(month).last === rollupThrough ? month : previousMonth(month);
  }
  const anomaliesThrough = (await commits.list(ANOMALIES_TABLE)).map((c) => c.dt).at(-1) ?? null;
  const evidenceThrough =
    (await listReports(store)).committed
      .map((r) => r.to)
      .sort()
      .at(-1) ?? null;

  return {
    rawNewestHourMs,
    rawPending,
    compactedHourMs,
    curatedThrough,
    curatedNewest,
    catalogRawHourMs,
    catalogBehind,
    rollupThrough,
    rollupPending,
    anomaliesThrough,
    chargebackMonth,
    chargebackReadyMonth,
    evidenceThrough,
  };
}

export interface StageStatus {
  stage: string;
  /** What the stage has completed (an ISO hour or a date), null when it never ran. */
  watermark: string | null;
  /** What its upstream has completed: the most it could have reached. */
  upstream: string | null;
  /** Hours (for hour watermarks) or days (for dates) behind the upstream; null when unknown. */
  lag: string | null;
  /** Work waiting for the stage's next run. */
  pending: string;
}

const isoHour = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 13) + ':00Z');
const hoursLag = (from: number | null, to: number | null) => (from === null || to === null ? null : `${Math.max(0, Math.round((to - from) / HOUR))} h`);
const daysLag = (from: string | null, to: string | null) =>
  from === null || to === null ? null : `${Math.max(0, Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / (24 * HOUR)))} d`;

const monthsLag = (from: string | null, to: string | null) => {
  if (from === null || to === null) return null;
  const n = (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 + Number(to.slice(5, 7)) - Number(from.slice(5, 7));
  return `${Math.max(0, n)} mo`;
};

/** The `cclake status` table: one row per stage, its watermark, its upstream's, the lag and the work waiting. */
export function stageStatuses(w: LakeWatermarks, now: number): StageStatus[] {
  const nowHour = Math.floor(now / HOUR) * HOUR;
  return [
    { stage: 'raw (Firehose)', watermark: isoHour(w.rawNewestHourMs), upstream: isoHour(nowHour), lag: hoursLag(w.rawNewestHourMs, nowHour), pending: '-' },
    {
      stage: 'compact',
      watermark: isoHour(w.compactedHourMs),
      upstream: isoHour(w.rawNewestHourMs),
      lag: hoursLag(w.compactedHourMs, w.rawNewestHourMs),
      pending: `${w.rawPending} raw objects; complete through ${w.curatedThrough ?? '-'}, newest date ${w.curatedNewest ?? '-'}`,
    },
    {
      stage: 'catalog (partitions)',
      watermark: isoHour(w.catalogRawHourMs),
      upstream: isoHour(w.rawNewestHourMs),
      lag: hoursLag(w.catalogRawHourMs, w.rawNewestHourMs),
      pending: `${w.catalogBehind} partitions behind their commits`,
    },
    {
      stage: 'rollup',
      watermark: w.rollupThrough,
      upstream: w.curatedThrough,
      lag: daysLag(w.rollupThrough, w.curatedThrough),
      pending: `${w.rollupPending} table-days`,
    },
    { stage: 'anomalies', watermark: w.anomaliesThrough, upstream: w.rollupThrough, lag: daysLag(w.anomaliesThrough, w.rollupThrough), pending: '-' },
    {
      stage: 'chargeback',
      watermark: w.chargebackMonth,
      upstream: w.chargebackReadyMonth,
      lag: monthsLag(w.chargebackMonth, w.chargebackReadyMonth),
      pending:
        w.chargebackReadyMonth !== null && (w.chargebackMonth === null || w.chargebackMonth < w.chargebackReadyMonth)
          ? `month ${w.chargebackReadyMonth} can be closed`
          : '-',
    },
    { stage: 'evidence', watermark: w.evidenceThrough, upstream: w.rollupThrough, lag: daysLag(w.evidenceThrough, w.rollupThrough), pending: '-' },
  ];
}
