-- leadership_team_daily (issue 21): user_daily summed per day and team group (team_groups_daily),
-- what the leadership dashboards show instead of per-developer rows. developers: the people behind
-- the row (0 or at least k, but where the whole organization has fewer). priced_cost_usd is null
-- when any developer-day of the row has no price (as chargeback_monthly). Every sum adds up to
-- user_daily's on every day.
CREATE OR REPLACE VIEW leadership_team_daily AS
SELECT
  u.dt,
  coalesce(g.reported_team, 'other teams') AS team,
  count(*) AS developers,
  CAST(sum(u.sessions) AS BIGINT) AS sessions,
  CAST(sum(u.requests) AS BIGINT) AS requests,
  CAST(sum(u.errors) AS BIGINT) AS errors,
  CAST(sum(u.input_tokens) AS BIGINT) AS input_tokens,
  CAST(sum(u.output_tokens) AS BIGINT) AS output_tokens,
  CAST(sum(u.cache_read_tokens) AS BIGINT) AS cache_read_tokens,
  CAST(sum(u.cache_creation_tokens) AS BIGINT) AS cache_creation_tokens,
  CAST(sum(u.cost_usd) AS DOUBLE) AS cost_usd,
  CASE
    WHEN count(*) FILTER (WHERE u.priced_cost_usd IS NULL) > 0 THEN CAST(NULL AS DOUBLE)
    ELSE CAST(sum(u.priced_cost_usd) AS DOUBLE)
  END AS priced_cost_usd,
  CAST(sum(u.lines_added) AS BIGINT) AS lines_added,
  CAST(sum(u.lines_removed) AS BIGINT) AS lines_removed,
  CAST(sum(u.commits) AS BIGINT) AS commits,
  CAST(sum(u.pull_requests) AS BIGINT) AS pull_requests,
  CAST(sum(u.active_seconds) AS DOUBLE) AS active_seconds,
  CAST(sum(u.edits_accepted) AS BIGINT) AS edits_accepted,
  CAST(sum(u.edits_rejected) AS BIGINT) AS edits_rejected
FROM user_daily u
LEFT JOIN team_groups_daily g ON g.dt = u.dt AND g.team = u.team
GROUP BY u.dt, coalesce(g.reported_team, 'other teams')
