-- New-resource detector's input: each model or MCP server a team used on a day being judged and
-- not in the lookback days before (team_resources_daily), with how many of those days the team used
-- anything (its history). A resource counts as used on a day only with at least the minimum uses
-- that day (one stray call is not adoption; the day it is really used is the day it is new).
-- Parameters: window start (first day judged - lookback), last day judged, minimum uses; first day
-- judged, last day judged; lookback days; window start, last day judged; lookback days.
WITH usage AS (
  SELECT
    dt,
    team,
    resource_type,
    resource,
    uses,
    users,
    lag(dt) OVER (PARTITION BY team, resource_type, resource ORDER BY dt) AS previous_dt
  FROM team_resources_daily
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AND uses >= ?
),
candidates AS (
  SELECT dt, team, resource_type, resource, uses, users
  FROM usage
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
    AND (previous_dt IS NULL OR date_diff('day', CAST(previous_dt AS DATE), CAST(dt AS DATE)) > ?)
),
team_days AS (
  SELECT DISTINCT team, dt
  FROM team_resources_daily
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
),
history AS (
  SELECT c.dt, c.team, count(DISTINCT t.dt) AS history_days
  FROM (SELECT DISTINCT dt, team FROM candidates) AS c
  JOIN team_days t ON t.team = c.team AND t.dt < c.dt
  WHERE date_diff('day', CAST(t.dt AS DATE), CAST(c.dt AS DATE)) <= ?
  GROUP BY c.dt, c.team
)
SELECT
  c.dt,
  c.team,
  c.resource_type,
  c.resource,
  c.uses,
  c.users,
  CAST(coalesce(h.history_days, 0) AS BIGINT) AS history_days
FROM candidates c
LEFT JOIN history h ON h.dt = c.dt AND h.team = c.team
ORDER BY c.dt, c.team, c.resource_type, c.resource
