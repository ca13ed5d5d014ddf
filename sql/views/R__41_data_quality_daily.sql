-- data_quality_daily (issue 17): per day and known issue, how much of the reported cost comes from
-- affected records (events_data_quality), so a reader sees which days' cost may be overstated
-- without history being rewritten. Cost is the cost_usd of api_request events (the per-request cost
-- Claude Code reports; sessions exporting metrics only are not in either sum). Days with
-- api_request events and no affected record show a share of 0.
CREATE OR REPLACE VIEW data_quality_daily AS
WITH cost AS (
  SELECT dt, sum(coalesce(cost_usd, 0)) AS cost_usd, count(*) AS requests
  FROM events
  WHERE signal = 'event' AND name = 'claude_code.api_request'
  GROUP BY dt
),
affected AS (
  SELECT dt, issue, count(*) AS records, sum(coalesce(cost_usd, 0)) FILTER (WHERE signal = 'event' AND name = 'claude_code.api_request') AS cost_usd
  FROM events_data_quality
  GROUP BY dt, issue
)
SELECT
  c.dt,
  'double_counted_stream_cost' AS issue,
  CAST(coalesce(a.records, 0) AS BIGINT) AS affected_records,
  CAST(coalesce(a.cost_usd, 0) AS DOUBLE) AS affected_cost_usd,
  CAST(c.cost_usd AS DOUBLE) AS cost_usd,
  CAST(coalesce(a.cost_usd, 0) AS DOUBLE) / nullif(c.cost_usd, 0) AS affected_cost_share
FROM cost c
LEFT JOIN affected a ON a.dt = c.dt AND a.issue = 'double_counted_stream_cost'
