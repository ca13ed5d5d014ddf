/**
 * Daily rollup function (EventBridge Scheduler, after compaction and the catalog sync). Thin: read
 * the config, write the seeds, apply the versioned SQL and compute the rollup tables on Athena
 * (functions/lib/jobs/rollup.ts), log the run summary as one JSON line, return it.
 *
 * The event is `{}` ("the days that changed"), `{ "dt": "YYYY-MM-DD" }` (one day),
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }` (a range; `from` alone is that one day) or
 * `{ "intraday": true }` (the hourly run: today so far into the intraday tables, after re-creating
 * the Athena view `events_tail`), nothing else.
 *
 * The engine is Athena, always: a deployed lake is on S3, and the bundle must not carry DuckDB (a
 * local lake is the CLI's). Catalog entries Glue refused are logged as a warning, not thrown: the
 * commits are written, and the hourly partitions function repairs the partitions from them.
 *
 * The SQL files are read from `sql/` beside the bundle (serverless.yml ships `sql/**` in rollup.zip;
 * functions/lib/bundled.ts says where).
 */
import { existsSync } from 'node:fs';
import { BUNDLED_SQL_DIR } from '../lib/bundled';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { rollup, type RollupDay, type RollupSummary } from '../lib/jobs/rollup';
import { ROLLUP_EVENT, ROLLUP_SHAPE } from '../lib/ops/event';
import type { AthenaTally, RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { readSqlTree } from '../lib/sql/files';
import { storeFromConfig } from '../lib/store/from-config';
import type { DayRange } from '../lib/util/day-range';

export { BUNDLED_SQL_DIR };

export type RollupEvent = DayRange & { intraday?: boolean };
/** The days computed, per table: `{ user_daily: [{ dt, reason, rows, generation }] }`. */
function daysByTable(days: RollupDay[]): Record<string, Pick<RollupDay, 'dt' | 'reason' | 'rows' | 'generation' | 'durationMs'>[]> {
  const out: Record<string, Pick<RollupDay, 'dt' | 'reason' | 'rows' | 'generation' | 'durationMs'>[]> = {};
  for (const { table, dt, reason, rows, generation, durationMs } of days) (out[table] ??= []).push({ dt, reason, rows, generation, durationMs });
  return out;
}

/** The run's EMF metrics, with the Athena queries' bytes scanned and estimated cost. */
export function rollupMetrics(s: RollupSummary, athena: AthenaTally): RunMetric[] {
  return [
    ['TableDaysComputed', 'Count', s.days.length],
    ['RowsWritten', 'Count', s.days.reduce((n, d) => n + (d.rows ?? 0), 0)],
    ['ModelsApplied', 'Count', s.modelsApplied.length],
    ['GenerationsDeleted', 'Count', s.generationsDeleted],
    ['CatalogErrors', 'Count', s.catalogErrors.length],
    ['Locked', 'Count', s.status === 'locked' ? 1 : 0],
    ...athena.metrics(),
  ];
}

export const handler = scheduledHandler({
  job: 'rollup',
  event: { schema: ROLLUP_EVENT, shape: ROLLUP_SHAPE },
  metrics: (s: RollupSummary, { athena }) => rollupMetrics(s, athena),
  run: async ({ event: days, runId, logger, athena }) => {
    const config = configFromEnv();
    if (!existsSync(BUNDLED_SQL_DIR)) throw new Error(`no SQL files at ${BUNDLED_SQL_DIR}: the package must ship sql/** beside functions/`);
    const store = storeFromConfig(config);
    const engine = athenaEngineFromConfig(config, athena.recorder(logger));
    const summary = await rollup(store, catalogFromConfig(config, store), engine, config, { ...days, runId, sql: readSqlTree(BUNDLED_SQL_DIR) });
    const line = {
      runId: summary.runId,
      status: summary.status,
      ...(summary.lockedBy ? { lockedBy: summary.lockedBy } : {}),
      seeds: summary.seeds.map(({ table, action, rows }) => ({ table, action, rows })),
      modelsApplied: summary.modelsApplied,
      viewsApplied: summary.viewsApplied,
      days: daysByTable(summary.days),
      generationsDeleted: summary.generationsDeleted,
      catalogErrors: summary.catalogErrors,
      athena: { queries: athena.queries, bytesScanned: athena.bytesScanned, estimatedCostUsd: athena.estimatedCostUsd },
      durationMs: summary.durationMs,
    };
    if (summary.catalogErrors.length || summary.status === 'locked') logger.warn('rollup run', line);
    else logger.info('rollup run', line);
    return summary;
  },
});

/** The event as the function accepts it: {}, { dt } or { from, to } (functions/lib/ops/event.ts). */
export const parseRollupEvent: (event: unknown) => RollupEvent = handler.parseEvent;
