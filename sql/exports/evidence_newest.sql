-- The newest curated event in the lake from the period's first day on (how fresh the data is when
-- the report is written; later days do not change the period's results, only show the lake is
-- current). `?`: the period's first day.
SELECT
  max(event_time) AS newest_event_time,
  CAST(max(dt) AS VARCHAR) AS newest_dt
FROM events_curated
WHERE dt >= CAST(? AS DATE)
