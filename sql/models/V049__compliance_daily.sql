-- compliance_daily for one day (issue 23: V018 with status 'no_data' where the day's input carries
-- none of a control's evidence). A lake fed by an input profile that keeps only token datapoints
-- (the AWS guidance's `metrics` table, raw profile bedrock-guidance) has no events and no reported
-- cost: its days used to show the event controls and attribution_coverage as 'pass' with nothing
-- evaluated, as if measured. Now, on a day with records:
--  - bypass_permissions, mcp_allowlist, policy_rejections: 'no_data' when the day has no event at all;
--  - attribution_coverage: 'no_data' when the day has neither api_request events nor cost.usage
--    datapoints (no reported cost to attribute).
-- input_coverage_daily (V050) applies the same rules and names what is unavailable. A day with
-- events and reported cost (any cclake-profile day with logs) is computed exactly as V018 did.
-- V018 (issue 17) was V013 reading the MCP server from its own column, where
-- records decoded since issue 17 carry it, and the trace content keys user_prompt and full_command.
-- One row per control and team with any record that day, plus the
-- whole organization as team 'ALL' (a row for every control even on a day without records).
-- Every `?` is the day. CONTRACTS section 3 "Compliance controls", against the `compliance_policy`
-- seed (config `compliance`). `evaluated` / `violations` count:
--  - approved_models: records naming a model (api_request/api_error events, token/cost usage
--    datapoints); a violation when no approved_model glob matches the model.
--  - data_residency: the same records, evaluated where residency is known: the Bedrock
--    inference-profile prefix of the model id ('us.', 'eu.', 'apac.', 'global.' before 'anthropic.')
--    must be an allowed residency_prefix, and the record's region (attributes 'cloud.region', else
--    'aws.region'), when present and regions are configured, an allowed region. A model id without
--    a prefix and without a region (not a Bedrock profile) is not evaluated.
--  - attribution_coverage: developers with cost that day; a violation is one without a cost center.
--    Status: pass when the share of cost (cost_usd, as user_daily counts it) carrying a cost center
--    is at least the attribution_threshold (fail when none is configured); a day without cost passes.
--  - no_content_logged: every record; a violation is a record whose attributes hold a content key
--    (functions/lib/telemetry/attributes.ts isContentKey: prompt, response, tool_input, user_prompt,
--    full_command, ..., *.content).
--  - bypass_permissions: permission_mode_changed events; a violation is a change to bypassPermissions.
--  - mcp_allowlist: tool_result events of MCP tools (tool_name 'mcp_tool' or 'mcp__<server>__<tool>');
--    the server is the mcp_server_name column (else attributes 'mcp_server.name' or 'mcp_server_name' of
--    records decoded before the column existed, else from the tool name); a
--    violation is a server no mcp_server glob matches, an unknown server included (it cannot be
--    shown to be on the allowlist).
--  - policy_rejections: evidence, not violations: `evaluated` counts the tool_decision rejections made
--    by policy (decision_source 'config' or 'hook'; a user's own rejection is not policy),
--    `violations` is always 0 and the status always pass.
--  - telemetry_freshness (team 'ALL' only): the 24 hours of the day; a violation is an hour (of
--    event_time, UTC) without any record. A day still in progress fails until its hours arrive.
-- Other controls pass when violations = 0. Team and cost center are attributed as in user_daily.
WITH ev AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM events_curated e
  -- The day before too: a cumulative cost series' first point of the day needs its previous value.
  WHERE e.dt BETWEEN CAST(? AS DATE) - INTERVAL '1' DAY AND CAST(? AS DATE)
),
cost_points AS (
  SELECT
    ev.*,
    CASE
      WHEN temporality = 'cumulative' THEN
        CASE
          WHEN lag(value) OVER series IS NULL OR value < lag(value) OVER series THEN value
          ELSE value - lag(value) OVER series
        END
      ELSE value
    END AS delta
  FROM ev
  WHERE signal = 'metric' AND name = 'claude_code.cost.usage'
  WINDOW series AS (
    PARTITION BY user_key, session_id, model, start_time, temporality
    ORDER BY event_time, record_id
  )
),
day_records AS (
  SELECT * FROM ev WHERE dt = CAST(? AS DATE)
),
event_sessions AS (
  SELECT DISTINCT user_key, session_id FROM day_records WHERE signal = 'event' AND name = 'claude_code.api_request'
),
-- Cost per developer as user_daily counts it: api_request events, else cost.usage datapoints.
user_cost AS (
  SELECT user_key, sum(cost) AS cost_usd
  FROM (
    SELECT user_key, cost_usd AS cost FROM day_records WHERE signal = 'event' AND name = 'claude_code.api_request'
    UNION ALL
    SELECT c.user_key, c.delta AS cost
    FROM cost_points c
    LEFT JOIN event_sessions s ON s.user_key = c.user_key AND s.session_id = c.session_id
    WHERE c.dt = CAST(? AS DATE) AND s.session_id IS NULL
  ) AS x
  GROUP BY user_key
),
people AS (
  SELECT
    user_key,
    max(team_id) AS record_team,
    max(cost_center) AS record_cost_center,
    max(lower(trim(user_email))) AS email,
    max(user_id) AS user_id
  FROM day_records
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
    coalesce(de.team, di.team, p.record_team, 'unattributed') AS team,
    coalesce(de.cost_center, di.cost_center, p.record_cost_center, 'unattributed') AS cost_center
  FROM people p
  LEFT JOIN directory de ON de.rn = 1 AND nullif(lower(de.user_email), '') = p.email
  LEFT JOIN directory di ON di.rn = 1 AND nullif(di.user_email, '') IS NULL AND di.user_id = p.user_id
),
records AS (
  SELECT
    r.record_id,
    r.signal,
    r.name,
    r.model,
    r.tool_name,
    r.decision,
    r.decision_source,
    r.attributes,
    r.mcp_server_name,
    coalesce(a.team, 'unattributed') AS team,
    nullif(regexp_extract(r.model, '^([a-z-]+\.)anthropic\.', 1), '') AS geo_prefix,
    coalesce(element_at(r.attributes, 'cloud.region'), element_at(r.attributes, 'aws.region')) AS region
  FROM day_records r
  LEFT JOIN attributed a ON a.user_key = r.user_key
),
model_check AS (
  SELECT
    m.model,
    count(p.policy) FILTER (WHERE p.policy = 'approved_model' AND m.model LIKE p.value_like ESCAPE '\') > 0 AS approved,
    count(p.policy) FILTER (WHERE p.policy = 'residency_prefix' AND p.value = m.geo_prefix) > 0 AS prefix_allowed
  FROM (SELECT DISTINCT model, geo_prefix FROM records WHERE model IS NOT NULL) AS m
  LEFT JOIN compliance_policy p ON p.policy IN ('approved_model', 'residency_prefix')
  GROUP BY m.model
),
region_check AS (
  SELECT
    g.region,
    count(p.policy) > 0 AS checked,
    count(p.policy) FILTER (WHERE p.value = g.region) > 0 AS allowed
  FROM (SELECT DISTINCT region FROM records WHERE region IS NOT NULL) AS g
  LEFT JOIN compliance_policy p ON p.policy = 'region'
  GROUP BY g.region
),
content_records AS (
  SELECT DISTINCT r.record_id
  FROM records r
  CROSS JOIN UNNEST(map_keys(r.attributes)) AS k (attr_key)
  WHERE lower(k.attr_key) IN ('prompt', 'prompt_text', 'response', 'completion', 'tool_input', 'tool_parameters', 'tool_output', 'body', 'content', 'messages', 'system_prompt', 'user_prompt', 'full_command')
    OR lower(k.attr_key) LIKE '%.content'
),
mcp_calls AS (
  SELECT
    team,
    coalesce(mcp_server_name, element_at(attributes, 'mcp_server.name'), element_at(attributes, 'mcp_server_name'), nullif(split_part(tool_name, '__', 2), '')) AS server
  FROM records
  WHERE signal = 'event' AND name = 'claude_code.tool_result' AND (tool_name = 'mcp_tool' OR tool_name LIKE 'mcp\_\_%' ESCAPE '\')
),
server_check AS (
  SELECT s.server, count(p.policy) > 0 AS allowed
  FROM (SELECT DISTINCT server FROM mcp_calls WHERE server IS NOT NULL) AS s
  LEFT JOIN compliance_policy p ON p.policy = 'mcp_server' AND s.server LIKE p.value_like ESCAPE '\'
  GROUP BY s.server
),
-- One row per thing a control looked at: (team, control, evaluated 0/1, violations 0/1).
checks AS (
  SELECT r.team, 'approved_models' AS control_id, 1 AS evaluated, CASE WHEN mc.approved THEN 0 ELSE 1 END AS violations
  FROM records r
  JOIN model_check mc ON mc.model = r.model
  UNION ALL
  SELECT
    r.team,
    'data_residency' AS control_id,
    CASE WHEN r.geo_prefix IS NOT NULL OR coalesce(rc.checked, false) THEN 1 ELSE 0 END AS evaluated,
    CASE WHEN (r.geo_prefix IS NOT NULL AND NOT mc.prefix_allowed) OR (coalesce(rc.checked, false) AND NOT rc.allowed) THEN 1 ELSE 0 END AS violations
  FROM records r
  JOIN model_check mc ON mc.model = r.model
  LEFT JOIN region_check rc ON rc.region = r.region
  UNION ALL
  SELECT a.team, 'attribution_coverage' AS control_id, 1 AS evaluated, CASE WHEN a.cost_center = 'unattributed' THEN 1 ELSE 0 END AS violations
  FROM user_cost uc
  JOIN attributed a ON a.user_key = uc.user_key
  WHERE uc.cost_usd > 0
  UNION ALL
  SELECT r.team, 'no_content_logged' AS control_id, 1 AS evaluated, CASE WHEN cr.record_id IS NULL THEN 0 ELSE 1 END AS violations
  FROM records r
  LEFT JOIN content_records cr ON cr.record_id = r.record_id
  UNION ALL
  SELECT team, 'bypass_permissions' AS control_id, 1 AS evaluated, CASE WHEN element_at(attributes, 'to_mode') = 'bypassPermissions' THEN 1 ELSE 0 END AS violations
  FROM records
  WHERE signal = 'event' AND name = 'claude_code.permission_mode_changed'
  UNION ALL
  SELECT m.team, 'mcp_allowlist' AS control_id, 1 AS evaluated, CASE WHEN coalesce(sc.allowed, false) THEN 0 ELSE 1 END AS violations
  FROM mcp_calls m
  LEFT JOIN server_check sc ON sc.server = m.server
  UNION ALL
  SELECT team, 'policy_rejections' AS control_id, 1 AS evaluated, 0 AS violations
  FROM records
  WHERE signal = 'event' AND name = 'claude_code.tool_decision' AND decision = 'reject' AND decision_source IN ('config', 'hook')
),
counts AS (
  SELECT
    control_id,
    CASE WHEN grouping(team) = 1 THEN 'ALL' ELSE team END AS team,
    sum(evaluated) AS evaluated,
    sum(violations) AS violations
  FROM checks
  GROUP BY GROUPING SETS ((control_id, team), (control_id))
),
coverage AS (
  SELECT
    CASE WHEN grouping(team) = 1 THEN 'ALL' ELSE team END AS team,
    sum(cost_usd) AS cost_usd,
    sum(CASE WHEN cost_center = 'unattributed' THEN 0 ELSE cost_usd END) AS attributed_cost_usd
  FROM (SELECT a.team, a.cost_center, uc.cost_usd FROM user_cost uc JOIN attributed a ON a.user_key = uc.user_key) AS c
  GROUP BY GROUPING SETS ((team), ())
),
threshold AS (
  SELECT max(number) AS share FROM compliance_policy WHERE policy = 'attribution_threshold'
),
-- What kinds of evidence the day's input carries at all (input_coverage_daily's rule).
input_kinds AS (
  SELECT
    count(*) AS records,
    count(*) FILTER (WHERE signal = 'event') AS events,
    count(*) FILTER (WHERE (signal = 'event' AND name = 'claude_code.api_request') OR (signal = 'metric' AND name = 'claude_code.cost.usage')) AS cost_records
  FROM day_records
),
freshness AS (
  SELECT 24 AS evaluated, 24 - count(DISTINCT hour(event_time)) AS violations FROM day_records
),
teams AS (
  SELECT DISTINCT team FROM records
  UNION
  SELECT 'ALL' AS team
),
grid AS (
  SELECT c.control_id, t.team
  FROM (VALUES ('approved_models'), ('data_residency'), ('attribution_coverage'), ('no_content_logged'), ('bypass_permissions'), ('mcp_allowlist'), ('policy_rejections')) AS c (control_id)
  CROSS JOIN teams t
  UNION ALL
  SELECT 'telemetry_freshness' AS control_id, 'ALL' AS team
),
scored AS (
  SELECT
    g.control_id,
    g.team,
    CASE WHEN g.control_id = 'telemetry_freshness' THEN f.evaluated ELSE coalesce(n.evaluated, 0) END AS evaluated,
    CASE WHEN g.control_id = 'telemetry_freshness' THEN f.violations ELSE coalesce(n.violations, 0) END AS violations,
    cv.cost_usd,
    cv.attributed_cost_usd,
    th.share,
    ik.records,
    ik.events,
    ik.cost_records
  FROM grid g
  LEFT JOIN counts n ON n.control_id = g.control_id AND n.team = g.team
  LEFT JOIN coverage cv ON cv.team = g.team AND g.control_id = 'attribution_coverage'
  CROSS JOIN freshness f
  CROSS JOIN threshold th
  CROSS JOIN input_kinds ik
)
SELECT
  control_id,
  team,
  CAST(evaluated AS BIGINT) AS evaluated,
  CAST(violations AS BIGINT) AS violations,
  CASE
    WHEN records > 0 AND events = 0 AND control_id IN ('bypass_permissions', 'mcp_allowlist', 'policy_rejections') THEN 'no_data'
    WHEN records > 0 AND cost_records = 0 AND control_id = 'attribution_coverage' THEN 'no_data'
    WHEN control_id = 'policy_rejections' THEN 'pass'
    WHEN control_id = 'attribution_coverage' THEN
      CASE
        WHEN coalesce(cost_usd, 0) = 0 THEN 'pass'
        WHEN CAST(attributed_cost_usd AS DOUBLE) / nullif(cost_usd, 0) >= share THEN 'pass'
        ELSE 'fail'
      END
    WHEN violations > 0 THEN 'fail'
    ELSE 'pass'
  END AS status
FROM scored
