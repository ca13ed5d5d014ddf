/**
 * The cost model's measurements (README "Cost model"): one day of telemetry replayed the way
 * production sees it, an arrival hour at a time, through the hourly compaction and catalog runs,
 * then the daily rollup, on 1,000 generated developers. Measured here: raw and curated bytes and
 * objects per day, every hourly run's duration and object-store requests, the days the daily rollup
 * recomputes and the bytes its queries could read. From those and AWS list prices (us-east-1, as
 * published; see PRICES) it prints a monthly bill for 1,000 and 10,000 developers.
 *
 * Scaling to 10,000: bytes, objects and rows scale with developers (the generator's per-developer
 * volume is the same); each hourly compaction is modelled as fixed cost + cost per row rewritten,
 * fitted to the 24 measured runs. Durations are this machine's, with local files: on Lambda, S3
 * transfers add to them (and a 2048 MB Lambda has about one vCPU of this machine's two).
 */
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { athenaBilledBytes } from '../functions/lib/ops/run';
import { arrivalHourOf } from '../functions/lib/raw/keys';
import { currentModels, readSqlTree } from '../functions/lib/sql/files';
import { LocalObjectStore } from '../functions/lib/store/local';
import { transformBatch } from '../functions/lib/telemetry/firehose';
import { listAll, type ObjectInfo, type PutOptions } from '../functions/lib/store/port';
import { addDays } from '../functions/lib/util/dates';
import { CURATED_EVENTS } from '../schemas/curated-events';
import { cachedRawLake } from './compact';
import type { BenchResult } from './run';

const config = parseConfig({});
const HOUR = 3_600_000;
const DAY = '2026-11-19'; // the replayed arrival day: the middle of a three-day lake ending 2026-11-20

/** AWS list prices, us-east-1, USD (aws.amazon.com/<service>/pricing, November 2026). */
export const PRICES = {
  lambdaX86GbSecond: 0.0000166667,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  s3StandardGbMonth: 0.023,
  s3Put: 0.005 / 1000, // PUT, COPY, POST, LIST
  s3Get: 0.0004 / 1000, // GET, SELECT, HEAD
  athenaPerTb: 5,
  cloudwatchLogsIngestGb: 0.5,
  firehoseIngestGb: 0.029,
  firehoseFormatConversionGb: 0.018,
  kinesisShardHour: 0.015, // Kinesis Data Streams, provisioned mode
  kinesisPutUnitMillion: 0.014, // per million PUT payload units (25 KB each, a record rounds up)
  quicksightAuthorMonth: 24, // Enterprise author, monthly
  quicksightReaderMonth: 3, // reader
};

/** Counts the requests an S3 lake would receive for the same calls. */
class CountingStore extends LocalObjectStore {
  puts = 0;
  gets = 0;
  lists = 0;
  override async put(key: string, body: Uint8Array | string, _options?: PutOptions) {
    this.puts++;
    return super.put(key, body);
  }
  override async putIfAbsent(key: string, body: Uint8Array | string, _options?: PutOptions) {
    this.puts++;
    return super.putIfAbsent(key, body);
  }
  override async putFile(key: string, localPath: string, _options?: PutOptions) {
    this.puts++;
    return super.putFile(key, localPath);
  }
  override async get(key: string) {
    this.gets++;
    return super.get(key);
  }
  override async getRange(key: string, start: number, end: number) {
    this.gets++;
    return super.getRange(key, start, end);
  }
  override async getToFile(key: string, localPath: string) {
    this.gets++;
    return super.getToFile(key, localPath);
  }
  override async head(key: string) {
    this.gets++;
    return super.head(key);
  }
  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let n = 0;
    this.lists++;
    for await (const o of super.list(prefix)) {
      // ListObjectsV2 returns 1,000 keys a page.
      if (++n % 1000 === 0) this.lists++;
      yield o;
    }
  }
  snapshot() {
    return { puts: this.puts, gets: this.gets, lists: this.lists };
  }
}

