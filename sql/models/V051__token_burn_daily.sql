-- token_burn_daily for one day: tokens per team, cost center, project, model and token type, with
-- their priced cost. Every `?` is the day. Version 51 prices each api_request at its context tier
-- (version 12 priced every token at the standard tier): a request whose input + cache read + cache
-- creation tokens exceed the price row's long_above_tokens pays its long_ prices; tokens from
-- token.usage datapoints (no request to measure) are standard. Token counts are unchanged.
-- CONTRACTS section 3:
--  - token burn per session: from its api_request events when it has any that day, else from its
--    token.usage datapoints; cumulative series turned into deltas (a new start_time, or a value below
--    the previous one, starts the series again), exactly as user_daily does, so the two agree;
--  - team and cost center: the developer's that day, attributed as user_daily attributes them (the
--    effective-dated org directory, else the record's own attributes, else 'unattributed');
--  - priced cost: tokens x the price in force that day (`prices` seed, USD per million tokens) for the
--    model, context tier and token type; where several patterns match a model the longest (most
--    specific) wins; null where no price row covers the model (chargeback then says so).
-- Rows with zero tokens are left out; project and model read 'unknown' when the record has none.
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
    PARTITION BY user_key, session_id, metric_type, model, start_time, temporality
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
    r.project,
    r.model,
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
    u.project,
    u.model,
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
  a.team,
  a.cost_center,
  coalesce(b.project, 'unknown') AS project,
  coalesce(b.model, 'unknown') AS model,
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
GROUP BY a.team, a.cost_center, coalesce(b.project, 'unknown'), coalesce(b.model, 'unknown'), b.token_type
HAVING sum(b.tokens) <> 0
