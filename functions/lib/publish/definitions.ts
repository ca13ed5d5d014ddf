/**
 * The publishing definitions kept as code in `quicksight-templates/`, the single source of both
 * publishers: the Athena data source, one dataset per analyst view, and per dashboard a definition
 * in QuickSight's own `Definition` shape (DataSetIdentifierDeclarations with `${dataset:<id>}`
 * placeholders for the dataset ARNs, Sheets, Visuals, FilterGroups). The QuickSight adapter fills the
 * placeholders and sends the definition as it is; the local renderer interprets the same visuals.
 *
 * Only a small, checked subset of QuickSight's shape is accepted (line and bar charts, KPIs, tables;
 * list filters on one column): every object is strict, so a typo fails with the file and the field.
 * Cross-references are checked too: a visual's columns exist in its dataset with a fitting type, ids
 * are unique, filters and sorts name fields and visuals that exist.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where the definitions live (shipped beside the handler in the publish function's zip). */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../../quicksight-templates/', import.meta.url));

export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionError';
  }
}

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,511}$/, 'expected an id of letters, digits, _ . -');
/** Sheet, visual, filter group and filter ids: QuickSight's ShortRestrictiveResourceId, `[\w\-]+` (no dots). */
const resourceId = z.string().regex(/^[A-Za-z0-9_-]{1,512}$/, 'expected an id of letters, digits, _ - (QuickSight takes no other character here)');
const viewName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a view name (lower case, digits, _)');
const exactlyOne = (keys: string[]) => (o: Record<string, unknown>) => keys.filter((k) => o[k] !== undefined).length === 1;

// ---- data source and datasets ------------------------------------------------------------------

export const DataSourceDefSchema = z.strictObject({
  DataSourceId: id,
  Name: z.string().min(1).max(128),
  Type: z.literal('ATHENA'),
  /** `${athena:workgroup}` is the configured workgroup (datasets name the Glue database from the config). */
  WorkGroup: z.string().min(1),
});
export type DataSourceDef = z.output<typeof DataSourceDefSchema>;

