-- Unusual-hours detector's input: requests per developer, day and UTC hour (user_hours_daily) over
-- the baseline window, for the developers active on a day being judged. Parameters: window start,
-- last day judged; first day judged, last day judged.
SELECT h.dt, h.user_key, h.hour, h.requests
FROM user_hours_daily h
WHERE h.dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
  AND h.user_key IN (
    SELECT j.user_key FROM user_hours_daily j WHERE j.dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
  )
ORDER BY h.user_key, h.dt, h.hour
