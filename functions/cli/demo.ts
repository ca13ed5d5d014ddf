/**
 * `cclake demo`: every stage, in order, on the embedded default (1 generate, 2 ingest, 3 compact,
 * 4 partitions, 5 rollup, 6 anomalies, 7 publish, 8 export), then a look at what landed.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../lib/config/schema';
import { LocalQueryEngine } from '../lib/engine/local';
import { compact } from '../lib/jobs/compact';
import { generate } from '../lib/jobs/generate';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { ingestFiles } from '../lib/jobs/ingest';
import { syncPartitions } from '../lib/jobs/partitions';
import { publish } from '../lib/jobs/publish';
import { rollup } from '../lib/jobs/rollup';
import { HtmlPublisher } from '../lib/publish/local';
import { detectAnomalies } from '../lib/jobs/anomalies';
import { LocalNotifier } from '../lib/anomalies/notifier/local';
import type { LocalObjectStore } from '../lib/store/local';
import { monthBounds } from '../lib/exports/chargeback-lines';
import { exportChargeback } from '../lib/jobs/chargeback';
import { exportEvidence } from '../lib/jobs/evidence';
import { verifyExports } from '../lib/jobs/export-verify';
import { addDays } from '../lib/util/dates';
import { printChargebackSummary, printEvidenceSummary, printVerifySummary } from './export';
import type { Io } from './common';
import { progressOf } from './progress';
import {
  formatTable,
  printAnomaliesSummary,
  printCompactSummary,
  printGenerateSummary,
  printIngestSummary,
  printPartitionsSummary,
  printPublishSummary,
  printRollupSummary,
} from './output';

export interface DemoOptions {
  users: number;
  days: number;
  seed: string;
  end: string;
  faults: boolean;
  /** Inject labelled anomalies (needs 28 days or more). */
  anomalies?: boolean;
  /** The demo's clock (default: now): the lake holds what Firehose has delivered by then, and the intraday rollup computes that day so far. */
  now?: number;
}

/** The sample Claude Code OTLP/JSON exports shipped with cclake (the Firehose transform's input). */
export function sampleExports(): string[] {
  const dir = fileURLToPath(new URL('../../fixtures/otlp/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') || f.endsWith('.jsonl'))
    .sort()
    .map((f) => path.join(dir, f));
}

const LOOKS = [
  {
    title: 'Curated events by signal and name',
    sql: `SELECT signal, name, count(*) AS records FROM events GROUP BY ALL ORDER BY records DESC LIMIT 12`,
  },
  {
    title: 'Active developers (view active_users_daily: DAU, WAU over 7 days, MAU over 28, from the user_daily rollup)',
    sql: `SELECT dt, dau, wau, mau FROM active_users_daily ORDER BY dt DESC LIMIT 7`,
  },
  {
    title: "Today so far and the days before (view leadership_daily_figures: the dashboards' today figures; source intraday or final)",
    sql: `SELECT dt, source, active_users, requests, tokens, round(cost_usd, 2) AS cost_usd FROM leadership_daily_figures ORDER BY dt DESC LIMIT 3`,
  },
  {
    title: 'Token burn and cost by team, last 7 days (rollup user_daily)',
    sql: `SELECT team, count(DISTINCT user_key) AS developers,
                 sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS tokens,
                 round(sum(cost_usd), 2) AS cost_usd, sum(commits) AS commits, sum(lines_added) AS lines_added
          FROM user_daily WHERE dt > (SELECT max(dt) FROM user_daily) - INTERVAL 7 DAY
          GROUP BY ALL ORDER BY cost_usd DESC LIMIT 8`,
  },
  {
    title: 'Anomalies (view anomalies; a baseline needs about a week of history, so a short demo finds few)',
    sql: `SELECT dt, detector, entity_type, entity, round(observed, 2) AS observed, round(baseline, 2) AS baseline, severity FROM anomalies ORDER BY dt DESC, severity, score DESC LIMIT 10`,
  },
  {
    title: 'Requests by model',
    sql: `SELECT model, count(*) AS requests, round(median(duration_ms)) AS p50_ms, round(sum(cost_usd), 2) AS cost_usd
          FROM events WHERE name = 'claude_code.api_request' GROUP BY ALL ORDER BY requests DESC`,
  },
];

/**
 * Stage 8: the chargeback of each month the generated days fall in (a closed month as revision 1,
 * a month not over yet as a preliminary snapshot, said so), the evidence report for the last seven
 * generated days, and the verification of every export's digests.
 */
