/** Every detector over the fetched inputs, for the days being judged: pure, so each is tested on small fixtures. */
import type { Config } from '../config/schema';
import { bySeverity, type Anomaly } from './anomaly';
import { detectApiHealth } from './api-health';
import { detectBillVariance } from './bills';
import { detectBudgets } from './budgets';
import { detectComplianceClusters } from './compliance';
import { detectUnusualHours } from './hours';
import type { DetectorInputs } from './queries';
import { detectNewResources } from './resources';
import { detectSpikes } from './spikes';

export function detectAll(inputs: DetectorInputs, days: readonly string[], config: Config): Anomaly[] {
  const judged = new Set(days);
  const found = [
    ...detectSpikes(inputs.spikes, days, config),
    ...detectApiHealth(inputs.apiHealth, days, config),
    ...detectUnusualHours(inputs.hours, days, config),
    ...detectNewResources(
      inputs.newResources.filter((r) => judged.has(r.dt)),
      config,
    ),
    ...detectComplianceClusters(inputs.compliance, days, config),
    ...detectBudgets(inputs.budgets, days, config),
    ...detectBillVariance(inputs.billVariance, days, inputs.billJudgeDays, config),
  ];
  // One anomaly per id (a detector never reports the same thing twice, but be certain).
  const byId = new Map<string, Anomaly>();
  for (const a of found) if (!byId.has(a.id)) byId.set(a.id, a);
  return [...byId.values()].sort(bySeverity);
}
