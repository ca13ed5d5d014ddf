-- CONTRACTS sections 3-4: chargeback per month, cost center, team and developer, from user_daily
-- (a developer who changed team or cost center inside the month has a row for each).
--  - tokens: input + output + cache read + cache creation.
--  - cost_usd: the cost Claude Code reported (client-side list-price estimate), always present.
--  - priced_cost_usd: the cost from the configured price table; NULL where the price table did not
--    cover the row (any of its developer-days with tokens or cost but no priced cost): finance bills
--    priced_cost_usd where it is present and sees cost_usd beside it where it is not.
-- Developer-days without tokens or cost (tool results only) are not billed and make no row.
CREATE OR REPLACE VIEW chargeback_monthly AS
SELECT
  substr(CAST(dt AS VARCHAR), 1, 7) AS month,
  cost_center,
  team,
  user_key,
  CAST(sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS BIGINT) AS tokens,
  CAST(sum(cost_usd) AS DOUBLE) AS cost_usd,
  CASE
    WHEN count(*) FILTER (WHERE priced_cost_usd IS NULL) > 0 THEN CAST(NULL AS DOUBLE)
    ELSE CAST(sum(priced_cost_usd) AS DOUBLE)
  END AS priced_cost_usd
FROM user_daily
WHERE input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0 OR cost_usd <> 0
GROUP BY substr(CAST(dt AS VARCHAR), 1, 7), cost_center, team, user_key
