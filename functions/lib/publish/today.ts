/**
 * The dashboards' "today" figures (issue 20, freshness): the dataset they read, and the words that
 * say what its newest day is, so nobody takes a partial day for a final one. The view
 * (leadership_daily_figures) says each day's `source`; when that is `intraday`, the time of the
 * intraday rollup that computed it is its partition commit's (the view has no clock).
 */
import { INTRADAY_USER_DAILY } from '../../../schemas/rollups';
import { PartitionCommits } from '../catalog/commits';
import type { ObjectStore } from '../store/port';

/** The dataset of the "today" figures (quicksight-templates/datasets/daily_figures.json). */
export const TODAY_DATASET = 'daily_figures';

/** The newest intraday rollup of `dt`: when it was committed (ISO), null when there is none. */
export async function intradayAsOf(store: ObjectStore, dt: string): Promise<string | null> {
  const commits = await new PartitionCommits(store).list(INTRADAY_USER_DAILY.name);
  return commits.find((c) => c.dt === dt)?.committedAt ?? null;
}

const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')}Z`;

/**
 * What the newest day of the figures is: `2026-12-05 so far: intraday, as of 2026-12-05 14:45Z
 * (final after the daily rollup)` or `2026-12-04: final (daily rollup)`; null without rows.
 */
export function todayLabel(rows: readonly Record<string, unknown>[], asOf: (dt: string) => string | null): string | null {
  const newest = rows.reduce<Record<string, unknown> | null>((a, r) => (a === null || String(r.dt) > String(a.dt) ? r : a), null);
  if (!newest) return null;
  const dt = String(newest.dt);
  // The view leaves a day of fewer than privacy.minGroupSize active developers without figures.
  const hidden = newest.active_users === null ? '; fewer developers active than the minimum group size, not shown' : '';
  if (newest.source !== 'intraday') return `${dt}: final (daily rollup)${hidden}`;
  const at = asOf(dt);
  return `${dt} so far: intraday${at ? `, as of ${minute(at)}` : ''} (final after the daily rollup)${hidden}`;
}
