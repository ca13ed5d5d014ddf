-- leadership_token_burn_daily (issue 21): token_burn_daily per day, team group (team_groups_daily),
-- model and token type. Project and cost center are left out: they would split a team into groups
-- of fewer people. Tokens and priced cost add up to token_burn_daily's on every day.
CREATE OR REPLACE VIEW leadership_token_burn_daily AS
SELECT
  t.dt,
  coalesce(g.reported_team, 'other teams') AS team,
  t.model,
  t.token_type,
  CAST(sum(t.tokens) AS BIGINT) AS tokens,
  CAST(sum(t.priced_cost_usd) AS DOUBLE) AS priced_cost_usd
FROM token_burn_daily t
LEFT JOIN team_groups_daily g ON g.dt = t.dt AND g.team = t.team
GROUP BY t.dt, coalesce(g.reported_team, 'other teams'), t.model, t.token_type
