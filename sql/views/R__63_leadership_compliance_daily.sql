-- leadership_compliance_daily (issue 21): compliance_daily with every team grouped as
-- team_groups_daily reports it; the whole organization (team 'ALL') as it is. evaluated and
-- violations add up; a named team keeps its status, and 'other teams' is judged again as
-- compliance_daily judges a team: attribution_coverage on the share of its cost (user_daily) that
-- carries a cost center against the attribution_threshold (a day without cost passes),
-- policy_rejections always passes, any other control fails when it has violations.
CREATE OR REPLACE VIEW leadership_compliance_daily AS
WITH grouped AS (
  SELECT
    c.dt,
    c.control_id,
    c.team AS own_team,
    CASE WHEN c.team = 'ALL' THEN 'ALL' ELSE coalesce(g.reported_team, 'other teams') END AS team,
    c.evaluated,
    c.violations,
    c.status
  FROM compliance_daily c
  LEFT JOIN team_groups_daily g ON c.team <> 'ALL' AND g.dt = c.dt AND g.team = c.team
),
summed AS (
  SELECT dt, control_id, team, sum(evaluated) AS evaluated, sum(violations) AS violations, max(status) AS own_status
  FROM grouped
  GROUP BY dt, control_id, team
),
coverage AS (
  SELECT
    u.dt,
    coalesce(g.reported_team, 'other teams') AS team,
    sum(u.cost_usd) AS cost_usd,
    sum(CASE WHEN u.cost_center = 'unattributed' THEN 0 ELSE u.cost_usd END) AS attributed_cost_usd
  FROM user_daily u
  LEFT JOIN team_groups_daily g ON g.dt = u.dt AND g.team = u.team
  GROUP BY u.dt, coalesce(g.reported_team, 'other teams')
),
threshold AS (
  SELECT max(number) AS share FROM compliance_policy WHERE policy = 'attribution_threshold'
)
SELECT
  s.control_id,
  s.team,
  CAST(s.evaluated AS BIGINT) AS evaluated,
  CAST(s.violations AS BIGINT) AS violations,
  CASE
    WHEN s.team <> 'other teams' THEN s.own_status
    WHEN s.control_id = 'policy_rejections' THEN 'pass'
    WHEN s.control_id = 'attribution_coverage' THEN
      CASE
        WHEN coalesce(cv.cost_usd, 0) = 0 THEN 'pass'
        WHEN CAST(cv.attributed_cost_usd AS DOUBLE) / nullif(cv.cost_usd, 0) >= th.share THEN 'pass'
        ELSE 'fail'
      END
    WHEN s.violations > 0 THEN 'fail'
    ELSE 'pass'
  END AS status,
  s.dt
FROM summed s
CROSS JOIN threshold th
LEFT JOIN coverage cv ON cv.dt = s.dt AND cv.team = s.team
