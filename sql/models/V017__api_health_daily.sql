-- api_health_daily for one day (issue 17: V010 plus refusals and exhausted retries): one row per model
-- with any api_request, api_error, api_refusal or api_retries_exhausted event that day. Every `?` is
-- the day. CONTRACTS section 3: error rate = api_error / (api_request + api_error) (an exhausted retry
-- follows api_error events already counted, a refusal is an answered request: neither changes the
-- rate; each has its own count); latency p50/p95/p99 of duration_ms and TTFT p95 from api_request
-- events; cache hit rate = cache_read / (input + cache_read + cache_creation), here over the
-- api_request events' tokens (sessions that export only token.usage metrics are in token_burn_daily).
-- approx_percentile: exact (quantile_cont) on DuckDB, a sketch within rank error 0.01 on Athena.
WITH req AS (
  SELECT
    coalesce(model, 'unknown') AS model,
    name,
    name = 'claude_code.api_request' AS is_request,
    duration_ms,
    ttft_ms,
    coalesce(input_tokens, 0) AS input_tokens,
    coalesce(cache_read_tokens, 0) AS cache_read_tokens,
    coalesce(cache_creation_tokens, 0) AS cache_creation_tokens
  FROM events_curated
  WHERE dt = CAST(? AS DATE) AND signal = 'event'
    AND name IN ('claude_code.api_request', 'claude_code.api_error', 'claude_code.api_refusal', 'claude_code.api_retries_exhausted')
),
per_model AS (
  SELECT
    model,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE name = 'claude_code.api_error') AS errors,
    count(*) FILTER (WHERE name = 'claude_code.api_refusal') AS refusals,
    count(*) FILTER (WHERE name = 'claude_code.api_retries_exhausted') AS retries_exhausted,
    approx_percentile(CAST(CASE WHEN is_request THEN duration_ms END AS DOUBLE), 0.5) AS p50_ms,
    approx_percentile(CAST(CASE WHEN is_request THEN duration_ms END AS DOUBLE), 0.95) AS p95_ms,
    approx_percentile(CAST(CASE WHEN is_request THEN duration_ms END AS DOUBLE), 0.99) AS p99_ms,
    approx_percentile(CAST(CASE WHEN is_request THEN ttft_ms END AS DOUBLE), 0.95) AS ttft_p95_ms,
    sum(CASE WHEN is_request THEN cache_read_tokens ELSE 0 END) AS cache_read_tokens,
    sum(CASE WHEN is_request THEN input_tokens + cache_read_tokens + cache_creation_tokens ELSE 0 END) AS prompt_tokens
  FROM req
  GROUP BY model
)
SELECT
  model,
  CAST(requests AS BIGINT) AS requests,
  CAST(errors AS BIGINT) AS errors,
  CAST(errors AS DOUBLE) / nullif(requests + errors, 0) AS error_rate,
  CAST(p50_ms AS DOUBLE) AS p50_ms,
  CAST(p95_ms AS DOUBLE) AS p95_ms,
  CAST(p99_ms AS DOUBLE) AS p99_ms,
  CAST(ttft_p95_ms AS DOUBLE) AS ttft_p95_ms,
  CAST(cache_read_tokens AS DOUBLE) / nullif(prompt_tokens, 0) AS cache_hit_rate,
  CAST(refusals AS BIGINT) AS refusals,
  CAST(retries_exhausted AS BIGINT) AS retries_exhausted
FROM per_model
