/**
 * Rollup tables: one partition per day (`dt`), each day replaced atomically by the rollup stage.
 * The SQL that computes a day lives in `sql/models/` (its output columns are checked against these
 * definitions); the catalog tables are derived from here like every other table. Each declares its
 * `key` (the grain: one row per key and day) and its not-null columns (`nullable: false`): the rollup
 * checks both on every day it writes, before committing it (functions/lib/quality/table-tests.ts).
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
  key: ['user_key'],
  partitionKeys: DT,
} as const satisfies TableDef;

/** CONTRACTS section 4 `api_health_daily`: one row per model with any api_request, api_error, api_refusal or api_retries_exhausted event that day. */
export const API_HEALTH_DAILY = {
  name: 'api_health_daily',
  doc: 'Per model and day: requests, errors, error rate, latency percentiles, TTFT p95, cache hit rate, refusals and exhausted retries (api_request / api_error / api_refusal / api_retries_exhausted events)',
  columns: [
    { name: 'model', type: 'string', nullable: false, doc: "Model id as reported ('unknown' when the event has none)" },
    { name: 'requests', type: 'int64', doc: 'api_request events' },
    { name: 'errors', type: 'int64', doc: 'api_error events' },
    { name: 'error_rate', type: 'double', doc: 'errors / (requests + errors), 0..1' },
    { name: 'p50_ms', type: 'double', doc: 'Median duration_ms of api_request events (approx_percentile: exact locally, within rank error 0.01 on Athena)' },
    { name: 'p95_ms', type: 'double', doc: '95th percentile duration_ms of api_request events' },
    { name: 'p99_ms', type: 'double', doc: '99th percentile duration_ms of api_request events' },
    { name: 'ttft_p95_ms', type: 'double', doc: '95th percentile ttft_ms of api_request events' },
    {
      name: 'cache_hit_rate',
      type: 'double',
      doc: 'cache_read / (input + cache_read + cache_creation) tokens of api_request events, 0..1; null without tokens',
    },
    { name: 'refusals', type: 'int64', doc: 'api_refusal events (the model answered with stop_reason refusal)' },
    { name: 'retries_exhausted', type: 'int64', doc: 'api_retries_exhausted events (Claude Code gave up on a request after its retries)' },
  ],
  key: ['model'],
  partitionKeys: DT,
} as const satisfies TableDef;

/** CONTRACTS section 4 `tool_usage_daily`: one row per tool with any tool_result event that day. */
export const TOOL_USAGE_DAILY = {
  name: 'tool_usage_daily',
  doc: 'Per tool and day: calls, successes, success rate and p95 duration (tool_result events)',
  columns: [
    { name: 'tool_name', type: 'string', nullable: false, doc: "Tool name as reported (MCP tools as Claude Code names them, e.g. 'mcp_tool')" },
    { name: 'calls', type: 'int64', doc: 'tool_result events' },
    { name: 'successes', type: 'int64', doc: 'tool_result events with success = true' },
    { name: 'success_rate', type: 'double', doc: 'successes / calls, 0..1' },
    { name: 'p95_ms', type: 'double', doc: '95th percentile duration_ms of the tool_result events' },
  ],
  key: ['tool_name'],
  partitionKeys: DT,
} as const satisfies TableDef;

/** CONTRACTS section 4 `token_burn_daily`: tokens per team, cost center, project, model and token type. */
export const TOKEN_BURN_DAILY = {
  name: 'token_burn_daily',
  doc: 'Per day, team, cost center, project, model and token type: token burn (CONTRACTS section 3) and its priced cost',
  columns: [
    { name: 'team', type: 'string', nullable: false, doc: "Team of the developer that day (as in user_daily; 'unattributed' when unknown)" },
    { name: 'cost_center', type: 'string', nullable: false, doc: "Cost center of the developer that day ('unattributed' when unknown)" },
    { name: 'project', type: 'string', nullable: false, doc: "The record's project (repository); 'unknown' when absent" },
    { name: 'model', type: 'string', nullable: false, doc: "Model id; 'unknown' when absent" },
    { name: 'token_type', type: 'string', nullable: false, doc: 'input | output | cache_read | cache_creation' },
    { name: 'tokens', type: 'int64', doc: 'Tokens: api_request events of sessions that have any, else token.usage datapoints (cumulative as deltas)' },
    {
      name: 'priced_cost_usd',
      type: 'double',
      doc: 'tokens x the price in force that day for the model and type / 1e6; null where the price table has no row for the model',
    },
  ],
  key: ['team', 'cost_center', 'project', 'model', 'token_type'],
  partitionKeys: DT,
} as const satisfies TableDef;

