-- DAU/WAU/MAU per team. A developer counts for the team they were in on each day they were active,
-- so someone who moved team inside the window counts for both (attribution follows the work).
-- Every team with any activity in the data has a row for every day (zeros where idle).
CREATE OR REPLACE VIEW active_users_daily_by_team AS
WITH active AS (
  SELECT DISTINCT dt, team, user_key
  FROM user_daily
  WHERE requests > 0 OR input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0
),
days AS (
  -- Every day from the first to the last day of data (up to ten years: retention keeps far less).
  SELECT date_add('day', n, b.first_day) AS dt
  FROM (SELECT min(dt) AS first_day, max(dt) AS last_day FROM user_daily) AS b
  CROSS JOIN UNNEST(sequence(0, 3660)) AS t (n)
  WHERE n <= date_diff('day', CAST(b.first_day AS DATE), CAST(b.last_day AS DATE))
),
teams AS (
  SELECT DISTINCT team FROM user_daily
)
SELECT
  days.dt,
  teams.team,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt = days.dt) AS dau,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt > days.dt - INTERVAL '7' DAY) AS wau,
  count(DISTINCT a.user_key) AS mau
FROM days
CROSS JOIN teams
LEFT JOIN active AS a ON a.team = teams.team AND a.dt BETWEEN days.dt - INTERVAL '27' DAY AND days.dt
GROUP BY days.dt, teams.team
