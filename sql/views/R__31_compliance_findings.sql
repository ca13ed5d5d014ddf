-- compliance_findings: the records behind compliance_daily, one row per record a control flagged,
-- so an evidence report can name examples (record ids and times, never content). The conditions are
-- compliance_daily's (sql/models/V018__compliance_daily.sql), record by record, with the team of the
-- `events` view (attributed as user_daily attributes it):
--  - approved_models: a record naming a model no approved_model glob matches;
--  - data_residency: a record naming a model whose Bedrock inference-profile prefix is not an allowed
--    residency_prefix, or whose region (attributes 'cloud.region', else 'aws.region') is not an
--    allowed region when regions are configured;
--  - attribution_coverage: a costed record (api_request cost_usd > 0, or cost.usage value > 0) of a
--    developer without a cost center that day (compliance_daily counts the developers);
--  - no_content_logged: a record whose attributes hold a content key (the key is never shown);
--  - bypass_permissions: a permission_mode_changed event to bypassPermissions;
--  - mcp_allowlist: an MCP tool_result whose server no mcp_server glob matches (or is unknown);
--  - policy_rejections: a tool_decision rejection made by policy ('config' or 'hook'); finding
--    'evidence', not 'violation', as compliance_daily counts it.
-- telemetry_freshness (missing hours) has no records to show; the evidence report lists the hours.
-- Every control reads the policy with a join and a grouping per record, so a filter on dt reaches the
-- events scan on both engines.
CREATE OR REPLACE VIEW compliance_findings AS
WITH records AS (
  SELECT
    dt,
    record_id,
    event_time,
    signal,
    name,
    model,
    tool_name,
    decision,
    decision_source,
    attributes,
    mcp_server_name,
    value,
    cost_usd,
    team,
    cost_center,
    nullif(regexp_extract(model, '^([a-z-]+\.)anthropic\.', 1), '') AS geo_prefix,
    coalesce(element_at(attributes, 'cloud.region'), element_at(attributes, 'aws.region')) AS region
  FROM events
),
model_records AS (
  SELECT
    r.dt,
    r.record_id,
    r.event_time,
    r.team,
    r.geo_prefix,
    r.region,
    count(p.policy) FILTER (WHERE p.policy = 'approved_model' AND r.model LIKE p.value_like ESCAPE '\') > 0 AS approved,
    count(p.policy) FILTER (WHERE p.policy = 'residency_prefix' AND p.value = r.geo_prefix) > 0 AS prefix_allowed,
    count(p.policy) FILTER (WHERE p.policy = 'region') > 0 AS regions_checked,
    count(p.policy) FILTER (WHERE p.policy = 'region' AND p.value = r.region) > 0 AS region_allowed
  FROM records r
  LEFT JOIN compliance_policy p ON p.policy IN ('approved_model', 'residency_prefix', 'region')
  WHERE r.model IS NOT NULL
  GROUP BY r.dt, r.record_id, r.event_time, r.team, r.geo_prefix, r.region
),
mcp_calls AS (
  SELECT
    dt,
    record_id,
    event_time,
    team,
    coalesce(mcp_server_name, element_at(attributes, 'mcp_server.name'), element_at(attributes, 'mcp_server_name'), nullif(split_part(tool_name, '__', 2), '')) AS server
  FROM records
  WHERE signal = 'event' AND name = 'claude_code.tool_result' AND (tool_name = 'mcp_tool' OR tool_name LIKE 'mcp\_\_%' ESCAPE '\')
),
mcp_records AS (
  SELECT m.dt, m.record_id, m.event_time, m.team, count(p.policy) > 0 AS allowed
  FROM mcp_calls m
  LEFT JOIN compliance_policy p ON p.policy = 'mcp_server' AND m.server LIKE p.value_like ESCAPE '\'
  GROUP BY m.dt, m.record_id, m.event_time, m.team
),
content_records AS (
  SELECT DISTINCT r.dt, r.record_id, r.event_time, r.team
  FROM records r
  CROSS JOIN UNNEST(map_keys(r.attributes)) AS k (attr_key)
  WHERE lower(k.attr_key) IN ('prompt', 'prompt_text', 'response', 'completion', 'tool_input', 'tool_parameters', 'tool_output', 'body', 'content', 'messages', 'system_prompt', 'user_prompt', 'full_command')
    OR lower(k.attr_key) LIKE '%.content'
)
SELECT dt, 'approved_models' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM model_records
WHERE NOT approved
UNION ALL
SELECT dt, 'data_residency' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM model_records
WHERE (geo_prefix IS NOT NULL AND NOT prefix_allowed) OR (region IS NOT NULL AND regions_checked AND NOT region_allowed)
UNION ALL
SELECT dt, 'attribution_coverage' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM records
WHERE cost_center = 'unattributed'
  AND ((signal = 'event' AND name = 'claude_code.api_request' AND cost_usd > 0) OR (signal = 'metric' AND name = 'claude_code.cost.usage' AND value > 0))
UNION ALL
SELECT dt, 'no_content_logged' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM content_records
UNION ALL
SELECT dt, 'bypass_permissions' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM records
WHERE signal = 'event' AND name = 'claude_code.permission_mode_changed' AND element_at(attributes, 'to_mode') = 'bypassPermissions'
UNION ALL
SELECT dt, 'mcp_allowlist' AS control_id, team, record_id, event_time, 'violation' AS finding
FROM mcp_records
WHERE NOT allowed
UNION ALL
SELECT dt, 'policy_rejections' AS control_id, team, record_id, event_time, 'evidence' AS finding
FROM records
WHERE signal = 'event' AND name = 'claude_code.tool_decision' AND decision = 'reject' AND decision_source IN ('config', 'hook')
