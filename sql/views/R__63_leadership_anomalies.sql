-- leadership_anomalies (issue 21): the anomalies a leadership dashboard may list. Left out: those
-- about one developer (entity_type 'user'), about a team reported as 'other teams' that day
-- (team_groups_daily), and about a cost center with fewer than k developers that day (the
-- `min_group_size` seed); their message and numbers describe fewer than k people. Operators still
-- get every anomaly (alerts, the `anomalies` view).
CREATE OR REPLACE VIEW leadership_anomalies AS
WITH k AS (
  SELECT max(k) AS k FROM min_group_size
),
cost_centers AS (
  SELECT dt, cost_center, count(*) AS people FROM user_daily GROUP BY dt, cost_center
)
SELECT a.dt, a.detector, a.entity_type, a.entity, a.observed, a.baseline, a.score, a.severity, a.message
FROM anomalies a
CROSS JOIN k
LEFT JOIN team_groups_daily g ON a.entity_type = 'team' AND g.dt = a.dt AND g.team = a.entity
LEFT JOIN cost_centers c ON a.entity_type = 'cost_center' AND c.dt = a.dt AND c.cost_center = a.entity
WHERE a.entity_type <> 'user'
  AND (a.entity_type <> 'team' OR g.reported_team = a.entity)
  AND (a.entity_type <> 'cost_center' OR c.people >= k.k)