/** CONTRACTS section 4 `compliance_daily`: one row per control, team and day, plus the org as team 'ALL'. */
export const COMPLIANCE_DAILY = {
  name: 'compliance_daily',
  doc: "Per day, control and team (the whole org as team 'ALL'): records evaluated, violations and pass/fail",
  columns: [
    {
      name: 'control_id',
      type: 'string',
      nullable: false,
      doc: 'approved_models | data_residency | attribution_coverage | no_content_logged | bypass_permissions | mcp_allowlist | policy_rejections | telemetry_freshness',
    },
    { name: 'team', type: 'string', nullable: false, doc: "Team (as in user_daily), or 'ALL' for the whole organization" },
    {
      name: 'evaluated',
      type: 'int64',
      doc: 'What the control looked at (records, developers or hours; for policy_rejections the rejections found, as evidence)',
    },
    { name: 'violations', type: 'int64', doc: 'How many of them break the control (always 0 for the evidence-only policy_rejections)' },
    {
      name: 'status',
      type: 'string',
      nullable: false,
      doc: "pass | fail | no_data (the day's input carries none of the control's evidence: input_coverage_daily)",
    },
  ],
  key: ['control_id', 'team'],
  partitionKeys: DT,
} as const satisfies TableDef;

/**
 * `chargeback_daily` (behind the finance export, issue 7): per day, developer, team, cost center, model,
 * context tier and the price row in force, the tokens by type, the reported cost and the unit prices the priced
 * cost comes from. Unit prices rather than a cost, so the export multiplies exact integers and
 * decimals (never a sum of doubles); null prices where the price table does not cover the model.
 */
export const CHARGEBACK_DAILY = {
  name: 'chargeback_daily',
  doc: 'Per day, developer, team, cost center, model, context tier and price row: tokens by type, reported cost and the unit prices at that tier (the chargeback export reads it)',
  columns: [
    { name: 'user_key', type: 'string', nullable: false, doc: 'CONTRACTS section 3 user_key' },
    { name: 'team', type: 'string', nullable: false, doc: 'Team that day (as in user_daily)' },
    { name: 'cost_center', type: 'string', nullable: false, doc: "Cost center that day ('unattributed' when unknown)" },
    { name: 'model', type: 'string', nullable: false, doc: "Model id; 'unknown' when absent" },
    { name: 'input_tokens', type: 'int64', doc: 'Token burn: input' },
    { name: 'output_tokens', type: 'int64', doc: 'Token burn: output' },
    { name: 'cache_read_tokens', type: 'int64', doc: 'Token burn: cache read' },
    { name: 'cache_creation_tokens', type: 'int64', doc: 'Token burn: cache creation' },
    { name: 'cost_usd', type: 'double', doc: 'cost_usd as Claude Code reported it (client-side list-price estimate)' },
    { name: 'price_version', type: 'string', doc: 'Price table version (null when no price row covers the model)' },
    { name: 'price_model_pattern', type: 'string', doc: 'The price row applied: its model glob (the most specific match)' },
    { name: 'price_valid_from', type: 'date', doc: 'The price row applied: first day it applies' },
    { name: 'price_valid_to', type: 'date', doc: 'The price row applied: first day it no longer applies (null = open)' },
    { name: 'price_input', type: 'double', doc: 'USD per million input tokens (null: not priced)' },
    { name: 'price_output', type: 'double', doc: 'USD per million output tokens' },
    { name: 'price_cache_read', type: 'double', doc: 'USD per million cache read tokens' },
    { name: 'price_cache_creation', type: 'double', doc: 'USD per million cache creation tokens' },
    {
      name: 'price_tier',
      type: 'string',
      nullable: false,
      doc: "long: the api_requests above the price row's long_above_tokens, at its long prices; standard: the rest (token.usage datapoints and unpriced models included)",
    },
  ],
  key: ['user_key', 'model', 'price_tier'],
  partitionKeys: DT,
} as const satisfies TableDef;

/**
 * Hour-of-day activity per developer: the "outside the usual hours" detector (functions/lib/anomalies)
 * needs when someone worked, which the daily tables do not keep. One row per developer and hour with
 * any api_request event that day.
 */
