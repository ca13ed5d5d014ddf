-- leadership_cache_savings_daily (issue 21): cache_savings_daily per day, team group
-- (team_groups_daily) and model, without the cost center (it would split a team into smaller
-- groups). Cache reads and savings add up to cache_savings_daily's on every day; savings_usd is null
-- where no price covers the model, as there.
CREATE OR REPLACE VIEW leadership_cache_savings_daily AS
SELECT
  c.dt,
  coalesce(g.reported_team, 'other teams') AS team,
  c.model,
  CAST(sum(c.cache_read_tokens) AS BIGINT) AS cache_read_tokens,
  CAST(sum(c.savings_usd) AS DOUBLE) AS savings_usd
FROM cache_savings_daily c
LEFT JOIN team_groups_daily g ON g.dt = c.dt AND g.team = c.team
GROUP BY c.dt, coalesce(g.reported_team, 'other teams'), c.model
