-- leadership_interaction_latency_daily (issue 21): interaction_latency_daily with every team grouped
-- as team_groups_daily reports it. Percentiles do not add up, so the rows are computed again from the
-- spans of the `events` view (whose team is user_daily's), as sql/models/V021 computes them: per
-- claude_code.interaction span, its wall time and the time inside llm_request, tool.execution and
-- tool.blocked_on_user spans of its trace that start inside it; the model of its first llm_request.
-- interactions, llm_ms, tool_ms and waiting_on_user_ms add up to interaction_latency_daily's per day.
CREATE OR REPLACE VIEW leadership_interaction_latency_daily AS
WITH spans AS (
  SELECT dt, trace_id, span_id, team, name, model, start_time, end_time, duration_ms
  FROM events
  WHERE signal = 'span'
),
interactions AS (
  SELECT dt, trace_id, span_id, team, start_time, coalesce(end_time, start_time + INTERVAL '1' DAY) AS end_bound, duration_ms
  FROM spans
  WHERE name = 'claude_code.interaction'
),
parts AS (
  SELECT i.trace_id, i.span_id AS interaction_id, s.name, s.duration_ms, s.model, s.start_time
  FROM interactions i
  JOIN spans s
    ON s.trace_id = i.trace_id
   AND s.start_time >= i.start_time
   AND s.start_time < i.end_bound
  WHERE s.name IN ('claude_code.llm_request', 'claude_code.tool.execution', 'claude_code.tool.blocked_on_user')
),
per_interaction AS (
  SELECT
    i.dt,
    i.team,
    i.duration_ms,
    min_by(p.model, p.start_time) FILTER (WHERE p.name = 'claude_code.llm_request') AS model,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.llm_request'), 0) AS llm_ms,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.tool.execution'), 0) AS tool_ms,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.tool.blocked_on_user'), 0) AS waiting_on_user_ms
  FROM interactions i
  LEFT JOIN parts p ON p.trace_id = i.trace_id AND p.interaction_id = i.span_id
  GROUP BY i.dt, i.trace_id, i.span_id, i.team, i.duration_ms
)
SELECT
  coalesce(g.reported_team, 'other teams') AS team,
  coalesce(x.model, 'unknown') AS model,
  CAST(count(*) AS BIGINT) AS interactions,
  CAST(approx_percentile(CAST(x.duration_ms AS DOUBLE), 0.5) AS DOUBLE) AS p50_ms,
  CAST(approx_percentile(CAST(x.duration_ms AS DOUBLE), 0.95) AS DOUBLE) AS p95_ms,
  CAST(sum(x.llm_ms) AS DOUBLE) AS llm_ms,
  CAST(sum(x.tool_ms) AS DOUBLE) AS tool_ms,
  CAST(sum(x.waiting_on_user_ms) AS DOUBLE) AS waiting_on_user_ms,
  x.dt
FROM per_interaction x
LEFT JOIN team_groups_daily g ON g.dt = x.dt AND g.team = x.team
GROUP BY x.dt, coalesce(g.reported_team, 'other teams'), coalesce(x.model, 'unknown')