async function exportStage(io: Io, store: LocalObjectStore, engine: LocalQueryEngine, config: Config, o: DemoOptions): Promise<void> {
  io.out(`\n== 8. export: the finance chargeback (FOCUS-shaped, reconciled to the cent) and the compliance evidence (JSON, HTML, PDF, digest-chained)`);
  const months = (await engine.query(`SELECT DISTINCT substr(CAST(dt AS VARCHAR), 1, 7) AS month FROM chargeback_daily ORDER BY month DESC LIMIT 2`)).rows.map(
    (r) => String(r.month),
  );
  if (config.prices.book === 'none' && !config.prices.rows.length)
    io.out(
      'note: the price book is off (config prices.book: none) and no price rows are configured, so every line is unpriced: BilledCost 0.00, the reported cost in ListCost',
    );
  else
    io.out(
      `prices: the list-price book shipped with cclake (data/prices/list-prices.csv)${config.prices.rows.length || config.prices.discounts.length ? ' with the configured negotiated rates' : ''}; \`cclake prices check\` lists what it does not cover`,
    );
  for (const month of months.reverse()) {
    const bounds = monthBounds(month, config.reporting.timeZone);
    const closed = Date.now() >= Date.parse(bounds.end);
    if (!closed)
      io.out(
        `${month} is not closed yet (it ends ${bounds.end}, reporting time zone ${config.reporting.timeZone}): a preliminary snapshot, replaced on every run; the closed export is the 1st's scheduled run`,
      );
    printChargebackSummary(io, store.location, await exportChargeback(store, engine, config, { month, preliminary: !closed }));
  }
  const from = addDays(o.end, -(Math.min(o.days, 7) - 1));
  printEvidenceSummary(io, store.location, await exportEvidence(store, engine, config, { from, to: o.end }));
  printVerifySummary(io, store.location, await verifyExports(store));
}

export async function runDemo(io: Io, store: LocalObjectStore, config: Config, o: DemoOptions): Promise<void> {
  const progress = (title: string) => progressOf(io, title);
  io.out(
    `== 1. generate: ${o.users} developers, ${o.days} days ending ${o.end}, seed ${o.seed}${o.faults ? ', with faults' : ''}${o.anomalies ? ', with labelled anomalies' : ''}`,
  );
  const gen = await generate(store, config, {
    users: o.users,
    days: o.days,
    end: o.end,
    seed: o.seed,
    faults: o.faults,
    anomalies: !!o.anomalies,
    until: o.now ?? Date.now(),
    onProgress: progress('generate'),
  });
  printGenerateSummary(io, store.location, gen);

  const samples = sampleExports();
  if (samples.length) {
    io.out(`\n== 2. ingest: the sample Claude Code OTLP/JSON exports, through the Firehose transform's code`);
    const ing = await ingestFiles(store, config, samples);
    printIngestSummary(io, store.location, ing);
  }

  io.out(`\n== 3. compact: raw -> curated event-date partitions (deduplicated; bad objects quarantined)`);
  const catalog = catalogFromConfig(config, store);
  const comp = await compact(store, catalog, config, { onProgress: progress('compact') });
  printCompactSummary(io, store.location, comp);

  io.out(`\n== 4. partitions: the catalog (Glue's stand-in, read by the local views) in line with the lake`);
  const parts = await syncPartitions(store, catalog, config);
  printPartitionsSummary(io, catalog.location, parts);

  io.out(`\n== 5. rollup: versioned SQL (sql/), seeds from the config, one generation per table and day`);
  const engine = await LocalQueryEngine.open(store, config);
  try {
    printRollupSummary(io, store.location, await rollup(store, catalog, engine, config, { onProgress: progress('rollup') }));
    // Then today so far, as the hourly intraday run computes it on AWS: the dashboards' "today" figures.
    io.out(`then the intraday rollup: today so far (${config.reporting.timeZone}), from events with the uncompacted tail`);
    printRollupSummary(io, store.location, await rollup(store, catalog, engine, config, { intraday: true, now: o.now }));
    await engine.refresh();
    io.out(`\n== 6. anomalies: detectors over the rollups, each against its own baseline; new alerts to stdout and ${store.location}alerts/`);
    printAnomaliesSummary(io, store.location, await detectAnomalies(store, catalog, engine, new LocalNotifier(store, io.out), config));
    io.out(`\n== 7. publish: the dashboards of quicksight-templates/ as static HTML (SVG charts, offline filters), a PDF snapshot through headless Chromium`);
    const published = await publish(new HtmlPublisher(store, engine, config), config, { onProgress: progress('publish') });
    printPublishSummary(io, published);
    for (const d of published.dashboards) io.out(`HTML: ${d.location}`);
    for (const snap of published.snapshots) for (const f of snap.outputs.filter((x) => x.endsWith('.pdf'))) io.out(`PDF:  ${f}`);
    await exportStage(io, store, engine, config, o);
    io.out(`\n== What is in the lake`);
    for (const look of LOOKS) {
      io.out(`\n${look.title}:`);
      io.out(formatTable(await engine.query(look.sql)));
    }
  } finally {
    engine.close();
  }
  io.out(`\nLake: ${store.root}`);
  const rel = path.relative(process.cwd(), store.root);
  const lakeArg = rel === '' ? '.' : rel.startsWith('..') ? store.root : rel;
  io.out(`Try:  npx cclake query --lake ${lakeArg} "SELECT * FROM active_users_daily ORDER BY dt"`);
}
