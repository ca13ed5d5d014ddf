/**
 * Clusters of compliance violations (compliance_daily): per control and team, a day whose violations
 * are at least `compliance.minViolations` (10), over `compliance.multiplier` (3) times the team's
 * trailing median for that control (weekday-aware, idle days 0) and at least `compliance.minScore`
 * (3.5) in robust z (small counts jump 3x by chance; a cluster is far outside their spread). So a
 * control a team always fails a
 * little (EU residency for an EU team, MCP use with no allowlist) alerts only when it jumps, and a
 * control it normally passes alerts on the first real cluster. Team 'ALL' is left out (its teams
 * alert) except for telemetry_freshness, which is org-wide only; policy_rejections is evidence, never
 * a violation. A team with no baseline yet does not alert.
 */
import type { Config } from '../config/schema';
import { count, makeAnomaly, times, type Anomaly } from './anomaly';
import { baselineOf, robustZ } from './stats';

export interface ComplianceRow {
  dt: string;
  controlId: string;
  team: string;
  evaluated: number;
  violations: number;
}

export function detectComplianceClusters(rows: readonly ComplianceRow[], days: readonly string[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const c = a.compliance;
  if (a.disabled.includes('compliance_violations')) return [];
  const series = new Map<string, { control: string; team: string; byDay: Map<string, ComplianceRow>; first: string }>();
  for (const r of rows) {
    if (r.controlId === 'policy_rejections' || (r.team === 'ALL' && r.controlId !== 'telemetry_freshness')) continue;
    const key = `${r.controlId}\u0001${r.team}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { control: r.controlId, team: r.team, byDay: new Map(), first: r.dt }));
    s.byDay.set(r.dt, r);
    if (r.dt < s.first) s.first = r.dt;
  }
  const opts = { days: a.baselineDays, minSamples: a.minBaselineDays, holidays: new Set(a.holidays), weekdayAware: true };
  const out: Anomaly[] = [];
  for (const s of series.values()) {
    for (const dt of days) {
      const r = s.byDay.get(dt);
      if (!r || r.violations < c.minViolations) continue;
      const b = baselineOf(dt, (d) => s.byDay.get(d)?.violations ?? (d < s.first ? undefined : 0), opts);
      if (!b || !(r.violations > c.multiplier * b.median)) continue;
      const z = robustZ(r.violations, b.median, b.mad);
      if (z < c.minScore) continue;
      const threshold = Math.max(c.minViolations, c.multiplier * b.median);
      const who = s.team === 'ALL' ? 'the organization' : `team ${s.team}`;
      out.push(makeAnomaly({
        dt,
        detector: 'compliance_violations',
        entityType: 'team',
        entity: s.team,
        key: s.control,
        observed: r.violations,
        baseline: b.median,
        score: z,
        severity: r.violations >= 2 * threshold ? 'critical' : 'warning',
        message: `Control ${s.control} found ${count(r.violations)} violations of ${count(r.evaluated)} checked for ${who} on ${dt}, ${b.median > 0 ? `${times(r.violations / b.median)} its` : 'against a'} baseline of ${count(b.median)} (median of ${b.samples} ${b.basis} in the previous ${a.baselineDays}).`,
        details: { control: s.control, evaluated: r.evaluated, mad: b.mad, samples: b.samples, basis: b.basis, multiplier: c.multiplier, minViolations: c.minViolations, minScore: c.minScore },
      }));
    }
  }
  return out;
}
