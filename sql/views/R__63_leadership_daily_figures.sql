-- leadership_daily_figures (issue 20, freshness; issue 21, minimum group size): daily_figures summed
-- over the organization per day, what the dashboards' "today" figures show: the newest day's active
-- developers, requests, tokens and reported cost so far, with `source` saying where the day comes
-- from (`intraday`: today so far, recomputed hourly by `rollup --intraday`; `final`: the daily
-- rollup). Organization totals only: a per-team "today" would need today's team groups
-- (team_groups_daily), which exist only once the daily rollup has the day. A day with 1..k-1 active
-- developers (k: the `min_group_size` seed; the first minutes of a day, a small pilot) keeps its row
-- and source but shows no figure, so no group smaller than k is ever shown.
CREATE OR REPLACE VIEW leadership_daily_figures AS
WITH k AS (
  SELECT max(k) AS k FROM min_group_size
),
org AS (
  SELECT
    dt,
    source,
    sum(active_users) AS active_users,
    sum(requests) AS requests,
    sum(tokens) AS tokens,
    sum(cost_usd) AS cost_usd
  FROM daily_figures
  GROUP BY dt, source
),
shown AS (
  SELECT org.*, NOT coalesce(org.active_users BETWEEN 1 AND k.k - 1, true) AS ok
  FROM org
  CROSS JOIN k
)
SELECT
  dt,
  source,
  CAST(CASE WHEN ok THEN active_users END AS BIGINT) AS active_users,
  CAST(CASE WHEN ok THEN requests END AS BIGINT) AS requests,
  CAST(CASE WHEN ok THEN tokens END AS BIGINT) AS tokens,
  CAST(CASE WHEN ok THEN cost_usd END AS DOUBLE) AS cost_usd
FROM shown