interface HourRun {
  hour: string;
  /** Raw rows that arrived in the hour. */
  rowsIn: number;
  objects: number;
  compactMs: number;
  /** Rows written into the (re)opened dates: what the run rewrites. */
  rowsRewritten: number;
  partitionsMs: number;
  requests: { puts: number; gets: number; lists: number };
}

const usd = (x: number) => (x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const gb = (bytes: number) => bytes / 2 ** 30;

/** Least squares y = a + b x. */
function fit(xs: number[], ys: number[]): { a: number; b: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / sxx;
  return { a: my - b * mx, b };
}

/**
 * The transform on 1 MB Firehose batches of the sample Claude Code OTLP/JSON exports (uncompressed
 * JSON: a CloudWatch subscription's gzip payloads carry more rows per MB, so this is conservative).
 */
/**
 * The sample exports as the collector's awskinesis exporter (otlp_json) would put them: one Kinesis
 * record per resource, compact JSON. Gives rows per record and the record sizes that PUT payload
 * units are billed on.
 */
function kinesisRecordShape(): { rowsPerRecord: number; putUnitsPerRecord: number } {
  const records: { rows: number; bytes: number }[] = [];
  for (const [f, key] of [
    ['claude-code-logs.json', 'resourceLogs'],
    ['claude-code-metrics.json', 'resourceMetrics'],
  ] as const) {
    const doc = JSON.parse(readFileSync(new URL(`../fixtures/otlp/${f}`, import.meta.url), 'utf8'));
    for (const resource of doc[key]) {
      const data = Buffer.from(JSON.stringify({ [key]: [resource] }));
      const out = transformBatch({
        invocationId: 'shape',
        deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake',
        region: 'us-east-1',
        records: [{ recordId: 'r', approximateArrivalTimestamp: 0, data: data.toString('base64') }],
      });
      records.push({ rows: out.summary.rowsOut, bytes: data.length });
    }
  }
  const rows = records.reduce((s, r) => s + r.rows, 0);
  return { rowsPerRecord: rows / records.length, putUnitsPerRecord: records.reduce((s, r) => s + Math.ceil(r.bytes / 25_600), 0) / records.length };
}

function measureTransform(): { rowsPerBatch: number; msPerBatch: number; bytesPerRow: number } {
  const docs = ['claude-code-logs.json', 'claude-code-metrics.json'].map((f) => readFileSync(new URL(`../fixtures/otlp/${f}`, import.meta.url)));
  const records = [];
  let bytes = 0;
  for (let i = 0; bytes < 1e6; i++) {
    const d = docs[i % 2]!;
    records.push({ recordId: `r${i}`, approximateArrivalTimestamp: 1773151400000 + i, data: d.toString('base64') });
    bytes += d.length;
  }
  const event = { invocationId: 'bench', deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake', region: 'us-east-1', records };
  transformBatch(event, { keepContentAttributes: false }); // warm-up
  const t = performance.now();
  const n = 5;
  let rows = 0;
  for (let i = 0; i < n; i++) rows = transformBatch(event, { keepContentAttributes: false }).summary.rowsOut;
  return { rowsPerBatch: rows, msPerBatch: (performance.now() - t) / n, bytesPerRow: bytes / rows };
}

export async function benchCost(users = 1_000): Promise<BenchResult> {
  const source = await cachedRawLake('cost', users, 3);
  const srcStore = new LocalObjectStore(source);
  const raw = (await listAll(srcStore, config.raw.prefix)).filter((o) => o.key.endsWith('.parquet'));
  const dayStart = Date.parse(`${DAY}T00:00:00Z`);
  const hourOf = (o: ObjectInfo) => arrivalHourOf(o.key) ?? 0;
  const before = raw.filter((o) => hourOf(o) < dayStart);
  const dayObjects = raw.filter((o) => hourOf(o) >= dayStart && hourOf(o) < dayStart + 24 * HOUR);
  const rawBytesPerDay = dayObjects.reduce((s, o) => s + o.size, 0);

  const dir = path.join(path.dirname(source), 'work-cost');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(source, 'reference'), path.join(dir, 'reference'), { recursive: true });
  const copy = (objs: ObjectInfo[]) => {
    for (const o of objs) cpSync(path.join(source, o.key), path.join(dir, o.key));
  };
  const store = new CountingStore(dir);
  const catalog = catalogFromConfig(config, store);

  // Everything that arrived before the day, compacted and catalogued at once (the history).
  copy(before);
  await compact(store, catalog, config, { now: dayStart });
  await syncPartitions(store, catalog, config, { now: dayStart });

  const runs: HourRun[] = [];
  let rowsPerDay = 0;
  const touched = new Set<string>();
  for (let h = 0; h < 24; h++) {
    const start = dayStart + h * HOUR;
    const objs = dayObjects.filter((o) => hourOf(o) === start);
    copy(objs);
    const r0 = store.snapshot();
    const t0 = performance.now();
    const c = await compact(store, catalog, config, { now: start + HOUR + 5 * 60_000 });
    const compactMs = performance.now() - t0;
    const t1 = performance.now();
    await syncPartitions(store, catalog, config, { now: start + HOUR + 30 * 60_000 });
    const partitionsMs = performance.now() - t1;
    const r1 = store.snapshot();
    for (const d of c.dts) touched.add(d.dt);
    rowsPerDay += c.rowsIn;
    runs.push({
      hour: new Date(start).toISOString().slice(11, 13),
      rowsIn: c.rowsIn,
      objects: objs.length,
      compactMs,
      rowsRewritten: c.dts.reduce((s, d) => s + d.rowsOut, 0),
      partitionsMs,
      // Raw objects and live generations are read from disk locally; on S3 each is a GET.
      requests: { puts: r1.puts - r0.puts, gets: r1.gets - r0.gets + c.objectsRead, lists: r1.lists - r0.lists },
    });
  }

  // The daily rollup after the day: every date the day's arrivals changed, every table.
  const commits = new PartitionCommits(store);
  const curatedBytes = async (dt: string) => (await commits.get(CURATED_EVENTS.name, dt))?.files.reduce((s, f) => s + f.bytes, 0) ?? 0;
  const engine = await LocalQueryEngine.open(store, config);
  let rollupMs = 0;
  let tableDays = 0;
  try {
    const t = performance.now();
    const s = await rollup(store, catalog, engine, config, { now: dayStart + 25 * HOUR + 40 * 60_000 });
    rollupMs = performance.now() - t;
    tableDays = s.days.length;
  } finally {
    engine.close();
  }
  // Athena reads only the columns a query names; as an upper bound, every byte of the dates read:
  // the current model of each rollup table reads its day, and the day before when its SQL says so.
  const twoDayModels = [...currentModels(readSqlTree()).values()].map((m) => /INTERVAL '1' DAY/.test(m.sql));
  let athenaBytes = 0;
  let athenaBilled = 0;
  for (const dt of touched) {
    const [d0, d1] = [await curatedBytes(dt), await curatedBytes(addDays(dt, -1))];
    for (const twoDays of twoDayModels) {
      const bytes = d0 + (twoDays ? d1 : 0);
      athenaBytes += bytes;
      athenaBilled += athenaBilledBytes(bytes);
    }
  }
  const curatedDayBytes = await curatedBytes(DAY);

  // Per day at `users` developers.
  const sum = (f: (r: HourRun) => number) => runs.reduce((s, r) => s + f(r), 0);
  const compactSecondsDay = sum((r) => r.compactMs) / 1000;
  const partitionsSecondsDay = sum((r) => r.partitionsMs) / 1000;
  const requestsDay = { puts: sum((r) => r.requests.puts), gets: sum((r) => r.requests.gets), lists: sum((r) => r.requests.lists) };
  const transform = measureTransform();
  const batchesPerDay = rowsPerDay / transform.rowsPerBatch;
  const { a, b } = fit(
    runs.map((r) => r.rowsRewritten),
    runs.map((r) => r.compactMs),
  );

  const lines: string[] = [
    `${users.toLocaleString('en-US')} developers, arrival day ${DAY} replayed an hour at a time (24 compaction + catalog runs), then the daily rollup`,
    `raw: ${dayObjects.length.toLocaleString('en-US')} objects, ${(rawBytesPerDay / 1e6).toFixed(1)} MB a day; curated ${DAY}: ${(curatedDayBytes / 1e6).toFixed(1)} MB`,
    `compaction: ${compactSecondsDay.toFixed(1)} s a day (hourly runs ${Math.min(...runs.map((r) => r.compactMs)).toFixed(0)}..${Math.max(...runs.map((r) => r.compactMs)).toFixed(0)} ms; fit ${a.toFixed(0)} ms + ${(b * 1e6).toFixed(1)} ms per million rows rewritten)`,
    `transform: ${transform.rowsPerBatch.toLocaleString('en-US')} rows from a 1 MB Firehose batch in ${transform.msPerBatch.toFixed(0)} ms; ${rowsPerDay.toLocaleString('en-US')} rows a day = ${Math.ceil(batchesPerDay)} batches`,
    `catalog sync: ${partitionsSecondsDay.toFixed(1)} s a day; lake requests a day: ${requestsDay.puts} PUT, ${requestsDay.gets} GET, ${requestsDay.lists} LIST (+ ${dayObjects.length} Firehose PUTs)`,
    `daily rollup: ${tableDays} table-days over ${touched.size} dates the day's arrivals touched, ${(rollupMs / 1000).toFixed(1)} s on DuckDB; Athena would read at most ${(athenaBytes / 1e6).toFixed(0)} MB (billed ${(athenaBilled / 1e6).toFixed(0)} MB with the 10 MB minimum)`,
    '',
  ];

  // The monthly bill, 30 days.
  const table: string[][] = [['item', '1,000 developers', '10,000 developers', 'from']];
  const rows: { item: string; cost: (scale: number) => number; from: string }[] = [
    {
      item: 'Lambda compact (x86, 2048 MB, hourly)',
      cost: (k) => {
        const seconds = runs.reduce((s, r) => s + (a + b * r.rowsRewritten * k) / 1000, 0) * 30;
        return seconds * 2 * PRICES.lambdaX86GbSecond + 24 * 30 * PRICES.lambdaRequest;
      },
      from: 'measured hourly runs; per-row fit scaled',
    },
    {
      item: 'Lambda partitions (arm, 512 MB, hourly)',
      cost: (k) => partitionsSecondsDay * k * 30 * 0.5 * PRICES.lambdaArmGbSecond + 24 * 30 * PRICES.lambdaRequest,
      from: 'measured; scaled linearly (upper bound)',
    },
    {
      item: 'Lambda transform (arm, 256 MB, 1 MB batches)',
      // Billed per 1 ms; at least one batch per minute of the day (Firehose's 60 s buffer).
      cost: (k) => Math.max(batchesPerDay * k, 24 * 60) * 30 * ((transform.msPerBatch / 1000) * 0.25 * PRICES.lambdaArmGbSecond + PRICES.lambdaRequest),
      from: 'measured rows per batch and ms per batch',
    },
    {
      item: 'Lambda rollup (arm, 1024 MB, daily)',
      cost: () => (tableDays + 10) * 3 * 30 * PRICES.lambdaArmGbSecond + 30 * PRICES.lambdaRequest,
      from: 'queries measured; 3 s Athena wait each assumed',
    },
    {
      item: 'Athena (rollup models)',
      cost: (k) => ((athenaBytes * k > athenaBilled ? athenaBytes * k : athenaBilled) / 1e12) * PRICES.athenaPerTb * 30,
      from: 'upper bound: every byte of the dates read',
    },
    {
      item: 'S3 requests',
      cost: (k) => {
        const puts = (requestsDay.puts + dayObjects.length * k + requestsDay.lists) * 30;
        const gets = requestsDay.gets * k * 30;
        return puts * PRICES.s3Put + gets * PRICES.s3Get;
      },
      from: 'counted; Firehose PUTs and GETs scale with objects',
    },
    {
      item: 'S3 storage (raw 90 d + curated 1 year)',
      cost: (k) => (gb(rawBytesPerDay * k) * 90 + gb(curatedDayBytes * k) * 365) * PRICES.s3StandardGbMonth,
      from: 'measured bytes a day x retention',
    },
  ];
  const totals = [0, 0];
  for (const r of rows) {
    const c1 = r.cost(1 * (1_000 / users));
    const c10 = r.cost(10 * (1_000 / users));
    totals[0]! += c1;
    totals[1]! += c10;
    table.push([r.item, usd(c1), usd(c10), r.from]);
  }
  table.push(['cclake on AWS, a month', usd(totals[0]!), usd(totals[1]!), '']);
  // The ingest path (serverless.yml param ingestSource), on the same bytes: the sample exports' OTLP JSON a row.
  const jsonGbMonth = (k: number) => gb(rowsPerDay * k * transform.bytesPerRow) * 30;
  const upstream = (k: number) => jsonGbMonth(k) * (PRICES.cloudwatchLogsIngestGb + PRICES.firehoseIngestGb + PRICES.firehoseFormatConversionGb);
  table.push([
    'Ingest, ingestSource cloudwatch: CloudWatch Logs + Firehose',
    usd(upstream(1_000 / users)),
    usd(upstream(10_000 / users)),
    `${transform.bytesPerRow.toFixed(0)} B of OTLP JSON a row (sample exports)`,
  ]);
  // Kinesis path: shards sized for the busiest measured hour (1 MB/s and 1,000 records/s a shard).
  const shape = kinesisRecordShape();
  const peakRowsPerSecond = Math.max(...runs.map((r) => r.rowsIn)) / 3600;
  const shards = (k: number) =>
    Math.max(1, Math.ceil(Math.max((peakRowsPerSecond * k * transform.bytesPerRow) / 2 ** 20, (peakRowsPerSecond * k) / shape.rowsPerRecord / 1000)));
  const kinesisPath = (k: number) =>
    shards(k) * 730 * PRICES.kinesisShardHour +
    ((rowsPerDay * k * 30) / shape.rowsPerRecord) * shape.putUnitsPerRecord * (PRICES.kinesisPutUnitMillion / 1e6) +
    jsonGbMonth(k) * (PRICES.firehoseIngestGb + PRICES.firehoseFormatConversionGb);
  table.push([
    'Ingest, ingestSource kinesis (default): Kinesis + Firehose',
    usd(kinesisPath(1_000 / users)),
    usd(kinesisPath(10_000 / users)),
    `${shards(1_000 / users)} / ${shards(10_000 / users)} shards for the peak hour; ${shape.rowsPerRecord.toFixed(1)} rows a record`,
  ]);
  const qs = (authors: number, readers: number) => authors * PRICES.quicksightAuthorMonth + readers * PRICES.quicksightReaderMonth;
  table.push(['QuickSight (5 authors + 50 readers / 10 + 300)', usd(qs(5, 50)), usd(qs(10, 300)), 'list prices; user counts assumed']);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table)
    lines.push(
      r
        .map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    );
  rmSync(dir, { recursive: true, force: true });
  return { name: `cost model: a day of ${users.toLocaleString('en-US')} developers, replayed hourly`, lines };
}
