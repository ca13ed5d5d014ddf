-- CONTRACTS section 4: budget_forecast_daily, per day of the rollups and team / cost center, the
-- month's spend to date, its month-end forecast with the weekday/weekend shape, the budget (seed
-- `budgets`, from config `budgets`) and the day the budget is expected to run out.
--  - Cost as billed (CONTRACTS section 3): per developer-day the priced cost where there is one,
--    else the reported cost, as the budget detectors and ROI read it. A day of the rollups without
--    spend for the entity counts as 0.
--  - month_to_date_usd: the cost from the month's first day (or the lake's first day, if later)
--    through dt.
--  - forecast_month_usd = month_to_date_usd + (weekdays after dt in the month) x weekday rate
--    + (Saturdays and Sundays after dt) x weekend rate. The weekday rate is the mean daily cost of
--    the month's weekdays through dt when there are at least 3 of them, else of the weekdays among
--    the 28 days ending dt; the weekend rate likewise with at least 2 weekend days of the month.
--    When the 28 days hold no day of that kind either (a lake younger than its first weekend),
--    the mean of all of them stands in.
--  - exhausted_on: the first day of the month whose cumulative cost, actual through dt and then
--    forecast day by day at those rates, reaches budget_usd; null when it does not within the
--    month, or without a budget.
-- One row per rollup day and entity that has spend in that day's month or a budget.
CREATE OR REPLACE VIEW budget_forecast_daily AS
WITH
spend AS (
  SELECT
    dt,
    CASE WHEN grouping(team) = 0 THEN 'team' ELSE 'cost_center' END AS entity_type,
    CASE WHEN grouping(team) = 0 THEN team ELSE cost_center END AS entity,
    CAST(sum(coalesce(priced_cost_usd, cost_usd)) AS DOUBLE) AS cost_usd
  FROM user_daily
  GROUP BY GROUPING SETS ((dt, team), (dt, cost_center))
),
months AS (
  SELECT DISTINCT date_add('day', 1 - day(dt), dt) AS month_start FROM rollup_days
),
-- Every day of those months; weekdays and weekend days from the month's first day through it.
calendar AS (
  SELECT
    c.dt,
    c.month_start,
    sum(CASE WHEN day_of_week(c.dt) < 6 THEN 1 ELSE 0 END) OVER (PARTITION BY c.month_start ORDER BY c.dt) AS weekdays_through,
    sum(CASE WHEN day_of_week(c.dt) >= 6 THEN 1 ELSE 0 END) OVER (PARTITION BY c.month_start ORDER BY c.dt) AS weekend_through,
    sum(CASE WHEN day_of_week(c.dt) < 6 THEN 1 ELSE 0 END) OVER (PARTITION BY c.month_start) AS weekdays_in_month,
    sum(CASE WHEN day_of_week(c.dt) >= 6 THEN 1 ELSE 0 END) OVER (PARTITION BY c.month_start) AS weekend_in_month
  FROM (
    SELECT date_add('day', n, m.month_start) AS dt, m.month_start
    FROM months m
    CROSS JOIN UNNEST(sequence(0, 30)) AS t (n)
    WHERE month(date_add('day', n, m.month_start)) = month(m.month_start)
  ) AS c
),
entities AS (
  SELECT DISTINCT entity_type, entity FROM spend
  UNION
  SELECT entity_type, entity FROM budgets
),
-- Each rollup day and entity: the day's cost (0 without spend) and the cost to date in its month.
daily AS (
  SELECT
    x.*,
    sum(x.cost_usd) OVER (PARTITION BY x.entity_type, x.entity, x.month_start ORDER BY x.dt ROWS UNBOUNDED PRECEDING) AS month_to_date
  FROM (
    SELECT
      r.dt,
      date_add('day', 1 - day(r.dt), r.dt) AS month_start,
      CASE WHEN day_of_week(r.dt) >= 6 THEN 1 ELSE 0 END AS weekend,
      e.entity_type,
      e.entity,
      coalesce(s.cost_usd, 0) AS cost_usd
    FROM rollup_days r
    CROSS JOIN entities e
    LEFT JOIN spend s ON s.dt = r.dt AND s.entity_type = e.entity_type AND s.entity = e.entity
  ) AS x
),
-- The entities each month has a row for: spend in the month, or a budget.
month_entities AS (
  SELECT DISTINCT month_start, entity_type, entity FROM daily WHERE cost_usd <> 0
  UNION
  SELECT m.month_start, b.entity_type, b.entity FROM months m CROSS JOIN budgets b
),
-- Per day and entity, the days the rates are taken from: the month through dt, and the 28 days ending dt.
observed AS (
  SELECT
    d.dt,
    d.month_start,
    d.entity_type,
    d.entity,
    d.month_to_date,
    count(CASE WHEN p.month_start = d.month_start AND p.weekend = 0 THEN 1 END) AS month_weekdays,
    sum(CASE WHEN p.month_start = d.month_start AND p.weekend = 0 THEN p.cost_usd ELSE 0 END) AS month_weekday_cost,
    count(CASE WHEN p.month_start = d.month_start AND p.weekend = 1 THEN 1 END) AS month_weekend,
    sum(CASE WHEN p.month_start = d.month_start AND p.weekend = 1 THEN p.cost_usd ELSE 0 END) AS month_weekend_cost,
    count(CASE WHEN p.dt > date_add('day', -28, d.dt) AND p.weekend = 0 THEN 1 END) AS trailing_weekdays,
    sum(CASE WHEN p.dt > date_add('day', -28, d.dt) AND p.weekend = 0 THEN p.cost_usd ELSE 0 END) AS trailing_weekday_cost,
    count(CASE WHEN p.dt > date_add('day', -28, d.dt) AND p.weekend = 1 THEN 1 END) AS trailing_weekend,
    sum(CASE WHEN p.dt > date_add('day', -28, d.dt) AND p.weekend = 1 THEN p.cost_usd ELSE 0 END) AS trailing_weekend_cost
  FROM daily d
  JOIN month_entities me ON me.month_start = d.month_start AND me.entity_type = d.entity_type AND me.entity = d.entity
  JOIN daily p
    ON p.entity_type = d.entity_type AND p.entity = d.entity AND p.dt <= d.dt
    AND (p.month_start = d.month_start OR p.dt > date_add('day', -28, d.dt))
  GROUP BY d.dt, d.month_start, d.entity_type, d.entity, d.month_to_date
),
rates AS (
  SELECT
    o.*,
    CASE
      WHEN o.month_weekdays >= 3 THEN CAST(o.month_weekday_cost AS DOUBLE) / o.month_weekdays
      WHEN o.trailing_weekdays > 0 THEN CAST(o.trailing_weekday_cost AS DOUBLE) / o.trailing_weekdays
      ELSE CAST(o.trailing_weekday_cost + o.trailing_weekend_cost AS DOUBLE) / (o.trailing_weekdays + o.trailing_weekend)
    END AS weekday_rate,
    CASE
      WHEN o.month_weekend >= 2 THEN CAST(o.month_weekend_cost AS DOUBLE) / o.month_weekend
      WHEN o.trailing_weekend > 0 THEN CAST(o.trailing_weekend_cost AS DOUBLE) / o.trailing_weekend
      ELSE CAST(o.trailing_weekday_cost + o.trailing_weekend_cost AS DOUBLE) / (o.trailing_weekdays + o.trailing_weekend)
    END AS weekend_rate,
    c.weekdays_through,
    c.weekend_through,
    c.weekdays_in_month,
    c.weekend_in_month,
    b.monthly_usd AS budget_usd
  FROM observed o
  JOIN calendar c ON c.dt = o.dt
  LEFT JOIN budgets b ON b.entity_type = o.entity_type AND b.entity = o.entity
),
-- The first day of the month the cumulative cost reaches the budget: actual through dt, then forecast.
exhausted AS (
  SELECT r.dt, r.entity_type, r.entity, min(c.dt) AS exhausted_on
  FROM rates r
  JOIN calendar c ON c.month_start = r.month_start
  LEFT JOIN daily a ON a.dt = c.dt AND a.entity_type = r.entity_type AND a.entity = r.entity
  WHERE r.budget_usd IS NOT NULL
    AND (
      (c.dt <= r.dt AND a.month_to_date >= r.budget_usd)
      OR (
        c.dt > r.dt
        AND r.month_to_date + (c.weekdays_through - r.weekdays_through) * r.weekday_rate
          + (c.weekend_through - r.weekend_through) * r.weekend_rate >= r.budget_usd
      )
    )
  GROUP BY r.dt, r.entity_type, r.entity
)
SELECT
  r.dt,
  r.entity_type,
  r.entity,
  CAST(r.month_to_date AS DOUBLE) AS month_to_date_usd,
  CAST(
    r.month_to_date + (r.weekdays_in_month - r.weekdays_through) * r.weekday_rate
    + (r.weekend_in_month - r.weekend_through) * r.weekend_rate
    AS DOUBLE
  ) AS forecast_month_usd,
  CAST(r.budget_usd AS DOUBLE) AS budget_usd,
  x.exhausted_on
FROM rates r
LEFT JOIN exhausted x ON x.dt = r.dt AND x.entity_type = r.entity_type AND x.entity = r.entity
