/**
 * From a dashboard definition and its datasets' rows to the visual models the page renders: the rows
 * grouped by the visual's fields plus the filter columns with partial aggregates (runtime.js), and a
 * vega-lite spec per chart or KPI, compiled to vega here so the page needs only vega's runtime.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { dataSetIdOf, fieldsOf, visualFilters, visualInfo, type DashboardDef, type DataSetDef, type NumberFormatDef, type VisualInfo } from '../definitions';
import type { NumberFormat, Partials, VisualModel } from './runtime';

export interface DataSetRows {
  def: DataSetDef;
  /** null when the view does not exist in this lake. */
  rows: Record<string, unknown>[] | null;
}

const TITLES: Record<string, string> = {
  dt: 'Day',
  dau: 'DAU',
  wau: 'WAU',
  mau: 'MAU',
  roi_pct: 'ROI %',
  p95_ms: 'p95 (ms)',
  p50_ms: 'p50 (ms)',
  p99_ms: 'p99 (ms)',
  ttft_p95_ms: 'TTFT p95 (ms)',
  control_id: 'Control',
};
/** A column's title on the page: known abbreviations, else its words. */
const humanize = (column: string) =>
  TITLES[column] ??
  column
    .replace(/_/g, ' ')
    .replace(/\busd\b/, 'USD')
    .replace(/^./, (c) => c.toUpperCase());

/** QuickSight's display format as the runtime's, and as a d3 format for axes. */
export function numberFormat(f: NumberFormatDef | undefined): NumberFormat | undefined {
  const c = f?.FormatConfiguration;
  if (!c) return undefined;
  const d = c.CurrencyDisplayFormatConfiguration ?? c.PercentageDisplayFormatConfiguration ?? c.NumberDisplayFormatConfiguration!;
  const kind = c.CurrencyDisplayFormatConfiguration ? 'currency' : c.PercentageDisplayFormatConfiguration ? 'percent' : 'number';
  return { kind, decimals: d.DecimalPlacesConfiguration?.DecimalPlaces, prefix: d.Prefix, suffix: d.Suffix };
}

function d3Format(f: NumberFormat | undefined): string {
  const places = f?.decimals ?? 0;
  if (f?.kind === 'percent') return `.${places}%`;
  return `${f?.kind === 'currency' ? '$' : ''},.${places}f`;
}

/** Vega expression formatting `field` like runtime.formatNumber (prefix and suffix included). */
function labelExpr(field: string, f: NumberFormat | undefined): string {
  const q = (s: string) => JSON.stringify(s);
  return `${q(f?.prefix ?? '')} + format(${field}, ${q(d3Format(f))}) + ${q(f?.suffix ?? '')}`;
}

const WIDTH = 520;
const HEIGHT = 220;

function chartSpec(v: VisualInfo, model: VisualModel): TopLevelSpec {
  const m = model.measures[0]!;
  const fmt = model.measures.length === 1 ? m.fmt : model.measures[0]!.fmt;
  const seriesTitle = model.color?.title ?? 'Measure';
  const valueTitle = model.measures.length === 1 ? m.title : model.measures.map((x) => x.title).join(', ');
  const dateX = model.dims[0]!.date;
  const config = { view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 220 } };
  const x = dateX
    ? {
        field: 'x',
        type: v.kind === 'bar' ? ('ordinal' as const) : ('temporal' as const),
        timeUnit: 'utcyearmonthdate' as const,
        title: null,
        axis: { format: '%b %d', labelAngle: v.kind === 'bar' ? -45 : 0 },
      }
    : { field: 'x', type: 'nominal' as const, title: null, sort: '-y' as const };
  const y = { field: 'value', type: 'quantitative' as const, title: valueTitle, format: d3Format(fmt), axis: { labelExpr: labelExpr('datum.value', fmt) } };
  const color = { field: 'series', type: 'nominal' as const, title: seriesTitle, scale: { scheme: 'tableau10' } };
  const tooltip = [
    {
      field: 'x',
      type: dateX ? ('temporal' as const) : ('nominal' as const),
      title: model.dims[0]!.title,
      ...(dateX ? { timeUnit: 'utcyearmonthdate' as const } : {}),
    },
    { field: 'series', type: 'nominal' as const, title: seriesTitle },
    { field: 'value', type: 'quantitative' as const, title: valueTitle, format: d3Format(fmt) },
  ];
  if (v.kind === 'line') {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH,
      height: HEIGHT,
      data: { name: 'rows' },
      config,
      mark: { type: 'line', point: true },
      encoding: { x, y, color, tooltip },
    } as TopLevelSpec;
  }
  const stacked = v.arrangement !== 'CLUSTERED';
  if (v.orientation === 'VERTICAL') {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH,
      height: HEIGHT,
      data: { name: 'rows' },
      config,
      mark: { type: 'bar' },
      encoding: { x, y: { ...y, stack: stacked ? 'zero' : null }, color, tooltip, ...(stacked ? {} : { xOffset: { field: 'series' } }) },
    } as TopLevelSpec;
  }
  // Horizontal: categories down the side, longest total first.
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH - 120,
    height: { step: stacked ? 18 : 10 },
    data: { name: 'rows' },
    config,
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'x', type: 'nominal', title: null, sort: '-x', axis: { labelLimit: 160 } },
      x: {
        field: 'value',
        type: 'quantitative',
        title: valueTitle,
        format: d3Format(fmt),
        stack: stacked ? 'zero' : null,
        axis: { labelExpr: labelExpr('datum.value', fmt), labelOverlap: true },
      },
      color,
      tooltip,
      ...(stacked ? {} : { yOffset: { field: 'series' } }),
    },
  } as TopLevelSpec;
}

