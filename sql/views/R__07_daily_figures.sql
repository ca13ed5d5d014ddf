-- The figures of each day per team (issue 20, freshness): the day's final numbers from user_daily,
-- except for the days with rows in intraday_user_daily (today so far, recomputed hourly by
-- `rollup --intraday` from events with the uncompacted tail) that the daily rollup has not gone
-- past yet (no day of user_daily after them), which come from there. A day is final once the daily
-- rollup has computed a later day, so it ran after that day was over: until then its user_daily
-- rows can be the partial day of the run at 01:40 (the intraday run recomputes yesterday as well
-- while that is so). Active: as in active_user_days (a request or a token that day). `source` says
-- which side a row comes from.
CREATE OR REPLACE VIEW daily_figures AS
WITH cut AS (
  SELECT coalesce(max(dt), DATE '0001-01-01') AS dt FROM user_daily
),
intraday_days AS (
  SELECT DISTINCT i.dt FROM intraday_user_daily i WHERE i.dt >= (SELECT dt FROM cut)
),
days AS (
  SELECT u.*, 'final' AS source FROM user_daily u WHERE u.dt NOT IN (SELECT dt FROM intraday_days)
  UNION ALL
  SELECT i.*, 'intraday' AS source FROM intraday_user_daily i WHERE i.dt IN (SELECT dt FROM intraday_days)
)
SELECT
  dt,
  team,
  source,
  count(DISTINCT CASE WHEN requests > 0 OR input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0 THEN user_key END) AS active_users,
  CAST(sum(requests) AS BIGINT) AS requests,
  CAST(sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS BIGINT) AS tokens,
  sum(cost_usd) AS cost_usd,
  sum(priced_cost_usd) AS priced_cost_usd
FROM days
GROUP BY dt, team, source
