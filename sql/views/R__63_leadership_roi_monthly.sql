-- leadership_roi_monthly (issue 21): roi_monthly per month and team group (team_groups_monthly: at
-- least k developers that month, or 'other teams'). Cost, hours saved and value add up to
-- roi_monthly's; roi_pct is recomputed from the group's sums, (value_usd - cost_usd) / cost_usd x 100.
CREATE OR REPLACE VIEW leadership_roi_monthly AS
SELECT
  r.month,
  coalesce(g.reported_team, 'other teams') AS team,
  CAST(sum(r.cost_usd) AS DOUBLE) AS cost_usd,
  CAST(sum(r.hours_saved) AS DOUBLE) AS hours_saved,
  CAST(sum(r.value_usd) AS DOUBLE) AS value_usd,
  CAST(sum(r.value_usd) - sum(r.cost_usd) AS DOUBLE) / nullif(sum(r.cost_usd), 0) * 100 AS roi_pct,
  r.assumptions_version
FROM roi_monthly r
LEFT JOIN team_groups_monthly g ON g.month = r.month AND g.team = r.team
GROUP BY r.month, coalesce(g.reported_team, 'other teams'), r.assumptions_version
