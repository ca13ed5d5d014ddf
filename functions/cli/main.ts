/**
 * `cclake`: the command line (CONTRACTS section 5). Each command loads the config, builds the
 * ports, runs one job and prints its summary. Exit 0 on success, 1 on a failed job (one-line
 * reason on stderr), 2 on bad usage or bad config.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { LoadedConfig } from '../lib/config/load';
import { JobError, load, UsageError, withGlobals, type GlobalOpts, type Io } from './common';
import { registerImportCommands } from './bills';
import { registerDoctorCommand } from './doctor';
import { registerEraseCommand } from './erase';
import { registerExportCommands } from './export';
import { progressOf } from './progress';
import {
  formatRows,
  formatTable,
  printAnomaliesSummary,
  printCompactSummary,
  printGenerateSummary,
  printIngestSummary,
  printPartitionsSummary,
  printPricesCheck,
  printPublishSummary,
  printRollupSummary,
  tailNote,
} from './output';
import type { PublishSummary } from '../lib/publish/port';
import { inputCoverageNotes } from '../lib/sql/input-coverage';
import { LocalObjectStore } from '../lib/store/local';
import type { ObjectStore } from '../lib/store/port';
import { isIsoDate } from '../lib/util/dates';
import { dayRangeProblem, type DayRange } from '../lib/util/day-range';

export { JobError, load, UsageError, withGlobals, type GlobalOpts, type Io };

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const isoDate = (name: string) => (v: string) => {
  if (!isIsoDate(v)) {
    throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
  }
  return v;
};

/** `--dt D` or `--from D [--to D]`: the days a command (re)computes instead of the days that changed. */
function withDayRange(cmd: Command, verb: string): Command {
  return cmd
    .option('--dt <date>', `${verb} this day`, isoDate('--dt'))
    .option('--from <date>', 'first day of a range', isoDate('--from'))
    .option('--to <date>', 'last day of a range', isoDate('--to'));
}

/** `--dt` / `--from` / `--to` together make sense, or the command stops with exit 2. */
function checkDayRange(o: DayRange): void {
  const problem = dayRangeProblem(o, (f) => `--${f}`);
  if (problem) throw new UsageError(problem);
}

export function yesterdayUtc(now = Date.now()): string {
  return new Date(now - 86_400_000).toISOString().slice(0, 10);
}

export const todayUtc = (now = Date.now()): string => new Date(now).toISOString().slice(0, 10);

/*
 * Each command imports what it runs when it runs (DuckDB, the AWS SDK clients, vega, playwright,
 * parquet-wasm are heavy), so `cclake --help` and a local query load only what they use.
 */

/** The lake's object store; the S3 client is loaded only for a lake on S3. */
async function storeFromConfig(config: LoadedConfig['config']): Promise<ObjectStore> {
  if ('local' in config.lake) return new LocalObjectStore(config.lake.local.path);
  return (await import('../lib/store/from-config')).storeFromConfig(config);
}

async function catalogFromConfig(config: LoadedConfig['config'], store: ObjectStore) {
  return (await import('../lib/catalog/from-config')).catalogFromConfig(config, store);
}

async function engineFromConfig(config: LoadedConfig['config'], store: ObjectStore) {
  return (await import('../lib/engine/from-config')).engineFromConfig(config, store);
}

async function openLocalEngine(store: LocalObjectStore, config: LoadedConfig['config']) {
  return (await import('../lib/engine/local')).LocalQueryEngine.open(store, config);
}

async function localStoreOf(loaded: LoadedConfig, command: string): Promise<LocalObjectStore> {
  const store = await storeFromConfig(loaded.config);
  if (!(store instanceof LocalObjectStore)) {
    throw new UsageError(`'cclake ${command}' runs on DuckDB over a local lake; the configured lake is ${store.location} (pass --lake DIR)`);
  }
  return store;
}

/** The configured lake, refused when it is a local folder that does not exist: a mistyped --lake would otherwise read as a lake where nothing ever ran. */
async function existingLakeStore(config: LoadedConfig['config']): Promise<ObjectStore> {
  const store = await storeFromConfig(config);
  if (store instanceof LocalObjectStore && !existsSync(store.root)) throw new UsageError(`no lake at ${store.root}`);
  return store;
}

