/**
 * `cclake generate`: a realistic, deterministic raw zone. Records are generated per developer-day,
 * given the delivery delay CloudWatch Logs and Firehose add, and buffered into Firehose-style
 * 5-minute arrival windows; each window becomes one or more small Snappy Parquet objects under the
 * arrival hour, exactly as Firehose names them. `--faults` adds what real pipelines deliver too;
 * `--anomalies` injects labelled anomalies for the detectors (functions/lib/generator/anomalies.ts).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { TableDef } from '../../../schemas/columns';
import { RAW_RECORD, type RawRecord } from '../../../schemas/raw-record';
import { BEDROCK_GUIDANCE_METRICS } from '../../../schemas/bedrock-guidance';
import { rawSourcesOf, type Config } from '../config/schema';
import { guidanceRows } from '../generator/guidance';
import { developerDay } from '../generator/activity';
import { ANOMALY_LABELS_KEY, injectedDay, planAnomalies, type AnomalyLabel, type AnomalyLabels } from '../generator/anomalies';
import { makePopulation, orgDirectoryCsv, type Developer } from '../generator/population';
import { Random } from '../generator/random';
import { writeRows } from '../parquet/io';
import { rawObjectKey } from '../raw/keys';
import type { ObjectStore } from '../store/port';
import { recordId } from '../telemetry/record-id';
import type { OnProgress } from '../ops/progress';
import { addDays, isIsoDate } from '../util/dates';

export interface GenerateOptions {
  users: number;
  days: number;
  /** Last generated day, YYYY-MM-DD (UTC). */
  end: string;
  seed: string | number;
  faults?: boolean;
  /** Inject labelled anomalies (cost spikes, an unapproved model, incidents, night bursts); labels in reference/generator-anomalies.json. */
  anomalies?: boolean;
  /** Firehose buffering interval. */
  bufferSeconds?: number;
  /** Rows per object at most (Firehose also flushes on buffer size). */
  maxRowsPerObject?: number;
  /**
   * Developers per partition. Partitions are generated independently (on worker threads when
   * there are several) and each writes its own objects, as parallel Firehose buffers would. The
   * output depends on this number, never on how many cores ran it.
   */
  usersPerPartition?: number;
  /** Worker threads to use at most (default: available cores). 1 runs everything in this thread. */
  concurrency?: number;
  /**
   * The raw zone's shape (default `raw.profile`): `bedrock-guidance` writes the same activity's token
   * datapoints as the AWS guidance's `metrics` rows (generator/guidance.ts) under the prefix of the
   * configured raw source with that profile.
   */
  profile?: 'cclake' | 'bedrock-guidance';
  /** Called as developer-days are generated (units: days of one partition). */
  onProgress?: OnProgress;
  /**
   * The lake as of this instant (ms): an object Firehose would deliver later is not written (its
   * rows are still in the buffer), so a lake generated up to today holds today so far.
   */
  until?: number;
}

export interface FaultLabels {
  /** Objects that are complete re-deliveries of another object (same rows, same record ids). */
  redeliveredObjects: string[];
  /** Objects with 0 bytes. */
  emptyObjects: string[];
  /** Objects whose bytes are not Parquet, or a Parquet file cut short. */
  corruptObjects: string[];
  /** Parquet objects whose `input_tokens` column is a string: incompatible with the table. */
  wrongSchemaObjects: string[];
  /** Objects written before a table upgrade: token columns int32 (must widen to int64). */
  narrowTypeObjects: string[];
  /** Objects written after a table upgrade added a column (`workspace_id`). */
  newColumnObjects: string[];
  /** Rows that arrived at least an hour after their event time because of a delivery backlog. */
  lateRows: number;
  /** Developers whose laptop clock is off (event_time shifted). */
  skewedUsers: { user_id: string; skewMs: number }[];
}

export interface GenerateSummary {
  from: string;
  to: string;
  users: number;
  activeUserDays: number;
  rows: number;
  objects: number;
  bytes: number;
  orgDirectoryKey: string;
  faults: FaultLabels | null;
  faultsKey: string | null;
  anomalies: AnomalyLabel[] | null;
  anomaliesKey: string | null;
  durationMs: number;
}

