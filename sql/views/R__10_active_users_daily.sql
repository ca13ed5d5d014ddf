-- CONTRACTS sections 3-4: DAU, WAU (D-6..D) and MAU (D-27..D) from the per-user-day rollup, one row
-- per day from the first to the last day of data; a day nobody was active is a row of zeros.
-- Active on D: at least one api_request, or token usage (token.usage > 0 in a metrics-only session).
CREATE OR REPLACE VIEW active_users_daily AS
WITH active AS (
  SELECT DISTINCT dt, user_key
  FROM user_daily
  WHERE requests > 0 OR input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0
),
days AS (
  -- Every day from the first to the last day of data (up to ten years: retention keeps far less).
  SELECT date_add('day', n, b.first_day) AS dt
  FROM (SELECT min(dt) AS first_day, max(dt) AS last_day FROM user_daily) AS b
  CROSS JOIN UNNEST(sequence(0, 3660)) AS t (n)
  WHERE n <= date_diff('day', CAST(b.first_day AS DATE), CAST(b.last_day AS DATE))
)
SELECT
  days.dt,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt = days.dt) AS dau,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt > days.dt - INTERVAL '7' DAY) AS wau,
  count(DISTINCT a.user_key) AS mau
FROM days
LEFT JOIN active AS a ON a.dt BETWEEN days.dt - INTERVAL '27' DAY AND days.dt
GROUP BY days.dt
