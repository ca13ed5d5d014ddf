/**
 * What a detector reports: one anomaly about one entity on one day, with the numbers behind it and a
 * one-sentence message that explains it. The id is a hash of what the anomaly is about (detector,
 * entity type, entity, day and, where one entity can have several, a key such as the control or the
 * budget share), never of the numbers: recomputing a day after late data finds the same anomaly under
 * the same id, so it is stored once and sent once.
 */
import { createHash } from 'node:crypto';

export const DETECTORS = [
  'cost_spike',
  'token_spike',
  'error_rate',
  'latency_p95',
  'unusual_hours',
  'new_model',
  'new_mcp_server',
  'compliance_violations',
  'budget',
  'budget_forecast',
  'bill_variance',
] as const;
export type DetectorName = (typeof DETECTORS)[number];
export type EntityType = 'user' | 'team' | 'cost_center' | 'model';
export type Severity = 'warning' | 'critical';

export interface Anomaly {
  id: string;
  dt: string;
  detector: DetectorName;
  entityType: EntityType;
  entity: string;
  observed: number;
  /** null when there is nothing to compare with (a resource never seen). */
  baseline: number | null;
  score: number;
  severity: Severity;
  message: string;
  /** The thresholds applied and the evidence, for the details column and the alert payload. */
  details: Record<string, unknown>;
}

/** Scores are capped so they stay finite numbers everywhere (a flat baseline has MAD 0, so z is infinite). */
export const MAX_SCORE = 999;

export function anomalyId(detector: DetectorName, entityType: EntityType, entity: string, dt: string, key = ''): string {
  return createHash('sha256').update([detector, entityType, entity, dt, key].join('\u0001')).digest('hex').slice(0, 24);
}

export function makeAnomaly(a: Omit<Anomaly, 'id' | 'score'> & { score: number; key?: string }): Anomaly {
  const { key, ...rest } = a;
  const score = Number.isFinite(a.score) ? Math.min(MAX_SCORE, Math.max(-MAX_SCORE, a.score)) : a.score > 0 ? MAX_SCORE : -MAX_SCORE;
  return { ...rest, score: Math.round(score * 100) / 100, id: anomalyId(a.detector, a.entityType, a.entity, a.dt, key ?? '') };
}

/** The order alerts are listed in: critical first, then by score, then stably by id. */
export function bySeverity(a: Anomaly, b: Anomaly): number {
  const s = (x: Anomaly) => (x.severity === 'critical' ? 0 : 1);
  return s(a) - s(b) || b.score - a.score || a.dt.localeCompare(b.dt) || a.id.localeCompare(b.id);
}

// Number formatting for messages (en-US, as the CLI prints numbers).
export const usd = (x: number) => `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
export const times = (x: number) => (Number.isFinite(x) ? `${x.toLocaleString('en-US', { maximumFractionDigits: 1 })}x` : 'infinitely');
export const pct = (x: number) => `${(x * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })}%`;
export const count = (x: number) => Math.round(x).toLocaleString('en-US');
export function tokens(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toLocaleString('en-US', { maximumFractionDigits: 2 })}B tokens`;
  if (x >= 1e6) return `${(x / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })}M tokens`;
  return `${count(x)} tokens`;
}
export const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;
