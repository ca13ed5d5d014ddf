/**
 * The local dashboard as one self-contained HTML file: every chart already rendered as SVG, every
 * table as HTML, the filter controls (team, date range), and inline the data, vega's runtime and
 * runtime.js, so the page re-renders on a filter change with no network at all. Print CSS gives one
 * page per sheet (what the PDF snapshot prints).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import type { DashboardDef } from '../definitions';
import { chartSvg, escapeHtml, filterNote, tableHtml, type PageFilter, type VisualModel } from './runtime';

const RUNTIME_FILE = fileURLToPath(new URL('./runtime.js', import.meta.url));

let assets: { vega: string; runtime: string } | null = null;
/** vega's browser build and the runtime, read once. */
function pageAssets(): { vega: string; runtime: string } {
  if (!assets) {
    const vegaEntry = createRequire(import.meta.url).resolve('vega');
    assets = { vega: readFileSync(path.join(path.dirname(vegaEntry), 'vega.min.js'), 'utf8'), runtime: readFileSync(RUNTIME_FILE, 'utf8') };
  }
  return assets;
}

/** Text safe inside a <script> element (no `</script`, no `<!--`). */
const scriptText = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

export interface PageInput {
  dashboard: DashboardDef;
  models: VisualModel[];
  teams: string[];
  firstDate: string | null;
  lastDate: string | null;
  generatedAt: string;
  /** Where the data came from, for the footer. */
  source: string;
  /** What the dashboard's views have no data for from the lake's input (sql/input-coverage.ts), shown under the title. */
  coverageNotes?: string[];
}

