/**
 * `cclake anomalies` and the daily anomalies function (after the rollup): runs the detectors over
 * the rollups, stores what they found as the `detected_anomalies` table (the `anomalies` view) and
 * delivers the new ones.
 *
 *  1. Which days: by default every day whose rollups changed since its anomalies were computed (its
 *     rollup commits name other generations than last time: a new day, or late data), else the days
 *     given. A day's anomalies are recomputed when that day's rollups change, not when an earlier
 *     day's baseline does.
 *  2. One query per source over the days and their baseline window (functions/lib/anomalies/queries.ts),
 *     then the detectors, pure functions (functions/lib/anomalies/*.ts).
 *  3. Per day: the day's anomalies (none is a result too) are written as one Parquet file into a new
 *     generation (`anomalies/dt=D/gen=.../part-00000.parquet`), verified, committed by
 *     compare-and-swap (`_cclake/commits/detected_anomalies/dt=D.json`) and the catalog partition is
 *     pointed at it, exactly as a rollup day (generations/): never half-written, never doubled by a retry.
 *  4. Delivery (functions/lib/anomalies/delivery.ts): the new anomalies, and any an earlier run could
 *     not send, go to the notifier; a ledger in the lake makes sure nothing is sent twice.
 *
 * It runs under the lake lock (it moves partitions of a generation table, as compaction, the
 * partitions stage and the rollup do), which also keeps two runs from sending the same alert.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DETECTED_ANOMALIES } from '../../../schemas/anomalies';
import { BILL_LINES } from '../../../schemas/bills';
import type { RowOf } from '../../../schemas/columns';
import { ROLLUP_TABLES, USER_DAILY } from '../../../schemas/rollups';
import { bySeverity, type Anomaly } from '../anomalies/anomaly';
import { deliver, type DeliverySummary } from '../anomalies/delivery';
import { detectAll } from '../anomalies/detect';
import type { Notifier } from '../anomalies/notifier/port';
import { fetchInputs, readDetectorSql, type DetectorSql } from '../anomalies/queries';
import { daysBetween } from '../anomalies/stats';
import type { Catalog } from '../catalog/port';
import { anomaliesTable } from '../catalog/tables';
import { Generations } from '../generations/generations';
import { takeLakeLock } from '../lock/lease';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { readRows, writeRows } from '../parquet/io';
import { ObjectNotFoundError, type ObjectStore } from '../store/port';

export interface AnomaliesOptions {
  dt?: string;
  from?: string;
  to?: string;
  now?: number;
  runId?: string;
  sql?: DetectorSql;
}

export interface AnomaliesDay {
  dt: string;
  anomalies: number;
  generation: number;
  location: string;
  reason: 'new' | 'rollups changed' | 'requested';
}

export interface AnomaliesSummary {
  runId: string;
  status: 'completed' | 'locked';
  lockedBy?: string;
  days: AnomaliesDay[];
  /** What the detectors found on the days computed, most severe first. */
  anomalies: Anomaly[];
  byDetector: Record<string, number>;
  /** Where they are: the table's lake prefix. */
  location: string;
  delivery: DeliverySummary | null;
  generationsDeleted: number;
  catalogErrors: string[];
  durationMs: number;
}

interface AnomaliesState {
  version: 1;
  /** Per day: the rollup generations its anomalies were computed from. */
  computed: Record<string, string>;
}

export const ANOMALIES_STATE_KEY = '_cclake/anomalies/state.json';

type AnomalyRow = RowOf<typeof DETECTED_ANOMALIES>;

const toRow = (a: Anomaly): AnomalyRow => ({
  anomaly_id: a.id,
  detector: a.detector,
  entity_type: a.entityType,
  entity: a.entity,
  observed: a.observed,
  baseline: a.baseline,
  score: a.score,
  severity: a.severity,
  message: a.message,
  details: JSON.stringify(a.details),
});