export const USER_HOURS_DAILY = {
  name: 'user_hours_daily',
  doc: 'Per developer, day and hour of day (UTC) with any api_request event: requests and reported cost',
  columns: [
    { name: 'user_key', type: 'string', nullable: false, doc: 'CONTRACTS section 3 user_key' },
    { name: 'hour', type: 'int32', nullable: false, doc: 'Hour of day of event_time, UTC, 0..23' },
    { name: 'requests', type: 'int64', doc: 'api_request events in that hour' },
    { name: 'cost_usd', type: 'double', doc: 'cost_usd of those events as Claude Code reported it' },
  ],
  key: ['user_key', 'hour'],
  partitionKeys: DT,
} as const satisfies TableDef;

/**
 * The models and MCP servers each team used per day: the "never seen before for that team" detector
 * reads it. One row per team, resource type and resource with any use that day.
 */
export const TEAM_RESOURCES_DAILY = {
  name: 'team_resources_daily',
  doc: 'Per day, team and resource (a model, or an MCP server): records that used it and distinct developers',
  columns: [
    { name: 'team', type: 'string', nullable: false, doc: "Team of the developer that day (as in user_daily; 'unattributed' when unknown)" },
    { name: 'resource_type', type: 'string', nullable: false, doc: 'model | mcp_server' },
    { name: 'resource', type: 'string', nullable: false, doc: "Model id, or MCP server name ('unknown' when an MCP call names none)" },
    {
      name: 'uses',
      type: 'int64',
      doc: 'model: records naming it (api_request/api_error events, token/cost usage datapoints); mcp_server: tool_result events',
    },
    { name: 'users', type: 'int64', doc: 'Distinct developers behind those records' },
  ],
  key: ['team', 'resource_type', 'resource'],
  partitionKeys: DT,
} as const satisfies TableDef;

/**
 * CONTRACTS section 4 `interaction_latency_daily` (issue 17), from spans (Claude Code traces, beta):
 * per day, team and model, the claude_code.interaction spans that started that day, their wall time
 * percentiles and the time inside llm_request, tool.execution and tool.blocked_on_user spans.
 */
export const INTERACTION_LATENCY_DAILY = {
  name: 'interaction_latency_daily',
  doc: 'Per day, team and model: interactions (claude_code.interaction spans), p50/p95 wall time, and ms inside model requests, tool execution and waiting on the user',
  columns: [
    { name: 'team', type: 'string', nullable: false, doc: "Team of the developer that day (as in user_daily; 'unattributed' when unknown)" },
    { name: 'model', type: 'string', nullable: false, doc: "Model of the interaction's first llm_request span; 'unknown' when it has none" },
    { name: 'interactions', type: 'int64', doc: 'claude_code.interaction spans that started that day' },
    { name: 'p50_ms', type: 'double', doc: 'Median wall time (end - start) of the interactions (approx_percentile: exact locally, rank error 0.01 on Athena)' },
    { name: 'p95_ms', type: 'double', doc: '95th percentile wall time of the interactions' },
    { name: 'llm_ms', type: 'double', doc: 'Total ms inside claude_code.llm_request spans of the interactions (divide by interactions for the mean)' },
    { name: 'tool_ms', type: 'double', doc: 'Total ms inside claude_code.tool.execution spans of the interactions' },
    { name: 'waiting_on_user_ms', type: 'double', doc: 'Total ms inside claude_code.tool.blocked_on_user spans (permission prompts) of the interactions' },
  ],
  key: ['team', 'model'],
  partitionKeys: DT,
} as const satisfies TableDef;

/**
 * Token burn by what caused it (issue 17): per day, team, model, token type and the agent, skill,
 * plugin and MCP server Claude Code attributes the usage to. token_burn_daily keeps its columns; this
 * table answers "what did this subagent / skill / plugin / MCP server cost".
 */
