/**
 * The ingest path's record shapes, end to end through the Firehose transform: what the collector in
 * collector/ writes is what the transform decodes, on both paths (issue 17 section 1).
 *  - kinesis path: the awskinesis exporter (encoding otlp_json, compression none) puts one Kinesis
 *    record per ResourceLogs / ResourceMetrics, each a complete OTLP export request; Firehose hands
 *    each Kinesis record to the transform as one record (fixtures/ingest/kinesis-otlp-json-*.json).
 *  - cloudwatch path: the awscloudwatchlogs exporter writes one log event per log record, awsemf one
 *    EMF document per metric batch; the subscription gzips them into one envelope per delivery.
 */
import { readFileSync } from 'node:fs';
import { constants, gzipSync } from 'node:zlib';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fromFirehoseJson, transformBatch } from '../functions/lib/telemetry/firehose';
import { RAW_RECORD } from '../schemas/raw-record';
import { cloudWatchPayload } from './helpers/cloudwatch';

const root = new URL('../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root));
const b64 = (x: Uint8Array | string) => Buffer.from(x).toString('base64');

/** A Firehose transformation event as Firehose sends it when a Kinesis Data Stream is the source. */
function kinesisSourced(datas: Uint8Array[]): FirehoseTransformationEvent {
  return {
    invocationId: 'inv-k',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake-test-raw',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/cclake-test-IngestStream',
    region: 'us-east-1',
    records: datas.map((d, i) => ({
      recordId: `4960${i}`,
      approximateArrivalTimestamp: 1796463602000 + i,
      data: b64(d),
      kinesisRecordMetadata: {
        shardId: 'shardId-000000000000',
        partitionKey: `pk-${i}`,
        approximateArrivalTimestamp: 1796463602000 + i,
        sequenceNumber: `4959${i}`,
        subsequenceNumber: '0',
      },
    })),
  };
}

function okRows(event: FirehoseTransformationEvent) {
  const out = transformBatch(event);
  expect(out.summary.errors).toEqual([]);
  expect(out.response.records.map((r) => r.result)).toEqual(event.records.map(() => 'Ok'));
  return out.response.records.map((r) =>
    Buffer.from(r.data!, 'base64')
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => fromFirehoseJson(JSON.parse(l))),
  );
}

const IDENTITY = { user_email: 'ana@example.com', team_id: 'payments', department: 'engineering', cost_center: 'CC-4410', project: 'checkout' };

describe('collector config (collector/otel-collector.yaml)', () => {
  const cfg = parse(read('collector/otel-collector.yaml').toString('utf8'));

  it('receives OTLP on gRPC 4317 and HTTP 4318 with request metadata, and sends logs, metrics and traces to the Kinesis stream as uncompressed OTLP/JSON', () => {
    expect(cfg.receivers.otlp.protocols.grpc).toEqual({ endpoint: '0.0.0.0:4317', include_metadata: true });
    expect(cfg.receivers.otlp.protocols.http).toEqual({ endpoint: '0.0.0.0:4318', include_metadata: true });
    expect(cfg.exporters.awskinesis.encoding).toEqual({ name: 'otlp_json', compression: 'none' });
    expect(cfg.exporters.awskinesis.aws.stream_name).toBe('${env:CCLAKE_KINESIS_STREAM}');
    for (const signal of ['logs', 'metrics', 'traces']) {
      const p = cfg.service.pipelines[signal];
      expect(p.receivers).toEqual(['otlp']);
      expect(p.exporters).toEqual(['awskinesis']);
      // memory_limiter first; headers copied before batch (which drops client metadata).
      expect(p.processors).toEqual(['memory_limiter', 'attributes/identity', 'batch']);
    }
  });

  it('copies each identity and cost header to an attribute key the raw record maps to its column', () => {
    const actions = cfg.processors['attributes/identity'].actions as { key: string; from_context: string; action: string }[];
    const column = (key: string) => RAW_RECORD.columns.find((c) => 'otel' in c && (c.otel as readonly string[]).includes(key))?.name;
    expect(Object.fromEntries(actions.map((a) => [a.from_context, column(a.key)]))).toEqual({
      'metadata.x-user-email': 'user_email',
      'metadata.x-team-id': 'team_id',
      'metadata.x-department': 'department',
      'metadata.x-cost-center': 'cost_center',
      'metadata.x-project': 'project',
    });
    expect(new Set(actions.map((a) => a.action))).toEqual(new Set(['insert']));
  });

  it('the CloudWatch variant has the same receivers and processors, and writes log groups', () => {
    const cw = parse(read('collector/otel-collector-cloudwatch.yaml').toString('utf8'));
    expect(cw.receivers).toEqual(cfg.receivers);
    expect(cw.processors).toEqual(cfg.processors);
    expect(cw.service.pipelines.logs.exporters).toEqual(['awscloudwatchlogs']);
    expect(cw.service.pipelines.metrics.exporters).toEqual(['awsemf']);
  });
});