export async function detectAnomalies(
  store: ObjectStore,
  catalog: Catalog,
  engine: QueryEngine,
  notifier: Notifier,
  config: Config,
  options: AnomaliesOptions = {},
): Promise<AnomaliesSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const spec = anomaliesTable();
  const summary: AnomaliesSummary = {
    runId,
    status: 'completed',
    days: [],
    anomalies: [],
    byDetector: {},
    location: spec.location,
    delivery: null,
    generationsDeleted: 0,
    catalogErrors: [],
    durationMs: 0,
  };
  const sql = options.sql ?? readDetectorSql();
  const taken = await takeLakeLock(store, `anomalies ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const lock = taken.lock;
  const generations = new Generations(store, catalog, [spec]);
  const commits = generations.commits;
  /** Per month with bills: the day bill_variance judges it on (rollupSources fills it). */
  const billJudgeDays = new Map<string, string>();
  try {
    const state = await loadState();
    const sources = await rollupSources();
    const plan = daysToCompute(state, sources);
    if (plan.length) {
      const days = plan.map((p) => p.dt);
      const inputs = await fetchInputs(engine, sql, config, days[0]!, days.at(-1)!, billJudgeDays);
      summary.anomalies = detectAll(inputs, days, config);
      for (const a of summary.anomalies) summary.byDetector[a.detector] = (summary.byDetector[a.detector] ?? 0) + 1;
      for (const { dt, reason } of plan) {
        const found = summary.anomalies.filter((a) => a.dt === dt).sort(bySeverity);
        summary.days.push(await writeDay(dt, reason, found, sources.get(dt)));
        state.computed[dt] = sources.get(dt)?.fingerprint ?? '';
        await saveState(state);
      }
      await engine.refresh();
      const gc = await generations.collectGarbage([spec.name], { now, graceMinutes: config.retention.generationGraceMinutes });
      summary.generationsDeleted = gc.deleted;
      summary.catalogErrors.push(...gc.errors);
    }
    summary.delivery = await deliver(store, notifier, summary.anomalies, new Set(plan.map((p) => p.dt)), config, now);
  } finally {
    await lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;

  async function loadState(): Promise<AnomaliesState> {
    try {
      return JSON.parse(new TextDecoder().decode(await store.get(ANOMALIES_STATE_KEY))) as AnomaliesState;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      return { version: 1, computed: {} };
    }
  }

  async function saveState(state: AnomaliesState): Promise<void> {
    await store.put(ANOMALIES_STATE_KEY, JSON.stringify(state, null, 1), { contentType: 'application/json' });
  }

  /** Per rollup day: the generations of every rollup table's commit for it (what its anomalies are computed from). */
  async function rollupSources(): Promise<Map<string, { fingerprint: string; userDaily: number }>> {
    const gens = new Map<string, string[]>();
    const userDaily = new Map<string, number>();
    for (const t of ROLLUP_TABLES) {
      for (const c of await commits.list(t.name)) {
        gens.set(c.dt, [...(gens.get(c.dt) ?? []), `${t.name}:${c.generation}`]);
        if (t.name === USER_DAILY.name) userDaily.set(c.dt, c.generation);
      }
    }
    // A month's bills (bill_variance) are judged on its last day with rollups: that day is recomputed when they change.
    for (const c of await commits.list(BILL_LINES.name)) {
      const month = c.dt.slice(0, 7);
      const last = [...userDaily.keys()]
        .filter((dt) => dt.slice(0, 7) === month)
        .sort()
        .at(-1);
      if (!last) continue;
      billJudgeDays.set(month, last);
      gens.get(last)!.push(`${BILL_LINES.name}:${c.generation}`);
    }
    const out = new Map<string, { fingerprint: string; userDaily: number }>();
    for (const [dt, g] of gens) if (userDaily.has(dt)) out.set(dt, { fingerprint: g.sort().join(','), userDaily: userDaily.get(dt)! });
    return out;
  }

  function daysToCompute(state: AnomaliesState, sources: Map<string, { fingerprint: string }>): { dt: string; reason: AnomaliesDay['reason'] }[] {
    if (options.dt || options.from) {
      const from = options.dt ?? options.from!;
      return daysBetween(from, options.dt ?? options.to ?? from).map((dt) => ({ dt, reason: 'requested' as const }));
    }
    const out: { dt: string; reason: AnomaliesDay['reason'] }[] = [];
    for (const [dt, s] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
      const before = state.computed[dt];
      if (before === undefined) out.push({ dt, reason: 'new' });
      else if (before !== s.fingerprint) out.push({ dt, reason: 'rollups changed' });
    }
    return out;
  }

  async function writeDay(dt: string, reason: AnomaliesDay['reason'], found: Anomaly[], source: { userDaily: number } | undefined): Promise<AnomaliesDay> {
    const live = await generations.current(spec.name, dt);
    const { generation, location } = generations.newLocation(spec.name, dt, runId, live?.commit ?? null);
    const bytes = writeRows(DETECTED_ANOMALIES, found.map(toRow), { codec: 'zstd' });
    // Verify before anything is visible: the bytes read back with every row.
    const back = readRows(bytes).length;
    if (back !== found.length) throw new Error(`anomalies dt=${dt}: wrote ${found.length} rows but the file reads back ${back}`);
    const key = `${location}part-00000.parquet`;
    await store.put(key, bytes, { contentType: 'application/vnd.apache.parquet' });
    await lock.assertHeld();
    const { commit } = await generations.commit(
      spec.name,
      dt,
      {
        location,
        generation,
        files: [{ key, bytes: bytes.length, rows: found.length }],
        rows: found.length,
        committedAt: new Date(now).toISOString(),
        runId,
        source: { table: USER_DAILY.name, generation: source?.userDaily ?? 0 },
      },
      { expect: live, retiredAt: new Date(now) },
    );
    summary.catalogErrors.push(...(await generations.publish(spec.name, [commit])).errors);
    return { dt, anomalies: found.length, generation, location, reason };
  }
}
