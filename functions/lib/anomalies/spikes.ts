/**
 * Cost and token spikes per user, team and cost center, each against the entity's own trailing
 * baseline (stats.ts). A day is a spike when all of these hold (config `anomalies.spikes`):
 *  - the day's value is over `multiplier` (3) times the baseline median,
 *  - its robust z-score is at least `minScore` (3.5): far outside the entity's usual spread,
 *  - the day's cost is at least `minCostUsd` for the entity type (tokens: `minTokens`): small
 *    absolute amounts never alert, however large the ratio.
 * A developer's baseline is their active days (an idle day is not a sample); a team's or cost
 * center's is every day since it first appears in the window (an idle day counts as 0). No
 * baseline (fewer than `minBaselineDays` samples of the day's kind; for a developer, of any active
 * day): no spike, whatever the day. A token spike is
 * reported only where the cost did not spike too (one alert per entity and day).
 */
import type { Config } from '../config/schema';
import { makeAnomaly, times, tokens, usd, type Anomaly, type EntityType } from './anomaly';
import { baselineOf, robustZ, type Baseline } from './stats';

export interface SpikeRow {
  dt: string;
  entityType: 'user' | 'team' | 'cost_center';
  entity: string;
  costUsd: number;
  tokens: number;
}

const MIN_KEY = { user: 'user', team: 'team', cost_center: 'costCenter' } as const;
const NOUN = { user: 'developer', team: 'team', cost_center: 'cost center' } as const;

export function detectSpikes(rows: readonly SpikeRow[], days: readonly string[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const s = a.spikes;
  const holidays = new Set(a.holidays);
  const series = new Map<string, { type: SpikeRow['entityType']; entity: string; byDay: Map<string, SpikeRow>; first: string }>();
  for (const r of rows) {
    const key = `${r.entityType}\u0001${r.entity}`;
    let e = series.get(key);
    if (!e) series.set(key, (e = { type: r.entityType, entity: r.entity, byDay: new Map(), first: r.dt }));
    e.byDay.set(r.dt, r);
    if (r.dt < e.first) e.first = r.dt;
  }
  const out: Anomaly[] = [];
  for (const e of series.values()) {
    const sample = (metric: 'costUsd' | 'tokens') => (d: string) => {
      const r = e.byDay.get(d);
      if (r) return r[metric];
      return e.type === 'user' || d < e.first ? undefined : 0;
    };
    for (const dt of days) {
      const today = e.byDay.get(dt);
      if (!today) continue;
      const opts = { days: a.baselineDays, minSamples: a.minBaselineDays, holidays, weekdayAware: true, fallbackToAllDays: e.type === 'user' };
      const cost = judge(today.costUsd, s.minCostUsd[MIN_KEY[e.type]], () => baselineOf(dt, sample('costUsd'), opts));
      if (cost && !a.disabled.includes('cost_spike')) {
        out.push(spike('cost_spike', e.type, e.entity, dt, today.costUsd, cost.base, cost.z, usd));
        continue;
      }
      const tok = judge(today.tokens, s.minTokens[MIN_KEY[e.type]], () => baselineOf(dt, sample('tokens'), opts));
      if (tok && !a.disabled.includes('token_spike')) out.push(spike('token_spike', e.type, e.entity, dt, today.tokens, tok.base, tok.z, tokens));
    }
  }
  return out;

  function judge(observed: number, minimum: number, base: () => Baseline | null): { base: Baseline; z: number } | null {
    if (!(observed >= minimum) || observed <= 0) return null;
    const b = base();
    if (!b) return null;
    const z = robustZ(observed, b.median, b.mad);
    return observed > s.multiplier * b.median && z >= s.minScore ? { base: b, z } : null;
  }

  function spike(
    detector: 'cost_spike' | 'token_spike',
    type: EntityType & SpikeRow['entityType'],
    entity: string,
    dt: string,
    observed: number,
    b: Baseline,
    z: number,
    fmt: (x: number) => string,
  ): Anomaly {
    const what = detector === 'cost_spike' ? 'Cost' : 'Token use';
    const ratio = b.median > 0 ? observed / b.median : Infinity;
    const minimum = detector === 'cost_spike' ? s.minCostUsd[MIN_KEY[type]] : s.minTokens[MIN_KEY[type]];
    return makeAnomaly({
      dt,
      detector,
      entityType: type,
      entity,
      observed,
      baseline: b.median,
      score: z,
      severity: ratio >= 2 * s.multiplier ? 'critical' : 'warning',
      message: `${what} of ${NOUN[type]} ${entity} on ${dt} was ${fmt(observed)}, ${times(ratio)} its baseline of ${fmt(b.median)} (median of ${b.samples} ${b.basis} in the previous ${a.baselineDays}; robust z ${z === Infinity ? 'infinite' : z.toFixed(1)}).`,
      details: {
        ratio: Number.isFinite(ratio) ? ratio : null,
        mad: b.mad,
        samples: b.samples,
        basis: b.basis,
        multiplier: s.multiplier,
        minScore: s.minScore,
        minimum,
      },
    });
  }
}
