-- CONTRACTS sections 3-4: the imported bills against the telemetry, per month, provider, account and
-- model version (bill_lines is the current revision of every bill; its principals are summed here and
-- stay in bill_lines.principal):
--  - billed_usd: what the bills charge (net of discounts), from bill_lines;
--  - priced_usd, reported_usd: the telemetry's priced and reported cost (telemetry_cost_monthly);
--  - variance_usd = billed - priced; variance_pct = variance / priced, a fraction (NULL without a
--    priced cost);
--  - unmatched: 'bill_only' (billed usage with no telemetry: a model Claude Code did not report, a
--    line whose model the import could not read, spend outside Claude Code), 'telemetry_only'
--    (telemetry with no bill line), else NULL.
-- Telemetry names no AWS account or Anthropic organization: its usage of a provider in a month
-- goes to the one account that provider's bills of that month name, and has account NULL when
-- they name none or several. Telemetry is shown only for months with at least one imported bill,
-- so a lake without bills has no rows. Months: the bill's billing month (UTC), the telemetry's
-- month in the reporting time zone.
CREATE OR REPLACE VIEW bill_reconciliation_monthly AS
WITH billed AS (
  SELECT month, provider, account, model, sum(billed_usd) AS billed_usd
  FROM bill_lines
  GROUP BY month, provider, account, model
),
accounts AS (
  SELECT month, provider, min(account) AS account
  FROM bill_lines
  GROUP BY month, provider
  HAVING count(DISTINCT account) = 1
),
telemetry AS (
  SELECT t.month, t.provider, a.account, t.model, t.priced_usd, t.reported_usd
  FROM telemetry_cost_monthly t
  LEFT JOIN accounts a ON a.month = t.month AND a.provider = t.provider
  WHERE t.month IN (SELECT DISTINCT month FROM bill_lines)
)
SELECT
  coalesce(b.month, t.month) AS month,
  coalesce(b.provider, t.provider) AS provider,
  coalesce(b.account, t.account) AS account,
  coalesce(b.model, t.model) AS model,
  CAST(b.billed_usd AS DOUBLE) AS billed_usd,
  CAST(t.priced_usd AS DOUBLE) AS priced_usd,
  CAST(t.reported_usd AS DOUBLE) AS reported_usd,
  CAST(b.billed_usd - t.priced_usd AS DOUBLE) AS variance_usd,
  CASE WHEN t.priced_usd <> 0 THEN CAST(b.billed_usd - t.priced_usd AS DOUBLE) / t.priced_usd END AS variance_pct,
  CASE WHEN t.month IS NULL THEN 'bill_only' WHEN b.month IS NULL THEN 'telemetry_only' END AS unmatched
FROM billed b
FULL OUTER JOIN telemetry t
  ON b.month = t.month AND b.provider = t.provider AND b.account = t.account AND b.model = t.model
