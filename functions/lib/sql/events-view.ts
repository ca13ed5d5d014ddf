/**
 * The `events` view of CONTRACTS section 4: the deduplicated raw-record columns plus `dt`,
 * `user_key` and the resolved `team`, `department` and `cost_center`. Its column list comes from
 * `schemas/` (so it is generated here rather than typed into a file under `sql/`), and it is applied
 * with the repeatable views, on both engines.
 *
 * Attribution is the rollup's: each event takes the team, department and cost center its developer
 * had that day in `user_daily` (org directory, else the record's attributes, else `unattributed`).
 * Joining the per-user-day rollup, unique per (dt, user_key), can never duplicate an event, and the
 * effective-dated lookup is done once per developer and day instead of on every query. Days not
 * rolled up yet fall back to the record's own attributes.
 *
 * Freshness (issue 20): the events are the curated ones and `events_tail`, the raw records not
 * compacted yet (sql/events-tail.ts), which holds no record the curated side has; both sides list
 * the same columns, so a row reads the same from either.
 *
 * Only the SQL text is made here; functions/lib/sql/files.ts adds it to the tree as a view file.
 */
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { EVENTS_TAIL, TAIL_COLUMNS } from './events-tail';
import { USER_KEY_SQL } from './user-key';

const RESOLVED = new Set(['department', 'cost_center']);

/** Where the tree says the view comes from. */
export const EVENTS_VIEW_FILE = 'functions/lib/sql/events-view.ts (events)';

export function eventsViewSql(): string {
  const cols = TAIL_COLUMNS.join(', ');
  const raw = CURATED_EVENTS.columns.filter((c) => !RESOLVED.has(c.name)).map((c) => `  e.${c.name},`);
  return [
    '-- Generated from schemas/curated-events.ts by functions/lib/sql/events-view.ts.',
    'CREATE OR REPLACE VIEW events AS',
    'SELECT',
    ...raw,
    '  e.dt,',
    '  e.user_key,',
    "  coalesce(u.team, e.team_id, 'unattributed') AS team,",
    "  coalesce(u.department, e.department, 'unattributed') AS department,",
    "  coalesce(u.cost_center, e.cost_center, 'unattributed') AS cost_center",
    'FROM (',
    `  SELECT ${cols}, dt, ${USER_KEY_SQL} AS user_key FROM ${CURATED_EVENTS.name}`,
    '  UNION ALL',
    `  SELECT ${cols}, dt, ${USER_KEY_SQL} AS user_key FROM ${EVENTS_TAIL}`,
    ') AS e',
    'LEFT JOIN user_daily AS u ON u.dt = e.dt AND u.user_key = e.user_key',
    '',
  ].join('\n');
}
