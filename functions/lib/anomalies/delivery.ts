/**
 * Delivery with a ledger in the lake (`_cclake/anomalies/delivery.json`), so an anomaly is sent once
 * however often its day is recomputed:
 *
 *  1. New anomalies (ids neither delivered nor already pending) join the ledger's `pending` list,
 *     and the ledger is saved before anything is sent: an alert found is never forgotten, even if
 *     the run dies while sending.
 *  2. Everything pending is sent: one message per anomaly, or, when more than
 *     `anomalies.delivery.digestOver` (20) are pending, one digest message instead of a storm
 *     (counts per detector, severity and day, and the most severe ones in full).
 *  3. Only what the notifier accepted moves from `pending` to `delivered` (with when, how and the
 *     service's message id), and the ledger is saved again. A failed send stays pending and is
 *     retried by the next run. The one window left is a crash between a successful send and that
 *     save: the next run sends it again (at least once; a FIFO topic deduplicates by id).
 *
 * A pending anomaly whose day was recomputed without it (late data showed it was not one) is dropped.
 * Delivered entries are forgotten once their day is past `retention.curatedDays`.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema';
import { ObjectNotFoundError, type ObjectStore } from '../store/port';
import { addDays } from '../util/dates';
import { bySeverity, type Anomaly } from './anomaly';
import type { AlertMessage, Notifier } from './notifier/port';

export const LEDGER_KEY = '_cclake/anomalies/delivery.json';

export interface DeliveredEntry {
  dt: string;
  at: string;
  via: string;
  messageId?: string;
  /** The digest that carried it, when it went in one. */
  digest?: string;
}

export interface Ledger {
  version: 1;
  delivered: Record<string, DeliveredEntry>;
  pending: Anomaly[];
}

export interface DeliverySummary {
  channel: string;
  /** Anomalies of this run already delivered by an earlier run (not sent again). */
  alreadyDelivered: number;
  /** New this run. */
  newAnomalies: number;
  /** Sent this run: new ones and earlier ones still pending. */
  attempted: number;
  messages: number;
  digest: boolean;
  delivered: number;
  /** Still pending after this run, with the reason. */
  failed: { id: string; error: string }[];
}

export async function loadLedger(store: ObjectStore): Promise<Ledger> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(LEDGER_KEY))) as Ledger;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { version: 1, delivered: {}, pending: [] };
    throw err;
  }
}

const saveLedger = (store: ObjectStore, ledger: Ledger) => store.put(LEDGER_KEY, JSON.stringify(ledger, null, 1), { contentType: 'application/json' });

/** The payload subscribers receive for one anomaly (the contract columns, the id and the details). */
export function anomalyPayload(a: Anomaly): Record<string, unknown> {
  return {
    kind: 'anomaly',
    anomaly_id: a.id,
    dt: a.dt,
    detector: a.detector,
    entity_type: a.entityType,
    entity: a.entity,
    observed: a.observed,
    baseline: a.baseline,
    score: a.score,
    severity: a.severity,
    message: a.message,
    details: a.details,
  };
}

export function anomalyMessage(a: Anomaly): AlertMessage {
  return {
    id: a.id,
    kind: 'anomaly',
    subject: `[${a.severity}] ${a.dt} ${a.detector} ${a.entityType} ${a.entity}`,
    body: anomalyPayload(a),
    attributes: { severity: a.severity, detector: a.detector, dt: a.dt, entity_type: a.entityType },
    dts: [a.dt],
  };
}

/** How many of the most severe anomalies a digest carries in full. */
export const DIGEST_TOP = 20;

