/** Types of runtime.js (plain JavaScript: the page inlines that same file). */

/** [sum, count, min, max] of a measure's non-null values. */
export type Partials = [number, number, number, number];

export interface NumberFormat {
  kind: 'number' | 'currency' | 'percent';
  decimals?: number;
  prefix?: string;
  suffix?: string;
}

export interface PageFilter {
  /** '' = every team. */
  team: string;
  /** YYYY-MM-DD, '' = open. */
  from: string;
  to: string;
}

export interface VisualModel {
  id: string;
  sheetId: string;
  kind: 'line' | 'bar' | 'kpi' | 'table';
  title: string;
  subtitle?: string;
  dataSetId: string;
  /** Why the visual cannot be drawn (its view is absent), shown instead of it. */
  missing: string | null;
  dims: { key: string; title: string; date: boolean }[];
  color: { key: string; title: string } | null;
  measures: { key: string; title: string; agg: 'SUM' | 'AVERAGE' | 'MIN' | 'MAX' | 'COUNT'; fmt?: NumberFormat }[];
  /** Unaggregated table columns. */
  raw: { key: string; title: string; numeric: boolean; fmt?: NumberFormat }[];
  sort: { key: string; dir: 'ASC' | 'DESC' }[];
  limit: number | null;
  /** The row field the team filter applies to (null: the visual is not split by team). */
  teamKey: string | null;
  /** A fixed filter pins the visual's team (e.g. the whole organization). */
  fixedTeam: boolean;
  dateKey: 'dt' | 'month' | null;
  rows: Record<string, unknown>[];
  /** The compiled vega spec (charts and KPIs); its data is named `rows`. */
  spec: unknown;
}

export function finish(agg: string, p: Partials | undefined): number | null;
export function merge(a: Partials, b: Partials | undefined): Partials;
export function keep(model: VisualModel, row: Record<string, unknown>, filter: PageFilter): boolean;
export function aggregate(model: VisualModel, filter: PageFilter): Record<string, unknown>[];
export function formatNumber(value: unknown, fmt?: NumberFormat): string;
export function chartData(model: VisualModel, filter: PageFilter): Record<string, unknown>[];
export function tableValues(
  model: VisualModel,
  filter: PageFilter,
): { columns: { key: string; title: string; numeric: boolean; fmt?: NumberFormat }[]; rows: unknown[][]; total: number };
export function tableData(model: VisualModel, filter: PageFilter): { columns: { title: string; numeric: boolean }[]; rows: string[][]; total: number };
export function escapeHtml(s: unknown): string;
export function tableHtml(model: VisualModel, filter: PageFilter): string;
export function filterNote(model: VisualModel, filter: PageFilter): string;
export function chartSvg(vega: unknown, model: VisualModel, filter: PageFilter): Promise<string>;
export function boot(win: unknown): Promise<void>;
