-- Every day from the first to the last day of the rollups, so a day with no activity is still a
-- row (of zeros) in the views built on it. Up to ten years: retention keeps far less.
CREATE OR REPLACE VIEW rollup_days AS
SELECT date_add('day', n, b.first_day) AS dt
FROM (SELECT min(dt) AS first_day, max(dt) AS last_day FROM user_daily) AS b
CROSS JOIN UNNEST(sequence(0, 3660)) AS t (n)
WHERE n <= date_diff('day', CAST(b.first_day AS DATE), CAST(b.last_day AS DATE))
