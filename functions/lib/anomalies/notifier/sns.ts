/**
 * The SNS notifier: alerts published to one topic with PublishBatch, up to 10 entries and 256 KiB a
 * call (the SNS limits). The message is the alert's JSON; the subject its one-line summary (email
 * subscriptions show it); message attributes carry severity, detector, dt and entity_type so a
 * subscription's filter policy can route, say, only critical alerts to a pager. On a FIFO topic
 * (`.fifo`) every entry also carries MessageDeduplicationId = the alert's id, so SNS itself drops a
 * repeat sent within its five-minute window.
 *
 * Failures: a throttled or failed call, and entries SNS reports as failed through no fault of the
 * sender, are retried with backoff (functions/lib/util/retry.ts); entries failed by the sender's
 * fault (a bad parameter, no permission) and whatever still fails when attempts run out come back as
 * undelivered outcomes with SNS's code and message. Nothing is thrown for a failed send: the
 * delivery ledger keeps those alerts pending for the next run.
 */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandOutput, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import { errorFacts, isTransient, retryPolicy, backoffMs, type RetryOptions } from '../../util/retry';
import type { AlertMessage, Notifier, PublishOutcome } from './port';

/** SNS limits: entries per PublishBatch, bytes per call (all messages and attributes). */
export const SNS_BATCH_ENTRIES = 10;
export const SNS_BATCH_BYTES = 256 * 1024;

/** SNS error codes worth another attempt, beyond the generic throttling and timeout ones. */
const SNS_TRANSIENT = new Set(['ThrottledException', 'InternalErrorException', 'KMSThrottlingException', 'InternalError', 'Throttled']);

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** SNS wants a subject of printable ASCII, no line breaks, under 100 characters. */
export function snsSubject(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

export class SnsNotifier implements Notifier {
  readonly location: string;
  private readonly fifo: boolean;
  private readonly policy;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    retry: RetryOptions = {},
  ) {
    this.location = `sns://${topicArn}`;
    this.fifo = topicArn.endsWith('.fifo');
    this.policy = retryPolicy(retry);
  }

  entry(m: AlertMessage, id: string): PublishBatchRequestEntry {
    return {
      Id: id,
      Message: JSON.stringify(m.body),
      Subject: snsSubject(m.subject),
      MessageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
      ...(this.fifo ? { MessageGroupId: 'cclake-anomalies', MessageDeduplicationId: m.id } : {}),
    };
  }

  async publish(messages: readonly AlertMessage[]): Promise<PublishOutcome[]> {
    const outcomes = new Map<string, PublishOutcome>();
    for (const batch of this.batches(messages)) {
      // Entry ids are positions in the whole call list, so outcomes map back to messages exactly.
      let pending = batch.map(({ message, index }) => ({ message, entry: this.entry(message, `m${index}`) }));
      for (let attempt = 1; pending.length; attempt++) {
        const last = attempt >= this.policy.maxAttempts;
        let response: PublishBatchCommandOutput;
        try {
          response = await this.client.send(new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: pending.map((p) => p.entry) }));
        } catch (err) {
          if (!last && isTransient(err, SNS_TRANSIENT)) {
            await this.policy.sleep(backoffMs(attempt, this.policy));
            continue;
          }
          const f = errorFacts(err);
          const tries = attempt > 1 ? ` after ${attempt} attempts` : '';
          for (const p of pending)
            outcomes.set(p.message.id, {
              id: p.message.id,
              delivered: false,
              error: `PublishBatch to ${this.topicArn} failed${tries}: ${f.name}: ${f.message}`,
            });
          break;
        }
        const byEntry = new Map(pending.map((p) => [p.entry.Id!, p]));
        for (const s of response.Successful ?? []) {
          const p = byEntry.get(s.Id!);
          if (p) outcomes.set(p.message.id, { id: p.message.id, delivered: true, ...(s.MessageId ? { messageId: s.MessageId } : {}) });
        }
        const retry: typeof pending = [];
        for (const f of response.Failed ?? []) {
          const p = byEntry.get(f.Id!);
          if (!p) continue;
          if (!f.SenderFault && !last) retry.push(p);
          else
            outcomes.set(p.message.id, {
              id: p.message.id,
              delivered: false,
              error: `SNS refused the message${f.SenderFault ? '' : ` after ${attempt} attempts`}: ${f.Code}: ${f.Message ?? ''}`.trim(),
            });
        }
        // An entry SNS answered for neither way: not known to be sent, so it is not delivered.
        const answered = new Set([...(response.Successful ?? []).map((s) => s.Id), ...(response.Failed ?? []).map((f) => f.Id)]);
        for (const p of pending)
          if (!answered.has(p.entry.Id)) outcomes.set(p.message.id, { id: p.message.id, delivered: false, error: 'SNS returned no result for the message' });
        pending = retry;
        if (pending.length) await this.policy.sleep(backoffMs(attempt, this.policy));
      }
    }
    return messages.map((m) => outcomes.get(m.id) ?? { id: m.id, delivered: false, error: 'not sent' });
  }

  /** Consecutive groups of at most 10 entries and 256 KiB (a single larger message fails at SNS, reported like any refusal). */
  private batches(messages: readonly AlertMessage[]): { message: AlertMessage; index: number }[][] {
    const out: { message: AlertMessage; index: number }[][] = [];
    let cur: { message: AlertMessage; index: number }[] = [];
    let bytes = 0;
    messages.forEach((message, index) => {
      const e = this.entry(message, `m${index}`);
      const size =
        utf8Length(e.Message!) +
        utf8Length(e.Subject ?? '') +
        Object.entries(e.MessageAttributes ?? {}).reduce((n, [k, v]) => n + utf8Length(k) + utf8Length(v.DataType!) + utf8Length(v.StringValue ?? ''), 0);
      if (cur.length && (cur.length >= SNS_BATCH_ENTRIES || bytes + size > SNS_BATCH_BYTES)) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push({ message, index });
      bytes += size;
    });
    if (cur.length) out.push(cur);
    return out;
  }
}

/** The topic's region, from its ARN (arn:aws:sns:<region>:<account>:<name>). */
export function regionOfTopic(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** An SNS client that makes one attempt per request: retries are the notifier's and must not stack. */
export function snsClientFor(topicArn: string): SNSClient {
  const region = regionOfTopic(topicArn);
  return new SNSClient({ ...(region ? { region } : {}), maxAttempts: 1 });
}
