-- CONTRACTS sections 3-4: ROI per team and month from user_daily and the configured assumptions
-- (the `roi_assumptions` seed; every row names its version).
--  - cost_usd: the cost chargeback bills: per developer-day the priced cost where the price table
--    covered it, else the cost Claude Code reported.
--  - hours_saved: accepted edits x hours_per_accepted_edit + commits x hours_per_commit + pull
--    requests x hours_per_pull_request + lines added x hours_per_line_added + active hours x
--    hours_per_active_hour; value_usd = hours_saved x loaded_hourly_rate_usd.
--  - roi_pct = (value_usd - cost_usd) / cost_usd x 100 (null when there is no cost).
-- A developer counts for the team they were in on each day (attribution follows the work).
CREATE OR REPLACE VIEW roi_monthly AS
WITH monthly AS (
  SELECT
    substr(CAST(dt AS VARCHAR), 1, 7) AS month,
    team,
    sum(coalesce(priced_cost_usd, cost_usd)) AS cost_usd,
    sum(edits_accepted) AS edits_accepted,
    sum(commits) AS commits,
    sum(pull_requests) AS pull_requests,
    sum(lines_added) AS lines_added,
    sum(active_seconds) AS active_seconds
  FROM user_daily
  GROUP BY substr(CAST(dt AS VARCHAR), 1, 7), team
),
valued AS (
  SELECT
    m.month,
    m.team,
    CAST(m.cost_usd AS DOUBLE) AS cost_usd,
    m.edits_accepted * a.hours_per_accepted_edit
      + m.commits * a.hours_per_commit
      + m.pull_requests * a.hours_per_pull_request
      + m.lines_added * a.hours_per_line_added
      + CAST(m.active_seconds AS DOUBLE) / 3600 * a.hours_per_active_hour AS hours_saved,
    a.loaded_hourly_rate_usd,
    a.version
  FROM monthly m
  CROSS JOIN roi_assumptions a
)
SELECT
  month,
  team,
  cost_usd,
  CAST(hours_saved AS DOUBLE) AS hours_saved,
  CAST(hours_saved * loaded_hourly_rate_usd AS DOUBLE) AS value_usd,
  CAST(hours_saved * loaded_hourly_rate_usd - cost_usd AS DOUBLE) / nullif(cost_usd, 0) * 100 AS roi_pct,
  version AS assumptions_version
FROM valued
