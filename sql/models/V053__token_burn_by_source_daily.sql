-- token_burn_by_source_daily for one day (issue 17): token burn per team, model, token type and what
-- Claude Code attributes the usage to (query_source, agent.name, skill.name, plugin.name,
-- mcp_server.name; 'none' where the record names none). Every `?` is the day. Counted exactly as
-- token_burn_daily counts it (CONTRACTS section 3): per session from its api_request events when it
-- has any that day, else from its token.usage datapoints, cumulative series turned into deltas (a
-- series here is also told apart by its attribution, as Claude Code keeps one per attribute set);
-- team attributed as in user_daily; priced cost from the price in force that day for the model and
-- type (the longest matching pattern wins), null where no price row covers the model.
-- Version 53 prices each api_request at its context tier, as token_burn_daily V051 does (a request
-- whose input + cache read + cache creation tokens exceed the price row's long_above_tokens pays its
-- long_ prices; token.usage datapoints are standard). Rows with zero tokens are left out.
WITH ev AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM events_curated e
  -- The day before too: a cumulative series' first point of the day needs its previous value.
  WHERE e.dt BETWEEN CAST(? AS DATE) - INTERVAL '1' DAY AND CAST(? AS DATE)
),
usage_points AS (
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
  WHERE signal = 'metric' AND name = 'claude_code.token.usage'
  WINDOW series AS (
    PARTITION BY user_key, session_id, metric_type, model, query_source, agent_name, skill_name, plugin_name, mcp_server_name, start_time, temporality
    ORDER BY event_time, record_id
  )
),
day_requests AS (
  SELECT * FROM ev WHERE dt = CAST(? AS DATE) AND signal = 'event' AND name = 'claude_code.api_request'
),
event_sessions AS (
  SELECT DISTINCT user_key, session_id FROM day_requests
),
-- The prices in force that day.
day_prices AS (
  SELECT * FROM prices WHERE valid_from <= CAST(? AS DATE) AND (valid_to IS NULL OR valid_to > CAST(? AS DATE))
),
-- The price row of each model the day's records name.
model_price AS (
  SELECT
    m.model,
    p.input,
    p.output,
    p.cache_read,
    p.cache_creation,
    p.long_above_tokens,
    p.long_input,
    p.long_output,
    p.long_cache_read,
    p.long_cache_creation,
    row_number() OVER (PARTITION BY m.model ORDER BY length(p.model_pattern) DESC, p.valid_from DESC, p.model_pattern) AS rn
  FROM (SELECT DISTINCT model FROM ev WHERE dt = CAST(? AS DATE) AND model IS NOT NULL) AS m
  JOIN day_prices p ON m.model LIKE p.model_like ESCAPE '\'
),
-- Each request's context tier: long above the model's threshold (none where it has no long price).
tiered_requests AS (
  SELECT
    r.*,
    CASE
      WHEN coalesce(r.input_tokens, 0) + coalesce(r.cache_read_tokens, 0) + coalesce(r.cache_creation_tokens, 0) > p.long_above_tokens THEN 'long'
      ELSE 'standard'
    END AS tier
  FROM day_requests r
  LEFT JOIN model_price p ON p.model = r.model AND p.rn = 1
),
token_types AS (
  SELECT token_type FROM (VALUES ('input'), ('output'), ('cache_read'), ('cache_creation')) AS t (token_type)
),
burn AS (
  SELECT
    r.user_key,
    r.model,
    r.query_source,
    r.agent_name,
    r.skill_name,
    r.plugin_name,
    r.mcp_server_name,
    r.tier,
    t.token_type,
    CASE t.token_type
      WHEN 'input' THEN r.input_tokens
      WHEN 'output' THEN r.output_tokens
      WHEN 'cache_read' THEN r.cache_read_tokens
      ELSE r.cache_creation_tokens
    END AS tokens
  FROM tiered_requests r
  CROSS JOIN token_types t
  UNION ALL
  SELECT
    u.user_key,
    u.model,
    u.query_source,
    u.agent_name,
    u.skill_name,
    u.plugin_name,
    u.mcp_server_name,
    'standard' AS tier,
    CASE u.metric_type WHEN 'input' THEN 'input' WHEN 'output' THEN 'output' WHEN 'cacheRead' THEN 'cache_read' WHEN 'cacheCreation' THEN 'cache_creation' END AS token_type,
    u.delta AS tokens
  FROM usage_points u
  LEFT JOIN event_sessions s ON s.user_key = u.user_key AND s.session_id = u.session_id
  WHERE u.dt = CAST(? AS DATE) AND s.session_id IS NULL
),
people AS (
  SELECT
    user_key,
    max(team_id) AS record_team,
    max(lower(trim(user_email))) AS email,
    max(user_id) AS user_id
  FROM ev
  WHERE dt = CAST(? AS DATE)
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
)
SELECT
  a.team,
  coalesce(b.model, 'unknown') AS model,
  coalesce(b.query_source, 'none') AS query_source,
  coalesce(b.agent_name, 'none') AS agent_name,
  coalesce(b.skill_name, 'none') AS skill_name,
  coalesce(b.plugin_name, 'none') AS plugin_name,
  coalesce(b.mcp_server_name, 'none') AS mcp_server_name,
  b.token_type,
  CAST(sum(b.tokens) AS BIGINT) AS tokens,
  CAST(sum(b.tokens * CASE
    WHEN b.tier = 'long' THEN CASE b.token_type WHEN 'input' THEN p.long_input WHEN 'output' THEN p.long_output WHEN 'cache_read' THEN p.long_cache_read ELSE p.long_cache_creation END
    ELSE CASE b.token_type WHEN 'input' THEN p.input WHEN 'output' THEN p.output WHEN 'cache_read' THEN p.cache_read ELSE p.cache_creation END
  END) AS DOUBLE) / 1000000 AS priced_cost_usd
FROM burn b
JOIN attributed a ON a.user_key = b.user_key
LEFT JOIN model_price p ON p.model = b.model AND p.rn = 1
WHERE b.token_type IS NOT NULL
GROUP BY a.team, coalesce(b.model, 'unknown'), coalesce(b.query_source, 'none'), coalesce(b.agent_name, 'none'), coalesce(b.skill_name, 'none'), coalesce(b.plugin_name, 'none'), coalesce(b.mcp_server_name, 'none'), b.token_type
HAVING sum(b.tokens) <> 0
