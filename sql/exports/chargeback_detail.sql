-- The chargeback export's detail for one month (functions/lib/jobs/chargeback.ts): per developer,
-- team, cost center, model, price row and context tier, the month's tokens by type and reported cost,
-- from the chargeback_daily rollup (long-context tokens carry the long prices). `?` 1 and 2: the month's first and last day (reporting time zone).
-- Unit prices and the reported cost travel as exact decimal text (prices to 9 places, the reported
-- cost summed as DECIMAL to 12 places), so the export multiplies and adds exact numbers, and the sum
-- does not depend on the order an engine adds doubles in.
SELECT
  user_key,
  team,
  cost_center,
  model,
  price_version,
  price_model_pattern,
  CAST(price_valid_from AS VARCHAR) AS price_valid_from,
  CAST(price_valid_to AS VARCHAR) AS price_valid_to,
  CAST(CAST(price_input AS DECIMAL(18, 9)) AS VARCHAR) AS price_input,
  CAST(CAST(price_output AS DECIMAL(18, 9)) AS VARCHAR) AS price_output,
  CAST(CAST(price_cache_read AS DECIMAL(18, 9)) AS VARCHAR) AS price_cache_read,
  CAST(CAST(price_cache_creation AS DECIMAL(18, 9)) AS VARCHAR) AS price_cache_creation,
  price_tier,
  CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
  CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
  CAST(sum(cache_read_tokens) AS BIGINT) AS cache_read_tokens,
  CAST(sum(cache_creation_tokens) AS BIGINT) AS cache_creation_tokens,
  CAST(sum(CAST(cost_usd AS DECIMAL(38, 12))) AS VARCHAR) AS reported_cost_usd,
  CAST(count(*) AS BIGINT) AS source_rows
FROM chargeback_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
GROUP BY user_key, team, cost_center, model, price_version, price_model_pattern, price_valid_from, price_valid_to, price_input, price_output, price_cache_read, price_cache_creation, price_tier
