-- CONTRACTS section 4 `anomalies`: what the detectors found (cclake anomalies, the daily anomalies
-- function), one row per anomaly and the day it is about, with the observed number, the baseline it
-- was judged against, a score, a severity and a one-sentence message. The table behind it,
-- detected_anomalies, also keeps each anomaly's deterministic id and its details (JSON).
CREATE OR REPLACE VIEW anomalies AS
SELECT dt, detector, entity_type, entity, observed, baseline, score, severity, message
FROM detected_anomalies
