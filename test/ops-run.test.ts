/**
 * The scheduled functions' observability wrapper: the run id on every log line, one CloudWatch EMF
 * document per run (success or failure) in the namespace the alarms name, and Athena's billed-bytes
 * arithmetic for the cost estimate.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freshnessMetrics } from '../functions/compact/handler';
import { AthenaTally, athenaBilledBytes, instrumentedRun, jobRuntime, METRICS_NAMESPACE } from '../functions/lib/ops/run';
import { captureStdout } from './helpers/capture';

const emfOf = (lines: Record<string, any>[]) => lines.filter((l) => l._aws?.CloudWatchMetrics);

afterEach(() => vi.restoreAllMocks());
// vitest.config.ts silences the metrics of every other test; these check them.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

describe('instrumentedRun', () => {
  it('logs with the run id and writes one EMF document with the summary metrics, RunFailed 0 and the duration', async () => {
    const rt = jobRuntime('unit');
    const { lines } = await captureStdout(() =>
      instrumentedRun(
        rt,
        { awsRequestId: '1234abcd-0000-1111-2222-333344445555' },
        async (runId) => {
          rt.logger.info('work done', { rows: 7 });
          return { rows: 7, runId };
        },
        (s) => [
          ['RowsOut', 'Count', s.rows],
          ['BytesWritten', 'Bytes', 2048],
          ['NotANumber', 'Count', Number.NaN],
        ],
      ),
    );
    const logLine = lines.find((l) => l.message === 'work done');
    expect(logLine).toMatchObject({ runId: '1234abcd', service: 'cclake-unit', rows: 7 });
    const emf = emfOf(lines);
    expect(emf).toHaveLength(1);
    const doc = emf[0]!;
    const directive = doc._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Dimensions).toEqual([['service']]);
    expect(doc.service).toBe('cclake-unit');
    expect(doc.runId).toBe('1234abcd');
    expect(doc.RowsOut).toBe(7);
    expect(doc.BytesWritten).toBe(2048);
    expect(doc.RunFailed).toBe(0);
    expect(typeof doc.RunDurationMs).toBe('number');
    // A value that is not a number is left out rather than poisoning the document.
    expect(doc).not.toHaveProperty('NotANumber');
    const units = Object.fromEntries(directive.Metrics.map((m: { Name: string; Unit: string }) => [m.Name, m.Unit]));
    expect(units).toMatchObject({ RowsOut: 'Count', BytesWritten: 'Bytes', RunDurationMs: 'Milliseconds', RunFailed: 'Count' });
  });

  it('on a throw logs the error, writes RunFailed 1, re-throws, and the next run has no stale run id', async () => {
    const rt = jobRuntime('unit');
    const failed = await captureStdout(() =>
      instrumentedRun(
        rt,
        { awsRequestId: 'deadbeef-1' },
        async () => {
          throw new Error('lake unreachable');
        },
        () => [['RowsOut', 'Count', 1]],
      ),
    );
    expect(failed.error).toBeInstanceOf(Error);
    expect((failed.error as Error).message).toBe('lake unreachable');
    const errorLine = failed.lines.find((l) => l.level === 'ERROR');
    expect(errorLine).toMatchObject({ runId: 'deadbeef', message: 'unit run failed' });
    expect(JSON.stringify(errorLine)).toContain('lake unreachable');
    const doc = emfOf(failed.lines)[0]!;
    expect(doc.RunFailed).toBe(1);
    expect(doc).not.toHaveProperty('RowsOut');

    const next = await captureStdout(() =>
      instrumentedRun(
        rt,
        { awsRequestId: 'cafe0000-2' },
        async () => {
          rt.logger.info('second');
          return 1;
        },
        () => [],
      ),
    );
    expect(next.lines.find((l) => l.message === 'second')?.runId).toBe('cafe0000');
    expect(emfOf(next.lines)[0]!.RunFailed).toBe(0);
  });
});

describe('compaction freshness metrics', () => {
  const at = (iso: string) => Date.parse(iso);
  it('measure hours since the newest raw hour ended, and the arrival hours compaction is behind', () => {
    const metrics = freshnessMetrics(
      { status: 'completed', rawNewestHourMs: at('2026-11-21T01:00:00Z'), watermarkHourMs: at('2026-11-20T22:00:00Z') },
      at('2026-11-21T05:30:00Z'),
    );
    expect(metrics).toEqual([
      ['RawFreshnessHours', 'None', 3],
      ['CompactionBacklogHours', 'None', 3],
    ]);
    // Within the newest hour itself, telemetry is fresh.
    expect(
      freshnessMetrics(
        { status: 'completed', rawNewestHourMs: at('2026-11-21T05:00:00Z'), watermarkHourMs: at('2026-11-21T05:00:00Z') },
        at('2026-11-21T05:30:00Z'),
      ),
    ).toEqual([
      ['RawFreshnessHours', 'None', 0],
      ['CompactionBacklogHours', 'None', 0],
    ]);
  });
  it('are left out when unknown (empty raw zone, lock held): the alarm treats missing data as breaching', () => {
    expect(freshnessMetrics({ status: 'completed', rawNewestHourMs: null, watermarkHourMs: null }, Date.now())).toEqual([]);
    expect(freshnessMetrics({ status: 'locked', rawNewestHourMs: 1, watermarkHourMs: 1 }, Date.now())).toEqual([]);
  });
});

describe('Athena cost estimate', () => {
  it('bills whole megabytes with a 10 MB minimum per query, at USD 5 per TB', () => {
    const MB = 1024 * 1024;
    expect(athenaBilledBytes(0)).toBe(10 * MB);
    expect(athenaBilledBytes(null)).toBe(10 * MB);
    expect(athenaBilledBytes(10 * MB + 1)).toBe(11 * MB);
    expect(athenaBilledBytes(3 * 1024 * MB)).toBe(3 * 1024 * MB);

    const tally = new AthenaTally();
    tally.add({ queryId: 'a', bytesScanned: 1_000 });
    tally.add({ queryId: 'b', bytesScanned: 2 * 1024 * MB });
    tally.add({ queryId: 'c', bytesScanned: null, state: 'FAILED' });
    expect(tally.queries).toBe(3);
    expect(tally.bytesScanned).toBe(1_000 + 2 * 1024 * MB);
    expect(tally.bytesBilled).toBe(10 * MB + 2 * 1024 * MB + 10 * MB);
    expect(tally.estimatedCostUsd).toBeCloseTo((tally.bytesBilled / 1e12) * 5, 12);
    // As the engine's callback: each query counted and logged.
    const logged: unknown[][] = [];
    tally.recorder({ info: (...args: unknown[]) => void logged.push(args) } as never)({ queryId: 'd', bytesScanned: 0 });
    expect(tally.queries).toBe(4);
    expect(logged).toEqual([['athena query', { queryId: 'd', bytesScanned: 0 }]]);
    expect(Object.fromEntries(tally.metrics().map(([n, , v]) => [n, v]))).toEqual({
      AthenaQueries: 4,
      AthenaBytesScanned: tally.bytesScanned,
      AthenaEstimatedCostMicroUsd: Math.round(tally.estimatedCostUsd * 1e6),
    });
  });
});
