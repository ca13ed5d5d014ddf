/**
 * The one shape of a scheduled function (Powertools style: the handler is one call that wires a
 * schema-validated event to the job). `scheduledHandler({ job, event, run, metrics })` returns the
 * Lambda handler, which:
 *   1. validates the event with the strict zod schema (functions/lib/ops/event.ts) before anything
 *      else (a bad event fails before the config is read, naming the key or value);
 *   2. adds the Lambda context to the logger (Powertools `addContext`: request id, function name,
 *      cold start) and the run id to every line;
 *   3. runs `run` inside `instrumentedRun` (functions/lib/ops/run.ts): the run's EMF metrics, with
 *      `RunFailed` and `RunDurationMs`, whether it returned or threw (a throw re-thrown, so the
 *      on-failure destination gets the event).
 * `run` gets a fresh `AthenaTally` per invocation for the jobs that query Athena; `metrics` sees it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { parseEvent, type EventSchema } from './event';
import { AthenaTally, instrumentedRun, jobRuntime, type JobRuntime, type RunMetric } from './run';

/** What `run` and `metrics` get for one invocation. */
export interface Invocation<E, C> {
  event: E;
  runId: string;
  context: C;
  logger: Logger;
  /** The run's Athena queries (pass `athena.recorder(logger)` to the engine). */
  athena: AthenaTally;
}

export interface ScheduledFunction<E, S, C> {
  /** The function's name, as in `cclake-<job>` (logger service, metrics dimension). */
  job: string;
  /** The strict schema of the event, and what it must be, worded for the error. */
  event: { schema: EventSchema<E>; shape: string };
  run: (inv: Invocation<E, C>) => Promise<S>;
  metrics: (summary: S, inv: Invocation<E, C>) => readonly RunMetric[];
}

export type ScheduledHandler<E, S, C> = ((event: unknown, context?: C) => Promise<S>) & {
  /** The event as the function accepts it; anything else throws with the reason. */
  parseEvent: (event: unknown) => E;
  runtime: JobRuntime;
};

export function scheduledHandler<E, S, C extends Pick<Context, 'awsRequestId'> = Pick<Context, 'awsRequestId'>>(
  fn: ScheduledFunction<E, S, C>,
): ScheduledHandler<E, S, C> {
  const rt = jobRuntime(fn.job);
  const parse = (event: unknown) => parseEvent(fn.event.schema, event, fn.job, fn.event.shape);
  const handler = async (raw: unknown, given?: C): Promise<S> => {
    const event = parse(raw);
    const context = given ?? ({ awsRequestId: randomUUID() } as C);
    // The public contract is the full Context; a test or manual invocation may pass less.
    rt.logger.addContext(context as unknown as Context);
    let inv: Invocation<E, C> | undefined;
    return instrumentedRun(
      rt,
      context,
      (runId) => fn.run((inv = { event, runId, context, logger: rt.logger, athena: new AthenaTally() })),
      (summary) => fn.metrics(summary, inv!),
    );
  };
  return Object.assign(handler, { parseEvent: parse, runtime: rt });
}
