-- `cclake prices check`: api_request events above the long-context threshold (input + cache read +
-- cache write tokens over the bound parameter), per day and model. The rollups price aggregated
-- tokens at the standard tier, so where the book has a long-context price these are under-priced.
SELECT
  CAST(dt AS VARCHAR) AS dt,
  model,
  count(*) AS requests,
  CAST(sum(coalesce(input_tokens, 0) + coalesce(cache_read_tokens, 0) + coalesce(cache_creation_tokens, 0)) AS BIGINT) AS input_side_tokens
FROM events_curated
WHERE signal = 'event' AND name = 'claude_code.api_request' AND model IS NOT NULL
  AND coalesce(input_tokens, 0) + coalesce(cache_read_tokens, 0) + coalesce(cache_creation_tokens, 0) > ?
GROUP BY dt, model
ORDER BY dt, model
