-- The lake's priced cost for one month, computed on its own path for the chargeback reconciliation:
-- day by day from chargeback_daily, in DECIMAL (never a sum of doubles). `?` 1 and 2: the month's
-- first and last day. priced_cost_usd_e6 is tokens x USD per million tokens, i.e. USD x 1,000,000,
-- as exact decimal text (the export divides by 10^6 exactly; a DECIMAL division here would round
-- differently on the two engines).
SELECT
  CAST(sum(
    CAST(input_tokens AS DECIMAL(20, 0)) * CAST(price_input AS DECIMAL(18, 9))
    + CAST(output_tokens AS DECIMAL(20, 0)) * CAST(price_output AS DECIMAL(18, 9))
    + CAST(cache_read_tokens AS DECIMAL(20, 0)) * CAST(price_cache_read AS DECIMAL(18, 9))
    + CAST(cache_creation_tokens AS DECIMAL(20, 0)) * CAST(price_cache_creation AS DECIMAL(18, 9))
  ) AS VARCHAR) AS priced_cost_usd_e6,
  CAST(count(*) AS BIGINT) AS priced_rows,
  CAST(sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS BIGINT) AS priced_tokens
FROM chargeback_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AND price_input IS NOT NULL
