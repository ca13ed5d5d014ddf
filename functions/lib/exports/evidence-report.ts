/**
 * The evidence report's shape (evidence.json, format 1): what functions/lib/jobs/evidence.ts builds
 * and functions/lib/exports/evidence-render.ts renders as HTML and PDF. Its own module so the
 * renderer does not import the job that imports it.
 */
import type { Config } from '../config/schema';

/** The status of a control whose every day in the period had no evidence in the lake's input. */
export const NO_DATA_FROM_INPUT = 'no data from this input profile';

export interface EvidenceExample {
  record_id?: string;
  dt: string;
  event_time?: string;
  /** telemetry_freshness: the missing hour, 'HH' (UTC). */
  hour?: string;
  finding: 'violation' | 'evidence';
}

export interface ControlResult {
  control_id: string;
  title: string;
  team: string;
  /**
   * Over the period's measured days; `no data` when compliance_daily has no row, `no data from this
   * input profile` when every row is `no_data` (the input, e.g. the AWS guidance's token-only
   * `metrics` rows, carries none of the control's evidence: input_coverage_daily).
   */
  status: 'pass' | 'fail' | 'no data' | typeof NO_DATA_FROM_INPUT;
  /** Days with a measured status (pass or fail). */
  days: number;
  /** Days whose input carried none of the control's evidence (compliance_daily status `no_data`), and which. */
  days_no_data: number;
  no_data_days: string[];
  days_failed: number;
  failed_days: string[];
  evaluated: number;
  violations: number;
  /** Findings the compliance_findings view lists (records; missing hours for telemetry_freshness). */
  findings: number;
  /** Whether the findings agree with compliance_daily's counts; null where they count different things. */
  consistent: boolean | null;
  examples: EvidenceExample[];
  /** The queries (sql[].name) whose results this row is made of. */
  sources: string[];
}

export interface SqlEvidence {
  name: string;
  kind: 'query' | 'model' | 'view';
  file: string;
  sha256: string;
  text: string;
  /** For queries: the engine and the Athena query id ('duckdb (local)' locally). */
  engine?: string;
  query_id?: string | null;
  rows?: number;
  /** For the model: the version and the days it computed. */
  version?: number;
  days?: string[];
}

export interface EvidenceReport {
  kind: 'cclake.evidence';
  format: 1;
  seq: number;
  period: { from: string; to: string; days: number; time_zone: string };
  generated_at: string;
  engine: string;
  policy: Config['compliance'];
  summary: {
    teams: string[];
    results: number;
    passed: number;
    failed: number;
    no_data: number;
    inconsistent: number;
    failing: { control_id: string; team: string }[];
  };
  controls: ControlResult[];
  freshness: {
    period_records: number;
    period_days_with_records: number;
    period_oldest_event_time: string | null;
    period_newest_event_time: string | null;
    lake_newest_event_time: string | null;
    lake_newest_dt: string | null;
    newest_compaction: string | null;
    newest_compliance_rollup: string | null;
    days_without_data: string[];
    rollup_behind: { dt: string; curated_generation: number; rollup_source_generation: number | null }[];
  };
  row_counts: { compliance_daily_rows: number; findings: number; examples: number; curated_records: number; hour_rows: number };
  sql: SqlEvidence[];
}
