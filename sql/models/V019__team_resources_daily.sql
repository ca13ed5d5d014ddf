-- team_resources_daily for one day (issue 17: V015 reading the MCP server from its own column, where
-- records decoded since issue 17 carry it): the models and MCP servers each team used. Every `?` is the day.
--  - model: records naming a model (api_request/api_error events, token.usage/cost.usage datapoints,
--    as the approved_models control counts them in compliance_daily).
--  - mcp_server: tool_result events of MCP tools (tool_name 'mcp_tool' or 'mcp__<server>__<tool>');
--    the server is the mcp_server_name column, else attributes 'mcp_server.name' or 'mcp_server_name'
--    (records decoded before the column existed), else the name's middle part,
--    else 'unknown' (as the mcp_allowlist control reads it).
-- Team attributed as in user_daily: the effective-dated org directory, else the record's own team,
-- else 'unattributed'.
WITH ev AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM events_curated e
  WHERE e.dt = CAST(? AS DATE)
),
people AS (
  SELECT
    user_key,
    max(team_id) AS record_team,
    max(lower(trim(user_email))) AS email,
    max(user_id) AS user_id
  FROM ev
  GROUP BY user_key
),
-- The org directory rows in force that day, one per person (the latest valid_from wins an overlap).
directory AS (
  SELECT
    d.*,
    row_number() OVER (PARTITION BY coalesce(nullif(lower(d.user_email), ''), '#' || d.user_id) ORDER BY d.valid_from DESC, d.team) AS rn
  FROM org_directory d
  WHERE d.valid_from <= CAST(? AS DATE) AND (d.valid_to IS NULL OR d.valid_to > CAST(? AS DATE))
),
attributed AS (
  SELECT
    p.user_key,
    coalesce(de.team, di.team, p.record_team, 'unattributed') AS team
  FROM people p
  LEFT JOIN directory de ON de.rn = 1 AND nullif(lower(de.user_email), '') = p.email
  LEFT JOIN directory di ON di.rn = 1 AND nullif(di.user_email, '') IS NULL AND di.user_id = p.user_id
),
uses AS (
  SELECT user_key, 'model' AS resource_type, model AS resource
  FROM ev
  WHERE model IS NOT NULL
    AND ((signal = 'event' AND name IN ('claude_code.api_request', 'claude_code.api_error'))
      OR (signal = 'metric' AND name IN ('claude_code.token.usage', 'claude_code.cost.usage')))
  UNION ALL
  SELECT
    user_key,
    'mcp_server' AS resource_type,
    coalesce(mcp_server_name, element_at(attributes, 'mcp_server.name'), element_at(attributes, 'mcp_server_name'), nullif(split_part(tool_name, '__', 2), ''), 'unknown') AS resource
  FROM ev
  WHERE signal = 'event' AND name = 'claude_code.tool_result' AND (tool_name = 'mcp_tool' OR tool_name LIKE 'mcp\_\_%' ESCAPE '\')
)
SELECT
  coalesce(a.team, 'unattributed') AS team,
  u.resource_type,
  u.resource,
  CAST(count(*) AS BIGINT) AS uses,
  CAST(count(DISTINCT u.user_key) AS BIGINT) AS users
FROM uses u
LEFT JOIN attributed a ON a.user_key = u.user_key
GROUP BY coalesce(a.team, 'unattributed'), u.resource_type, u.resource
