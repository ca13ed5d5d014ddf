/**
 * The SNS notifier against the real SDK v3 client with aws-sdk-client-mock (no network): exact
 * PublishBatch shapes, batches cut at 10 entries and 256 KiB, FIFO deduplication ids, entries that
 * failed through no fault of the sender retried, sender faults reported, a throttled call retried,
 * and delivery keeping what SNS would not take pending for the next run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PublishBatchCommand, SNSClient, SNSServiceException, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { modelCheckedMock } from './helpers/aws-model';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { makeAnomaly, type Anomaly } from '../functions/lib/anomalies/anomaly';
import { anomalyMessage, deliver, loadLedger } from '../functions/lib/anomalies/delivery';
import { regionOfTopic, snsSubject, SnsNotifier } from '../functions/lib/anomalies/notifier/sns';
import { parseConfig } from '../functions/lib/config/load';
import { LocalObjectStore } from '../functions/lib/store/local';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:cclake-alerts';
const FIFO = 'arn:aws:sns:eu-west-1:123456789012:cclake-alerts.fifo';
const sns = modelCheckedMock(SNSClient);
const noSleep = { sleep: async () => {}, maxAttempts: 4 };
const notifier = (topic = TOPIC) => new SnsNotifier(new SNSClient({ region: 'eu-west-1', maxAttempts: 1 }), topic, noSleep);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const anomaly = (i: number, message = `Cost of developer u${i} on 2026-11-18 was $100.00.`): Anomaly =>
  makeAnomaly({
    dt: '2026-11-18',
    detector: 'cost_spike',
    entityType: 'user',
    entity: `u${i}@acme.example`,
    observed: 100,
    baseline: 10,
    score: 9,
    severity: i % 2 ? 'warning' : 'critical',
    message,
    details: { ratio: 10 },
  });

function snsError(name: string, status: number, message = `${name} (simulated)`): SNSServiceException {
  return new SNSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

const inputs = () => sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input as PublishBatchCommandInput);
const allOk = (input: PublishBatchCommandInput) => ({
  Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id!, MessageId: `mid-${e.Id}` })),
  Failed: [],
});

beforeEach(() => {
  sns.reset();
});

describe('SnsNotifier', () => {
  it('publishes one entry per alert with the JSON payload, a one-line subject and filterable attributes', async () => {
    sns.on(PublishBatchCommand).callsFake(allOk);
    const a = anomaly(0);
    const out = await notifier().publish([anomalyMessage(a)]);
    expect(out).toEqual([{ id: a.id, delivered: true, messageId: 'mid-m0' }]);
    expect(inputs()).toEqual([
      {
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [
          {
            Id: 'm0',
            Message: JSON.stringify({
              kind: 'anomaly',
              anomaly_id: a.id,
              dt: '2026-11-18',
              detector: 'cost_spike',
              entity_type: 'user',
              entity: 'u0@acme.example',
              observed: 100,
              baseline: 10,
              score: 9,
              severity: 'critical',
              message: 'Cost of developer u0 on 2026-11-18 was $100.00.',
              details: { ratio: 10 },
            }),
            Subject: '[critical] 2026-11-18 cost_spike user u0@acme.example',
            MessageAttributes: {
              severity: { DataType: 'String', StringValue: 'critical' },
              detector: { DataType: 'String', StringValue: 'cost_spike' },
              dt: { DataType: 'String', StringValue: '2026-11-18' },
              entity_type: { DataType: 'String', StringValue: 'user' },
            },
          },
        ],
      },
    ]);
  });

  it('cuts batches at 10 entries, and at 256 KiB', async () => {
    sns.on(PublishBatchCommand).callsFake(allOk);
    const out = await notifier().publish(Array.from({ length: 23 }, (_, i) => anomalyMessage(anomaly(i))));
    expect(out.every((o) => o.delivered)).toBe(true);
    expect(inputs().map((i) => i.PublishBatchRequestEntries!.map((e) => e.Id))).toEqual([
      Array.from({ length: 10 }, (_, i) => `m${i}`),
      Array.from({ length: 10 }, (_, i) => `m${i + 10}`),
      ['m20', 'm21', 'm22'],
    ]);
    sns.reset();
    sns.on(PublishBatchCommand).callsFake(allOk);
    const big = Array.from({ length: 6 }, (_, i) => anomalyMessage(anomaly(i, 'x'.repeat(100 * 1024))));
    await notifier().publish(big);
    expect(inputs().map((i) => i.PublishBatchRequestEntries!.length)).toEqual([2, 2, 2]);
    for (const i of inputs()) expect(Buffer.byteLength(i.PublishBatchRequestEntries!.map((e) => e.Message).join(''))).toBeLessThanOrEqual(256 * 1024);
  });

  it('on a FIFO topic, deduplicates by the alert id', async () => {
    sns.on(PublishBatchCommand).callsFake(allOk);
    const a = anomaly(1);
    await notifier(FIFO).publish([anomalyMessage(a)]);
    expect(inputs()[0]!.PublishBatchRequestEntries![0]).toMatchObject({ MessageGroupId: 'cclake-anomalies', MessageDeduplicationId: a.id });
    expect(inputs()[0]!.TopicArn).toBe(FIFO);
  });

  it('retries entries that failed through no fault of the sender, and only those', async () => {
    sns
      .on(PublishBatchCommand)
      .resolvesOnce({
        Successful: [
          { Id: 'm0', MessageId: 'a' },
          { Id: 'm2', MessageId: 'c' },
        ],
        Failed: [{ Id: 'm1', Code: 'InternalError', Message: 'try again', SenderFault: false }],
      })
      .resolvesOnce({ Successful: [{ Id: 'm1', MessageId: 'b' }], Failed: [] });
    const msgs = [0, 1, 2].map((i) => anomalyMessage(anomaly(i)));
    const out = await notifier().publish(msgs);
    expect(out.map((o) => [o.delivered, o.messageId])).toEqual([
      [true, 'a'],
      [true, 'b'],
      [true, 'c'],
    ]);
    expect(inputs().map((i) => i.PublishBatchRequestEntries!.map((e) => e.Id))).toEqual([['m0', 'm1', 'm2'], ['m1']]);
  });

  it('reports sender faults without retrying them, and entries still failing after the last attempt', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: [],
      Failed: input.PublishBatchRequestEntries!.map((e) =>
        e.Id === 'm0'
          ? { Id: 'm0', Code: 'InvalidParameter', Message: 'Subject too long', SenderFault: true }
          : { Id: e.Id!, Code: 'Throttled', Message: 'Rate exceeded', SenderFault: false },
      ),
    }));
    const out = await notifier().publish([anomalyMessage(anomaly(0)), anomalyMessage(anomaly(1))]);
    expect(out).toEqual([
      { id: anomaly(0).id, delivered: false, error: 'SNS refused the message: InvalidParameter: Subject too long' },
      { id: anomaly(1).id, delivered: false, error: 'SNS refused the message after 4 attempts: Throttled: Rate exceeded' },
    ]);
    expect(inputs().map((i) => i.PublishBatchRequestEntries!.map((e) => e.Id))).toEqual([['m0', 'm1'], ['m1'], ['m1'], ['m1']]);
  });

  it('retries a throttled call, and reports every entry when the call keeps failing or is refused', async () => {
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(snsError('ThrottledException', 400, 'Rate exceeded'))
      .callsFake(allOk);
    expect((await notifier().publish([anomalyMessage(anomaly(0))]))[0]!.delivered).toBe(true);
    expect(inputs()).toHaveLength(2);

    sns.reset();
    sns.on(PublishBatchCommand).rejects(snsError('ThrottledException', 400, 'Rate exceeded'));
    const out = await notifier().publish([anomalyMessage(anomaly(0))]);
    expect(out[0]).toEqual({
      id: anomaly(0).id,
      delivered: false,
      error: `PublishBatch to ${TOPIC} failed after 4 attempts: ThrottledException: Rate exceeded`,
    });
    expect(inputs()).toHaveLength(4);

    sns.reset();
    sns.on(PublishBatchCommand).rejects(snsError('AuthorizationErrorException', 403, 'not allowed to publish'));
    const denied = await notifier().publish([anomalyMessage(anomaly(0)), anomalyMessage(anomaly(1))]);
    expect(denied.map((o) => o.error)).toEqual(Array(2).fill(`PublishBatch to ${TOPIC} failed: AuthorizationErrorException: not allowed to publish`));
    expect(inputs()).toHaveLength(1);
  });

  it('keeps subjects to printable ASCII under 100 characters, and reads the region from the ARN', () => {
    expect(snsSubject(`[warning] 2026-11-18 cost_spike user zoë@acme.example\n${'x'.repeat(200)}`)).toHaveLength(100);
    expect(snsSubject('zoë\n')).toBe('zo??');
    expect(regionOfTopic(TOPIC)).toBe('eu-west-1');
  });
});

describe('delivery through SNS', () => {
  it('marks delivered only what SNS accepted; a rerun sends only what is still pending', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cclake-anomalies-sns-'));
    dirs.push(dir);
    const store = new LocalObjectStore(dir);
    const config = parseConfig({});
    const found = [anomaly(0), anomaly(1), anomaly(2)];
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: input.PublishBatchRequestEntries!.filter((e) => !e.Message!.includes('u1@')).map((e) => ({ Id: e.Id!, MessageId: `mid-${e.Id}` })),
      Failed: input
        .PublishBatchRequestEntries!.filter((e) => e.Message!.includes('u1@'))
        .map((e) => ({ Id: e.Id!, Code: 'KMSAccessDenied', Message: 'no key access', SenderFault: true })),
    }));
    const first = await deliver(store, notifier(), found, new Set(['2026-11-18']), config, Date.now());
    expect(first).toMatchObject({
      attempted: 3,
      delivered: 2,
      failed: [{ id: found[1]!.id, error: 'SNS refused the message: KMSAccessDenied: no key access' }],
    });
    expect(Object.keys((await loadLedger(store)).delivered).sort()).toEqual([found[0]!.id, found[2]!.id].sort());

    sns.reset();
    sns.on(PublishBatchCommand).callsFake(allOk);
    const second = await deliver(store, notifier(), found, new Set(['2026-11-18']), config, Date.now());
    expect(second).toMatchObject({ alreadyDelivered: 2, attempted: 1, delivered: 1, failed: [] });
    expect(inputs().flatMap((i) => i.PublishBatchRequestEntries!.map((e) => JSON.parse(e.Message!).entity))).toEqual(['u1@acme.example']);
    const third = await deliver(store, notifier(), found, new Set(['2026-11-18']), config, Date.now());
    expect(third).toMatchObject({ alreadyDelivered: 3, attempted: 0 });
    expect(inputs()).toHaveLength(1);
  });
});
