-- tool_usage_daily for one day: one row per tool with any tool_result event that day. Every `?` is
-- the day. CONTRACTS section 3: tool success rate from tool_result events (a call = one tool_result;
-- success = its `success` attribute true; a result without it counts as a call, not a success);
-- p95 of the results' duration_ms (approx_percentile: exact on DuckDB, rank error 0.01 on Athena).
SELECT
  coalesce(tool_name, 'unknown') AS tool_name,
  CAST(count(*) AS BIGINT) AS calls,
  CAST(count(*) FILTER (WHERE success) AS BIGINT) AS successes,
  CAST(count(*) FILTER (WHERE success) AS DOUBLE) / nullif(count(*), 0) AS success_rate,
  CAST(approx_percentile(CAST(duration_ms AS DOUBLE), 0.95) AS DOUBLE) AS p95_ms
FROM events_curated
WHERE dt = CAST(? AS DATE) AND signal = 'event' AND name = 'claude_code.tool_result'
GROUP BY coalesce(tool_name, 'unknown')
