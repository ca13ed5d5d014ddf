-- Spike detectors' input: daily cost and tokens per developer, team and cost center (user_daily)
-- over the baseline window, for the entities that reach a spike's minimum cost or tokens on some
-- day being judged (the others cannot alert, so their history is not fetched). Cost is what
-- chargeback bills: per developer-day the priced cost where the price table covers it, else the
-- reported cost. Parameters, in order: window start, last day judged; first day judged, last day
-- judged; minimum cost and tokens of a developer, of a team, of a cost center.
WITH daily AS (
  SELECT
    dt,
    CASE WHEN grouping(user_key) = 0 THEN 'user' WHEN grouping(team) = 0 THEN 'team' ELSE 'cost_center' END AS entity_type,
    CASE WHEN grouping(user_key) = 0 THEN user_key WHEN grouping(team) = 0 THEN team ELSE cost_center END AS entity,
    sum(coalesce(priced_cost_usd, cost_usd)) AS cost_usd,
    sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS tokens
  FROM user_daily
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
  GROUP BY GROUPING SETS ((dt, user_key), (dt, team), (dt, cost_center))
),
candidates AS (
  SELECT DISTINCT entity_type, entity
  FROM daily
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
    AND (
      (entity_type = 'user' AND (cost_usd >= ? OR tokens >= ?))
      OR (entity_type = 'team' AND (cost_usd >= ? OR tokens >= ?))
      OR (entity_type = 'cost_center' AND (cost_usd >= ? OR tokens >= ?))
    )
)
SELECT d.dt, d.entity_type, d.entity, CAST(d.cost_usd AS DOUBLE) AS cost_usd, CAST(d.tokens AS BIGINT) AS tokens
FROM daily d
JOIN candidates c ON c.entity_type = d.entity_type AND c.entity = d.entity
ORDER BY d.entity_type, d.entity, d.dt
