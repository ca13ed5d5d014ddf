-- DAU/WAU/MAU per team. A developer counts for the team they were in on each day they were active,
-- so someone who moved team inside the window counts for both (attribution follows the work).
-- Every team with any activity in the data has a row for every day (zeros where idle).
CREATE OR REPLACE VIEW active_users_daily_by_team AS
WITH teams AS (
  SELECT DISTINCT team FROM user_daily
)
SELECT
  days.dt,
  teams.team,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt = days.dt) AS dau,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt > days.dt - INTERVAL '7' DAY) AS wau,
  count(DISTINCT a.user_key) AS mau
FROM rollup_days AS days
CROSS JOIN teams
LEFT JOIN active_user_days AS a ON a.team = teams.team AND a.dt BETWEEN days.dt - INTERVAL '27' DAY AND days.dt
GROUP BY days.dt, teams.team
