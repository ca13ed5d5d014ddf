-- leadership_active_users_daily_by_team (issue 21): active_users_daily_by_team with every team
-- grouped as team_groups_daily reports it, so no row counts 1..k-1 developers. 'other teams' counts
-- distinct developers across the teams it holds (someone who moved between two of them counts once
-- in its WAU and MAU); DAU still adds up to active_users_daily's on every day.
CREATE OR REPLACE VIEW leadership_active_users_daily_by_team AS
SELECT
  g.dt,
  g.reported_team AS team,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt = g.dt) AS dau,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt > g.dt - INTERVAL '7' DAY) AS wau,
  count(DISTINCT a.user_key) AS mau
FROM team_groups_daily AS g
LEFT JOIN active_user_days AS a ON a.team = g.team AND a.dt BETWEEN g.dt - INTERVAL '27' DAY AND g.dt
GROUP BY g.dt, g.reported_team