export const FAULT_LABELS_KEY = 'reference/generator-faults.json';

const HOUR = 3_600_000;

/** A variant of a table definition, for simulating files written by other table versions. */
function variant(base: TableDef, change: (cols: TableDef['columns'][number][]) => TableDef['columns'][number][]): TableDef {
  return { ...base, columns: change([...base.columns]) };
}

const TOKEN_COLUMNS = new Set(['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens']);
const NARROW_TABLE = variant(RAW_RECORD, (cols) => cols.map((c) => (TOKEN_COLUMNS.has(c.name) ? { ...c, type: 'int32' as const } : c)));
const NEW_COLUMN_TABLE = variant(RAW_RECORD, (cols) => [...cols, { name: 'workspace_id', type: 'string' as const, doc: 'Added by a newer app version' }]);
const WRONG_SCHEMA_TABLE = variant(RAW_RECORD, (cols) => cols.map((c) => (c.name === 'input_tokens' ? { ...c, type: 'string' as const } : c)));

/** What one partition needs; plain data, so it can cross to a worker thread. */
export interface PartitionPlan {
  config: Config;
  options: Omit<GenerateOptions, 'concurrency'>;
  from: string;
  partition: number;
  /** Developer indexes [first, end). */
  first: number;
  end: number;
}

export interface PartitionResult {
  activeUserDays: number;
  rows: number;
  objects: number;
  bytes: number;
  faults: FaultLabels | null;
}

const emptyFaults = (): FaultLabels => ({
  redeliveredObjects: [],
  emptyObjects: [],
  corruptObjects: [],
  wrongSchemaObjects: [],
  narrowTypeObjects: [],
  newColumnObjects: [],
  lateRows: 0,
  skewedUsers: [],
});

