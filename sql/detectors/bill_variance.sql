-- bill_variance detector's input: the reconciliation of the imported bills with the telemetry
-- (bill_reconciliation_monthly) for the months judged. Parameters: first and last month, 'YYYY-MM'.
SELECT month, provider, account, model, billed_usd, priced_usd, variance_usd, variance_pct, unmatched
FROM bill_reconciliation_monthly
WHERE month BETWEEN ? AND ?
ORDER BY month, provider, account, model
