/**
 * `cclake generate`: a realistic, deterministic raw zone. Records are generated per developer-day,
 * given the delivery delay CloudWatch Logs and Firehose add, and buffered into Firehose-style
 * 5-minute arrival windows; each window becomes one or more small Snappy Parquet objects under the
 * arrival hour, exactly as Firehose names them. `--faults` adds what real pipelines deliver too.
 */
import { performance } from 'node:perf_hooks';
import type { TableDef } from '../../../schemas/columns';
import { RAW_RECORD, type RawRecord } from '../../../schemas/raw-record';
import type { Config } from '../config/schema';
import { developerDay } from '../generator/activity';
import { addDays, makePopulation, orgDirectoryCsv, type Developer } from '../generator/population';
import { Random } from '../generator/random';
import { writeRows } from '../parquet/io';
import { rawObjectKey } from '../raw/keys';
import type { ObjectStore } from '../store/port';
import { recordId } from '../telemetry/record-id';

export interface GenerateOptions {
  users: number;
  days: number;
  /** Last generated day, YYYY-MM-DD (UTC). */
  end: string;
  seed: string | number;
  faults?: boolean;
  /** Firehose buffering interval. */
  bufferSeconds?: number;
  /** Rows per object at most (Firehose also flushes on buffer size). */
  maxRowsPerObject?: number;
  onProgress?: (dayIndex: number, days: number) => void;
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
  /** Objects written by an older table version (token columns int32: must widen). */
  narrowTypeObjects: string[];
  /** Objects with an extra column from a newer app version. */
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

export async function generate(store: ObjectStore, config: Config, options: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const { users, days, seed } = options;
  if (!Number.isInteger(users) || users < 1) throw new RangeError(`--users must be a positive integer, got ${users}`);
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`--days must be a positive integer, got ${days}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.end) || Number.isNaN(Date.parse(options.end))) {
    throw new RangeError(`--end must be a date YYYY-MM-DD, got ${JSON.stringify(options.end)}`);
  }
  const from = addDays(options.end, -(days - 1));
  const bufferMs = (options.bufferSeconds ?? 300) * 1000;
  const maxRows = options.maxRowsPerObject ?? 50_000;
  const population = makePopulation(seed, users, from, days);
  const faultRng = new Random(seed, 'faults');
  const faults: FaultLabels | null = options.faults
    ? { redeliveredObjects: [], emptyObjects: [], corruptObjects: [], wrongSchemaObjects: [], narrowTypeObjects: [], newColumnObjects: [], lateRows: 0, skewedUsers: [] }
    : null;
  const skew = new Map<number, number>();
  const newerApp = new Set<number>();
  if (faults) {
    for (const dev of population.developers) {
      if (faultRng.chance(0.03)) {
        const ms = Math.round((faultRng.chance(0.5) ? 1 : -1) * faultRng.lognormal(6 * 60_000, 0.8));
        skew.set(dev.index, ms);
        faults.skewedUsers.push({ user_id: dev.userId, skewMs: ms });
      }
      if (faultRng.chance(0.1)) newerApp.add(dev.index);
    }
  }

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
    durationMs: 0,
  };
  await store.put(config.orgDirectory.key, orgDirectoryCsv(population.directory), { contentType: 'text/csv' });

  // Arrival windows not yet written: window start (ms) -> rows, kept apart by the table version
  // that wrote them (a newer app version's records carry an extra column).
  const windows = new Map<number, { current: RawRecord[]; newer: RawRecord[] }>();
  const windowOf = (arrival: number) => Math.floor(arrival / bufferMs) * bufferMs;
  const writeRng = new Random(seed, 'objects');

  const put = async (key: string, bytes: Uint8Array) => {
    await store.put(key, bytes);
    summary.objects++;
    summary.bytes += bytes.length;
  };

  const flushWindow = async (start: number, w: { current: RawRecord[]; newer: RawRecord[] }) => {
    // Firehose stamps the object with the flush time; the buffer flushes when the interval ends.
    const flushAt = start + bufferMs + writeRng.int(0, 20_000);
    const batches: { rows: RawRecord[]; table: TableDef; newer: boolean }[] = [];
    for (let i = 0; i < w.current.length; i += maxRows) batches.push({ rows: w.current.slice(i, i + maxRows), table: RAW_RECORD, newer: false });
    for (let i = 0; i < w.newer.length; i += maxRows) batches.push({ rows: w.newer.slice(i, i + maxRows), table: NEW_COLUMN_TABLE, newer: true });
    for (const batch of batches) {
      let table = batch.table;
      const narrow = faults && !batch.newer && faultRng.chance(0.02);
      if (narrow) table = NARROW_TABLE;
      const bytes = writeRows(table, batch.rows, { codec: 'snappy' });
      const key = rawObjectKey(config.raw.prefix, config.raw.streamName, flushAt, writeRng.uuid());
      await put(key, bytes);
      summary.rows += batch.rows.length;
      if (!faults) continue;
      if (narrow) faults.narrowTypeObjects.push(key);
      if (batch.newer) faults.newColumnObjects.push(key);
      await injectObjectFaults(bytes, batch.rows, flushAt);
    }
  };

  /** Faults that add objects: nothing here removes or alters a good object's rows. */
  const injectObjectFaults = async (bytes: Uint8Array, rows: RawRecord[], flushAt: number) => {
    if (!faults) return;
    const laterKey = () => rawObjectKey(config.raw.prefix, config.raw.streamName, flushAt + faultRng.int(1_000, 2 * HOUR), writeRng.uuid());
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
    if (faultRng.chance(0.005)) {
      const key = laterKey();
      const sample = rows.slice(0, Math.min(rows.length, 200)).map((r) => ({ ...r, input_tokens: r.input_tokens === null ? null : String(r.input_tokens) }));
      await put(key, writeRows(WRONG_SCHEMA_TABLE, sample, { codec: 'snappy' }));
      faults.wrongSchemaObjects.push(key);
    }
  };

  for (let d = 0; d < days; d++) {
    const day = addDays(from, d);
    for (const dev of population.developers) {
      const out = developerDay(seed, dev, day);
      if (out.rows.length === 0) continue;
      summary.activeUserDays++;
      placeRows(dev, out.rows, out.delaysMs);
    }
    // Every record of later days arrives after the next midnight, so earlier windows are complete.
    const nextMidnight = Date.parse(`${addDays(day, 1)}T00:00:00Z`);
    for (const start of [...windows.keys()].sort((a, b) => a - b)) {
      if (start + bufferMs > nextMidnight) break;
      await flushWindow(start, windows.get(start)!);
      windows.delete(start);
    }
    options.onProgress?.(d + 1, days);
  }
  for (const start of [...windows.keys()].sort((a, b) => a - b)) await flushWindow(start, windows.get(start)!);

  function placeRows(dev: Developer, rows: RawRecord[], delays: number[]) {
    const skewMs = skew.get(dev.index) ?? 0;
    const newer = newerApp.has(dev.index);
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
      const start = windowOf(arrival);
      let w = windows.get(start);
      if (!w) windows.set(start, (w = { current: [], newer: [] }));
      if (newer) {
        (row as Record<string, unknown>).workspace_id = `ws-${dev.team.name}`;
        w.newer.push(row);
      } else w.current.push(row);
    }
  }

  if (faults) await store.put(FAULT_LABELS_KEY, JSON.stringify(faults, null, 2) + '\n', { contentType: 'application/json' });
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}
