/**
 * Rollup tables: one partition per day (`dt`), each day replaced atomically by the rollup stage.
 * The SQL that computes a day lives in `sql/models/` (its output columns are checked against these
 * definitions); the catalog tables are derived from here like every other table.
 */
import type { TableDef } from './columns';

const DT = [{ name: 'dt', type: 'date', nullable: false, doc: 'Day, in the reporting time zone' }] as const;

/** CONTRACTS section 4 `user_daily`: one row per active developer and day. */
export const USER_DAILY = {
  name: 'user_daily',
  doc: 'Per developer and day: sessions, requests, tokens, cost and productivity',
  columns: [
    { name: 'user_key', type: 'string', nullable: false, doc: 'CONTRACTS section 3 user_key' },
    { name: 'team', type: 'string', nullable: false, doc: 'Team on that day (org directory, else the record, else unattributed)' },
    { name: 'department', type: 'string', nullable: false, doc: 'Department on that day' },
    { name: 'cost_center', type: 'string', nullable: false, doc: 'Cost center on that day' },
    { name: 'sessions', type: 'int64', doc: 'Distinct sessions with any telemetry' },
    { name: 'requests', type: 'int64', doc: 'api_request events' },
    { name: 'errors', type: 'int64', doc: 'api_error events' },
    { name: 'input_tokens', type: 'int64', doc: 'Token burn: input' },
    { name: 'output_tokens', type: 'int64', doc: 'Token burn: output' },
    { name: 'cache_read_tokens', type: 'int64', doc: 'Token burn: cache read' },
    { name: 'cache_creation_tokens', type: 'int64', doc: 'Token burn: cache creation' },
    { name: 'cost_usd', type: 'double', doc: 'cost_usd as Claude Code reported it' },
    { name: 'priced_cost_usd', type: 'double', doc: 'Cost from the configured price table (null where it has no price)' },
    { name: 'lines_added', type: 'int64', doc: 'lines_of_code.count type=added' },
    { name: 'lines_removed', type: 'int64', doc: 'lines_of_code.count type=removed' },
    { name: 'commits', type: 'int64', doc: 'commit.count' },
    { name: 'pull_requests', type: 'int64', doc: 'pull_request.count' },
    { name: 'active_seconds', type: 'double', doc: 'active_time.total' },
    { name: 'edits_accepted', type: 'int64', doc: 'Edit-tool decisions: accept' },
    { name: 'edits_rejected', type: 'int64', doc: 'Edit-tool decisions: reject' },
  ],
  partitionKeys: DT,
} as const satisfies TableDef;

export const ROLLUP_TABLES = [USER_DAILY] as const;
