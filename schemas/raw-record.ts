/**
 * The raw record (CONTRACTS section 2): one row per OTLP log event, metric datapoint or span, as the
 * Firehose transform flattens it. This is the only place its columns are written down.
 *
 * The columns after `attributes` came with traces and 2026 telemetry (issue 17). They are appended
 * rather than placed beside their kin because an existing Glue table gains new columns at its end
 * (functions/lib/catalog/sync.ts): a new deployment and an upgraded one then list the same order.
 * Files written before them lack them; every reader goes by column name and reads them as null.
 */
import type { RowOf, TableDef } from './columns';

export const RAW_RECORD = {
  name: 'raw_record',
  doc: 'One Claude Code OTLP log event, metric datapoint or span, flattened.',
  columns: [
    { name: 'record_id', type: 'string', nullable: false, doc: 'Deterministic hash of the identifying content' },
    { name: 'signal', type: 'string', nullable: false, doc: 'event | metric | span' },
    { name: 'name', type: 'string', nullable: false, doc: 'Full event, metric or span name, e.g. claude_code.api_request, claude_code.interaction' },
    { name: 'event_time', type: 'timestamp', nullable: false, doc: 'event.timestamp, else timeUnixNano; a span its startTimeUnixNano (UTC, ms)' },

    { name: 'user_id', type: 'string', doc: 'Anonymous user id', otel: ['user.id'] },
    { name: 'user_email', type: 'string', doc: 'User email when authenticated via OAuth', otel: ['user.email'] },
    { name: 'user_account_uuid', type: 'string', doc: 'Account UUID', otel: ['user.account_uuid'] },
    { name: 'organization_id', type: 'string', doc: 'Organization UUID', otel: ['organization.id'] },
    { name: 'session_id', type: 'string', doc: 'Claude Code session id', otel: ['session.id'] },
    { name: 'terminal_type', type: 'string', doc: 'Terminal, e.g. vscode, iTerm.app', otel: ['terminal.type'] },
    { name: 'app_version', type: 'string', doc: 'Claude Code version', otel: ['app.version', 'service.version'] },
    { name: 'service_name', type: 'string', doc: 'OTel service.name', otel: ['service.name'] },
    { name: 'os_type', type: 'string', doc: 'Operating system', otel: ['os.type'] },
    { name: 'host_arch', type: 'string', doc: 'CPU architecture', otel: ['host.arch'] },

    { name: 'department', type: 'string', doc: 'From OTEL_RESOURCE_ATTRIBUTES', otel: ['department'] },
    { name: 'team_id', type: 'string', doc: 'From OTEL_RESOURCE_ATTRIBUTES', otel: ['team.id', 'team_id', 'team'] },
    { name: 'cost_center', type: 'string', doc: 'From OTEL_RESOURCE_ATTRIBUTES', otel: ['cost_center', 'cost.center'] },
    { name: 'project', type: 'string', doc: 'Repository or project', otel: ['project', 'repository', 'vcs.repository.name'] },
    { name: 'environment', type: 'string', doc: 'Deployment environment', otel: ['environment', 'deployment.environment', 'deployment.environment.name'] },

    {
      name: 'model',
      type: 'string',
      doc: 'Model id without a context suffix, e.g. us.anthropic.claude-sonnet-4-5-20250929-v1:0, claude-opus-4-6',
      otel: ['model'],
    },
    { name: 'query_source', type: 'string', doc: 'Which part of Claude Code issued the request', otel: ['query_source'] },
    { name: 'speed', type: 'string', doc: 'Requested speed mode', otel: ['speed'] },
    { name: 'effort', type: 'string', doc: 'Requested reasoning effort', otel: ['effort'] },
    { name: 'request_id', type: 'string', doc: 'Provider request id', otel: ['request_id', 'request.id'] },
    { name: 'input_tokens', type: 'int64', doc: 'Input tokens of the request', otel: ['input_tokens'] },
    { name: 'output_tokens', type: 'int64', doc: 'Output tokens of the request', otel: ['output_tokens'] },
    { name: 'cache_read_tokens', type: 'int64', doc: 'Cache read tokens', otel: ['cache_read_tokens'] },
    { name: 'cache_creation_tokens', type: 'int64', doc: 'Cache creation tokens', otel: ['cache_creation_tokens'] },
    { name: 'cost_usd', type: 'double', doc: 'Client-side list-price estimate in USD (cost_usd_micros / 1e6 when the record has it)', otel: ['cost_usd'] },
    { name: 'duration_ms', type: 'double', doc: 'Request, tool or span duration in ms (a span: end - start)', otel: ['duration_ms'] },
    { name: 'ttft_ms', type: 'double', doc: 'Time to first token in ms', otel: ['ttft_ms'] },
    { name: 'status_code', type: 'int32', doc: 'HTTP status of a failed request; a span its OTLP status (0 unset, 1 ok, 2 error)', otel: ['status_code'] },
    { name: 'error', type: 'string', doc: 'Error message of a failed request', otel: ['error'] },
    { name: 'attempt', type: 'int32', doc: 'Retry attempt number', otel: ['attempt'] },

    { name: 'tool_name', type: 'string', doc: 'Tool name, mcp__server__tool for MCP tools', otel: ['tool_name'] },
    { name: 'success', type: 'boolean', doc: 'Tool succeeded', otel: ['success'] },
    { name: 'decision', type: 'string', doc: 'accept | reject', otel: ['decision'] },
    {
      name: 'decision_source',
      type: 'string',
      doc: 'config | user_permanent | user_temporary | user_abort | user_reject | hook',
      otel: ['source', 'decision_source'],
    },
    { name: 'language', type: 'string', doc: 'Language of an edit', otel: ['language'] },
    { name: 'prompt_id', type: 'string', doc: 'Prompt id linking the events of one prompt', otel: ['prompt.id', 'prompt_id'] },
    { name: 'prompt_length', type: 'int64', doc: 'Prompt length in characters (never the prompt)', otel: ['prompt_length'] },
    { name: 'event_sequence', type: 'int64', doc: 'Monotonic event sequence within a session', otel: ['event.sequence'] },

    { name: 'metric_type', type: 'string', doc: 'Metric `type` attribute: input/output/cacheRead/cacheCreation, added/removed, user/cli', otel: ['type'] },
    { name: 'value', type: 'double', doc: 'Metric datapoint value' },
    { name: 'start_time', type: 'timestamp', doc: 'Metric datapoint start, or span start (UTC)' },
    { name: 'temporality', type: 'string', doc: 'delta | cumulative' },

    { name: 'attributes', type: 'map<string,string>', doc: 'Every other non-content attribute' },

    { name: 'user_account_id', type: 'string', doc: 'Account id (user.account_id)', otel: ['user.account_id'] },
    { name: 'context_tier', type: 'string', doc: "Context tier a model id carried as a suffix, e.g. '1m' from claude-opus-4-6[1m]" },
    { name: 'agent_name', type: 'string', doc: 'Subagent or workflow agent that issued the request', otel: ['agent.name'] },
    { name: 'skill_name', type: 'string', doc: 'Skill behind the usage (skill.name; skill_name on Skill tool spans)', otel: ['skill.name', 'skill_name'] },
    { name: 'plugin_name', type: 'string', doc: 'Plugin behind the usage', otel: ['plugin.name'] },
    {
      name: 'mcp_server_name',
      type: 'string',
      doc: 'MCP server (mcp_server.name; server_name on mcp_server_connection events)',
      otel: ['mcp_server.name', 'mcp_server_name', 'server_name'],
    },
    { name: 'mcp_tool_name', type: 'string', doc: 'MCP tool', otel: ['mcp_tool.name'] },
    { name: 'workflow_run_id', type: 'string', doc: 'Workflow run id (wf_...)', otel: ['workflow.run_id'] },
    { name: 'trace_id', type: 'string', doc: 'Span: trace id (32 lower-case hex digits)' },
    { name: 'span_id', type: 'string', doc: 'Span: span id (16 lower-case hex digits)' },
    { name: 'parent_span_id', type: 'string', doc: 'Span: parent span id; null for a root span' },
    { name: 'end_time', type: 'timestamp', doc: 'Span: end (UTC)' },
  ],
} as const satisfies TableDef;

export type RawRecord = RowOf<typeof RAW_RECORD>;
export type RawColumn = keyof RawRecord;

export const RAW_COLUMN_NAMES: readonly RawColumn[] = RAW_RECORD.columns.map((c) => c.name);

/** An all-null record to fill in; spreads keep column order stable. */
export function emptyRawRecord(): RawRecord {
  const row: Record<string, null> = {};
  for (const c of RAW_COLUMN_NAMES) row[c] = null;
  return row as unknown as RawRecord;
}
