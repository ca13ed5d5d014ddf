-- Examples for the evidence report: the first findings (by event time, then record id) per control
-- and team over the period, from the compliance_findings view, as record ids and times only, with
-- the number of findings each control and team had. `?` 1 and 2: the period's first and last day;
-- `?` 3: how many examples per control and team.
SELECT
  control_id,
  team,
  finding,
  record_id,
  CAST(dt AS VARCHAR) AS dt,
  event_time,
  findings
FROM (
  SELECT
    f.*,
    row_number() OVER (PARTITION BY control_id, team ORDER BY event_time, record_id) AS rn,
    count(*) OVER (PARTITION BY control_id, team) AS findings
  FROM compliance_findings f
  WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
) AS ranked
WHERE rn <= ?
ORDER BY control_id, team, rn
