/**
 * `cclake publish` and the daily publish function (after the rollups): the definitions in
 * `quicksight-templates/` (checked: a typo fails naming the file and field) and the snapshot plan from
 * the config (`publish.snapshot`) handed to the BI publisher: QuickSight on AWS, the local HTML
 * dashboard on the embedded default. The run fails when a snapshot job, a SPICE import or refresh, or
 * a dashboard version failed; a dataset whose view does not exist yet (locally) is reported, not fatal.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/schema';
import type { OnProgress } from '../ops/progress';
import { loadTemplates, type Templates } from '../publish/definitions';
import { snapshotPlan, type Publisher, type PublishSummary } from '../publish/port';

export interface PublishOptions {
  runId?: string;
  /** Unique per attempt (default: random); see PublishPlan.attempt. */
  attempt?: string;
  now?: number;
  /** Definitions (default: the repository's quicksight-templates/). */
  templates?: Templates;
  onProgress?: OnProgress;
}

export async function publish(publisher: Publisher, config: Config, options: PublishOptions = {}): Promise<PublishSummary> {
  const started = performance.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const templates = options.templates ?? loadTemplates();
  const snapshots = snapshotPlan(templates, config.publish.snapshot.pdf, config.publish.snapshot.csv);
  const runDate = new Date(options.now ?? Date.now()).toISOString().slice(0, 10);
  const attempt = options.attempt ?? randomUUID().replace(/-/g, '').slice(0, 8);
  const result = await publisher.publish({ templates, snapshots, runDate, runId, attempt, onProgress: options.onProgress });
  const failed =
    result.snapshots.some((s) => s.status === 'FAILED') ||
    result.dataSets.some((d) => d.ingestion?.status === 'FAILED' || d.ingestion?.status === 'CANCELLED') ||
    result.dashboards.some((d) => d.action === 'failed');
  return { ...result, runId, status: failed ? 'failed' : 'completed', durationMs: Math.round(performance.now() - started) };
}
