-- The telemetry's cost per month, provider and model version, the side of bill_reconciliation_monthly
-- that is not the bill (CONTRACTS section 3, Cost):
--  - priced_usd: token_burn_daily's priced cost (the price book with the negotiated rates); NULL
--    where any of the month's tokens of that model had no price;
--  - reported_usd: cost_usd as Claude Code reported it (chargeback_daily).
-- month is the reporting time zone's (the rollups' dt). The model id is reduced to the version the
-- price book and the bills name, as functions/lib/prices/model-id.ts does (test/bills.test.ts holds
-- the two to the same answers): Bedrock ARNs, inference-profile prefixes (us., eu., apac., global.,
-- ...), `anthropic.`, `-v1:0`, date stamps and context suffixes go. provider is bedrock for an id
-- with a Bedrock prefix or `anthropic.`, vertex for an `@YYYYMMDD` id, else anthropic.
CREATE OR REPLACE VIEW telemetry_cost_monthly AS
WITH per_id AS (
  SELECT
    substr(CAST(dt AS VARCHAR), 1, 7) AS month,
    model,
    sum(priced_cost_usd) AS priced_usd,
    sum(CASE WHEN priced_cost_usd IS NULL AND tokens > 0 THEN 1 ELSE 0 END) AS unpriced_rows,
    CAST(0 AS DOUBLE) AS reported_usd
  FROM token_burn_daily
  GROUP BY substr(CAST(dt AS VARCHAR), 1, 7), model
  UNION ALL
  SELECT substr(CAST(dt AS VARCHAR), 1, 7) AS month, model, CAST(NULL AS DOUBLE) AS priced_usd, 0 AS unpriced_rows, sum(cost_usd) AS reported_usd
  FROM chargeback_daily
  GROUP BY substr(CAST(dt AS VARCHAR), 1, 7), model
),
-- Suffixes go with regexp_extract of an anchored, always-matching pattern (regexp_replace of a
-- pattern anchored at the end is not the same on both engines).
stripped AS (
  SELECT
    id.model,
    nullif(
      regexp_extract(
        regexp_replace(
          regexp_replace(
            nullif(
              regexp_extract(
                regexp_replace(lower(trim(id.model)), '^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:[a-z-]+/', ''),
                '^(.*?)(\[[^\]]+\])?$',
                1
              ),
              ''
            ),
            '^(global|us|us-gov|eu|apac|jp|au|ca)\.',
            'bedrock:'
          ),
          '^(bedrock:)?anthropic\.',
          'bedrock:'
        ),
        '^(.*?)(-v[0-9]+(:[0-9]+)?)?$',
        1
      ),
      ''
    ) AS s
  FROM (SELECT DISTINCT model FROM per_id) AS id
),
ids AS (
  SELECT
    model,
    CASE WHEN regexp_like(s, '@[0-9]{8}$') THEN 'vertex' WHEN s LIKE 'bedrock:%' THEN 'bedrock' ELSE 'anthropic' END AS provider,
    nullif(
      regexp_extract(
        nullif(regexp_extract(nullif(regexp_extract(regexp_replace(s, '^bedrock:', ''), '^(.*?)(@[0-9]{8})?$', 1), ''), '^(.*?)(-[0-9]{8})?$', 1), ''),
        '^(.*?)(-latest)?$',
        1
      ),
      ''
    ) AS k
  FROM stripped
)
SELECT
  p.month,
  i.provider,
  CASE WHEN regexp_like(i.k, '^claude-(opus|sonnet)-4-0$') THEN substr(i.k, 1, length(i.k) - 2) ELSE i.k END AS model,
  CASE WHEN sum(p.unpriced_rows) > 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(sum(p.priced_usd) AS DOUBLE) END AS priced_usd,
  CAST(sum(p.reported_usd) AS DOUBLE) AS reported_usd
FROM per_id p
JOIN ids i ON i.model = p.model
GROUP BY p.month, i.provider, CASE WHEN regexp_like(i.k, '^claude-(opus|sonnet)-4-0$') THEN substr(i.k, 1, length(i.k) - 2) ELSE i.k END
