/**
 * The embedded default's BI publisher: each dashboard definition rendered as a static HTML page in
 * the lake (`<publish.dashboardsPrefix><dashboard>/index.html`, written atomically), its data read
 * from the analyst views on the local query engine, and the snapshots: a PDF per sheet of the page
 * through headless Chromium (`<dashboard>-<sheet>.pdf`, as QuickSight makes one PDF per sheet) and
 * CSVs of the chosen table visuals (`<dashboard>-<visual>.csv`) under `<publish.snapshot.prefix><day>/`.
 *
 * A dataset whose view is absent (e.g. `anomalies` before its stage exists) is reported as missing and
 * its panels say so on the page; a view whose columns differ from its dataset definition fails the run,
 * naming both. Without Chromium the HTML is still written and the PDF snapshot is reported as skipped.
 */
import { progressCounter } from '../ops/progress';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Config } from '../config/schema';
import { sqlIdent } from '../engine/duckdb';
import type { QueryEngine } from '../engine/port';
import type { LocalObjectStore } from '../store/local';
import { inputCoverageNotes } from '../sql/input-coverage';
import { DefinitionError, type ColumnType, type DataSetDef } from './definitions';
import { dashboardModels, type DataSetRows } from './html/model';
import { intradayAsOf, TODAY_DATASET, todayLabel } from './today';
import { dashboardPage, defaultFilter } from './html/page';
import { ChromiumMissingError, printDashboard } from './html/pdf';
import { tableValues, type PageFilter, type VisualModel } from './html/runtime';
import {
  snapshotFileNames,
  type Publisher,
  type DashboardResult,
  type DataSetResult,
  type PublishPlan,
  type PublishSummary,
  type SnapshotResult,
} from './port';

/** A DuckDB column type as QuickSight's input type (what the dataset definitions declare). */
export function quickSightType(duckdbType: string): ColumnType | null {
  const t = duckdbType.toUpperCase();
  if (t === 'VARCHAR') return 'STRING';
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(t)) return 'INTEGER';
  if (t === 'DOUBLE' || t === 'FLOAT' || t.startsWith('DECIMAL')) return 'DECIMAL';
  if (t === 'DATE' || t.startsWith('TIMESTAMP')) return 'DATETIME';
  if (t === 'BOOLEAN') return 'BOOLEAN';
  return null;
}

