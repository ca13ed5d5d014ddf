-- CONTRACTS section 3: cache savings = cache_read tokens x (input price - cache read price), per
-- day, team, cost center and model, from token_burn_daily's cache_read tokens and the price in force
-- that day (`prices` seed, USD per million tokens; where several patterns match a model the longest,
-- most specific, wins, as token_burn_daily prices it). savings_usd is null where no price row covers
-- the model (cache_read_tokens are still shown). Read by the executive dashboard.
CREATE OR REPLACE VIEW cache_savings_daily AS
WITH reads AS (
  SELECT dt, team, cost_center, model, sum(tokens) AS cache_read_tokens
  FROM token_burn_daily
  WHERE token_type = 'cache_read'
  GROUP BY dt, team, cost_center, model
),
priced AS (
  SELECT
    r.dt,
    r.model,
    p.input - p.cache_read AS saving_per_million,
    row_number() OVER (PARTITION BY r.dt, r.model ORDER BY length(p.model_pattern) DESC, p.valid_from DESC, p.model_pattern) AS rn
  FROM (SELECT DISTINCT dt, model FROM reads) AS r
  JOIN prices p
    ON r.model LIKE p.model_like ESCAPE '\'
   AND p.valid_from <= r.dt
   AND (p.valid_to IS NULL OR p.valid_to > r.dt)
)
SELECT
  r.dt,
  r.team,
  r.cost_center,
  r.model,
  CAST(r.cache_read_tokens AS BIGINT) AS cache_read_tokens,
  CAST(r.cache_read_tokens * p.saving_per_million AS DOUBLE) / 1000000 AS savings_usd
FROM reads r
LEFT JOIN priced p ON p.dt = r.dt AND p.model = r.model AND p.rn = 1
