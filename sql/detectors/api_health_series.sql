-- Error-rate and latency detectors' input: requests, errors, error rate and p95 latency per model
-- and day (api_health_daily) over the baseline window. Parameters: window start, last day judged.
SELECT dt, model, requests, errors, error_rate, p95_ms
FROM api_health_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
ORDER BY model, dt
