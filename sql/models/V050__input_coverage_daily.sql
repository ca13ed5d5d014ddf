-- input_coverage_daily for one day (issue 23): what the day's curated records carry, whichever raw
-- source (input profile) delivered them, and so which relations and controls have no data from this
-- day's input. Every `?` is the day. One row per day. A lake fed by the AWS guidance's `metrics`
-- table (raw profile bedrock-guidance) has token datapoints only: no events, no cost, no
-- productivity metrics, no spans. `unavailable` lists, comma-separated (null when nothing is
-- missing):
--  - without events: api_health_daily, tool_usage_daily, user_daily requests/errors/edits and the
--    controls that read events (bypass_permissions, mcp_allowlist, policy_rejections);
--  - without reported cost (api_request events or cost.usage datapoints): user_daily cost_usd and
--    the attribution_coverage control (V049__compliance_daily.sql uses the same rule);
--  - without productivity metrics (lines of code, commits, pull requests, active time): those
--    user_daily columns and roi_monthly's hours saved;
--  - without spans (traces are opt-in): interaction_latency_daily.
WITH day_records AS (
  SELECT signal, name FROM events_curated WHERE dt = CAST(? AS DATE)
),
counts AS (
  SELECT
    count(*) AS records,
    count(*) FILTER (WHERE signal = 'event') AS events,
    count(*) FILTER (WHERE signal = 'metric') AS metrics,
    count(*) FILTER (WHERE signal = 'span') AS spans,
    count(*) FILTER (WHERE (signal = 'event' AND name = 'claude_code.api_request') OR (signal = 'metric' AND name = 'claude_code.cost.usage')) AS cost_records,
    count(*) FILTER (
      WHERE signal = 'metric'
        AND name IN ('claude_code.lines_of_code.count', 'claude_code.commit.count', 'claude_code.pull_request.count', 'claude_code.active_time.total')
    ) AS productivity_metrics
  FROM day_records
)
SELECT
  CAST(records AS BIGINT) AS records,
  CAST(events AS BIGINT) AS events,
  CAST(metrics AS BIGINT) AS metrics,
  CAST(spans AS BIGINT) AS spans,
  CAST(cost_records AS BIGINT) AS cost_records,
  CAST(productivity_metrics AS BIGINT) AS productivity_metrics,
  nullif(
    concat_ws(
      ', ',
      CASE WHEN events = 0 THEN 'api_health_daily, tool_usage_daily, user_daily.requests, user_daily.errors, user_daily.edits_accepted, user_daily.edits_rejected, compliance_daily.bypass_permissions, compliance_daily.mcp_allowlist, compliance_daily.policy_rejections' END,
      CASE WHEN cost_records = 0 THEN 'user_daily.cost_usd, compliance_daily.attribution_coverage' END,
      CASE WHEN productivity_metrics = 0 THEN 'user_daily.lines_added, user_daily.lines_removed, user_daily.commits, user_daily.pull_requests, user_daily.active_seconds, roi_monthly.hours_saved' END,
      CASE WHEN spans = 0 THEN 'interaction_latency_daily' END
    ),
    ''
  ) AS unavailable
FROM counts
WHERE records > 0
