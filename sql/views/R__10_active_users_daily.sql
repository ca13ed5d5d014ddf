-- CONTRACTS sections 3-4: DAU, WAU (D-6..D) and MAU (D-27..D) from the per-user-day rollup, one row
-- per day from the first to the last day of data; a day nobody was active is a row of zeros.
-- Active on D: see active_user_days.
CREATE OR REPLACE VIEW active_users_daily AS
SELECT
  days.dt,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt = days.dt) AS dau,
  count(DISTINCT a.user_key) FILTER (WHERE a.dt > days.dt - INTERVAL '7' DAY) AS wau,
  count(DISTINCT a.user_key) AS mau
FROM rollup_days AS days
LEFT JOIN active_user_days AS a ON a.dt BETWEEN days.dt - INTERVAL '27' DAY AND days.dt
GROUP BY days.dt