export async function generate(store: ObjectStore, config: Config, options: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const { users, days } = options;
  if (!Number.isInteger(users) || users < 1) throw new RangeError(`--users must be a positive integer, got ${users}`);
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`--days must be a positive integer, got ${days}`);
  if (!isIsoDate(options.end)) {
    throw new RangeError(`--end must be a date YYYY-MM-DD, got ${JSON.stringify(options.end)}`);
  }
  const from = addDays(options.end, -(days - 1));
  rawPrefixFor(config, options.profile); // refuses a profile the config has no raw source for, before writing
  const population = makePopulation(options.seed, users, from, days);
  // Planned here first so a bad period is refused before anything is written (workers plan again, identically).
  const anomalyPlan = options.anomalies ? planAnomalies(options.seed, population, from, days) : null;
  await store.put(config.orgDirectory.key, orgDirectoryCsv(population.directory), { contentType: 'text/csv' });

  const { concurrency, onProgress, ...partitionOptions } = options;
  const perPartition = options.usersPerPartition ?? 2500;
  const plans: PartitionPlan[] = [];
  for (let first = 0, p = 0; first < users; first += perPartition, p++) {
    plans.push({ config, options: partitionOptions, from, partition: p, first, end: Math.min(users, first + perPartition) });
  }
  const workers = Math.max(1, Math.min(plans.length, concurrency ?? availableParallelism()));
  // Progress counts generated days over every partition (partitions run side by side on workers).
  const total = plans.length * days;
  let daysDone = 0;
  const unit = plans.length > 1 ? `days x ${plans.length} partitions` : 'days';
  const dayDone = onProgress ? () => onProgress({ unit, done: ++daysDone, total }) : undefined;
  onProgress?.({ unit, done: 0, total });
  const results = workers === 1 ? await runInline(store, plans, dayDone) : await runOnWorkers(store, plans, workers, dayDone);

  const faults = options.faults ? emptyFaults() : null;
  const summary: GenerateSummary = {
    from,
    to: options.end,
    users,
    activeUserDays: 0,
    rows: 0,
    objects: 0,
    bytes: 0,
    orgDirectoryKey: config.orgDirectory.key,
    faults,
    faultsKey: faults ? FAULT_LABELS_KEY : null,
    anomalies: anomalyPlan ? anomalyPlan.labels : null,
    anomaliesKey: anomalyPlan ? ANOMALY_LABELS_KEY : null,
    durationMs: 0,
  };
  for (const r of results) {
    summary.activeUserDays += r.activeUserDays;
    summary.rows += r.rows;
    summary.objects += r.objects;
    summary.bytes += r.bytes;
    if (faults && r.faults) {
      for (const k of Object.keys(faults) as (keyof FaultLabels)[]) {
        if (k === 'lateRows') faults.lateRows += r.faults.lateRows;
        else (faults[k] as unknown[]).push(...(r.faults[k] as unknown[]));
      }
    }
  }
  if (faults) await store.put(FAULT_LABELS_KEY, JSON.stringify(faults, null, 2) + '\n', { contentType: 'application/json' });
  if (anomalyPlan) {
    const labels: AnomalyLabels = { seed: String(options.seed), from, to: options.end, labels: anomalyPlan.labels };
    await store.put(ANOMALY_LABELS_KEY, JSON.stringify(labels, null, 2) + '\n', { contentType: 'application/json' });
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/** The prefix the generated raw zone goes under: that of the configured raw source with the profile. */
export function rawPrefixFor(config: Config, profile: GenerateOptions['profile']): string {
  const want = profile ?? config.raw.profile;
  const source = rawSourcesOf(config).find((s) => s.profile === want);
  if (!source)
    throw new RangeError(
      `--profile ${want}: the config has no raw source with that profile (e.g. raw: {profile: ${want}, prefix: ${want === 'bedrock-guidance' ? 'data/' : 'raw/'}}), so compaction would not read what this writes`,
    );
  return source.prefix;
}

/** Where a partition's objects go: the caller's store, directly or from a worker thread. */
type ObjectSink = (key: string, bytes: Uint8Array) => Promise<void>;

async function runInline(store: ObjectStore, plans: PartitionPlan[], dayDone?: () => void): Promise<PartitionResult[]> {
  const results: PartitionResult[] = [];
  for (const plan of plans) results.push(await generatePartition((key, bytes) => store.put(key, bytes), plan, dayDone));
  return results;
}

type WorkerMessage =
  | { type: 'object'; key: string; bytes: Uint8Array }
  | { type: 'day' }
  | { type: 'done'; result: PartitionResult }
  | { type: 'failed'; error: string };

/**
 * A small pool: each worker takes the next partition until none are left. Workers only compute
 * and encode; every object is written here, through the caller's store, so a worker never needs
 * its own credentials or lake location.
 */
async function runOnWorkers(store: ObjectStore, plans: PartitionPlan[], workers: number, dayDone?: () => void): Promise<PartitionResult[]> {
  const results: PartitionResult[] = new Array(plans.length);
  let next = 0;
  const workerUrl = new URL('../generator/worker-entry.mjs', import.meta.url);
  const runOne = (plan: PartitionPlan) =>
    new Promise<PartitionResult>((resolve, reject) => {
      const w = new Worker(workerUrl, { workerData: plan });
      let writes: Promise<void> = Promise.resolve();
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        void w.terminate();
        reject(err);
      };
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'object') writes = writes.then(() => store.put(m.key, m.bytes)).catch((err: Error) => fail(err));
        else if (m.type === 'day') dayDone?.();
        else if (m.type === 'failed') fail(new Error(`generator partition ${plan.partition} failed: ${m.error}`));
        else
          void writes.then(() => {
            if (settled) return;
            settled = true;
            resolve(m.result);
          });
      });
      w.once('error', fail);
      w.once('exit', (code) => code !== 0 && fail(new Error(`generator partition ${plan.partition} exited with code ${code}`)));
    });
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < plans.length) {
        const i = next++;
        results[i] = await runOne(plans[i]!);
      }
    }),
  );
  return results;
}

