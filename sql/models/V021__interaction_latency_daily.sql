-- interaction_latency_daily for one day (issue 17), from spans (Claude Code traces, beta). Every `?`
-- is the day. CONTRACTS section 3 "Interaction latency": per claude_code.interaction span that
-- started that day, its wall time (end - start, duration_ms) and the time inside llm_request,
-- tool.execution and tool.blocked_on_user spans. A span belongs to the interaction of its trace
-- whose [start, end) holds its start (interactions of one trace follow each other; a subagent's
-- spans nest inside the Agent tool of their interaction). The parts are sums of span durations:
-- parallel spans add up and a subagent's model requests also lie inside its Agent tool's execution,
-- so the parts can exceed the wall time. Child spans of an interaction that crosses midnight are in
-- the next day's partition, so that day is read too.
-- Model: the model of the interaction's first llm_request span ('unknown' without one). Team:
-- attributed as in user_daily (the effective-dated org directory, else the record's own team,
-- else 'unattributed').
-- approx_percentile: exact (quantile_cont) on DuckDB, a sketch within rank error 0.01 on Athena.
WITH spans AS (
  SELECT e.*, coalesce(nullif(lower(trim(e.user_email)), ''), e.user_account_uuid, e.user_id) AS user_key
  FROM events_curated e
  WHERE e.dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) + INTERVAL '1' DAY AND e.signal = 'span'
),
interactions AS (
  SELECT
    trace_id,
    span_id,
    user_key,
    start_time,
    coalesce(end_time, start_time + INTERVAL '1' DAY) AS end_bound,
    duration_ms
  FROM spans
  WHERE dt = CAST(? AS DATE) AND name = 'claude_code.interaction'
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
    i.trace_id,
    i.span_id,
    i.user_key,
    i.duration_ms,
    min_by(p.model, p.start_time) FILTER (WHERE p.name = 'claude_code.llm_request') AS model,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.llm_request'), 0) AS llm_ms,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.tool.execution'), 0) AS tool_ms,
    coalesce(sum(p.duration_ms) FILTER (WHERE p.name = 'claude_code.tool.blocked_on_user'), 0) AS waiting_on_user_ms
  FROM interactions i
  LEFT JOIN parts p ON p.trace_id = i.trace_id AND p.interaction_id = i.span_id
  GROUP BY i.trace_id, i.span_id, i.user_key, i.duration_ms
),
people AS (
  SELECT
    coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id) AS user_key,
    max(team_id) AS record_team,
    max(lower(trim(user_email))) AS email,
    max(user_id) AS user_id
  FROM events_curated
  WHERE dt = CAST(? AS DATE)
  GROUP BY coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id)
),
-- The org directory rows in force that day, one per person (the latest valid_from wins an overlap).
directory AS (
  SELECT
    d.*,
    row_number() OVER (PARTITION BY coalesce(nullif(lower(d.user_email), ''), '#' || d.user_id) ORDER BY d.valid_from DESC, d.team) AS rn
  FROM org_directory d
  WHERE d.valid_from <= CAST(? AS DATE) AND (d.valid_to IS NULL OR d.valid_to > CAST(? AS DATE))
),
attributed AS (
  SELECT
    p.user_key,
    coalesce(de.team, di.team, p.record_team, 'unattributed') AS team
  FROM people p
  LEFT JOIN directory de ON de.rn = 1 AND nullif(lower(de.user_email), '') = p.email
  LEFT JOIN directory di ON di.rn = 1 AND nullif(di.user_email, '') IS NULL AND di.user_id = p.user_id
)
SELECT
  coalesce(a.team, 'unattributed') AS team,
  coalesce(x.model, 'unknown') AS model,
  CAST(count(*) AS BIGINT) AS interactions,
  CAST(approx_percentile(CAST(x.duration_ms AS DOUBLE), 0.5) AS DOUBLE) AS p50_ms,
  CAST(approx_percentile(CAST(x.duration_ms AS DOUBLE), 0.95) AS DOUBLE) AS p95_ms,
  CAST(sum(x.llm_ms) AS DOUBLE) AS llm_ms,
  CAST(sum(x.tool_ms) AS DOUBLE) AS tool_ms,
  CAST(sum(x.waiting_on_user_ms) AS DOUBLE) AS waiting_on_user_ms
FROM per_interaction x
LEFT JOIN attributed a ON a.user_key = x.user_key
GROUP BY coalesce(a.team, 'unattributed'), coalesce(x.model, 'unknown')