const csvCell = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export class HtmlPublisher implements Publisher {
  readonly kind = 'html' as const;

  constructor(
    private readonly store: LocalObjectStore,
    private readonly engine: QueryEngine,
    private readonly config: Config,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get location(): string {
    return `${this.store.location}${this.config.publish.dashboardsPrefix}`;
  }

  private fileOf(key: string): string {
    return path.join(this.store.root, ...key.split('/'));
  }

  /** The view's rows, or null when the view does not exist; its columns must be the definition's. */
  private async readDataSet(def: DataSetDef): Promise<Record<string, unknown>[] | null> {
    const exists = await this.engine.query('SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?', [def.View]);
    if (Number(exists.rows[0]!.n) === 0) return null;
    const result = await this.engine.query(`SELECT * FROM ${sqlIdent(def.View)}`);
    const got = result.columns.map((c) => `${c.name} ${quickSightType(c.type) ?? c.type}`);
    const want = def.Columns.map((c) => `${c.Name} ${c.Type}`);
    if (got.join(', ') !== want.join(', ')) {
      throw new DefinitionError(
        `quicksight-templates/datasets/${def.DataSetId}.json: Columns (${want.join(', ')}) are not the columns of view ${def.View} (${got.join(', ')}); make them the view's, in order`,
      );
    }
    return result.rows;
  }

  async publish(plan: PublishPlan): Promise<Omit<PublishSummary, 'runId' | 'status' | 'durationMs'>> {
    const { templates } = plan;
    const generatedAt = this.now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    const notes: string[] = [];
    const data = new Map<string, DataSetRows>();
    const dataSets: DataSetResult[] = [];
    const step = progressCounter(plan.onProgress, 'outputs', templates.dataSets.length + templates.dashboards.length + plan.snapshots.length);
    for (const def of templates.dataSets) {
      const rows = await this.readDataSet(def);
      data.set(def.DataSetId, { def, rows });
      dataSets.push(
        rows
          ? { id: def.DataSetId, action: 'read', rows: rows.length }
          : { id: def.DataSetId, action: 'missing', note: `no ${def.View} view in this lake yet` },
      );
      step(`dataset ${def.DataSetId}`);
    }

    // The "today" figures say what their newest day is: intraday (as of when) or final.
    const todayRows = data.get(TODAY_DATASET)?.rows ?? [];
    const newestDt = todayRows.reduce<string | null>((a, r) => (a === null || String(r.dt) > a ? String(r.dt) : a), null);
    const asOf = newestDt === null ? null : await intradayAsOf(this.store, newestDt);
    const today = todayLabel(todayRows, () => asOf);

    const dashboards: DashboardResult[] = [];
    const models = new Map<string, VisualModel[]>();
    const filters = new Map<string, PageFilter>();
    for (const dash of templates.dashboards) {
      const used = [...new Set(dash.Definition.DataSetIdentifierDeclarations.map((d) => /\$\{dataset:(.+)\}/.exec(d.DataSetArn)![1]!))].map(
        (id) => data.get(id)!,
      );
      const vm = dashboardModels(dash, data);
      if (today) for (const m of vm) if (m.dataSetId === TODAY_DATASET && !m.missing) m.subtitle = m.subtitle ? `${m.subtitle}. ${today}` : today;
      const rows = used.flatMap((u) => u.rows ?? []);
      const teams = [...new Set(rows.map((r) => r.team).filter((t): t is string => typeof t === 'string' && t !== 'ALL'))].sort();
      const dates = rows
        .map((r) => r.dt)
        .filter((d): d is string => typeof d === 'string')
        .sort();
      const firstDate = dates[0] ?? null;
      const lastDate = dates.at(-1) ?? null;
      // Empty panels or zeros the lake's input cannot fill are said to be so (input_coverage_daily).
      const coverageNotes = (await inputCoverageNotes(this.engine, used.map((u) => u.def.View).join(' '))).map((n) => n.replace(/^note: /, ''));
      const html = await dashboardPage({ dashboard: dash, models: vm, teams, firstDate, lastDate, generatedAt, source: this.store.location, coverageNotes });
      const key = `${this.config.publish.dashboardsPrefix}${dash.DashboardId}/index.html`;
      await this.store.put(key, html);
      const missing = vm.filter((m) => m.missing).map((m) => `${m.id} (${m.missing})`);
      dashboards.push({
        id: dash.DashboardId,
        action: 'written',
        location: this.fileOf(key),
        ...(missing.length ? { note: `panels skipped: ${missing.join(', ')}` } : {}),
      });
      models.set(dash.DashboardId, vm);
      filters.set(dash.DashboardId, defaultFilter(firstDate, lastDate));
      step(`dashboard ${dash.DashboardId}`);
    }

    const snapshots: SnapshotResult[] = [];
    const prefix = `${this.config.publish.snapshot.prefix}${plan.runDate}/`;
    for (const snap of plan.snapshots) {
      const outputs: string[] = [];
      const names = snapshotFileNames(snap);
      const result: SnapshotResult = { dashboardId: snap.dashboardId, status: 'COMPLETED', files: [...names.pdf, ...names.csv], outputs };
      for (const [i, { visualId }] of snap.csv.entries()) {
        const model = models.get(snap.dashboardId)!.find((m) => m.id === visualId)!;
        if (model.missing) {
          notes.push(`CSV ${snap.dashboardId}/${visualId} skipped: ${model.missing}`);
          continue;
        }
        const t = tableValues(model, filters.get(snap.dashboardId)!);
        const csv = [t.columns.map((c) => csvCell(c.title)).join(','), ...t.rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
        const key = `${prefix}${names.csv[i]}`;
        await this.store.put(key, csv);
        outputs.push(this.fileOf(key));
      }
      if (snap.pdf.length) {
        const tmp = mkdtempSync(path.join(tmpdir(), 'cclake-pdf-'));
        try {
          // One PDF per sheet, named as the QuickSight plan names them (snapshotFileNames).
          const sheets = snap.pdf.map((p, i) => ({ sheetId: p.sheetId, name: names.pdf[i]!, pdfFile: path.join(tmp, names.pdf[i]!) }));
          await printDashboard(this.fileOf(`${this.config.publish.dashboardsPrefix}${snap.dashboardId}/index.html`), sheets, this.config.publish.chromiumPath);
          for (const s of sheets) {
            const key = `${prefix}${s.name}`;
            await this.store.putFile(key, s.pdfFile);
            outputs.push(this.fileOf(key));
          }
        } catch (err) {
          if (!(err instanceof ChromiumMissingError)) throw err;
          result.status = 'SKIPPED';
          result.error = err.message;
          notes.push(`PDF of ${snap.dashboardId} not written: ${err.message}. The HTML dashboard is complete without it.`);
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      snapshots.push(result);
      step(`snapshot ${snap.dashboardId}`);
    }
    return { publisher: 'html', dataSets, dashboards, snapshots, notes };
  }
}