export function buildProgram(io: Io): Command {
  const program = new Command('cclake')
    .description('Claude Code telemetry data lake: generate, ingest, compact, roll up, publish')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  withGlobals(program.command('generate'))
    .description('write Firehose-shaped raw Parquet telemetry and the org directory it used')
    .requiredOption('--users <n>', 'developers', positiveInt('--users'))
    .requiredOption('--days <d>', 'days of activity', positiveInt('--days'))
    .option('--end <date>', 'last day, YYYY-MM-DD (default: yesterday, UTC)', isoDate('--end'))
    .option('--seed <s>', 'random seed (same seed, same lake)', '42')
    .option('--faults', 'add redeliveries, late data, clock skew, schema drift, empty and corrupt objects')
    .option('--anomalies', 'inject labelled anomalies (cost spikes, an unapproved model, incidents, 3 a.m. bursts); needs --days 28 or more')
    .addOption(
      new Option(
        '--profile <profile>',
        "raw zone shape: cclake (Firehose raw records) or bedrock-guidance (the AWS guidance's metrics rows); default raw.profile",
      ).choices(['cclake', 'bedrock-guidance']),
    )
    .action(
      async (
        o: GlobalOpts & {
          users: number;
          days: number;
          end?: string;
          seed: string;
          faults?: boolean;
          anomalies?: boolean;
          profile?: 'cclake' | 'bedrock-guidance';
        },
      ) => {
        const loaded = await load(o);
        const store = await storeFromConfig(loaded.config);
        const { generate } = await import('../lib/jobs/generate');
        const summary = await generate(store, loaded.config, {
          users: o.users,
          days: o.days,
          end: o.end ?? yesterdayUtc(),
          seed: o.seed,
          faults: !!o.faults,
          anomalies: !!o.anomalies,
          profile: o.profile,
          onProgress: progressOf(io, 'generate'),
        });
        printGenerateSummary(io, store.location, summary);
      },
    );

  withGlobals(program.command('ingest'))
    .description('turn OTLP/JSON exports (.json or .jsonl) into raw records, as the Firehose transform would')
    .argument('<files...>', 'OTLP/JSON export files')
    .action(async (files: string[], o: GlobalOpts) => {
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const { ingestFiles } = await import('../lib/jobs/ingest');
      const summary = await ingestFiles(store, loaded.config, files);
      printIngestSummary(io, store.location, summary);
      if (summary.filesFailed.length > 0 || summary.errors.length > 0) {
        const bad = new Set([...summary.filesFailed.map((f) => f.file), ...summary.errors.map((e) => e.file)]).size;
        throw new JobError(`${bad} of ${files.length} file(s) had errors (listed above); everything else landed`);
      }
    });

  withGlobals(program.command('compact'))
    .description('compact raw into curated event-date partitions (dedupe, late data, quarantine)')
    .option('--dt <date>', 'commit only this event date (YYYY-MM-DD)', isoDate('--dt'))
    .option('--rebuild', 'with --dt: rebuild that date from every raw object')
    .action(async (o: GlobalOpts & { dt?: string; rebuild?: boolean }) => {
      if (o.rebuild && !o.dt) throw new UsageError('--rebuild needs --dt YYYY-MM-DD');
      const loaded = await load(o);
      const store = await existingLakeStore(loaded.config);
      const { compact } = await import('../lib/jobs/compact');
      const summary = await compact(store, await catalogFromConfig(loaded.config, store), loaded.config, {
        dt: o.dt,
        rebuild: o.rebuild,
        onProgress: progressOf(io, 'compact'),
      });
      printCompactSummary(io, store.location, summary);
    });

  withGlobals(program.command('partitions'))
    .description('bring the catalog (Glue, or the local catalog) in line with the lake: tables, partitions, retention')
    .option('--dry-run', 'print the catalog requests it would send, as JSON, and change nothing')
    .action(async (o: GlobalOpts & { dryRun?: boolean }) => {
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const catalog = await catalogFromConfig(loaded.config, store);
      const { syncPartitions } = await import('../lib/jobs/partitions');
      const summary = await syncPartitions(store, catalog, loaded.config, { dryRun: o.dryRun });
      if (o.dryRun) {
        io.out(JSON.stringify(summary.requests.length ? summary.requests : { nothingToDo: true, catalog: catalog.location }, null, 2));
        for (const w of summary.warnings) io.err(`warning: ${w}`);
        return;
      }
      printPartitionsSummary(io, catalog.location, summary);
      if (summary.failures.length) {
        throw new JobError(`${summary.failures.length} catalog entr${summary.failures.length === 1 ? 'y' : 'ies'} failed (listed above); run again to retry`);
      }
    });

  withDayRange(withGlobals(program.command('rollup')), 'compute')
    .description('apply the versioned SQL and compute the rollup tables for the days that changed (or the days given)')
    .option('--intraday', 'compute today so far (or --dt) into the intraday tables, from events with the uncompacted tail')
    .action(async (o: GlobalOpts & DayRange & { intraday?: boolean }) => {
      checkDayRange(o);
      if (o.intraday && (o.from || o.to)) throw new UsageError('--intraday computes one day: give --dt or nothing, not --from/--to');
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const engine = await engineFromConfig(loaded.config, store);
      try {
        const { rollup } = await import('../lib/jobs/rollup');
        const summary = await rollup(store, await catalogFromConfig(loaded.config, store), engine, loaded.config, {
          dt: o.dt,
          from: o.from,
          to: o.to,
          onProgress: progressOf(io, 'rollup'),
          intraday: o.intraday,
        });
        printRollupSummary(io, store.location, summary);
      } finally {
        engine.close();
      }
    });

  withDayRange(withGlobals(program.command('anomalies')), 'judge')
    .description('run the detectors over the rollups and deliver new alerts (SNS when configured, else stdout and alerts/ in the lake)')
    .action(async (o: GlobalOpts & DayRange) => {
      checkDayRange(o);
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const engine = await engineFromConfig(loaded.config, store);
      try {
        const { notifierFromConfig } = await import('../lib/anomalies/notifier/from-config');
        const { detectAnomalies } = await import('../lib/jobs/anomalies');
        const notifier = notifierFromConfig(loaded.config, store, io.out);
        const summary = await detectAnomalies(store, await catalogFromConfig(loaded.config, store), engine, notifier, loaded.config, {
          dt: o.dt,
          from: o.from,
          to: o.to,
        });
        printAnomaliesSummary(io, store.location, summary);
        const failed = summary.delivery?.failed.length ?? 0;
        if (failed) throw new JobError(`${failed} alert(s) could not be delivered (listed above); they stay pending for the next run`);
      } finally {
        engine.close();
      }
    });

  withGlobals(program.command('query'))
    .description('run SQL against the analyst views')
    .addOption(new Option('--format <fmt>', 'output format').choices(['csv', 'json']).default('csv'))
    .argument('<sql>', 'the SQL to run')
    .action(async (sql: string, o: GlobalOpts & { format: 'csv' | 'json' }) => {
      const loaded = await load(o);
      const store = await localStoreOf(loaded, 'query');
      const engine = await openLocalEngine(store, loaded.config);
      try {
        let result: Awaited<ReturnType<typeof engine.query>>;
        try {
          result = await engine.query(sql);
        } catch (err) {
          throw new JobError(`query failed: ${(err as Error).message.split('\n')[0]}`);
        } finally {
          // Only a query that read events_raw bound it, so only that one hears about what it left out.
          const skipped = engine.setup.skippedRawObjects;
          if (skipped.length)
            io.err(
              `note: ${skipped.length} raw object(s) are not readable Parquet and were left out of events_raw (compaction quarantines them): ${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''}`,
            );
          const tail = engine.setup.skippedTailObjects ?? [];
          if (tail.length) io.err(tailNote(tail));
        }
        io.out(formatRows(result, o.format));
        for (const note of await inputCoverageNotes(engine, sql)) io.err(note);
      } finally {
        engine.close();
      }
    });

  const prices = program.command('prices').description('the price book: what it covers in this lake');
  withGlobals(prices.command('check'))
    .description('models without a price, overlapping rules, drift between reported and priced cost, long-context requests')
    .addOption(new Option('--format <fmt>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: GlobalOpts & { format: 'text' | 'json' }) => {
      const loaded = await load(o);
      const store = await localStoreOf(loaded, 'prices check');
      const engine = await openLocalEngine(store, loaded.config);
      try {
        const { checkPrices } = await import('../lib/jobs/prices-check');
        const c = await checkPrices(engine, loaded.config);
        if (o.format === 'json') io.out(JSON.stringify({ ...c, queries: undefined }, null, 2));
        else printPricesCheck(io, c);
      } finally {
        engine.close();
      }
    });

  withGlobals(program.command('sql'))
    .description('an interactive SQL shell over the analyst views (statements end with ";"; .help lists .tables, .schema, .mode, .timer)')
    .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .action(async (o: GlobalOpts & { format: 'table' | 'csv' | 'json' }) => {
      const loaded = await load(o);
      const store = await localStoreOf(loaded, 'sql');
      const engine = await openLocalEngine(store, loaded.config);
      try {
        const { runRepl } = await import('./repl');
        const failed = await runRepl(engine, io, { input: process.stdin, format: o.format });
        if (failed && !process.stdin.isTTY) throw new JobError(`${failed} statement(s) failed (listed above)`);
      } finally {
        engine.close();
      }
    });

  withGlobals(program.command('status'))
    .description("show each stage's watermark, its upstream's, the lag and the work waiting")
    .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (o: GlobalOpts & { format: 'table' | 'json' }) => {
      const loaded = await load(o);
      const store = await existingLakeStore(loaded.config);
      const now = Date.now();
      const { readWatermarks, stageStatuses } = await import('../lib/ops/watermarks');
      const w = await readWatermarks(store, await catalogFromConfig(loaded.config, store), loaded.config, { now });
      const stages = stageStatuses(w, now);
      // Freshness: the newest event in `events` needs a query, run on a local lake only (on AWS it would be an Athena query).
      const { readFreshness, freshnessRows } = await import('../lib/ops/freshness');
      const engine = store instanceof LocalObjectStore ? await openLocalEngine(store, loaded.config) : null;
      let freshness: Awaited<ReturnType<typeof readFreshness>>;
      try {
        freshness = await readFreshness(store, loaded.config, w, engine);
      } finally {
        engine?.close();
      }
      const fresh = freshnessRows(freshness, now);
      if (o.format === 'json') {
        io.out(JSON.stringify({ lake: store.location, at: new Date(now).toISOString(), stages, watermarks: w, freshness: fresh }, null, 2));
        return;
      }
      io.out(`Lake ${store.location} at ${new Date(now).toISOString().slice(0, 16)}Z`);
      const columns = ['stage', 'watermark', 'upstream', 'lag', 'pending'].map((name) => ({ name, type: 'VARCHAR' }));
      io.out(
        formatTable({ columns, rows: stages.map((st) => ({ ...st, watermark: st.watermark ?? 'never', upstream: st.upstream ?? '-', lag: st.lag ?? '-' })) }),
      );
      io.out('');
      io.out('Freshness (age of the newest data each reader sees):');
      const freshColumns = ['stage', 'newest', 'age', 'note'].map((name) => ({ name, type: 'VARCHAR' }));
      io.out(formatTable({ columns: freshColumns, rows: fresh.map((r) => ({ ...r, newest: r.newest ?? 'none', age: r.age ?? '-' })) }));
    });

  withGlobals(program.command('backfill'))
    .description('replay the stages over a range of event dates, in order; run it again to resume after an interruption')
    .requiredOption('--from <date>', 'first event date', isoDate('--from'))
    .requiredOption('--to <date>', 'last event date', isoDate('--to'))
    .option('--rebuild-curated', "first rebuild each date's curated partition from every raw object")
    .action(async (o: GlobalOpts & { from: string; to: string; rebuildCurated?: boolean }) => {
      if (o.to < o.from) throw new UsageError(`--to ${o.to} is before --from ${o.from}`);
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const engine = await engineFromConfig(loaded.config, store);
      const progress = progressOf(io, 'backfill');
      try {
        const { backfill } = await import('../lib/jobs/backfill');
        const summary = await backfill(store, await catalogFromConfig(loaded.config, store), engine, loaded.config, {
          from: o.from,
          to: o.to,
          rebuildCurated: o.rebuildCurated,
          onProgress: (done, total, label, skipped) => progress?.({ unit: 'steps', done, total, label: skipped ? `(done before) ${label}` : label }),
        });
        if (summary.status === 'incomplete') {
          throw new JobError(
            `stopped at "${summary.locked?.step}": the lake lock is held by ${summary.locked?.by}; run the same backfill again to resume (${summary.ran} steps ran, ${summary.resumed} were done before)`,
          );
        }
        io.out(`Backfill ${o.from}..${o.to}: ${summary.steps} steps, ${summary.ran} ran, ${summary.resumed} done by an earlier run`);
      } finally {
        engine.close();
      }
    });

  withGlobals(program.command('publish'))
    .description('publish the dashboards: QuickSight datasets, dashboards and snapshots, or the local HTML dashboard and its PDF')
    .option('--require-pdf', 'fail (exit 1) when the PDF snapshot cannot be made (no Chromium) instead of writing the HTML alone')
    .action(async (o: GlobalOpts & { requirePdf?: boolean }) => {
      const loaded = await load(o);
      const config = loaded.config;
      // The publisher is the config's (functions/lib/publish/from-config.ts); a lake it cannot use is bad usage.
      const { openPublisher, PublisherConfigError } = await import('../lib/publish/from-config');
      const opened = await openPublisher(config, await storeFromConfig(config)).catch((err: unknown) => {
        throw err instanceof PublisherConfigError ? new UsageError(err.message) : err;
      });
      let summary: PublishSummary;
      try {
        const { publish } = await import('../lib/jobs/publish');
        summary = await publish(opened.publisher, config, { onProgress: progressOf(io, 'publish') });
      } finally {
        opened.close();
      }
      printPublishSummary(io, summary);
      if (summary.publisher === 'html') {
        for (const d of summary.dashboards) io.out(`HTML: ${d.location}`);
        for (const s of summary.snapshots) for (const f of s.outputs.filter((x) => x.endsWith('.pdf'))) io.out(`PDF:  ${f}`);
      }
      const failed = summary.snapshots.filter((s) => s.status === 'FAILED' || (o.requirePdf && s.status === 'SKIPPED'));
      if (failed.length)
        throw new JobError(`snapshot ${failed[0]!.dashboardId} ${failed[0]!.status === 'SKIPPED' ? 'not made' : 'failed'}: ${failed[0]!.error}`);
      if (summary.status === 'failed') throw new JobError('a dataset import or refresh, or a dashboard version, failed (listed above)');
    });

  withGlobals(program.command('demo'))
    .description('generate telemetry, then run every stage that exists, in order, and show where each output is')
    .option('--users <n>', 'developers', positiveInt('--users'), 200)
    .option('--days <d>', 'days of activity', positiveInt('--days'), 14)
    .option('--seed <s>', 'random seed', '42')
    .option('--end <date>', 'last day, YYYY-MM-DD (default: today, UTC, as far as it has arrived by now)', isoDate('--end'))
    .option('--faults', 'inject delivery faults into the generated lake')
    .option('--anomalies', 'inject labelled anomalies for the detectors to find (needs --days 28 or more)')
    .action(async (o: GlobalOpts & { users: number; days: number; seed: string; end?: string; faults?: boolean; anomalies?: boolean }) => {
      const loaded = await load(o);
      const store = await localStoreOf(loaded, 'demo');
      const { runDemo } = await import('./demo');
      await runDemo(io, store, loaded.config, {
        users: o.users,
        days: o.days,
        seed: o.seed,
        end: o.end ?? todayUtc(),
        faults: !!o.faults,
        anomalies: !!o.anomalies,
      });
    });

  registerExportCommands(program, io);
  registerImportCommands(program, io);
  registerEraseCommand(program, io);
  registerDoctorCommand(program, io);

  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s), progress: process.stderr }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other commander error is bad usage (it already printed why).
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2;
    }
    // ConfigError by name: importing its module would load the config schema at every start.
    if ((err instanceof Error && err.name === 'ConfigError') || err instanceof UsageError) {
      io.err(`cclake: ${err.message}`);
      return 2;
    }
    if (err instanceof RangeError) {
      io.err(`cclake: ${err.message}`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.err(`cclake: ${message.split('\n')[0]}`);
    if (process.env.CCLAKE_DEBUG && err instanceof Error) io.err(err.stack ?? '');
    return 1;
  }
}