export const COLUMN_TYPES = ['STRING', 'INTEGER', 'DECIMAL', 'DATETIME', 'BOOLEAN'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const DataSetDefSchema = z.strictObject({
  DataSetId: viewName,
  Name: z.string().min(1).max(128),
  Description: z.string().optional(),
  /** The analyst view (CONTRACTS section 4) the dataset reads, in the Glue database. */
  View: viewName,
  /** SPICE by default; `aws.quicksight.directQuery` switches a dataset to DIRECT_QUERY. */
  ImportMode: z.enum(['SPICE', 'DIRECT_QUERY']),
  /** The view's columns, in its order, as QuickSight input types (checked against the view locally). */
  Columns: z.array(z.strictObject({ Name: z.string().regex(/^[a-z][a-z0-9_]*$/), Type: z.enum(COLUMN_TYPES) })).min(1),
});
export type DataSetDef = z.output<typeof DataSetDefSchema>;

// ---- dashboards: QuickSight's Definition, the subset we render ---------------------------------

const ColumnIdentifier = z.strictObject({ DataSetIdentifier: z.string().min(1), ColumnName: z.string().min(1) });
const DecimalPlaces = z.strictObject({ DecimalPlaces: z.number().int().min(0).max(20) });
const NumberDisplay = z.strictObject({ Prefix: z.string().optional(), Suffix: z.string().optional(), DecimalPlacesConfiguration: DecimalPlaces.optional() });
const CurrencyDisplay = z.strictObject({
  Symbol: z.literal('USD').optional(),
  Prefix: z.string().optional(),
  Suffix: z.string().optional(),
  DecimalPlacesConfiguration: DecimalPlaces.optional(),
});
const NumericFormat = z
  .strictObject({
    NumberDisplayFormatConfiguration: NumberDisplay.optional(),
    CurrencyDisplayFormatConfiguration: CurrencyDisplay.optional(),
    PercentageDisplayFormatConfiguration: NumberDisplay.optional(),
  })
  .refine(
    exactlyOne(['NumberDisplayFormatConfiguration', 'CurrencyDisplayFormatConfiguration', 'PercentageDisplayFormatConfiguration']),
    'give exactly one display format',
  );
const NumberFormat = z.strictObject({ FormatConfiguration: NumericFormat });
export type NumberFormatDef = z.output<typeof NumberFormat>;

const DateDimension = z.strictObject({ FieldId: id, Column: ColumnIdentifier, DateGranularity: z.literal('DAY').optional() });
const CategoricalDimension = z.strictObject({ FieldId: id, Column: ColumnIdentifier });
const Dimension = z
  .strictObject({ DateDimensionField: DateDimension.optional(), CategoricalDimensionField: CategoricalDimension.optional() })
  .refine(exactlyOne(['DateDimensionField', 'CategoricalDimensionField']), 'give exactly one of DateDimensionField, CategoricalDimensionField');
export type DimensionDef = z.output<typeof Dimension>;

/** Aggregations the local renderer can re-aggregate after filtering (sum, count, min and max compose). */
export const AGGREGATIONS = ['SUM', 'AVERAGE', 'MIN', 'MAX', 'COUNT'] as const;
const Measure = z.strictObject({
  NumericalMeasureField: z.strictObject({
    FieldId: id,
    Column: ColumnIdentifier,
    AggregationFunction: z.strictObject({ SimpleNumericalAggregation: z.enum(AGGREGATIONS) }),
    FormatConfiguration: NumberFormat.optional(),
  }),
});
export type MeasureDef = z.output<typeof Measure>;

const Label = z.strictObject({ Visibility: z.enum(['VISIBLE', 'HIDDEN']).optional(), FormatText: z.strictObject({ PlainText: z.string().min(1) }) });
const VisualBase = { VisualId: resourceId, Title: Label.optional(), Subtitle: Label.optional() };
const TableSort = z.strictObject({
  RowSort: z.array(z.strictObject({ FieldSort: z.strictObject({ FieldId: id, Direction: z.enum(['ASC', 'DESC']) }) })).optional(),
  PaginationConfiguration: z.strictObject({ PageSize: z.number().int().min(1).max(10_000), PageNumber: z.literal(1) }).optional(),
});

const ChartWells = z.strictObject({
  Category: z.array(Dimension).length(1),
  Values: z.array(Measure).min(1).max(8),
  Colors: z.array(Dimension).max(1).optional(),
});

const LineChartVisual = z.strictObject({
  ...VisualBase,
  ChartConfiguration: z.strictObject({ FieldWells: z.strictObject({ LineChartAggregatedFieldWells: ChartWells }) }),
});
const BarChartVisual = z.strictObject({
  ...VisualBase,
  ChartConfiguration: z.strictObject({
    FieldWells: z.strictObject({ BarChartAggregatedFieldWells: ChartWells }),
    Orientation: z.enum(['HORIZONTAL', 'VERTICAL']).optional(),
    BarsArrangement: z.enum(['CLUSTERED', 'STACKED']).optional(),
  }),
});
const KPIVisual = z.strictObject({
  ...VisualBase,
  ChartConfiguration: z.strictObject({ FieldWells: z.strictObject({ Values: z.array(Measure).length(1), TrendGroups: z.array(Dimension).max(1).optional() }) }),
});
const UnaggregatedField = z.strictObject({
  FieldId: id,
  Column: ColumnIdentifier,
  FormatConfiguration: z.strictObject({ NumberFormatConfiguration: NumberFormat }).optional(),
});
const TableVisual = z.strictObject({
  ...VisualBase,
  ChartConfiguration: z.strictObject({
    FieldWells: z
      .strictObject({
        TableAggregatedFieldWells: z.strictObject({ GroupBy: z.array(Dimension).min(1), Values: z.array(Measure).min(1) }).optional(),
        TableUnaggregatedFieldWells: z.strictObject({ Values: z.array(UnaggregatedField).min(1) }).optional(),
      })
      .refine(
        exactlyOne(['TableAggregatedFieldWells', 'TableUnaggregatedFieldWells']),
        'give exactly one of TableAggregatedFieldWells, TableUnaggregatedFieldWells',
      ),
    SortConfiguration: TableSort.optional(),
  }),
});
const VISUAL_KINDS = ['LineChartVisual', 'BarChartVisual', 'KPIVisual', 'TableVisual'] as const;
const Visual = z
  .strictObject({
    LineChartVisual: LineChartVisual.optional(),
    BarChartVisual: BarChartVisual.optional(),
    KPIVisual: KPIVisual.optional(),
    TableVisual: TableVisual.optional(),
  })
  .refine(exactlyOne([...VISUAL_KINDS]), `give exactly one of ${VISUAL_KINDS.join(', ')}`);
export type VisualDef = z.output<typeof Visual>;

const Sheet = z.strictObject({
  SheetId: resourceId,
  Name: z.string().min(1),
  Title: z.string().optional(),
  Description: z.string().optional(),
  Visuals: z.array(Visual).min(1),
});

const FilterGroup = z.strictObject({
  FilterGroupId: resourceId,
  CrossDataset: z.literal('SINGLE_DATASET'),
  Status: z.enum(['ENABLED', 'DISABLED']).optional(),
  Filters: z
    .array(
      z.strictObject({
        CategoryFilter: z.strictObject({
          FilterId: resourceId,
          Column: ColumnIdentifier,
          Configuration: z.strictObject({
            FilterListConfiguration: z.strictObject({ MatchOperator: z.enum(['CONTAINS', 'DOES_NOT_CONTAIN']), CategoryValues: z.array(z.string()).min(1) }),
          }),
        }),
      }),
    )
    .length(1),
  ScopeConfiguration: z.strictObject({
    SelectedSheets: z.strictObject({
      SheetVisualScopingConfigurations: z
        .array(z.strictObject({ SheetId: resourceId, Scope: z.literal('SELECTED_VISUALS'), VisualIds: z.array(resourceId).min(1) }))
        .min(1),
    }),
  }),
});
export type FilterGroupDef = z.output<typeof FilterGroup>;

const PLACEHOLDER = /^\$\{dataset:([a-z][a-z0-9_]*)\}$/;

export const DashboardDefSchema = z.strictObject({
  DashboardId: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a dashboard name (lower case, digits, - and _)'),
  Name: z.string().min(1).max(2048),
  Description: z.string().optional(),
  Definition: z.strictObject({
    DataSetIdentifierDeclarations: z
      .array(z.strictObject({ Identifier: z.string().min(1), DataSetArn: z.string().regex(PLACEHOLDER, 'expected a placeholder ${dataset:<DataSetId>}') }))
      .min(1),
    Sheets: z.array(Sheet).min(1),
    FilterGroups: z.array(FilterGroup).optional(),
  }),
});
export type DashboardDef = z.output<typeof DashboardDefSchema>;

export interface Templates {
  dir: string;
  dataSource: DataSourceDef;
  dataSets: DataSetDef[];
  dashboards: DashboardDef[];
}

// ---- loading ---------------------------------------------------------------------------------

function issuePath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

function parseFile<T>(schema: z.ZodType<T>, file: string, rel: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DefinitionError(`${rel}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((i) => `${issuePath(i.path) || '(top level)'}: ${i.message}`);
    throw new DefinitionError(`${rel}: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** Reads and checks every definition under `dir`; the first problem fails with its file and field. */
export function loadTemplates(dir: string = TEMPLATES_DIR): Templates {
  const rel = (f: string) => `quicksight-templates/${f}`;
  if (!existsSync(path.join(dir, 'data-source.json'))) throw new DefinitionError(`${rel('data-source.json')}: missing (looked in ${dir})`);
  const dataSource = parseFile(DataSourceDefSchema, path.join(dir, 'data-source.json'), rel('data-source.json'));
  const jsonFiles = (sub: string) =>
    existsSync(path.join(dir, sub))
      ? readdirSync(path.join(dir, sub))
          .filter((f) => f.endsWith('.json'))
          .sort()
      : [];
  const dataSets = jsonFiles('datasets').map((f) => {
    const d = parseFile(DataSetDefSchema, path.join(dir, 'datasets', f), rel(`datasets/${f}`));
    if (`${d.DataSetId}.json` !== f) throw new DefinitionError(`${rel(`datasets/${f}`)}: DataSetId ${JSON.stringify(d.DataSetId)} must match the file name`);
    const names = d.Columns.map((c) => c.Name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new DefinitionError(`${rel(`datasets/${f}`)}: Columns: ${dup} appears twice`);
    return d;
  });
  const dashboards = jsonFiles('dashboards').map((f) => {
    const d = parseFile(DashboardDefSchema, path.join(dir, 'dashboards', f), rel(`dashboards/${f}`));
    if (`${d.DashboardId}.json` !== f)
      throw new DefinitionError(`${rel(`dashboards/${f}`)}: DashboardId ${JSON.stringify(d.DashboardId)} must match the file name`);
    checkDashboard(d, dataSets, rel(`dashboards/${f}`));
    return d;
  });
  if (!dashboards.length) throw new DefinitionError(`${rel('dashboards/')}: no dashboard definitions`);
  return { dir, dataSource, dataSets, dashboards };
}

// ---- reading a visual ------------------------------------------------------------------------

export type VisualKind = 'line' | 'bar' | 'kpi' | 'table';

export interface FieldRef {
  fieldId: string;
  identifier: string;
  column: string;
  /** Where the field sits in the visual (for messages). */
  at: string;
  role: 'date' | 'category' | 'measure' | 'raw';
  aggregation?: (typeof AGGREGATIONS)[number];
  format?: NumberFormatDef;
}

export interface VisualInfo {
  kind: VisualKind;
  id: string;
  title: string;
  subtitle?: string;
  /** The well's own key in the definition, e.g. `LineChartVisual`. */
  key: (typeof VISUAL_KINDS)[number];
  /** Category (charts), group-by (aggregated tables) or trend (KPI) dimensions, in order. */
  dimensions: FieldRef[];
  /** A chart's colour dimension. */
  colors?: FieldRef;
  measures: FieldRef[];
  /** Unaggregated table columns. */
  raw: FieldRef[];
  orientation?: 'HORIZONTAL' | 'VERTICAL';
  arrangement?: 'CLUSTERED' | 'STACKED';
  sort: { fieldId: string; direction: 'ASC' | 'DESC' }[];
  pageSize?: number;
}

const dimRef = (d: DimensionDef, at: string): FieldRef =>
  d.DateDimensionField
    ? {
        fieldId: d.DateDimensionField.FieldId,
        identifier: d.DateDimensionField.Column.DataSetIdentifier,
        column: d.DateDimensionField.Column.ColumnName,
        at,
        role: 'date',
      }
    : {
        fieldId: d.CategoricalDimensionField!.FieldId,
        identifier: d.CategoricalDimensionField!.Column.DataSetIdentifier,
        column: d.CategoricalDimensionField!.Column.ColumnName,
        at,
        role: 'category',
      };
const measureRef = (m: MeasureDef, at: string): FieldRef => ({
  fieldId: m.NumericalMeasureField.FieldId,
  identifier: m.NumericalMeasureField.Column.DataSetIdentifier,
  column: m.NumericalMeasureField.Column.ColumnName,
  at,
  role: 'measure',
  aggregation: m.NumericalMeasureField.AggregationFunction.SimpleNumericalAggregation,
  format: m.NumericalMeasureField.FormatConfiguration,
});

/** A visual's fields and options, whatever its kind. */
export function visualInfo(v: VisualDef): VisualInfo {
  const text = (l: z.output<typeof Label> | undefined) => (l && l.Visibility !== 'HIDDEN' ? l.FormatText.PlainText : undefined);
  if (v.LineChartVisual || v.BarChartVisual) {
    const key = v.LineChartVisual ? 'LineChartVisual' : 'BarChartVisual';
    const x = (v.LineChartVisual ?? v.BarChartVisual)!;
    const wells = v.LineChartVisual
      ? v.LineChartVisual.ChartConfiguration.FieldWells.LineChartAggregatedFieldWells
      : v.BarChartVisual!.ChartConfiguration.FieldWells.BarChartAggregatedFieldWells;
    const base = `${key}.ChartConfiguration.FieldWells.${key === 'LineChartVisual' ? 'LineChartAggregatedFieldWells' : 'BarChartAggregatedFieldWells'}`;
    return {
      kind: v.LineChartVisual ? 'line' : 'bar',
      key,
      id: x.VisualId,
      title: text(x.Title) ?? x.VisualId,
      subtitle: text(x.Subtitle),
      dimensions: wells.Category.map((d, i) => dimRef(d, `${base}.Category[${i}]`)),
      colors: wells.Colors?.[0] ? dimRef(wells.Colors[0], `${base}.Colors[0]`) : undefined,
      measures: wells.Values.map((m, i) => measureRef(m, `${base}.Values[${i}]`)),
      raw: [],
      orientation: v.BarChartVisual?.ChartConfiguration.Orientation ?? (v.BarChartVisual ? 'HORIZONTAL' : undefined),
      arrangement: v.BarChartVisual?.ChartConfiguration.BarsArrangement ?? (v.BarChartVisual ? 'STACKED' : undefined),
      sort: [],
    };
  }
  if (v.KPIVisual) {
    const x = v.KPIVisual;
    const base = 'KPIVisual.ChartConfiguration.FieldWells';
    return {
      kind: 'kpi',
      key: 'KPIVisual',
      id: x.VisualId,
      title: text(x.Title) ?? x.VisualId,
      subtitle: text(x.Subtitle),
      dimensions: (x.ChartConfiguration.FieldWells.TrendGroups ?? []).map((d, i) => dimRef(d, `${base}.TrendGroups[${i}]`)),
      measures: x.ChartConfiguration.FieldWells.Values.map((m, i) => measureRef(m, `${base}.Values[${i}]`)),
      raw: [],
      sort: [],
    };
  }
  const x = v.TableVisual!;
  const wells = x.ChartConfiguration.FieldWells;
  const base = 'TableVisual.ChartConfiguration.FieldWells';
  const sortConf = x.ChartConfiguration.SortConfiguration;
  return {
    kind: 'table',
    key: 'TableVisual',
    id: x.VisualId,
    title: text(x.Title) ?? x.VisualId,
    subtitle: text(x.Subtitle),
    dimensions: (wells.TableAggregatedFieldWells?.GroupBy ?? []).map((d, i) => dimRef(d, `${base}.TableAggregatedFieldWells.GroupBy[${i}]`)),
    measures: (wells.TableAggregatedFieldWells?.Values ?? []).map((m, i) => measureRef(m, `${base}.TableAggregatedFieldWells.Values[${i}]`)),
    raw: (wells.TableUnaggregatedFieldWells?.Values ?? []).map((u, i) => ({
      fieldId: u.FieldId,
      identifier: u.Column.DataSetIdentifier,
      column: u.Column.ColumnName,
      at: `${base}.TableUnaggregatedFieldWells.Values[${i}]`,
      role: 'raw' as const,
      format: u.FormatConfiguration?.NumberFormatConfiguration,
    })),
    sort: (sortConf?.RowSort ?? []).map((s) => ({ fieldId: s.FieldSort.FieldId, direction: s.FieldSort.Direction })),
    pageSize: sortConf?.PaginationConfiguration?.PageSize,
  };
}

/** Every field of a visual. */
export const fieldsOf = (v: VisualInfo): FieldRef[] => [...v.dimensions, ...(v.colors ? [v.colors] : []), ...v.measures, ...v.raw];

/** The DataSetId a dashboard's identifier stands for. */
export function dataSetIdOf(d: DashboardDef, identifier: string): string {
  const decl = d.Definition.DataSetIdentifierDeclarations.find((x) => x.Identifier === identifier);
  if (!decl) throw new DefinitionError(`dashboard ${d.DashboardId}: no DataSetIdentifierDeclaration ${identifier}`);
  return PLACEHOLDER.exec(decl.DataSetArn)![1]!;
}

function checkDashboard(d: DashboardDef, dataSets: DataSetDef[], file: string): void {
  const fail = (at: string, what: string) => {
    throw new DefinitionError(`${file}: ${at}: ${what}`);
  };
  const byId = new Map(dataSets.map((s) => [s.DataSetId, s]));
  const decls = new Map<string, DataSetDef>();
  d.Definition.DataSetIdentifierDeclarations.forEach((decl, i) => {
    const at = `Definition.DataSetIdentifierDeclarations[${i}]`;
    if (decls.has(decl.Identifier)) fail(`${at}.Identifier`, `${decl.Identifier} is declared twice`);
    const dsId = PLACEHOLDER.exec(decl.DataSetArn)![1]!;
    const ds = byId.get(dsId);
    if (!ds) fail(`${at}.DataSetArn`, `no dataset ${dsId} (quicksight-templates/datasets/${dsId}.json); known: ${[...byId.keys()].join(', ')}`);
    decls.set(decl.Identifier, ds!);
  });
  const visualIds = new Map<string, { sheet: string; info: VisualInfo }>();
  const fieldIds = new Set<string>();
  const sheetIds = new Set<string>();
  d.Definition.Sheets.forEach((sheet, si) => {
    if (sheetIds.has(sheet.SheetId)) fail(`Definition.Sheets[${si}].SheetId`, `${sheet.SheetId} is used twice`);
    sheetIds.add(sheet.SheetId);
    sheet.Visuals.forEach((v, vi) => {
      const info = visualInfo(v);
      const at = (rest: string) => `Definition.Sheets[${si}].Visuals[${vi}].${rest}`;
      if (visualIds.has(info.id)) fail(at(`${info.key}.VisualId`), `${info.id} is used twice`);
      visualIds.set(info.id, { sheet: sheet.SheetId, info });
      const fields = fieldsOf(info);
      const identifiers = new Set(fields.map((f) => f.identifier));
      if (identifiers.size !== 1) fail(at(info.key), `a visual reads one dataset; this one reads ${[...identifiers].join(', ')}`);
      for (const f of fields) {
        if (fieldIds.has(f.fieldId)) fail(at(`${f.at}.FieldId`), `${f.fieldId} is used twice in the dashboard`);
        fieldIds.add(f.fieldId);
        const ds = decls.get(f.identifier);
        if (!ds) fail(at(`${f.at}.Column.DataSetIdentifier`), `${f.identifier} is not declared in DataSetIdentifierDeclarations`);
        const col = ds!.Columns.find((c) => c.Name === f.column);
        if (!col)
          fail(at(`${f.at}.Column.ColumnName`), `dataset ${ds!.DataSetId} has no column ${f.column} (columns: ${ds!.Columns.map((c) => c.Name).join(', ')})`);
        if (f.role === 'date' && col!.Type !== 'DATETIME')
          fail(at(`${f.at}.Column.ColumnName`), `${f.column} is ${col!.Type}; a DateDimensionField needs a DATETIME column`);
        if (f.role === 'measure' && f.aggregation !== 'COUNT' && col!.Type !== 'INTEGER' && col!.Type !== 'DECIMAL')
          fail(at(`${f.at}.Column.ColumnName`), `${f.column} is ${col!.Type}; ${f.aggregation} needs a number column`);
      }
      const own = new Set(fields.map((f) => f.fieldId));
      info.sort.forEach((s, i) => {
        if (!own.has(s.fieldId))
          fail(at(`TableVisual.ChartConfiguration.SortConfiguration.RowSort[${i}].FieldSort.FieldId`), `${s.fieldId} is not a field of visual ${info.id}`);
      });
    });
  });
  (d.Definition.FilterGroups ?? []).forEach((g, gi) => {
    const at = `Definition.FilterGroups[${gi}]`;
    const filter = g.Filters[0]!.CategoryFilter;
    const ds = decls.get(filter.Column.DataSetIdentifier);
    if (!ds) fail(`${at}.Filters[0].CategoryFilter.Column.DataSetIdentifier`, `${filter.Column.DataSetIdentifier} is not declared`);
    if (!ds!.Columns.some((c) => c.Name === filter.Column.ColumnName))
      fail(`${at}.Filters[0].CategoryFilter.Column.ColumnName`, `dataset ${ds!.DataSetId} has no column ${filter.Column.ColumnName}`);
    g.ScopeConfiguration.SelectedSheets.SheetVisualScopingConfigurations.forEach((s, i) => {
      for (const vid of s.VisualIds) {
        const v = visualIds.get(vid);
        if (!v || v.sheet !== s.SheetId)
          fail(`${at}.ScopeConfiguration.SelectedSheets.SheetVisualScopingConfigurations[${i}]`, `sheet ${s.SheetId} has no visual ${vid}`);
        if (fieldsOf(v!.info)[0]!.identifier !== filter.Column.DataSetIdentifier)
          fail(`${at}.ScopeConfiguration`, `visual ${vid} does not read ${filter.Column.DataSetIdentifier}`);
      }
    });
  });
}

/** The list filters scoped to a visual: column, whether the values are kept or left out, the values. */
export function visualFilters(d: DashboardDef, visualId: string): { column: string; keep: boolean; values: string[] }[] {
  return (d.Definition.FilterGroups ?? [])
    .filter((g) => g.Status !== 'DISABLED' && g.ScopeConfiguration.SelectedSheets.SheetVisualScopingConfigurations.some((s) => s.VisualIds.includes(visualId)))
    .map((g) => {
      const f = g.Filters[0]!.CategoryFilter;
      return {
        column: f.Column.ColumnName,
        keep: f.Configuration.FilterListConfiguration.MatchOperator === 'CONTAINS',
        values: f.Configuration.FilterListConfiguration.CategoryValues,
      };
    });
}

// ---- placeholders and checksums ----------------------------------------------------------------

/** The dashboard's Definition with every `${dataset:<id>}` replaced by that dataset's ARN. */
export function fillDefinition(d: DashboardDef, arnOf: (dataSetId: string) => string): DashboardDef['Definition'] {
  const def = structuredClone(d.Definition);
  def.DataSetIdentifierDeclarations = def.DataSetIdentifierDeclarations.map((decl) => ({ ...decl, DataSetArn: arnOf(PLACEHOLDER.exec(decl.DataSetArn)![1]!) }));
  return def;
}

/** JSON with object keys sorted at every level, so equal content always prints the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export const checksumOf = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex');
