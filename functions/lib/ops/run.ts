/**
 * What every scheduled function does around its job: a Powertools Logger whose every line carries
 * the run id, and one CloudWatch Embedded Metric Format (EMF) document per run, written to stdout
 * with the summary's numbers (rows, bytes, duration, quarantined objects, Athena bytes scanned and
 * estimated cost...). CloudWatch turns those lines into metrics without any PutMetricData call (so
 * no IAM grant), and serverless.yml's alarms watch them.
 *
 * Every run emits `RunFailed` (1 when the job threw, else 0) and `RunDurationMs`, so "the job ran
 * and failed" and "the job did not run at all" (missing data) are told apart by the alarms.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

/** CloudWatch namespace of every cclake metric; alarms in serverless.yml name it. */
export const METRICS_NAMESPACE = 'cclake';

export type RunMetricUnit = 'Count' | 'Bytes' | 'Milliseconds' | 'None';
/** One metric of a run: name, unit, value. */
export type RunMetric = readonly [name: string, unit: RunMetricUnit, value: number];

export interface JobRuntime {
  readonly job: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The logger and metrics of one function (module scope: created once per Lambda container). */
export function jobRuntime(job: string): JobRuntime {
  const serviceName = `cclake-${job}`;
  return {
    job,
    logger: new Logger({ serviceName }),
    // Dimension `service` = cclake-<job> (Powertools' default dimension), one series per function.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/** The run id of an invocation: the first 8 hex digits of Lambda's request id (as the lock files name it). */
export function runIdOf(context: Pick<Context, 'awsRequestId'>): string {
  return context.awsRequestId.replace(/-/g, '').slice(0, 8);
}

const UNITS: Record<RunMetricUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Bytes: MetricUnit.Bytes,
  Milliseconds: MetricUnit.Milliseconds,
  None: MetricUnit.NoUnit,
};

/**
 * Runs `work` with the run id on every log line, then writes the run's metrics as one EMF document,
 * whether the job returned or threw (a throw is logged with its stack and re-thrown, so Lambda
 * records the failure and the on-failure destination receives the event).
 */
export async function instrumentedRun<S>(
  rt: JobRuntime,
  context: Pick<Context, 'awsRequestId'>,
  work: (runId: string) => Promise<S>,
  metricsOf: (summary: S) => readonly RunMetric[],
): Promise<S> {
  const runId = runIdOf(context);
  const started = performance.now();
  rt.logger.appendKeys({ runId });
  try {
    const summary = await work(runId);
    for (const [name, unit, value] of metricsOf(summary)) {
      if (Number.isFinite(value)) rt.metrics.addMetric(name, UNITS[unit], value);
    }
    rt.metrics.addMetric('RunFailed', MetricUnit.Count, 0);
    return summary;
  } catch (err) {
    rt.metrics.addMetric('RunFailed', MetricUnit.Count, 1);
    rt.logger.error(`${rt.job} run failed`, err as Error);
    throw err;
  } finally {
    rt.metrics.addMetric('RunDurationMs', MetricUnit.Milliseconds, Math.round(performance.now() - started));
    rt.metrics.addMetadata('runId', runId);
    rt.metrics.publishStoredMetrics();
    rt.logger.removeKeys(['runId']);
  }
}

/** Athena's list price in most regions: USD 5 per TB scanned (10^12 bytes)... */
export const ATHENA_USD_PER_TB = 5;
/** ...billed per query in whole megabytes, with a 10 MB minimum (cancelled and failed queries too). */
const ATHENA_MIN_BILLED_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;

/** Athena's bytes billed for one query that scanned `bytes` (null: unknown, counted as the minimum). */
export function athenaBilledBytes(bytes: number | null): number {
  return Math.max(ATHENA_MIN_BILLED_BYTES, Math.ceil((bytes ?? 0) / MB) * MB);
}

/** Totals of the Athena queries of one run, fed by AthenaEngine's per-query `log` callback. */
export class AthenaTally {
  queries = 0;
  bytesScanned = 0;
  bytesBilled = 0;

  /** The AthenaEngine `log` callback shape: `{ queryId, bytesScanned, ... }`. */
  add(event: Record<string, unknown>): void {
    const bytes = typeof event.bytesScanned === 'number' ? event.bytesScanned : null;
    this.queries += 1;
    this.bytesScanned += bytes ?? 0;
    this.bytesBilled += athenaBilledBytes(bytes);
  }

  /** The AthenaEngine `log` callback: each query is counted and logged (query id, bytes scanned, state). */
  recorder(logger: Pick<Logger, 'info'>): (event: Record<string, unknown>) => void {
    return (event) => {
      this.add(event);
      logger.info('athena query', event);
    };
  }

  get estimatedCostUsd(): number {
    return (this.bytesBilled / 1e12) * ATHENA_USD_PER_TB;
  }

  metrics(): RunMetric[] {
    return [
      ['AthenaQueries', 'Count', this.queries],
      ['AthenaBytesScanned', 'Bytes', this.bytesScanned],
      // In micro-dollars: CloudWatch keeps values as doubles, but alarms and dashboards read integers better.
      ['AthenaEstimatedCostMicroUsd', 'None', Math.round(this.estimatedCostUsd * 1e6)],
    ];
  }
}
