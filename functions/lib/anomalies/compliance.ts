/**
 * Clusters of compliance violations (compliance_daily), per control and team: a day on which a much
 * larger share of what the control checked broke it than usually does. A day alerts when (config
 * `anomalies.compliance`):
 *  - it has at least `minViolations` (10) violations,
 *  - its violation share (violations / evaluated) is over `multiplier` (3) times the team's trailing
 *    median share for the control (weekday-aware; days the control checked nothing are no samples)
 *    and at least `minShareIncrease` (5 points) above it,
 *  - and that share's robust z-score is at least `minScore` (3.5).
 * Judging the share, not the count, keeps busy days quiet: a control a team always fails (MCP calls
 * with no allowlist configured, EU inference for an EU team) fails in proportion to the work, and a
 * developer doing ten days of work in one does not make a cluster; a team that starts sending
 * prompts to an unapproved model does. Team 'ALL' is left out (its teams alert) except for
 * telemetry_freshness, which is org-wide only; policy_rejections is evidence, never a violation. A
 * team with no baseline yet does not alert.
 */
import type { Config } from '../config/schema';
import { count, makeAnomaly, pct, times, type Anomaly } from './anomaly';
import { baselineOf, robustZ } from './stats';

export interface ComplianceRow {
  dt: string;
  controlId: string;
  team: string;
  evaluated: number;
  violations: number;
}

const share = (r: ComplianceRow) => (r.evaluated > 0 ? r.violations / r.evaluated : undefined);

export function detectComplianceClusters(rows: readonly ComplianceRow[], days: readonly string[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const c = a.compliance;
  if (a.disabled.includes('compliance_violations')) return [];
  const series = new Map<string, { control: string; team: string; byDay: Map<string, ComplianceRow> }>();
  for (const r of rows) {
    if (r.controlId === 'policy_rejections' || (r.team === 'ALL' && r.controlId !== 'telemetry_freshness')) continue;
    const key = `${r.controlId}\u0001${r.team}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { control: r.controlId, team: r.team, byDay: new Map() }));
    s.byDay.set(r.dt, r);
  }
  const opts = { days: a.baselineDays, minSamples: a.minBaselineDays, holidays: new Set(a.holidays), weekdayAware: true };
  const out: Anomaly[] = [];
  for (const s of series.values()) {
    for (const dt of days) {
      const r = s.byDay.get(dt);
      const today = r && share(r);
      if (!r || today === undefined || r.violations < c.minViolations) continue;
      const b = baselineOf(
        dt,
        (d) => {
          const x = s.byDay.get(d);
          return x && share(x);
        },
        opts,
      );
      if (!b || !(today > c.multiplier * b.median) || today - b.median < c.minShareIncrease) continue;
      const z = robustZ(today, b.median, b.mad);
      if (z < c.minScore) continue;
      const who = s.team === 'ALL' ? 'the organization' : `team ${s.team}`;
      out.push(
        makeAnomaly({
          dt,
          detector: 'compliance_violations',
          entityType: 'team',
          entity: s.team,
          key: s.control,
          observed: r.violations,
          baseline: b.median * r.evaluated,
          score: z,
          severity: today >= 2 * c.multiplier * b.median && today - b.median >= 2 * c.minShareIncrease ? 'critical' : 'warning',
          message: `Control ${s.control} found ${count(r.violations)} violations in ${count(r.evaluated)} checked (${pct(today)}) for ${who} on ${dt}, ${b.median > 0 ? `${times(today / b.median)} its` : 'against a'} baseline share of ${pct(b.median)} (median of ${b.samples} ${b.basis} in the previous ${a.baselineDays}).`,
          details: {
            control: s.control,
            evaluated: r.evaluated,
            share: today,
            baselineShare: b.median,
            mad: b.mad,
            samples: b.samples,
            basis: b.basis,
            multiplier: c.multiplier,
            minViolations: c.minViolations,
            minShareIncrease: c.minShareIncrease,
            minScore: c.minScore,
          },
        }),
      );
    }
  }
  return out;
}
