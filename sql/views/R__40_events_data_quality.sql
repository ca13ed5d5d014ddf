-- events_data_quality (issue 17): the records a known defect of Claude Code affects, flagged and
-- never rewritten. One row per affected record, with the issue it has:
--  - double_counted_stream_cost: Claude Code before 2.1.214 counted cost and tokens twice on
--    multi-frame streams. Records carrying cost or tokens (api_request events, token.usage and
--    cost.usage datapoints, llm_request spans) from an app_version below 2.1.214 may hold doubled
--    values; which ones cannot be told from the record. A record without a parsable version is not
--    flagged (it cannot be shown to be affected).
-- data_quality_daily shows the share of reported cost this covers per day.
CREATE OR REPLACE VIEW events_data_quality AS
WITH versioned AS (
  SELECT
    dt,
    record_id,
    event_time,
    signal,
    name,
    app_version,
    user_key,
    team,
    cost_usd,
    value,
    CAST(nullif(regexp_extract(app_version, '^(\d+)\.(\d+)\.(\d+)', 1), '') AS INTEGER) AS v_major,
    CAST(nullif(regexp_extract(app_version, '^(\d+)\.(\d+)\.(\d+)', 2), '') AS INTEGER) AS v_minor,
    CAST(nullif(regexp_extract(app_version, '^(\d+)\.(\d+)\.(\d+)', 3), '') AS INTEGER) AS v_patch
  FROM events
  WHERE (signal = 'event' AND name = 'claude_code.api_request')
     OR (signal = 'metric' AND name IN ('claude_code.token.usage', 'claude_code.cost.usage'))
     OR (signal = 'span' AND name = 'claude_code.llm_request')
)
SELECT
  dt,
  record_id,
  event_time,
  signal,
  name,
  app_version,
  user_key,
  team,
  cost_usd,
  'double_counted_stream_cost' AS issue
FROM versioned
WHERE v_major < 2 OR (v_major = 2 AND (v_minor < 1 OR (v_minor = 1 AND v_patch < 214)))
