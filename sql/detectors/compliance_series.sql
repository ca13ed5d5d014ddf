-- Compliance-cluster detector's input: violations per control, team and day (compliance_daily) over
-- the baseline window, for the series with at least the minimum violations on a day being judged.
-- Team 'ALL' only for telemetry_freshness (org-wide); policy_rejections is evidence, never a
-- violation. Parameters: window start, last day judged; first day judged, last day judged; minimum
-- violations.
WITH series AS (
  SELECT dt, control_id, team, evaluated, violations
  FROM compliance_daily
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
    AND control_id <> 'policy_rejections'
    AND (team <> 'ALL' OR control_id = 'telemetry_freshness')
),
candidates AS (
  SELECT DISTINCT control_id, team
  FROM series
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AND violations >= ?
)
SELECT s.dt, s.control_id, s.team, s.evaluated, s.violations
FROM series s
JOIN candidates c ON c.control_id = s.control_id AND c.team = s.team
ORDER BY s.control_id, s.team, s.dt
