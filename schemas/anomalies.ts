/**
 * The anomalies the detectors found (functions/lib/jobs/anomalies.ts): one partition per day (`dt`,
 * the day the anomaly is about), each day replaced atomically like a rollup day. Analysts and the
 * dashboards read the contract view `anomalies` over it (sql/views/R__30_anomalies.sql), which
 * shows the CONTRACTS section 4 columns; the table also keeps each anomaly's id and details.
 */
import type { TableDef } from './columns';

export const DETECTED_ANOMALIES = {
  name: 'detected_anomalies',
  doc: 'Anomalies, budget alerts and policy breaches found by the detectors, per day they are about',
  columns: [
    {
      name: 'anomaly_id',
      type: 'string',
      nullable: false,
      doc: 'Deterministic id: a hash of detector, entity type, entity, day and key; the same anomaly has the same id on every run',
    },
    {
      name: 'detector',
      type: 'string',
      nullable: false,
      doc: 'cost_spike | token_spike | error_rate | latency_p95 | unusual_hours | new_model | new_mcp_server | compliance_violations | budget | budget_forecast | bill_variance',
    },
    { name: 'entity_type', type: 'string', nullable: false, doc: 'user | team | cost_center | model' },
    { name: 'entity', type: 'string', nullable: false, doc: 'user_key, team, cost center or model id' },
    { name: 'observed', type: 'double', doc: 'The number that day (USD, tokens, a rate 0..1, ms, requests, violations), as the message says' },
    { name: 'baseline', type: 'double', doc: 'What was expected (the trailing median, the budget); null when there is none' },
    {
      name: 'score',
      type: 'double',
      doc: 'How unusual: spikes, API health and compliance the robust z-score 0.6745 x (x - median) / MAD (capped at 999); budgets the share of the budget; unusual hours the hours from the nearest usual hour; new resources how many are new',
    },
    { name: 'severity', type: 'string', nullable: false, doc: 'warning | critical' },
    { name: 'message', type: 'string', nullable: false, doc: 'One sentence with the numbers' },
    { name: 'details', type: 'string', doc: 'JSON: the thresholds applied, the baseline samples, the key (control, budget share)' },
  ],
  partitionKeys: [{ name: 'dt', type: 'date', nullable: false, doc: 'Day the anomaly is about, in the reporting time zone' }],
} as const satisfies TableDef;

/** Lake key prefix of the anomalies table. */
export const ANOMALIES_PREFIX = 'anomalies/';
