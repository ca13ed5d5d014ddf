-- user_hours_daily for one day: one row per developer and hour of day with any api_request event.
-- Every `?` is the day. The hour is that of event_time in UTC (the lake's timestamps hold UTC; a
-- parameter cannot carry the reporting time zone into a SELECT list on Athena), so a developer's
-- usual hours are learnt and judged in UTC, consistently. user_key as CONTRACTS section 3 defines it.
SELECT
  coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id) AS user_key,
  CAST(hour(event_time) AS INTEGER) AS hour,
  CAST(count(*) AS BIGINT) AS requests,
  CAST(coalesce(sum(cost_usd), 0) AS DOUBLE) AS cost_usd
FROM events_curated
WHERE dt = CAST(? AS DATE) AND signal = 'event' AND name = 'claude_code.api_request'
GROUP BY coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id), hour(event_time)
