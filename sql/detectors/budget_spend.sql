-- Budget detectors' input: the budget_forecast_daily rows of the teams and cost centers with a
-- budget (month to date, weekday/weekend forecast, budget, the day it runs out), from the first day
-- of the first month judged through the last day judged.
-- Parameters: first day of the first month judged, last day judged.
SELECT dt, entity_type, entity, month_to_date_usd, forecast_month_usd, budget_usd, exhausted_on
FROM budget_forecast_daily
WHERE budget_usd IS NOT NULL AND dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
ORDER BY entity_type, entity, dt
