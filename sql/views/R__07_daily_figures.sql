-- The figures of each day per team (issue 20, freshness): the day's final numbers from user_daily,
-- except for the newest day with rows in intraday_user_daily (today so far, recomputed hourly by
-- `rollup --intraday` from events with the uncompacted tail), which comes from there; once the
-- intraday rollup has rows of the next day, that day reads from the daily rollup (which by then
-- has computed it whole). Active: as in
-- active_user_days (a request or a token that day). `source` says which side a row comes from.
CREATE OR REPLACE VIEW daily_figures AS
WITH today AS (
  SELECT max(dt) AS dt FROM intraday_user_daily
),
days AS (
  SELECT u.*, 'final' AS source FROM user_daily u WHERE u.dt <> coalesce((SELECT dt FROM today), DATE '0001-01-01')
  UNION ALL
  SELECT i.*, 'intraday' AS source FROM intraday_user_daily i WHERE i.dt = (SELECT dt FROM today)
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
