/**
 * Error-rate and p95-latency degradation per model (api_health_daily), against the model's own
 * trailing median. Provider health has no working week, so every day of the window is a sample,
 * provided it had at least `minRequests` requests (a quiet day's rate is noise). A day alerts when
 * (config `anomalies.apiHealth`):
 *  - error rate: over `errorRateMultiplier` (3) times the median and at least `minErrorRateIncrease`
 *    (5 points) above it;
 *  - p95 latency: over `latencyMultiplier` (1.5) times the median and at least
 *    `minLatencyIncreaseMs` (2 s) above it;
 * with at least `minRequests` requests that day, and a baseline of `minBaselineDays` samples.
 */
import type { Config } from '../config/schema';
import { makeAnomaly, ms, pct, times, type Anomaly } from './anomaly';
import { baselineOf, robustZ } from './stats';

export interface ApiHealthRow {
  dt: string;
  model: string;
  requests: number;
  errors: number;
  errorRate: number | null;
  p95Ms: number | null;
}

export function detectApiHealth(rows: readonly ApiHealthRow[], days: readonly string[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const h = a.apiHealth;
  const byModel = new Map<string, Map<string, ApiHealthRow>>();
  for (const r of rows) {
    let m = byModel.get(r.model);
    if (!m) byModel.set(r.model, (m = new Map()));
    m.set(r.dt, r);
  }
  const opts = { days: a.baselineDays, minSamples: a.minBaselineDays, holidays: new Set<string>(), weekdayAware: false };
  const out: Anomaly[] = [];
  for (const [model, byDay] of byModel) {
    for (const dt of days) {
      const r = byDay.get(dt);
      if (!r) continue;
      if (!a.disabled.includes('error_rate') && r.errorRate !== null && r.requests + r.errors >= h.minRequests) {
        const b = baselineOf(
          dt,
          (d) => {
            const x = byDay.get(d);
            return x && x.errorRate !== null && x.requests + x.errors >= h.minRequests ? x.errorRate : undefined;
          },
          opts,
        );
        if (b && r.errorRate > h.errorRateMultiplier * b.median && r.errorRate - b.median >= h.minErrorRateIncrease) {
          const ratio = b.median > 0 ? r.errorRate / b.median : Infinity;
          out.push(
            makeAnomaly({
              dt,
              detector: 'error_rate',
              entityType: 'model',
              entity: model,
              observed: r.errorRate,
              baseline: b.median,
              score: robustZ(r.errorRate, b.median, b.mad),
              severity: ratio >= 2 * h.errorRateMultiplier ? 'critical' : 'warning',
              message: `Error rate of model ${model} on ${dt} was ${pct(r.errorRate)} (${r.errors.toLocaleString('en-US')} errors, ${r.requests.toLocaleString('en-US')} requests), ${times(ratio)} its baseline of ${pct(b.median)} (median of ${b.samples} days in the previous ${a.baselineDays}).`,
              details: {
                requests: r.requests,
                errors: r.errors,
                mad: b.mad,
                samples: b.samples,
                multiplier: h.errorRateMultiplier,
                minIncrease: h.minErrorRateIncrease,
                minRequests: h.minRequests,
              },
            }),
          );
        }
      }
      if (!a.disabled.includes('latency_p95') && r.p95Ms !== null && r.requests >= h.minRequests) {
        const b = baselineOf(
          dt,
          (d) => {
            const x = byDay.get(d);
            return x && x.p95Ms !== null && x.requests >= h.minRequests ? x.p95Ms : undefined;
          },
          opts,
        );
        if (b && r.p95Ms > h.latencyMultiplier * b.median && r.p95Ms - b.median >= h.minLatencyIncreaseMs) {
          const ratio = r.p95Ms / b.median;
          out.push(
            makeAnomaly({
              dt,
              detector: 'latency_p95',
              entityType: 'model',
              entity: model,
              observed: r.p95Ms,
              baseline: b.median,
              score: robustZ(r.p95Ms, b.median, b.mad),
              severity: ratio >= 2 * h.latencyMultiplier ? 'critical' : 'warning',
              message: `p95 latency of model ${model} on ${dt} was ${ms(r.p95Ms)} over ${r.requests.toLocaleString('en-US')} requests, ${times(ratio)} its baseline of ${ms(b.median)} (median of ${b.samples} days in the previous ${a.baselineDays}).`,
              details: {
                requests: r.requests,
                mad: b.mad,
                samples: b.samples,
                multiplier: h.latencyMultiplier,
                minIncreaseMs: h.minLatencyIncreaseMs,
                minRequests: h.minRequests,
              },
            }),
          );
        }
      }
    }
  }
  return out;
}
