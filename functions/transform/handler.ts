/**
 * Kinesis Data Firehose data-transformation Lambda: Claude Code telemetry (CloudWatch Logs
 * subscription payloads, OTLP/JSON, EMF) -> newline-delimited JSON raw records for Firehose's
 * Parquet record-format conversion. All logic lives in `transformBatch`; this shell reads the
 * environment, logs a one-line summary and returns the response.
 *
 * Env: CCLAKE_KEEP_CONTENT=true keeps content attributes (prompts, responses, tool input).
 * Keep the processor's BufferSizeInMBs at 1 MB so responses stay far below Lambda's 6 MB limit.
 */
import { randomUUID } from 'node:crypto';
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { instrumentedRun, jobRuntime, type RunMetric } from '../lib/ops/run';
import { transformBatch, type TransformSummary } from '../lib/telemetry/firehose';

const rt = jobRuntime('transform');
const MAX_LOGGED_ERRORS = 50;

/** The batch's EMF metrics: ProcessingFailed records land in raw-errors/, so they are alarmed on. */
export function transformMetrics(s: TransformSummary): RunMetric[] {
  return [
    ['RecordsIn', 'Count', s.recordsIn],
    ['RowsOut', 'Count', s.rowsOut],
    ['RecordsDropped', 'Count', s.dropped],
    ['ProcessingFailed', 'Count', s.processingFailed],
    ['ContentAttributesDropped', 'Count', s.contentAttributesDropped],
    ['ResponseBytes', 'Bytes', s.responseBytes],
  ];
}

export const handler = async (event: FirehoseTransformationEvent, context?: Pick<Context, 'awsRequestId'>): Promise<FirehoseTransformationResult> => {
  const keepContentAttributes = process.env.CCLAKE_KEEP_CONTENT === 'true';
  let summary: TransformSummary | undefined;
  const response = await instrumentedRun(
    rt,
    context ?? { awsRequestId: randomUUID() },
    async () => {
      const out = transformBatch(event, { keepContentAttributes });
      summary = out.summary;
      const { errors, ...counts } = out.summary;
      rt.logger.info('firehose transform', {
        ...counts,
        keepContentAttributes,
        errors: errors.slice(0, MAX_LOGGED_ERRORS),
        errorsNotLogged: Math.max(0, errors.length - MAX_LOGGED_ERRORS),
      });
      return out.response;
    },
    () => (summary ? transformMetrics(summary) : []),
  );
  return response;
};