export const TOKEN_BURN_BY_SOURCE_DAILY = {
  name: 'token_burn_by_source_daily',
  doc: 'Per day, team, model, token type, agent, skill, plugin and MCP server: token burn (as token_burn_daily counts it) and its priced cost',
  columns: [
    { name: 'team', type: 'string', nullable: false, doc: "Team of the developer that day (as in user_daily; 'unattributed' when unknown)" },
    { name: 'model', type: 'string', nullable: false, doc: "Model id; 'unknown' when absent" },
    { name: 'query_source', type: 'string', nullable: false, doc: "query_source (main thread, subagent, auxiliary, ...); 'none' when absent" },
    { name: 'agent_name', type: 'string', nullable: false, doc: "agent.name; 'none' when the usage names no agent" },
    { name: 'skill_name', type: 'string', nullable: false, doc: "skill.name; 'none' when absent" },
    { name: 'plugin_name', type: 'string', nullable: false, doc: "plugin.name; 'none' when absent" },
    { name: 'mcp_server_name', type: 'string', nullable: false, doc: "mcp_server.name; 'none' when absent" },
    { name: 'token_type', type: 'string', nullable: false, doc: 'input | output | cache_read | cache_creation' },
    { name: 'tokens', type: 'int64', doc: 'Tokens: api_request events of sessions that have any, else token.usage datapoints (cumulative as deltas)' },
    {
      name: 'priced_cost_usd',
      type: 'double',
      doc: 'tokens x the price in force that day for the model and type / 1e6; null where the price table has no row for the model',
    },
  ],
  key: ['team', 'model', 'query_source', 'agent_name', 'skill_name', 'plugin_name', 'mcp_server_name', 'token_type'],
  partitionKeys: DT,
} as const satisfies TableDef;

/** A rollup table: a day partition with a declared key (its grain), checked on every day the rollup writes. */
/**
 * What each day's input carried (issue 23): the lake may be fed by an input profile that keeps only
 * some telemetry (the AWS guidance's `metrics` rows are token datapoints only; traces are opt-in), so
 * the views that need the rest say "no data from this input profile" instead of showing zeros as
 * measured. One row per day, counted from the day's curated records (whatever source delivered them).
 */
export const INPUT_COVERAGE_DAILY = {
  name: 'input_coverage_daily',
  doc: "Per day: the curated records by signal, and the relations and controls the day's input has no data for",
  columns: [
    { name: 'records', type: 'int64', nullable: false, doc: 'Curated records that day (a day without any has no row)' },
    { name: 'events', type: 'int64', doc: "Log events (signal 'event'): API health, tool usage, requests, edits and the event controls read them" },
    { name: 'metrics', type: 'int64', doc: "Metric datapoints (signal 'metric')" },
    { name: 'spans', type: 'int64', doc: "Trace spans (signal 'span'): interaction latency reads them" },
    { name: 'cost_records', type: 'int64', doc: 'api_request events and claude_code.cost.usage datapoints: the reported cost' },
    {
      name: 'productivity_metrics',
      type: 'int64',
      doc: 'Datapoints of claude_code.lines_of_code.count, commit.count, pull_request.count and active_time.total (lines, commits, pull requests, active time)',
    },
    {
      name: 'unavailable',
      type: 'string',
      doc: "Comma-separated relations, columns and controls with no data from this day's input (no data from this input profile); null when none",
    },
  ],
  // One row per day: the day's only row is unique by any of its not-null columns.
  key: ['records'],
  partitionKeys: DT,
} as const satisfies TableDef;

export type RollupTableDef = TableDef & { readonly key: readonly string[] };

/** Computed in this order; each model reads only events_curated (and the seeds), never another rollup. */
export const ROLLUP_TABLES = [
  USER_DAILY,
  API_HEALTH_DAILY,
  TOOL_USAGE_DAILY,
  TOKEN_BURN_DAILY,
  COMPLIANCE_DAILY,
  CHARGEBACK_DAILY,
  USER_HOURS_DAILY,
  TEAM_RESOURCES_DAILY,
  INTERACTION_LATENCY_DAILY,
  TOKEN_BURN_BY_SOURCE_DAILY,
  INPUT_COVERAGE_DAILY,
] as const satisfies readonly RollupTableDef[];

/**
 * The intraday rollup (issue 20): today so far, per developer, exactly as `user_daily` counts a day
 * but over `events` with its uncompacted tail, recomputed hourly (`rollup --intraday`). It is not a
 * daily table: the daily rollup never computes it, and the view `daily_figures` takes a day from it
 * only while it is the newest intraday day; every other day comes from `user_daily`.
 */
export const INTRADAY_USER_DAILY = {
  ...USER_DAILY,
  name: 'intraday_user_daily',
  doc: 'Today so far per developer (user_daily over events with the uncompacted tail), recomputed hourly',
} as const satisfies RollupTableDef;

/** The tables `rollup --intraday` computes. */
export const INTRADAY_TABLES = [INTRADAY_USER_DAILY] as const satisfies readonly RollupTableDef[];
