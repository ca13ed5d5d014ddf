-- `cclake prices check`: api_request events above the long-context threshold (input + cache read +
-- cache write tokens over the bound parameter), per day, model and the tier the rollups price them
-- at: 'long' where the model's `prices` seed row that day has a long-context price (long_above_tokens
-- set), else 'standard' (the book has no long-context price for that model and day).
SELECT
  CAST(e.dt AS VARCHAR) AS dt,
  e.model,
  CASE WHEN coalesce(e.input_tokens, 0) + coalesce(e.cache_read_tokens, 0) + coalesce(e.cache_creation_tokens, 0) > p.long_above_tokens THEN 'long' ELSE 'standard' END AS tier,
  count(*) AS requests,
  CAST(sum(coalesce(e.input_tokens, 0) + coalesce(e.cache_read_tokens, 0) + coalesce(e.cache_creation_tokens, 0)) AS BIGINT) AS input_side_tokens
FROM events_curated e
LEFT JOIN prices p ON e.model LIKE p.model_like ESCAPE '\' AND p.valid_from <= e.dt AND (p.valid_to IS NULL OR p.valid_to > e.dt)
WHERE e.signal = 'event' AND e.name = 'claude_code.api_request' AND e.model IS NOT NULL
  AND coalesce(e.input_tokens, 0) + coalesce(e.cache_read_tokens, 0) + coalesce(e.cache_creation_tokens, 0) > ?
GROUP BY e.dt, e.model, CASE WHEN coalesce(e.input_tokens, 0) + coalesce(e.cache_read_tokens, 0) + coalesce(e.cache_creation_tokens, 0) > p.long_above_tokens THEN 'long' ELSE 'standard' END
ORDER BY dt, e.model, tier
