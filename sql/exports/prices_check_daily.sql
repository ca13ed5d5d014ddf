-- `cclake prices check`: per day and model, the tokens, the cost Claude Code reported and the cost
-- the price book gives (chargeback_daily carries the unit prices in force that day, null where the
-- book did not cover the model). priced_rows = 0 means the model was not priced that day.
SELECT
  CAST(dt AS VARCHAR) AS dt,
  model,
  count(*) AS lines,
  count(price_input) AS priced_rows,
  CAST(sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS BIGINT) AS tokens,
  CAST(sum(cost_usd) AS DOUBLE) AS reported_usd,
  CAST(sum(input_tokens * price_input + output_tokens * price_output + cache_read_tokens * price_cache_read + cache_creation_tokens * price_cache_creation) AS DOUBLE) / 1000000 AS priced_usd
FROM chargeback_daily
GROUP BY dt, model
ORDER BY dt, model
