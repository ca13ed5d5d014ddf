/**
 * Detection quality against the generator's labels (`generate --anomalies`): an alert matches a
 * label with the same detector, entity type, entity and day. Recall is the share of required labels
 * some alert matches; a false positive is an alert that matches no label, required or not (a
 * knock-on effect the generator labelled as possible is not a false positive).
 */
import type { AnomalyLabel } from '../generator/anomalies';

export interface AlertKey {
  dt: string;
  detector: string;
  entityType: string;
  entity: string;
}

export interface Evaluation {
  required: number;
  found: number;
  recall: number;
  alerts: number;
  falsePositives: AlertKey[];
  /** Alerts / false positives share, 0..1 (0 with no alerts). */
  falsePositiveShare: number;
  missed: AnomalyLabel[];
  /** Per injection kind: required labels and how many were found. */
  byKind: Record<string, { required: number; found: number }>;
}

const keyOf = (x: { dt: string; detector: string; entity: string }, type: string) => [x.dt, x.detector, type, x.entity].join('\u0001');

export function evaluateDetection(alerts: readonly AlertKey[], labels: readonly AnomalyLabel[]): Evaluation {
  const labelled = new Set(labels.map((l) => keyOf(l, l.entity_type)));
  const alerted = new Set(alerts.map((a) => keyOf(a, a.entityType)));
  const required = labels.filter((l) => l.required);
  const missed = required.filter((l) => !alerted.has(keyOf(l, l.entity_type)));
  const falsePositives = alerts.filter((a) => !labelled.has(keyOf(a, a.entityType)));
  const byKind: Evaluation['byKind'] = {};
  for (const l of required) {
    const k = (byKind[l.kind] ??= { required: 0, found: 0 });
    k.required++;
    if (alerted.has(keyOf(l, l.entity_type))) k.found++;
  }
  return {
    required: required.length,
    found: required.length - missed.length,
    recall: required.length ? (required.length - missed.length) / required.length : 1,
    alerts: alerts.length,
    falsePositives,
    falsePositiveShare: alerts.length ? falsePositives.length / alerts.length : 0,
    missed,
    byKind,
  };
}
