-- team_groups_daily (issue 21, minimum group size): per day and team, the group a leadership view
-- reports the team under, with k the `min_group_size` seed (config privacy.minGroupSize; 1: off).
-- A team's people on day D are counted four ways, each the people behind a number a leadership row
-- of that day shows: people (developers with any telemetry on D, as user_daily has them), dau, wau
-- and mau (active developers on D, over D-6..D and over D-27..D, as active_users_daily_by_team
-- counts them). The rules:
--  1. A team is small on D when any of the four is 1..k-1; small teams are reported as 'other teams'.
--  2. When 'other teams' itself would have a count of 1..k-1 (distinct people across the merged
--     teams), the smallest team that has people in every such count is merged too (smallest by mau,
--     wau, people, dau, then name); one such team always lifts every count to 0 or at least k, so the
--     merged teams cannot be recovered by subtracting the teams still shown from the total.
--  3. When no single team can do that, every team is reported as 'other teams' (the organization);
--     'other teams' can then have 1..k-1 people only where the whole organization has, which the
--     organization-wide views show anyway.
-- A team with no people in any of the four (nothing to show) is reported as 'other teams' too, so a
-- small team's name never shows. When the seed is missing every team is merged.
CREATE OR REPLACE VIEW team_groups_daily AS
WITH k AS (
  SELECT max(k) AS k FROM min_group_size
),
seen AS (
  SELECT dt, team, count(*) AS people FROM user_daily GROUP BY dt, team
),
sizes AS (
  SELECT
    t.dt,
    t.team,
    coalesce(s.people, 0) AS people,
    t.dau,
    t.wau,
    t.mau,
    k.k,
    coalesce(
      coalesce(s.people, 0) BETWEEN 1 AND k.k - 1 OR t.dau BETWEEN 1 AND k.k - 1 OR t.wau BETWEEN 1 AND k.k - 1 OR t.mau BETWEEN 1 AND k.k - 1,
      true
    ) AS small
  FROM active_users_daily_by_team t
  CROSS JOIN k
  LEFT JOIN seen s ON s.dt = t.dt AND s.team = t.team
),
-- Distinct people over a window across the small teams (a developer who moved between two of them counts once).
other_window AS (
  SELECT s.dt, count(DISTINCT a.user_key) FILTER (WHERE a.dt > s.dt - INTERVAL '7' DAY) AS wau, count(DISTINCT a.user_key) AS mau
  FROM sizes s
  JOIN active_user_days a ON a.team = s.team AND a.dt BETWEEN s.dt - INTERVAL '27' DAY AND s.dt
  WHERE s.small
  GROUP BY s.dt
),
-- people and dau add up: a developer is in one team per day.
other AS (
  SELECT s.dt, max(s.k) AS k, sum(s.people) AS people, sum(s.dau) AS dau, coalesce(max(w.wau), 0) AS wau, coalesce(max(w.mau), 0) AS mau
  FROM sizes s
  LEFT JOIN other_window w ON w.dt = s.dt
  WHERE s.small
  GROUP BY s.dt
),
needs AS (
  SELECT
    dt,
    coalesce(people BETWEEN 1 AND k - 1, false) AS people_low,
    coalesce(dau BETWEEN 1 AND k - 1, false) AS dau_low,
    coalesce(wau BETWEEN 1 AND k - 1, false) AS wau_low,
    coalesce(mau BETWEEN 1 AND k - 1, false) AS mau_low
  FROM other
),
covers AS (
  SELECT
    s.dt,
    s.team,
    row_number() OVER (PARTITION BY s.dt ORDER BY s.mau, s.wau, s.people, s.dau, s.team) AS rn
  FROM sizes s
  JOIN needs n ON n.dt = s.dt
  WHERE NOT s.small
    AND (n.people_low OR n.dau_low OR n.wau_low OR n.mau_low)
    AND (NOT n.people_low OR s.people > 0)
    AND (NOT n.dau_low OR s.dau > 0)
    AND (NOT n.wau_low OR s.wau > 0)
    AND (NOT n.mau_low OR s.mau > 0)
),
uncovered AS (
  SELECT n.dt
  FROM needs n
  LEFT JOIN covers c ON c.dt = n.dt AND c.rn = 1
  WHERE (n.people_low OR n.dau_low OR n.wau_low OR n.mau_low) AND c.team IS NULL
)
SELECT
  s.dt,
  s.team,
  CASE WHEN s.small OR s.people + s.mau = 0 OR c.team IS NOT NULL OR u.dt IS NOT NULL THEN 'other teams' ELSE s.team END AS reported_team,
  CAST(s.people AS BIGINT) AS people,
  CAST(s.dau AS BIGINT) AS dau,
  CAST(s.wau AS BIGINT) AS wau,
  CAST(s.mau AS BIGINT) AS mau
FROM sizes s
LEFT JOIN covers c ON c.dt = s.dt AND c.team = s.team AND c.rn = 1
LEFT JOIN uncovered u ON u.dt = s.dt
