-- The month's token burn and priced cost as the analyst view token_burn_daily shows them (a different
-- model over the same curated events): the chargeback export checks its tokens against these exactly
-- and its priced cost within a millionth of a dollar (the view keeps DOUBLE costs). Each day's DOUBLE
-- is summed as DECIMAL, so the total (recorded in the manifest) does not depend on the order an
-- engine adds doubles in. `?` 1 and 2: the month's first and last day.
SELECT
  CAST(sum(tokens) AS BIGINT) AS tokens,
  CAST(sum(CAST(priced_cost_usd AS DECIMAL(38, 12))) AS VARCHAR) AS priced_cost_usd
FROM token_burn_daily
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
