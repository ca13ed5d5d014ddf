-- CONTRACTS section 3, "active user on day D": at least one api_request event, or token usage (a
-- token.usage datapoint > 0, counted in user_daily for metrics-only sessions). One row per developer
-- and day they were active, with the team they were in that day. The base of the active-user views.
CREATE OR REPLACE VIEW active_user_days AS
SELECT DISTINCT dt, team, user_key
FROM user_daily
WHERE requests > 0 OR input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0
