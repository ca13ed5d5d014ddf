-- intraday_user_daily for one day (issue 20, freshness): today so far, per developer, counted
-- exactly as user_daily (V016) counts a day, but over the curated events and the uncompacted raw
-- tail (events_tail: the records compaction has not taken yet, none of them curated already, with
-- the curated table's columns in its order). Computed hourly by `rollup --intraday`; once every
-- event of the day is compacted it equals the day's user_daily. Every `?` is the day.
-- Version 55 prices each api_request at its context tier, as user_daily V052 does.
WITH ev AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM (SELECT * FROM events_curated UNION ALL SELECT * FROM events_tail) e
  -- The day before too: a cumulative series' first point of the day needs its previous value.
  WHERE e.dt BETWEEN CAST(? AS DATE) - INTERVAL '1' DAY AND CAST(? AS DATE)
),
metric_points AS (
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
  WHERE signal = 'metric'
  WINDOW series AS (
    PARTITION BY user_key, session_id, name, metric_type, model, start_time, temporality
    ORDER BY event_time, record_id
  )
),
day_events AS (
  SELECT * FROM ev WHERE dt = CAST(? AS DATE) AND signal = 'event'
),
day_metrics AS (
  SELECT * FROM metric_points WHERE dt = CAST(? AS DATE)
),
-- Sessions whose tokens and cost come from events: those with any api_request that day.
event_sessions AS (
  SELECT DISTINCT user_key, session_id FROM day_events WHERE name = 'claude_code.api_request'
),
-- The prices in force that day (in a WHERE clause: Athena binds parameters there only).
day_prices AS (
  SELECT * FROM prices WHERE valid_from <= CAST(? AS DATE) AND (valid_to IS NULL OR valid_to > CAST(? AS DATE))
),
-- The price row of each model the day's records name: the most specific (longest) pattern wins.
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
  FROM day_events r
  LEFT JOIN model_price p ON p.model = r.model AND p.rn = 1
  WHERE r.name = 'claude_code.api_request'
),
-- Token usage and reported cost per developer, model and context tier: from api_request events
-- for event sessions, from token.usage / cost.usage datapoints (standard tier) for the others.
usage_parts AS (
  SELECT
    user_key,
    model,
    tier,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_creation_tokens) AS cache_creation_tokens,
    sum(cost_usd) AS cost_usd
  FROM tiered_requests
  GROUP BY user_key, model, tier
  UNION ALL
  SELECT
    m.user_key,
    m.model,
    'standard' AS tier,
    sum(m.delta) FILTER (WHERE m.name = 'claude_code.token.usage' AND m.metric_type = 'input'),
    sum(m.delta) FILTER (WHERE m.name = 'claude_code.token.usage' AND m.metric_type = 'output'),
    sum(m.delta) FILTER (WHERE m.name = 'claude_code.token.usage' AND m.metric_type = 'cacheRead'),
    sum(m.delta) FILTER (WHERE m.name = 'claude_code.token.usage' AND m.metric_type = 'cacheCreation'),
    sum(m.delta) FILTER (WHERE m.name = 'claude_code.cost.usage')
  FROM day_metrics m
  LEFT JOIN event_sessions s ON s.user_key = m.user_key AND s.session_id = m.session_id
  WHERE s.session_id IS NULL AND m.name IN ('claude_code.token.usage', 'claude_code.cost.usage')
  GROUP BY m.user_key, m.model
),
-- One line per developer, model and tier: event sessions and metrics-only sessions together.
usage_lines AS (
  SELECT
    user_key,
    model,
    tier,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_creation_tokens) AS cache_creation_tokens,
    sum(cost_usd) AS cost_usd
  FROM usage_parts
  GROUP BY user_key, model, tier
),
-- Each line's unit prices: its model's, at its tier.
priced_lines AS (
  SELECT
    u.*,
    CASE WHEN u.tier = 'long' THEN p.long_input ELSE p.input END AS price_input,
    CASE WHEN u.tier = 'long' THEN p.long_output ELSE p.output END AS price_output,
    CASE WHEN u.tier = 'long' THEN p.long_cache_read ELSE p.cache_read END AS price_cache_read,
    CASE WHEN u.tier = 'long' THEN p.long_cache_creation ELSE p.cache_creation END AS price_cache_creation
  FROM usage_lines u
  LEFT JOIN model_price p ON p.model = u.model AND p.rn = 1
),
-- priced_cost_usd is null unless the price table covers every model the developer used that day,
-- so a sum never silently mixes priced and unpriced usage.
usage AS (
  SELECT
    user_key,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_creation_tokens) AS cache_creation_tokens,
    sum(cost_usd) AS cost_usd,
    CASE WHEN count(*) = count(price_input) THEN
      sum(CAST(
        coalesce(input_tokens, 0) * price_input + coalesce(output_tokens, 0) * price_output
        + coalesce(cache_read_tokens, 0) * price_cache_read + coalesce(cache_creation_tokens, 0) * price_cache_creation
        AS DOUBLE) / 1000000)
    END AS priced_cost_usd
  FROM priced_lines
  GROUP BY user_key
),
productivity AS (
  SELECT
    user_key,
    sum(delta) FILTER (WHERE name = 'claude_code.lines_of_code.count' AND metric_type = 'added') AS lines_added,
    sum(delta) FILTER (WHERE name = 'claude_code.lines_of_code.count' AND metric_type = 'removed') AS lines_removed,
    sum(delta) FILTER (WHERE name = 'claude_code.commit.count') AS commits,
    sum(delta) FILTER (WHERE name = 'claude_code.pull_request.count') AS pull_requests,
    sum(delta) FILTER (WHERE name = 'claude_code.active_time.total') AS active_seconds
  FROM day_metrics
  GROUP BY user_key
),
activity AS (
  SELECT
    user_key,
    count(DISTINCT session_id) AS sessions,
    count(*) FILTER (WHERE signal = 'event' AND name = 'claude_code.api_request') AS requests,
    count(*) FILTER (WHERE signal = 'event' AND name = 'claude_code.api_error') AS errors,
    count(*) FILTER (WHERE signal = 'event' AND name = 'claude_code.tool_decision' AND tool_name IN ('Edit', 'Write', 'MultiEdit', 'NotebookEdit') AND decision = 'accept') AS edits_accepted,
    count(*) FILTER (WHERE signal = 'event' AND name = 'claude_code.tool_decision' AND tool_name IN ('Edit', 'Write', 'MultiEdit', 'NotebookEdit') AND decision = 'reject') AS edits_rejected,
    max(team_id) AS record_team,
    max(department) AS record_department,
    max(cost_center) AS record_cost_center,
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
    a.*,
    coalesce(de.team, di.team, a.record_team, 'unattributed') AS team,
    coalesce(de.department, di.department, a.record_department, 'unattributed') AS department,
    coalesce(de.cost_center, di.cost_center, a.record_cost_center, 'unattributed') AS cost_center
  FROM activity a
  LEFT JOIN directory de ON de.rn = 1 AND nullif(lower(de.user_email), '') = a.email
  LEFT JOIN directory di ON di.rn = 1 AND nullif(di.user_email, '') IS NULL AND di.user_id = a.user_id
)
SELECT
  a.user_key,
  a.team,
  a.department,
  a.cost_center,
  CAST(a.sessions AS BIGINT) AS sessions,
  CAST(a.requests AS BIGINT) AS requests,
  CAST(a.errors AS BIGINT) AS errors,
  CAST(coalesce(u.input_tokens, 0) AS BIGINT) AS input_tokens,
  CAST(coalesce(u.output_tokens, 0) AS BIGINT) AS output_tokens,
  CAST(coalesce(u.cache_read_tokens, 0) AS BIGINT) AS cache_read_tokens,
  CAST(coalesce(u.cache_creation_tokens, 0) AS BIGINT) AS cache_creation_tokens,
  CAST(coalesce(u.cost_usd, 0) AS DOUBLE) AS cost_usd,
  CAST(u.priced_cost_usd AS DOUBLE) AS priced_cost_usd,
  CAST(coalesce(p.lines_added, 0) AS BIGINT) AS lines_added,
  CAST(coalesce(p.lines_removed, 0) AS BIGINT) AS lines_removed,
  CAST(coalesce(p.commits, 0) AS BIGINT) AS commits,
  CAST(coalesce(p.pull_requests, 0) AS BIGINT) AS pull_requests,
  CAST(coalesce(p.active_seconds, 0) AS DOUBLE) AS active_seconds,
  CAST(a.edits_accepted AS BIGINT) AS edits_accepted,
  CAST(a.edits_rejected AS BIGINT) AS edits_rejected
FROM attributed a
LEFT JOIN usage u ON u.user_key = a.user_key
LEFT JOIN productivity p ON p.user_key = a.user_key
