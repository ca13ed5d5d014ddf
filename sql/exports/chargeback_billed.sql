-- The chargeback true-up's input (functions/lib/exports/billed.ts): the lines of the imported bills
-- (table bill_lines, schemas/bills.ts) of one billing month, each bill at its latest revision only.
-- `?` 1 and 2: the month 'YYYY-MM'. Amounts travel as the exact decimal text the bill had
-- (billed_usd_exact): the export adds them in integers, never in doubles.
SELECT
  b.provider,
  b.model,
  b.billed_usd_exact,
  b.currency,
  b.bill_id,
  CAST(b.bill_revision AS INTEGER) AS bill_revision,
  b.source_file,
  CAST(b.source_row AS BIGINT) AS source_row
FROM bill_lines b
JOIN (
  SELECT bill_id, max(bill_revision) AS bill_revision
  FROM bill_lines
  WHERE month = ?
  GROUP BY bill_id
) latest ON latest.bill_id = b.bill_id AND latest.bill_revision = b.bill_revision
WHERE b.month = ?
ORDER BY b.bill_id, b.source_file, b.source_row