function kpiSpec(): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 240,
    height: 64,
    data: { name: 'rows' },
    config: { view: { stroke: null } },
    layer: [
      {
        mark: { type: 'text', fontSize: 34, fontWeight: 'bold', align: 'left', baseline: 'top', x: 0, y: 0, color: '#1f3a5f' },
        encoding: { text: { field: 'text' } },
      },
      { mark: { type: 'text', fontSize: 12, align: 'left', baseline: 'top', x: 0, y: 46, color: '#666' }, encoding: { text: { field: 'when' } } },
    ],
  } as TopLevelSpec;
}

/** The model of one visual over its dataset's rows (fixed filters applied, rows grouped with partials). */
export function visualModel(dash: DashboardDef, sheetId: string, visual: VisualInfo, data: DataSetRows): VisualModel {
  const ds = data.def;
  const has = (c: string) => ds.Columns.some((x) => x.Name === c);
  const fixed = visualFilters(dash, visual.id);
  const fixedTeam = fixed.some((f) => f.column === 'team');
  const teamKey = has('team') && !fixedTeam ? 'team' : null;
  const dateKey = has('dt') ? 'dt' : has('month') ? 'month' : null;
  const key = (prefix: string, i: number) => `${prefix}${i}`;
  const dims = visual.dimensions.map((f, i) => ({ key: key('d', i), title: humanize(f.column), date: f.role === 'date', column: f.column }));
  const color = visual.colors ? { key: 'c0', title: humanize(visual.colors.column), column: visual.colors.column } : null;
  const measures = visual.measures.map((f, i) => ({
    key: key('m', i),
    title: humanize(f.column),
    agg: f.aggregation!,
    fmt: numberFormat(f.format),
    column: f.column,
  }));
  const raw = visual.raw.map((f, i) => {
    const type = ds.Columns.find((c) => c.Name === f.column)!.Type;
    return { key: key('r', i), title: humanize(f.column), numeric: type === 'INTEGER' || type === 'DECIMAL', fmt: numberFormat(f.format), column: f.column };
  });
  const byField = new Map<string, string>([
    ...visual.dimensions.map((f, i) => [f.fieldId, key('d', i)] as const),
    ...(visual.colors ? [[visual.colors.fieldId, 'c0'] as const] : []),
    ...visual.measures.map((f, i) => [f.fieldId, key('m', i)] as const),
    ...visual.raw.map((f, i) => [f.fieldId, key('r', i)] as const),
  ]);
  const model: VisualModel = {
    id: visual.id,
    sheetId,
    kind: visual.kind,
    title: visual.title,
    subtitle: visual.subtitle,
    dataSetId: ds.DataSetId,
    missing: data.rows ? null : `no ${ds.View} view in this lake yet`,
    dims: dims.map(({ key: k, title, date }) => ({ key: k, title, date })),
    color: color ? { key: color.key, title: color.title } : null,
    measures: measures.map(({ key: k, title, agg, fmt }) => ({ key: k, title, agg, fmt })),
    raw: raw.map(({ key: k, title, numeric, fmt }) => ({ key: k, title, numeric, fmt })),
    sort: visual.sort.map((s) => ({ key: byField.get(s.fieldId)!, dir: s.direction })),
    limit: visual.pageSize ?? null,
    teamKey,
    fixedTeam,
    dateKey,
    rows: [],
    spec: null,
  };
  const rows = (data.rows ?? []).filter((r) => fixed.every((f) => f.values.includes(String(r[f.column])) === f.keep));
  if (raw.length) {
    model.rows = rows.map((r) => {
      const out: Record<string, unknown> = Object.fromEntries(raw.map((c) => [c.key, r[c.column] ?? null]));
      if (teamKey) out.team = r.team;
      if (dateKey) out[dateKey] = r[dateKey];
      return out;
    });
  } else {
    const groups = new Map<string, Record<string, unknown>>();
    for (const r of rows) {
      const g: Record<string, unknown> = {};
      for (const d of dims) g[d.key] = r[d.column] ?? null;
      if (color) g[color.key] = r[color.column] ?? null;
      if (teamKey) g.team = r.team;
      if (dateKey) g[dateKey] = r[dateKey];
      const id = JSON.stringify(g);
      let acc = groups.get(id);
      if (!acc) {
        acc = { ...g, ...Object.fromEntries(measures.map((m) => [m.key, [0, 0, 0, 0] as Partials])) };
        groups.set(id, acc);
      }
      for (const m of measures) {
        const v = r[m.column];
        if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
        const p = acc[m.key] as Partials;
        const n = typeof v === 'number' ? v : Number(v);
        if (p[1] === 0) p.splice(0, 4, n, 1, n, n);
        else p.splice(0, 4, p[0] + n, p[1] + 1, Math.min(p[2], n), Math.max(p[3], n));
      }
    }
    model.rows = [...groups.values()];
  }
  if (visual.kind !== 'table') model.spec = compile(visual.kind === 'kpi' ? kpiSpec() : chartSpec(visual, model)).spec;
  return model;
}

/** Every visual of a dashboard as a model, in sheet order. */
export function dashboardModels(dash: DashboardDef, dataSets: Map<string, DataSetRows>): VisualModel[] {
  return dash.Definition.Sheets.flatMap((sheet) =>
    sheet.Visuals.map((v) => {
      const info = visualInfo(v);
      const dsId = dataSetIdOf(dash, fieldsOf(info)[0]!.identifier);
      const data = dataSets.get(dsId);
      if (!data) throw new Error(`dashboard ${dash.DashboardId}: visual ${info.id} reads dataset ${dsId}, which was not loaded`);
      return visualModel(dash, sheet.SheetId, info, data);
    }),
  );
}