/** Generates developers [first, end) over the whole period and writes their raw objects. */
export async function generatePartition(sink: ObjectSink, plan: PartitionPlan, dayDone?: () => void): Promise<PartitionResult> {
  const { config, options, from, partition } = plan;
  const { users, days, seed } = options;
  const bufferMs = (options.bufferSeconds ?? 300) * 1000;
  const maxRows = options.maxRowsPerObject ?? 50_000;
  const population = makePopulation(seed, users, from, days);
  const developers = population.developers.slice(plan.first, plan.end);
  const faults = options.faults ? emptyFaults() : null;
  const anomalyPlan = options.anomalies ? planAnomalies(seed, population, from, days) : null;

  // Per-developer faults are drawn over the whole population, so they do not depend on partitioning.
  const skew = new Map<number, number>();
  const newerApp = new Set<number>();
  if (faults) {
    const devRng = new Random(seed, 'faults');
    for (const dev of population.developers) {
      const skewed = devRng.chance(0.03);
      const ms = Math.round((devRng.chance(0.5) ? 1 : -1) * devRng.lognormal(6 * 60_000, 0.8));
      const newer = devRng.chance(0.1);
      if (dev.index < plan.first || dev.index >= plan.end) continue;
      if (skewed) {
        skew.set(dev.index, ms);
        faults.skewedUsers.push({ user_id: dev.userId, skewMs: ms });
      }
      if (newer) newerApp.add(dev.index);
    }
  }
  const faultRng = new Random(seed, 'faults', partition);
  const writeRng = new Random(seed, 'objects', partition);
  const result: PartitionResult = { activeUserDays: 0, rows: 0, objects: 0, bytes: 0, faults };

  // Arrival windows not yet written: window start (ms) -> rows.
  const guidance = (options.profile ?? config.raw.profile) === 'bedrock-guidance';
  const rawPrefix = rawPrefixFor(config, options.profile);
  const windows = new Map<number, Record<string, unknown>[]>();
  const windowOf = (arrival: number) => Math.floor(arrival / bufferMs) * bufferMs;

  const put = async (key: string, bytes: Uint8Array) => {
    await sink(key, bytes);
    result.objects++;
    result.bytes += bytes.length;
  };
  // Firehose converts every object with the Glue table as it is at delivery time, so schema drift
  // is a cutover in time: objects before `narrowUntil` come from an older table version (token
  // columns int32), objects after `widenFrom` from a newer one (an extra column).
  const periodStart = Date.parse(`${from}T00:00:00Z`);
  const periodMs = days * 24 * HOUR;
  const narrowUntil = periodStart + Math.round(periodMs * 0.15);
  const widenFrom = periodStart + Math.round(periodMs * 0.8);

  const flushWindow = async (start: number, rows: Record<string, unknown>[]) => {
    // Firehose stamps the object with the flush time; the buffer flushes when the interval ends.
    const flushAt = start + bufferMs + writeRng.int(0, 20_000);
    if (options.until !== undefined && flushAt > options.until) return;
    const table = guidance
      ? BEDROCK_GUIDANCE_METRICS
      : !faults
        ? RAW_RECORD
        : flushAt < narrowUntil
          ? NARROW_TABLE
          : flushAt >= widenFrom
            ? NEW_COLUMN_TABLE
            : RAW_RECORD;
    for (let i = 0; i < rows.length; i += maxRows) {
      const batch = rows.slice(i, i + maxRows);
      const bytes = writeRows(table, batch, { codec: 'snappy' });
      const key = rawObjectKey(rawPrefix, config.raw.streamName, flushAt, writeRng.uuid());
      await put(key, bytes);
      result.rows += batch.length;
      if (!faults) continue;
      if (table === NARROW_TABLE) faults.narrowTypeObjects.push(key);
      if (table === NEW_COLUMN_TABLE) faults.newColumnObjects.push(key);
      await injectObjectFaults(bytes, batch, flushAt);
    }
  };

  /** Faults that add objects: nothing here removes or alters a good object's rows. */
  const injectObjectFaults = async (bytes: Uint8Array, rows: Record<string, unknown>[], flushAt: number) => {
    if (!faults) return;
    const laterKey = () => rawObjectKey(rawPrefix, config.raw.streamName, flushAt + faultRng.int(1_000, 2 * HOUR), writeRng.uuid());
    if (faultRng.chance(0.03)) {
      // Firehose retried a delivery it had already made: the whole object again, sometimes an hour later.
      const key = laterKey();
      await put(key, bytes);
      faults.redeliveredObjects.push(key);
    }
    if (faultRng.chance(0.01)) {
      const key = laterKey();
      await put(key, bytes.subarray(0, Math.floor(bytes.length * (0.2 + 0.6 * faultRng.next()))));
      faults.corruptObjects.push(key);
    }
    if (faultRng.chance(0.005)) {
      const key = laterKey();
      await put(key, new TextEncoder().encode('{"message":"not parquet: an object a misconfigured producer wrote"}\n'));
      faults.corruptObjects.push(key);
    }
    if (faultRng.chance(0.005)) {
      const key = laterKey();
      await put(key, new Uint8Array(0));
      faults.emptyObjects.push(key);
    }
    if (faultRng.chance(0.005) && !guidance) {
      const key = laterKey();
      const sample = (rows as RawRecord[])
        .slice(0, Math.min(rows.length, 200))
        .map((r) => ({ ...r, input_tokens: r.input_tokens === null ? null : String(r.input_tokens) }));
      await put(key, writeRows(WRONG_SCHEMA_TABLE, sample, { codec: 'snappy' }));
      faults.wrongSchemaObjects.push(key);
    }
  };

  for (let d = 0; d < days; d++) {
    const day = addDays(from, d);
    for (const dev of developers) {
      const out = anomalyPlan ? injectedDay(seed, dev, day, anomalyPlan) : developerDay(seed, dev, day);
      if (out.rows.length === 0) continue;
      result.activeUserDays++;
      placeRows(dev, out.rows, out.delaysMs);
    }
    // Every record of later days arrives after the next midnight, so earlier windows are complete.
    const nextMidnight = Date.parse(`${addDays(day, 1)}T00:00:00Z`);
    for (const start of [...windows.keys()].sort((a, b) => a - b)) {
      if (start + bufferMs > nextMidnight) break;
      await flushWindow(start, windows.get(start)!);
      windows.delete(start);
    }
    dayDone?.();
  }
  for (const start of [...windows.keys()].sort((a, b) => a - b)) await flushWindow(start, windows.get(start)!);

  function placeRows(dev: Developer, rows: RawRecord[], delays: number[]) {
    const skewMs = skew.get(dev.index) ?? 0;
    const newer = newerApp.has(dev.index);
    const arrivals: number[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const trueTime = row.event_time!;
      let arrival = trueTime + delays[i]!;
      if (faults) {
        if (skewMs) {
          row.event_time = trueTime + skewMs;
          if (row.start_time !== null) row.start_time += skewMs;
        }
        if (faultRng.chance(0.015)) {
          // A delivery backlog: hours, sometimes days, late.
          arrival += Math.round(Math.min(5 * 24 * HOUR, faultRng.lognormal(3 * HOUR, 1.2)) + HOUR);
          faults.lateRows++;
        }
        if (newer) {
          row.app_version = '2.1.4';
          row.attributes = { ...row.attributes, 'app.entrypoint': 'cli' };
        }
      }
      row.record_id = recordId(row);
      // Newer app versions send a workspace id; it becomes a column once the table has one.
      if (newer) (row as Record<string, unknown>).workspace_id = `ws-${dev.team.name}`;
      arrivals[i] = arrival;
      if (!guidance) place(row as unknown as Record<string, unknown>, arrival);
    }
    // The guidance's pipeline delivers only the token datapoints, each when its record would have arrived.
    if (guidance) for (const g of guidanceRows(rows)) place(g.row, arrivals[g.from]!);
  }

  function place(row: Record<string, unknown>, arrival: number) {
    const start = windowOf(arrival);
    const w = windows.get(start);
    if (w) w.push(row);
    else windows.set(start, [row]);
  }

  return result;
}
