-- The compliance evidence report's results (functions/lib/jobs/evidence.ts): every control's daily
-- row per team (and the organization as team 'ALL') over the period, from the compliance_daily
-- rollup. `?` 1 and 2: the period's first and last day.
SELECT
  CAST(dt AS VARCHAR) AS dt,
  control_id,
  team,
  evaluated,
  violations,
  status
FROM compliance_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
ORDER BY dt, control_id, team