export function digestMessage(anomalies: readonly Anomaly[]): AlertMessage {
  const sorted = [...anomalies].sort(bySeverity);
  const tally = (key: (a: Anomaly) => string) => {
    const out: Record<string, number> = {};
    for (const a of sorted) out[key(a)] = (out[key(a)] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).sort(([x], [y]) => x.localeCompare(y)));
  };
  const dts = [...new Set(sorted.map((a) => a.dt))].sort();
  const critical = sorted.filter((a) => a.severity === 'critical').length;
  const id = `digest-${createHash('sha256')
    .update(
      sorted
        .map((a) => a.id)
        .sort()
        .join(','),
    )
    .digest('hex')
    .slice(0, 16)}`;
  const span = dts.length > 1 ? `${dts[0]}..${dts.at(-1)}` : dts[0]!;
  return {
    id,
    kind: 'digest',
    subject: `[digest] ${sorted.length} anomalies (${critical} critical) ${span}`,
    body: {
      kind: 'digest',
      digest_id: id,
      anomalies: sorted.length,
      critical,
      by_detector: tally((a) => a.detector),
      by_severity: tally((a) => a.severity),
      by_day: tally((a) => a.dt),
      top: sorted.slice(0, DIGEST_TOP).map(anomalyPayload),
      more: Math.max(0, sorted.length - DIGEST_TOP),
      query: 'SELECT * FROM anomalies ORDER BY dt DESC, severity, score DESC',
    },
    attributes: { severity: critical ? 'critical' : 'warning', detector: 'digest', dt: dts.at(-1)!, entity_type: 'digest' },
    dts,
  };
}

/**
 * Delivers the anomalies of the days this run computed (`computedDays`), and whatever earlier runs
 * left pending. See the header for the order of writes.
 */
export async function deliver(
  store: ObjectStore,
  notifier: Notifier,
  anomalies: readonly Anomaly[],
  computedDays: ReadonlySet<string>,
  config: Config,
  now: number,
): Promise<DeliverySummary> {
  const ledger = await loadLedger(store);
  const current = new Set(anomalies.map((a) => a.id));
  const summary: DeliverySummary = {
    channel: notifier.location,
    alreadyDelivered: 0,
    newAnomalies: 0,
    attempted: 0,
    messages: 0,
    digest: false,
    delivered: 0,
    failed: [],
  };
  // Pending entries of recomputed days that are no longer anomalies are dropped.
  ledger.pending = ledger.pending.filter((p) => !computedDays.has(p.dt) || current.has(p.id));
  const pendingIds = new Set(ledger.pending.map((p) => p.id));
  for (const a of anomalies) {
    if (ledger.delivered[a.id]) summary.alreadyDelivered++;
    else if (!pendingIds.has(a.id)) {
      ledger.pending.push(a);
      pendingIds.add(a.id);
      summary.newAnomalies++;
    }
  }
  const cutoff = addDays(new Date(now).toISOString().slice(0, 10), -config.retention.curatedDays);
  for (const [id, e] of Object.entries(ledger.delivered)) if (e.dt < cutoff) delete ledger.delivered[id];
  await saveLedger(store, ledger);
  if (!ledger.pending.length) return summary;

  const pending = [...ledger.pending].sort(bySeverity);
  summary.attempted = pending.length;
  summary.digest = pending.length > config.anomalies.delivery.digestOver;
  const messages = summary.digest ? [digestMessage(pending)] : pending.map(anomalyMessage);
  summary.messages = messages.length;
  const outcomes = await notifier.publish(messages);
  const at = new Date(now).toISOString();
  const done = new Set<string>();
  for (const o of outcomes) {
    if (!o.delivered) continue;
    const covered = summary.digest ? pending : pending.filter((a) => a.id === o.id);
    for (const a of covered) {
      ledger.delivered[a.id] = {
        dt: a.dt,
        at,
        via: notifier.location,
        ...(o.messageId ? { messageId: o.messageId } : {}),
        ...(summary.digest ? { digest: o.id } : {}),
      };
      done.add(a.id);
    }
  }
  ledger.pending = ledger.pending.filter((a) => !done.has(a.id));
  summary.delivered = done.size;
  const errors = new Map(outcomes.filter((o) => !o.delivered).map((o) => [o.id, o.error ?? 'not delivered']));
  summary.failed = ledger.pending.map((a) => ({ id: a.id, error: (summary.digest ? errors.get(messages[0]!.id) : errors.get(a.id)) ?? 'not delivered' }));
  await saveLedger(store, ledger);
  return summary;
}