describe('kinesis path: Firehose records as the awskinesis exporter (otlp_json) writes them', () => {
  it('decodes a logs record and a metrics record into exact raw rows, identity columns from the collector-stamped attributes', () => {
    const [logs, metrics] = okRows(
      kinesisSourced([read('fixtures/ingest/kinesis-otlp-json-logs.json'), read('fixtures/ingest/kinesis-otlp-json-metrics.json')]),
    );
    expect(logs).toHaveLength(2);
    expect(logs![0]).toMatchObject({
      signal: 'event',
      name: 'claude_code.api_request',
      event_time: Date.parse('2026-12-05T09:40:00.123Z'),
      session_id: 'sess-1',
      service_name: 'claude-code',
      app_version: '2.1.220',
      model: 'claude-sonnet-4-5-20250929',
      input_tokens: 1200,
      output_tokens: 340,
      cache_read_tokens: 5000,
      cache_creation_tokens: 0,
      cost_usd: 0.01431,
      duration_ms: 2310,
      ...IDENTITY,
    });
    expect(logs![1]).toMatchObject({ name: 'claude_code.tool_result', tool_name: 'Bash', success: true, duration_ms: 87, ...IDENTITY });
    expect(metrics!.map((r) => [r.name, r.metric_type, r.value, r.temporality, r.event_time, r.start_time])).toEqual([
      ['claude_code.token.usage', 'input', 1200, 'delta', Date.parse('2026-12-05T09:40:00Z'), Date.parse('2026-12-05T09:39:00Z')],
      ['claude_code.token.usage', 'output', 340, 'delta', Date.parse('2026-12-05T09:40:00Z'), Date.parse('2026-12-05T09:39:00Z')],
    ]);
    for (const r of metrics!) expect(r).toMatchObject(IDENTITY);
  });

  it('a record the exporter gzip-compressed (flushed, never closed: no trailer) fails to its original data, so nothing is lost; hence compression none', () => {
    const doc = read('fixtures/ingest/kinesis-otlp-json-logs.json');
    const flushed = gzipSync(doc, { finishFlush: constants.Z_SYNC_FLUSH });
    const out = transformBatch(kinesisSourced([flushed]));
    expect(out.response.records).toEqual([{ recordId: '49600', result: 'ProcessingFailed', data: b64(flushed) }]);
    expect(out.summary.errors[0]!.reason).toMatch(/gzip/);
  });
});

describe('cloudwatch path: subscription envelopes of what awscloudwatchlogs and awsemf write', () => {
  it('decodes a log event (awscloudwatchlogs, raw_log false) and an EMF document into exact rows', () => {
    const message = JSON.parse(read('fixtures/ingest/cloudwatch-log-event-message.json').toString('utf8'));
    const emf = {
      _aws: {
        Timestamp: Date.parse('2026-12-05T09:40:00Z'),
        CloudWatchMetrics: [{ Namespace: 'ClaudeCode', Dimensions: [['OTelLib']], Metrics: [{ Name: 'claude_code.token.usage', Unit: 'tokens' }] }],
      },
      OTelLib: 'com.anthropic.claude_code',
      'session.id': 'sess-1',
      type: 'input',
      model: 'claude-sonnet-4-5-20250929',
      'user.email': 'ana@example.com',
      'team.id': 'payments',
      department: 'engineering',
      cost_center: 'CC-4410',
      project: 'checkout',
      'claude_code.token.usage': 1200,
    };
    const [rows] = okRows(kinesisSourced([cloudWatchPayload([message, emf])]));
    expect(rows).toHaveLength(2);
    expect(rows![0]).toMatchObject({
      signal: 'event',
      name: 'claude_code.api_request',
      event_time: Date.parse('2026-12-05T09:40:00.123Z'),
      input_tokens: 1200,
      output_tokens: 340,
      cost_usd: 0.01431,
      ...IDENTITY,
    });
    expect(rows![1]).toMatchObject({ signal: 'metric', name: 'claude_code.token.usage', metric_type: 'input', value: 1200, ...IDENTITY });
  });

  it('drops the subscription CONTROL_MESSAGE', () => {
    const out = transformBatch(kinesisSourced([cloudWatchPayload(['CWL CONTROL MESSAGE: Checking health of destination Firehose.'], 'CONTROL_MESSAGE')]));
    expect(out.response.records).toEqual([{ recordId: '49600', result: 'Dropped', data: '' }]);
  });
});
