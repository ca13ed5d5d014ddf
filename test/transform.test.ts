import { readFileSync } from 'node:fs';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { decodePayload } from '../functions/lib/telemetry/decode';
import { fromFirehoseJson, LAMBDA_RESPONSE_LIMIT, SIZE_LIMIT_REASON, transformBatch } from '../functions/lib/telemetry/firehose';
import { handler } from '../functions/transform/handler';
import { RAW_RECORD } from '../schemas/raw-record';
import { cloudWatchPayload } from './helpers/cloudwatch';

const FIX = new URL('../fixtures/otlp/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIX));
const b64 = (x: Uint8Array | string) => Buffer.from(x).toString('base64');

function event(datas: (Uint8Array | string)[]): FirehoseTransformationEvent {
  return {
    invocationId: 'inv-1',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake-telemetry',
    region: 'us-east-1',
    records: datas.map((d, i) => ({ recordId: `rec-${i}-${'x'.repeat(i % 3)}`, approximateArrivalTimestamp: 1773151400000 + i, data: b64(d) })),
  };
}

const cwPayload = (messages: unknown[], messageType = 'DATA_MESSAGE') => cloudWatchPayload(messages, messageType);

const emf = (i: number, pad = '') => ({
  OTelLib: 'com.anthropic.claude_code',
  'session.id': `session-${i}`,
  'user.id': `user-${i % 17}`,
  type: 'input',
  model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  note: pad,
  _aws: {
    Timestamp: 1773151440000 + i,
    CloudWatchMetrics: [{ Namespace: 'ClaudeCode', Dimensions: [['OTelLib']], Metrics: [{ Name: 'claude_code.token.usage', Unit: 'tokens' }] }],
  },
  'claude_code.token.usage': i,
});

const decodeOk = (data: string) =>
  Buffer.from(data, 'base64')
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('transformBatch: the Firehose contract', () => {
  const logs = fixture('claude-code-logs.json');
  const metrics = fixture('claude-code-metrics.json');
  const inputs = [
    logs,
    cwPayload([], 'CONTROL_MESSAGE'),
    fixture('bad/not-json.json'),
    cwPayload([emf(1), emf(2)]),
    JSON.stringify({ resourceLogs: [] }),
    fixture('bad/no-timestamp.json'),
    metrics,
  ];
  const ev = event(inputs);
  const { response, summary } = transformBatch(ev);

  it('returns exactly one entry per recordId, in order', () => {
    expect(response.records.map((r) => r.recordId)).toEqual(ev.records.map((r) => r.recordId));
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'Dropped', 'ProcessingFailed', 'Ok', 'Dropped', 'ProcessingFailed', 'Ok']);
    expect(summary).toMatchObject({ recordsIn: 7, ok: 3, dropped: 2, processingFailed: 2, sizeLimited: 0, rowsOut: 6 + 2 + 15, contentAttributesDropped: 2 });
  });

  it('Ok rows decode back to the records decodePayload produces', () => {
    const rows = decodeOk(response.records[0]!.data!);
    const expected = decodePayload(logs).records;
    expect(rows.map(fromFirehoseJson)).toEqual(expected);
    for (const row of rows) {
      for (const k of Object.keys(row)) expect(RAW_RECORD.columns.some((c) => c.name === k)).toBe(true);
      expect(Object.values(row)).not.toContain(null);
      expect(typeof row.event_time).toBe('number'); // epoch millis
      expect(typeof row.attributes).toBe('object');
    }
    expect(rows[1]).toMatchObject({ input_tokens: 1234, cost_usd: 0.0123, ttft_ms: 412.5, event_time: Date.parse('2026-03-10T14:03:04.876Z') });
    const m = decodeOk(response.records[6]!.data!);
    expect(m.map(fromFirehoseJson)).toEqual(decodePayload(metrics).records);
    expect(m[0]!.start_time).toBe(Date.parse('2026-03-10T14:03:00Z'));
    expect(decodeOk(response.records[3]!.data!).map((r) => r.value)).toEqual([1, 2]);
  });

  it('never lets content through, and ProcessingFailed keeps the original data', () => {
    const all = response.records.filter((r) => r.result === 'Ok').map((r) => Buffer.from(r.data!, 'base64').toString());
    expect(all.join('')).not.toContain('<REDACTED>');
    expect(all.join('')).not.toContain('SECRET_TAX_TABLE_LOOKUP');
    expect(response.records[2]!.data).toBe(ev.records[2]!.data);
    expect(response.records[5]!.data).toBe(ev.records[5]!.data);
    expect(summary.errors.map((e) => e.recordId)).toEqual([ev.records[2]!.recordId, ev.records[5]!.recordId]);
    expect(summary.errors[0]!.reason).toMatch(/^not JSON/);
    expect(summary.errors[1]!.reason).toContain('has no timestamp');
  });

  it('gives every record a data string, Dropped ones an empty one (Firehose requires data on every record)', () => {
    for (const r of response.records) expect(typeof r.data).toBe('string');
    const dropped = response.records.filter((r) => r.result === 'Dropped');
    expect(dropped).toHaveLength(2);
    for (const r of dropped) expect(r).toEqual({ recordId: r.recordId, result: 'Dropped', data: '' });
    // The size accounting counts the empty data too.
    expect(summary.responseBytes).toBe(Buffer.byteLength(JSON.stringify(response)));
  });

  it('keeps content when opted in', () => {
    const kept = transformBatch(event([logs]), { keepContentAttributes: true });
    expect(Buffer.from(kept.response.records[0]!.data!, 'base64').toString()).toContain('<REDACTED>');
    expect(kept.summary.contentAttributesDropped).toBe(0);
  });

  it('survives garbage input without throwing', () => {
    const weird = {
      invocationId: 'x',
      deliveryStreamArn: 'a',
      region: 'r',
      records: [{ recordId: 'r1', approximateArrivalTimestamp: 0, data: '%%%not-base64' }],
    } as FirehoseTransformationEvent;
    const r = transformBatch(weird);
    expect(r.response.records).toHaveLength(1);
    expect(r.response.records[0]!.recordId).toBe('r1');
    expect(['ProcessingFailed', 'Dropped']).toContain(r.response.records[0]!.result);
    expect(transformBatch({} as FirehoseTransformationEvent).response).toEqual({ records: [] });
  });
});

