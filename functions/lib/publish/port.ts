/**
 * The BI publisher port: what `cclake publish` and the publish function hand the definitions to.
 * Two adapters: QuickSight on AWS (quicksight.ts: data source, datasets, SPICE refreshes, dashboards,
 * snapshot jobs) and the embedded default (local.ts: a static HTML dashboard per definition and a PDF
 * of it through headless Chromium). Both take the same checked definitions and the same snapshot plan,
 * and report in the same summary shape.
 */
import type { OnProgress } from '../ops/progress';
import { DefinitionError, visualInfo, type Templates } from './definitions';

/**
 * What to snapshot this run, per dashboard: one PDF per sheet (QuickSight's PDF snapshot file takes
 * exactly one sheet selection, and a job makes one PDF) and CSVs of chosen table visuals.
 */
export interface SnapshotPlan {
  dashboardId: string;
  /** The sheets to print, one PDF each, in the definition's order (empty: no PDF). */
  pdf: { sheetId: string }[];
  csv: { sheetId: string; visualId: string }[];
}

/** The snapshot files of a plan, named the same by both publishers: `<dashboard>-<sheet>.pdf`, `<dashboard>-<visual>.csv`. */
export function snapshotFileNames(s: SnapshotPlan): { pdf: string[]; csv: string[] } {
  return { pdf: s.pdf.map((p) => `${s.dashboardId}-${p.sheetId}.pdf`), csv: s.csv.map((c) => `${s.dashboardId}-${c.visualId}.csv`) };
}

export interface PublishPlan {
  templates: Templates;
  snapshots: SnapshotPlan[];
  /** The run's day (UTC), naming the snapshot folder. */
  runDate: string;
  runId: string;
  /**
   * Unique to this attempt (Lambda keeps awsRequestId, hence runId, across its retries of an async
   * invocation): names ingestions and snapshot jobs, whose ids QuickSight will not take twice.
   * Whether work is done is decided by the checksum tags and the ledgers, never by id reuse.
   */
  attempt: string;
  /** Called after each dataset, dashboard and snapshot (units: outputs). */
  onProgress?: OnProgress;
}

export interface DataSetResult {
  id: string;
  action: 'created' | 'updated' | 'unchanged' | 'read' | 'missing';
  importMode?: 'SPICE' | 'DIRECT_QUERY';
  /** A SPICE refresh: started (with its id and final status when waited for), or skipped and why. */
  ingestion?: { status: string; id?: string; reason?: string };
  rows?: number;
  note?: string;
}

export interface DashboardResult {
  id: string;
  /** `failed`: the new version did not reach *_SUCCESSFUL (error says why); not tagged, so the next run retries. */
  action: 'created' | 'updated' | 'unchanged' | 'written' | 'failed';
  /** QuickSight: the published version. */
  version?: number;
  /** Local: where the HTML is; QuickSight: the dashboard ARN. */
  location: string;
  note?: string;
  error?: string;
}

export interface SnapshotResult {
  dashboardId: string;
  status: 'COMPLETED' | 'FAILED' | 'SKIPPED';
  /** The files asked for, by their common names (snapshotFileNames). */
  files?: string[];
  /** Files written (local paths or s3:// URIs). */
  outputs: string[];
  error?: string;
  jobId?: string;
  note?: string;
}

export interface PublishSummary {
  publisher: 'html' | 'quicksight';
  runId: string;
  status: 'completed' | 'failed';
  dataSource?: { id: string; action: 'created' | 'updated' | 'unchanged' };
  dataSets: DataSetResult[];
  dashboards: DashboardResult[];
  snapshots: SnapshotResult[];
  notes: string[];
  durationMs: number;
}

export interface Publisher {
  readonly kind: 'html' | 'quicksight';
  /** Where the output goes, for messages. */
  readonly location: string;
  publish(plan: PublishPlan): Promise<Omit<PublishSummary, 'runId' | 'status' | 'durationMs'>>;
}

/**
 * The snapshots the config asks for, checked against the definitions: `publish.snapshot.pdf` names
 * dashboards (one PDF per sheet), `publish.snapshot.csv` names `<dashboard>/<VisualId>` table visuals.
 * QuickSight takes 1 PDF and at most 5 CSVs per snapshot job, so the adapter cuts them into jobs.
 */
export function snapshotPlan(templates: Templates, pdf: string[], csv: string[]): SnapshotPlan[] {
  const dashboards = new Map(templates.dashboards.map((d) => [d.DashboardId, d]));
  const known = [...dashboards.keys()].join(', ');
  const plans = new Map<string, SnapshotPlan>();
  const planOf = (id: string, field: string) => {
    if (!dashboards.has(id))
      throw new DefinitionError(`config publish.snapshot.${field}: no dashboard ${JSON.stringify(id)} in quicksight-templates/dashboards/ (known: ${known})`);
    let p = plans.get(id);
    if (!p) plans.set(id, (p = { dashboardId: id, pdf: [], csv: [] }));
    return p;
  };
  for (const id of pdf) planOf(id, 'pdf').pdf = dashboards.get(id)!.Definition.Sheets.map((s) => ({ sheetId: s.SheetId }));
  for (const entry of csv) {
    const [id, visualId] = entry.split('/') as [string, string];
    const plan = planOf(id, 'csv');
    const sheet = dashboards.get(id)!.Definition.Sheets.find((s) => s.Visuals.some((v) => visualInfo(v).id === visualId));
    const visual = sheet?.Visuals.map(visualInfo).find((v) => v.id === visualId);
    if (!sheet || !visual) throw new DefinitionError(`config publish.snapshot.csv: dashboard ${id} has no visual ${JSON.stringify(visualId)}`);
    if (visual.kind !== 'table')
      throw new DefinitionError(`config publish.snapshot.csv: ${entry} is a ${visual.kind} visual; only table visuals export as CSV`);
    if (!plan.csv.some((c) => c.visualId === visualId)) plan.csv.push({ sheetId: sheet.SheetId, visualId });
  }
  return [...plans.values()];
}
