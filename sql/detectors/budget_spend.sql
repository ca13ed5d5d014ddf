-- Budget detectors' input: cost per team and per cost center and day (user_daily), from the first
-- day of the first month judged through the last day judged. Cost as chargeback bills it: per
-- developer-day the priced cost where the price table covers it, else the reported cost.
-- Parameters: first day of the first month judged, last day judged.
SELECT
  dt,
  CASE WHEN grouping(team) = 0 THEN 'team' ELSE 'cost_center' END AS entity_type,
  CASE WHEN grouping(team) = 0 THEN team ELSE cost_center END AS entity,
  CAST(sum(coalesce(priced_cost_usd, cost_usd)) AS DOUBLE) AS cost_usd
FROM user_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
GROUP BY GROUPING SETS ((dt, team), (dt, cost_center))
ORDER BY entity_type, entity, dt