describe('transformBatch: response size budget', () => {
  it('fails the records past a small budget with their original data', () => {
    const inputs = Array.from({ length: 6 }, (_, k) => cwPayload(Array.from({ length: 50 }, (_, i) => emf(k * 100 + i))));
    const ev = event(inputs);
    const full = transformBatch(ev);
    expect(full.summary.ok).toBe(6);
    const okBytes = JSON.stringify(full.response).length;
    const budget = Math.floor(okBytes / 2);
    const { response, summary } = transformBatch(ev, { responseBudgetBytes: budget });
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThanOrEqual(budget);
    expect(summary.sizeLimited).toBeGreaterThan(0);
    expect(summary.ok).toBeGreaterThan(0);
    const firstFailed = response.records.findIndex((r) => r.result === 'ProcessingFailed');
    response.records.forEach((r, i) => {
      expect(r.recordId).toBe(ev.records[i]!.recordId);
      if (i >= firstFailed) {
        expect(r.result).toBe('ProcessingFailed');
        expect(r.data).toBe(ev.records[i]!.data);
      } else expect(r.result).toBe('Ok');
    });
    expect(summary.errors.every((e) => e.reason === SIZE_LIMIT_REASON)).toBe(true);
    expect(summary.responseBytes).toBe(Buffer.byteLength(JSON.stringify(response)));
  });

  it('keeps a real batch under 6 MB', () => {
    // Compressible CloudWatch payloads that expand to ~1.5 MB of base64 rows each: 6 of them would be ~9 MB.
    const pad = 'p'.repeat(600);
    const inputs = Array.from({ length: 6 }, (_, k) => cwPayload(Array.from({ length: 1200 }, (_, i) => emf(k * 10_000 + i, pad))));
    const ev = event(inputs);
    const { response, summary } = transformBatch(ev);
    const size = Buffer.byteLength(JSON.stringify(response));
    expect(size).toBeLessThan(LAMBDA_RESPONSE_LIMIT);
    expect(summary.ok).toBeGreaterThan(0);
    expect(summary.sizeLimited).toBeGreaterThan(0);
    expect(summary.ok + summary.sizeLimited).toBe(6);
    expect(response.records.map((r) => r.recordId)).toEqual(ev.records.map((r) => r.recordId));
  });
});

describe('handler', () => {
  it('returns the transformBatch response and honours CCLAKE_KEEP_CONTENT', async () => {
    const ev = event([fixture('claude-code-logs.json'), cwPayload([], 'CONTROL_MESSAGE')]);
    const res = await handler(ev);
    expect(res).toEqual(transformBatch(ev).response);
    process.env.CCLAKE_KEEP_CONTENT = 'true';
    try {
      const kept = await handler(ev);
      expect(Buffer.from(kept.records[0]!.data!, 'base64').toString()).toContain('<REDACTED>');
    } finally {
      delete process.env.CCLAKE_KEEP_CONTENT;
    }
  });
});