const CSS = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; background: #f4f6f9; }
body { margin: 0; }
header.page { background: #1f3a5f; color: #fff; padding: 16px 24px; }
header.page h1 { margin: 0 0 4px; font-size: 22px; }
header.page p { margin: 0; opacity: .85; font-size: 13px; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; padding: 12px 24px; background: #fff; border-bottom: 1px solid #dde3ea; position: sticky; top: 0; z-index: 2; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #555; gap: 2px; }
form.filters select, form.filters input { font-size: 14px; padding: 4px 6px; }
form.filters button { font-size: 13px; padding: 5px 10px; }
#filter-status { font-size: 13px; color: #333; margin-left: auto; }
section.sheet { padding: 8px 24px 24px; }
section.sheet > h2 { font-size: 18px; margin: 16px 0 8px; }
.print-header { display: none; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 16px; }
figure.visual { margin: 0; background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 12px 14px; break-inside: avoid; }
figure.visual.chart, figure.visual.table { grid-column: span 2; }
figure.visual.table.wide { grid-column: 1 / -1; }
figure.visual figcaption { font-weight: 600; font-size: 14px; }
figure.visual .subtitle, figure.visual .filter-note, p.note { font-size: 12px; color: #666; margin: 2px 0 0; }
figure.visual .filter-note:empty { display: none; }
.visual-body { margin-top: 8px; overflow-x: auto; }
.visual-body svg { max-width: 100%; height: auto; }
p.empty, p.missing { color: #777; font-style: italic; font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
th { background: #f7f9fb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { padding: 12px 24px 24px; font-size: 12px; color: #666; }
@media print {
  :root { background: #fff; }
  header.page, form.filters, footer { display: none; }
  .print-header { display: block; font-size: 12px; color: #444; margin: 0 0 4px; }
  section.sheet { break-after: page; padding: 16px 24px; }
  section.sheet:last-of-type { break-after: auto; }
  .visual-body { overflow: visible; }
}
`;

function sheetHtml(input: PageInput, sheet: DashboardDef['Definition']['Sheets'][number], filter: PageFilter, bodies: Map<string, string>): string {
  const visuals = input.models.filter((m) => m.sheetId === sheet.SheetId);
  const figures = visuals.map((m) => {
    const wide = m.kind === 'table' && (m.raw.length > 5 || m.measures.length + m.dims.length > 5);
    const cls = ['visual', m.kind === 'kpi' ? 'kpi' : m.kind === 'table' ? 'table' : 'chart', wide ? 'wide' : ''].filter(Boolean).join(' ');
    const body = m.missing ? `<p class="missing">${escapeHtml(m.missing)}: this panel appears once the view exists.</p>` : bodies.get(m.id)!;
    return [
      `<figure class="${cls}" data-visual-id="${escapeHtml(m.id)}" data-kind="${m.kind}" data-dataset="${escapeHtml(m.dataSetId)}"${m.missing ? ' data-missing="true"' : ''}>`,
      `<figcaption>${escapeHtml(m.title)}</figcaption>`,
      m.subtitle ? `<p class="subtitle">${escapeHtml(m.subtitle)}</p>` : '',
      `<p class="filter-note">${escapeHtml(m.missing ? '' : filterNote(m, filter))}</p>`,
      `<div class="visual-body">${body}</div>`,
      `</figure>`,
    ].join('');
  });
  return [
    `<section class="sheet" data-sheet-id="${escapeHtml(sheet.SheetId)}">`,
    `<p class="print-header">${escapeHtml(input.dashboard.Name)} · <span class="print-filter"></span> · generated ${escapeHtml(input.generatedAt)}</p>`,
    `<h2>${escapeHtml(sheet.Title ?? sheet.Name)}</h2>`,
    sheet.Description ? `<p class="note">${escapeHtml(sheet.Description)}</p>` : '',
    `<div class="grid">`,
    ...figures,
    `</div></section>`,
  ].join('\n');
}

/** The page opens on the last 28 days of data (all of it when there is less). */
export function defaultFilter(firstDate: string | null, lastDate: string | null): PageFilter {
  if (!firstDate || !lastDate) return { team: '', from: '', to: '' };
  const d = new Date(`${lastDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 27);
  const from = d.toISOString().slice(0, 10);
  return { team: '', from: from > firstDate ? from : firstDate, to: lastDate };
}

/** The complete page, with every visual rendered for the default filter (all teams, the last 28 days). */
export async function dashboardPage(input: PageInput): Promise<string> {
  const filter = defaultFilter(input.firstDate, input.lastDate);
  const bodies = new Map<string, string>();
  for (const m of input.models) {
    if (m.missing) continue;
    bodies.set(m.id, m.kind === 'table' ? tableHtml(m, filter) : await chartSvg(vega, m, filter));
  }
  const { vega: vegaJs, runtime } = pageAssets();
  const data = {
    dashboardId: input.dashboard.DashboardId,
    firstDate: input.firstDate,
    lastDate: input.lastDate,
    visuals: input.models.filter((m) => !m.missing),
  };
  const d = input.dashboard;
  const status = `All teams, ${filter.from || 'first day'} to ${filter.to || 'last day'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cclake publish">
<title>${escapeHtml(d.Name)}</title>
<style>${CSS}</style>
</head>
<body data-ready="false" data-dashboard-id="${escapeHtml(d.DashboardId)}">
<header class="page"><h1>${escapeHtml(d.Name)}</h1>${d.Description ? `<p>${escapeHtml(d.Description)}</p>` : ''}${(input.coverageNotes ?? []).map((n) => `<p class="note coverage">${escapeHtml(n)}</p>`).join('')}</header>
<form class="filters" onsubmit="return false">
<label>Team<select id="filter-team"><option value="">All teams</option>${input.teams.map((t) => `<option value="${escapeHtml(t)}">${escapeHtml(t)}</option>`).join('')}</select></label>
<label>From<input type="date" id="filter-from" value="${escapeHtml(filter.from)}" min="${escapeHtml(input.firstDate ?? '')}" max="${escapeHtml(input.lastDate ?? '')}"></label>
<label>To<input type="date" id="filter-to" value="${escapeHtml(filter.to)}" min="${escapeHtml(input.firstDate ?? '')}" max="${escapeHtml(input.lastDate ?? '')}"></label>
<button type="button" data-range="7">Last 7 days</button><button type="button" data-range="28">Last 28 days</button><button type="button" data-range="0">All days</button>
<span id="filter-status">${escapeHtml(status)}</span>
</form>
${d.Definition.Sheets.map((s) => sheetHtml(input, s, filter, bodies)).join('\n')}
<footer>Generated ${escapeHtml(input.generatedAt)} by <code>cclake publish</code> from ${escapeHtml(input.source)}. Charts are SVG; filters work offline.</footer>
<script type="application/json" id="cclake-dashboard">${scriptText(JSON.stringify(data))}</script>
<script>${scriptText(vegaJs)}</script>
<script type="module">
${scriptText(runtime)}
for (const el of document.querySelectorAll('.print-filter')) el.textContent = ${JSON.stringify(status)};
boot(window).catch((err) => { document.body.dataset.error = String(err); throw err; });
</script>
</body>
</html>
`;
}
