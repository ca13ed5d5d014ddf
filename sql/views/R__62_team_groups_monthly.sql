-- team_groups_monthly (issue 21, minimum group size): per month and team, the group a monthly
-- leadership view reports the team under, with k the `min_group_size` seed. A team's people in a
-- month are the developers with any user_daily row in that team that month (someone who moved team
-- counts for both, as the monthly views attribute the work). The rules are team_groups_daily's:
--  1. a team of 1..k-1 people is reported as 'other teams';
--  2. when 'other teams' would have 1..k-1 distinct people, the smallest other team with people
--     (by people, then name) is merged too, which lifts it to at least k;
--  3. when there is none, every team is 'other teams' (the organization).
CREATE OR REPLACE VIEW team_groups_monthly AS
WITH k AS (
  SELECT max(k) AS k FROM min_group_size
),
members AS (
  SELECT DISTINCT substr(CAST(dt AS VARCHAR), 1, 7) AS month, team, user_key FROM user_daily
),
sizes AS (
  SELECT m.month, m.team, count(*) AS people, max(k.k) AS k, coalesce(count(*) BETWEEN 1 AND max(k.k) - 1, true) AS small
  FROM members m
  CROSS JOIN k
  GROUP BY m.month, m.team
),
other AS (
  SELECT m.month, count(DISTINCT m.user_key) AS people, max(s.k) AS k
  FROM members m
  JOIN sizes s ON s.month = m.month AND s.team = m.team
  WHERE s.small
  GROUP BY m.month
),
needs AS (
  SELECT month FROM other WHERE people BETWEEN 1 AND k - 1
),
covers AS (
  SELECT s.month, s.team, row_number() OVER (PARTITION BY s.month ORDER BY s.people, s.team) AS rn
  FROM sizes s
  JOIN needs n ON n.month = s.month
  WHERE NOT s.small
),
uncovered AS (
  SELECT n.month
  FROM needs n
  LEFT JOIN covers c ON c.month = n.month AND c.rn = 1
  WHERE c.team IS NULL
)
SELECT
  s.month,
  s.team,
  CASE WHEN s.small OR c.team IS NOT NULL OR u.month IS NOT NULL THEN 'other teams' ELSE s.team END AS reported_team,
  CAST(s.people AS BIGINT) AS people
FROM sizes s
LEFT JOIN covers c ON c.month = s.month AND c.team = s.team AND c.rn = 1
LEFT JOIN uncovered u ON u.month = s.month
