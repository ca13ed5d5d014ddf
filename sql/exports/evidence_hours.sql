-- Hours (of event_time, UTC) with records, per day of the period: the evidence report lists the
-- missing ones as telemetry_freshness examples. `?` 1 and 2: the period's first and last day.
SELECT
  CAST(dt AS VARCHAR) AS dt,
  hour(event_time) AS hour,
  CAST(count(*) AS BIGINT) AS records
FROM events_curated
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
GROUP BY dt, hour(event_time)
ORDER BY dt, hour(event_time)
