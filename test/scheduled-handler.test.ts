/**
 * The scheduled functions' one shape (functions/lib/ops/scheduled.ts): every function under
 * functions/ but the Firehose transform is `scheduledHandler(...)`; its event is checked by a strict
 * schema before anything runs (an unknown key is named, for the compact function too, which used to
 * take any key); the Lambda context is on every log line (Powertools `addContext`) with the run id;
 * the run's EMF document is written whether the job returned or threw; the Athena tally is the
 * invocation's own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { parseCompactEvent } from '../functions/compact/handler';
import { eventDate } from '../functions/lib/ops/event';
import { scheduledHandler } from '../functions/lib/ops/scheduled';
import { parsePartitionsEvent } from '../functions/partitions/handler';
import { parsePublishEvent } from '../functions/publish/handler';
import { captureStdout } from './helpers/capture';

afterEach(() => vi.restoreAllMocks());
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

const FUNCTIONS = new URL('../functions/', import.meta.url);
const CONTEXT = {
  awsRequestId: 'abcd1234-0000-1111-2222-333344445555',
  functionName: 'cclake-dev-unit',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:cclake-dev-unit',
};

describe('every scheduled function', () => {
  const handlers = readdirSync(FUNCTIONS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'lib' && d.name !== 'cli' && d.name !== 'transform')
    .map((d) => d.name);

  // erase is invoked, not scheduled, but is built by the same factory (strict event, one summary line).
  it('is the eight scheduled functions and the erase function', () =>
    expect(handlers.sort()).toEqual(['anomalies', 'chargeback', 'compact', 'erase', 'evidence', 'import-bill', 'partitions', 'publish', 'rollup']));

  it.each(handlers)('%s is one scheduledHandler with a strict event schema, and reads no SQL of its own', async (name) => {
    const source = readFileSync(new URL(`${name}/handler.ts`, FUNCTIONS), 'utf8');
    expect(source).toMatch(/export const handler = scheduledHandler\(\{\n  job: '[a-z-]+',/);
    expect(source).not.toMatch(/instrumentedRun|jobRuntime|import\.meta\.url/);
    const mod = await import(`../functions/${name}/handler.ts`);
    expect(mod.handler.runtime.job).toBe(name);
    expect(() => mod.handler.parseEvent({ unexpected: 1 })).toThrow(new RegExp(`^the ${name} event (accepts only .*|takes no fields), got "unexpected"$`));
  });
});

describe('events', () => {
  it('the compact function refuses unknown keys, naming them (it used to ignore them)', () => {
    expect(parseCompactEvent(undefined)).toEqual({});
    expect(parseCompactEvent({ dt: '2026-11-20', rebuild: true })).toEqual({ dt: '2026-11-20', rebuild: true });
    expect(() => parseCompactEvent({ dt: '2026-11-20', rebiuld: true })).toThrow('the compact event accepts only "dt" and "rebuild", got "rebiuld"');
    expect(() => parseCompactEvent({ rebuild: 'yes' })).toThrow('event.rebuild must be true or false, got "yes"');
    expect(() => parseCompactEvent({ dt: '2026-11-31' })).toThrow('event.dt must be a date YYYY-MM-DD, got "2026-11-31"');
    expect(() => parseCompactEvent('2026-11-20')).toThrow(/^the compact event must be an object such as \{\}/);
  });

  it('the partitions and publish functions keep their words', () => {
    expect(parsePartitionsEvent({ dryRun: false })).toEqual({ dryRun: false });
    expect(() => parsePartitionsEvent({ dryRun: 'yes' })).toThrow('event.dryRun must be true or false, got "yes"');
    expect(() => parsePartitionsEvent({ dryRun: true, since: 1 })).toThrow('the partitions event accepts only "dryRun", got "since"');
    expect(() => parsePublishEvent([])).toThrow('the publish event must be {}, got []');
  });
});

describe('scheduledHandler', () => {
  const schema = z.strictObject({ dt: eventDate() });
  const unit = (run: (inv: { event: { dt?: string }; runId: string }) => Promise<{ rows: number; queries: number }>) =>
    scheduledHandler({
      job: 'unit',
      event: { schema, shape: '{} or { "dt": "2026-11-20" }' },
      run: async (inv) => {
        inv.athena.add({ bytesScanned: 1 });
        inv.logger.info('unit run', { dt: inv.event.dt ?? 'none' });
        return { ...(await run(inv)), queries: inv.athena.queries };
      },
      metrics: (s, { athena }) => [['RowsOut', 'Count', s.rows], ...athena.metrics()],
    });

  it('checks the event before the job, and runs nothing for a bad one', async () => {
    const run = vi.fn(async () => ({ rows: 1, queries: 0 }));
    await expect(unit(run)({ dt: '2026-11-20', table: 'x' }, CONTEXT)).rejects.toThrow('the unit event accepts only "dt", got "table"');
    await expect(unit(run)(7, CONTEXT)).rejects.toThrow('the unit event must be {} or { "dt": "2026-11-20" }, got 7');
    expect(run).not.toHaveBeenCalled();
  });

  it('logs with the Lambda context and the run id, and writes the EMF document with a fresh Athena tally per invocation', async () => {
    const handler = unit(async ({ runId }) => ({ rows: runId.length, queries: 0 }));
    const first = await captureStdout(() => handler({ dt: '2026-11-20' }, CONTEXT));
    const { lines } = await captureStdout(async () => expect(await handler(undefined, CONTEXT)).toEqual({ rows: 8, queries: 1 }));
    const line = lines.find((l) => l.message === 'unit run');
    expect(line).toMatchObject({
      dt: 'none',
      runId: 'abcd1234',
      service: 'cclake-unit',
      function_name: 'cclake-dev-unit',
      function_request_id: CONTEXT.awsRequestId,
      function_arn: CONTEXT.invokedFunctionArn,
    });
    expect(first.lines.find((l) => l.message === 'unit run')).toMatchObject({ dt: '2026-11-20' });
    const emf = lines.filter((l) => l._aws?.CloudWatchMetrics);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ RowsOut: 8, AthenaQueries: 1, RunFailed: 0, runId: 'abcd1234' });
  });

  it('writes RunFailed 1 and re-throws when the job throws', async () => {
    const { lines, error } = await captureStdout(() => unit(async () => Promise.reject(new Error('boom')))({}, CONTEXT));
    expect((error as Error).message).toBe('boom');
    expect(lines.find((l) => l.message === 'unit run failed')).toMatchObject({ level: 'ERROR', function_request_id: CONTEXT.awsRequestId });
    expect(lines.filter((l) => l._aws?.CloudWatchMetrics)[0]).toMatchObject({ RunFailed: 1 });
  });
});
