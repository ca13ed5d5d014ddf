/**
 * Kinesis Data Firehose data-transformation Lambda: Claude Code telemetry (CloudWatch Logs
 * subscription payloads, OTLP/JSON, EMF) -> newline-delimited JSON raw records for Firehose's
 * Parquet record-format conversion. All logic lives in `transformBatch`; this shell reads the
 * environment, logs a one-line summary and returns the response.
 *
 * Env: CCLAKE_KEEP_CONTENT=true keeps content attributes (prompts, responses, tool input).
 * Keep the processor's BufferSizeInMBs at 1 MB so responses stay far below Lambda's 6 MB limit.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { transformBatch } from '../lib/telemetry/firehose';

const logger = new Logger({ serviceName: 'cclake-transform' });
const MAX_LOGGED_ERRORS = 50;

export const handler = async (event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> => {
  const keepContentAttributes = process.env.CCLAKE_KEEP_CONTENT === 'true';
  const { response, summary } = transformBatch(event, { keepContentAttributes });
  const { errors, ...counts } = summary;
  logger.info('firehose transform', {
    ...counts,
    keepContentAttributes,
    errors: errors.slice(0, MAX_LOGGED_ERRORS),
    errorsNotLogged: Math.max(0, errors.length - MAX_LOGGED_ERRORS),
  });
  return response;
};
