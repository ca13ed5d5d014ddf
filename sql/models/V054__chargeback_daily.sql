-- chargeback_daily for one day: per developer, team, cost center, model and context tier, the tokens
-- by type, the cost Claude Code reported, and the price row in force with its unit prices at that
-- tier. Every `?` is the day. Version 54 adds the tier (version 20 carried the standard prices for
-- every token): the api_requests whose input + cache read + cache creation tokens exceed the price
-- row's long_above_tokens make a `long` row with the row's long_ prices; the others, token.usage
-- datapoints (no request to measure) and unpriced models make the `standard` row.
-- It is what the finance export (functions/lib/jobs/chargeback.ts) bills from; CONTRACTS section 3:
--  - token burn and reported cost per session: from its api_request events when it has any that day,
--    else from its token.usage / cost.usage datapoints; cumulative series as deltas (a new start_time,
--    or a value below the previous one, starts the series again), exactly as user_daily counts them;
--  - team and cost center: the developer's that day, attributed as user_daily attributes them;
--  - the price row: the `prices` seed row in force that day whose model glob matches the model, the
--    most specific (longest) pattern winning, as user_daily and token_burn_daily choose it. Its unit
--    prices are carried rather than a priced cost, so the export multiplies exact integers by exact
--    decimals instead of adding up doubles; all price columns are null where no row covers the model.
-- Rows without tokens or reported cost are left out; model reads 'unknown' when the record has none.
WITH ev AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM events_curated e
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
  WHERE signal = 'metric' AND name IN ('claude_code.token.usage', 'claude_code.cost.usage')
  WINDOW series AS (
    PARTITION BY user_key, session_id, name, metric_type, model, start_time, temporality
    ORDER BY event_time, record_id
  )
),
day_requests AS (
  SELECT * FROM ev WHERE dt = CAST(? AS DATE) AND signal = 'event' AND name = 'claude_code.api_request'
),
day_metrics AS (
  SELECT * FROM metric_points WHERE dt = CAST(? AS DATE)
),
-- Sessions whose tokens and cost come from events: those with any api_request that day.
event_sessions AS (
  SELECT DISTINCT user_key, session_id FROM day_requests
),
-- The prices in force that day.
day_prices AS (
  SELECT * FROM prices WHERE valid_from <= CAST(? AS DATE) AND (valid_to IS NULL OR valid_to > CAST(? AS DATE))
),
-- The price row of each model the day's records name: the most specific (longest) pattern wins.
model_price AS (
  SELECT
    m.model,
    p.version,
    p.model_pattern,
    p.valid_from,
    p.valid_to,
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
  WHERE s.session_id IS NULL
  GROUP BY m.user_key, m.model
),
usage AS (
  SELECT
    user_key,
    model,
    tier,
    sum(coalesce(input_tokens, 0)) AS input_tokens,
    sum(coalesce(output_tokens, 0)) AS output_tokens,
    sum(coalesce(cache_read_tokens, 0)) AS cache_read_tokens,
    sum(coalesce(cache_creation_tokens, 0)) AS cache_creation_tokens,
    sum(coalesce(cost_usd, 0)) AS cost_usd
  FROM usage_lines
  GROUP BY user_key, model, tier
),
people AS (
  SELECT
    user_key,
    max(team_id) AS record_team,
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
    p.user_key,
    coalesce(de.team, di.team, p.record_team, 'unattributed') AS team,
    coalesce(de.cost_center, di.cost_center, p.record_cost_center, 'unattributed') AS cost_center
  FROM people p
  LEFT JOIN directory de ON de.rn = 1 AND nullif(lower(de.user_email), '') = p.email
  LEFT JOIN directory di ON di.rn = 1 AND nullif(di.user_email, '') IS NULL AND di.user_id = p.user_id
)
SELECT
  u.user_key,
  a.team,
  a.cost_center,
  coalesce(u.model, 'unknown') AS model,
  CAST(u.input_tokens AS BIGINT) AS input_tokens,
  CAST(u.output_tokens AS BIGINT) AS output_tokens,
  CAST(u.cache_read_tokens AS BIGINT) AS cache_read_tokens,
  CAST(u.cache_creation_tokens AS BIGINT) AS cache_creation_tokens,
  CAST(u.cost_usd AS DOUBLE) AS cost_usd,
  p.version AS price_version,
  p.model_pattern AS price_model_pattern,
  p.valid_from AS price_valid_from,
  p.valid_to AS price_valid_to,
  CAST(CASE WHEN u.tier = 'long' THEN p.long_input ELSE p.input END AS DOUBLE) AS price_input,
  CAST(CASE WHEN u.tier = 'long' THEN p.long_output ELSE p.output END AS DOUBLE) AS price_output,
  CAST(CASE WHEN u.tier = 'long' THEN p.long_cache_read ELSE p.cache_read END AS DOUBLE) AS price_cache_read,
  CAST(CASE WHEN u.tier = 'long' THEN p.long_cache_creation ELSE p.cache_creation END AS DOUBLE) AS price_cache_creation,
  u.tier AS price_tier
FROM usage u
JOIN attributed a ON a.user_key = u.user_key
LEFT JOIN model_price p ON p.model = u.model AND p.rn = 1
WHERE u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_creation_tokens <> 0 OR u.cost_usd <> 0
