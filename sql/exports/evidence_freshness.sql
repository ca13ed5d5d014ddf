-- Row counts and event times of the period's curated events, for the evidence report's freshness
-- section. `?` 1 and 2: the period's first and last day.
SELECT
  CAST(count(*) AS BIGINT) AS records,
  CAST(count(DISTINCT dt) AS BIGINT) AS days_with_records,
  min(event_time) AS oldest_event_time,
  max(event_time) AS newest_event_time
FROM events_curated
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
