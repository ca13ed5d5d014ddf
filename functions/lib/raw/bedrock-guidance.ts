/**
 * The one place that knows what a row of the AWS guidance's `metrics` table means (input profile
 * `bedrock-guidance`, schemas/bedrock-guidance.ts): a DuckDB SELECT that turns such rows into raw
 * records (CONTRACTS section 2). Compaction runs it over each guidance object and from then on the
 * rows are raw records like any other; no later stage knows which profile they came from.
 *
 * What the guidance's pipeline writes (aws-solutions-library-samples/guidance-for-claude-code-with-
 * amazon-bedrock, deployment/infrastructure/analytics-pipeline.yaml, TransformLambda): one row per
 * CloudWatch EMF log line that carries `claude_code.token.usage`, the line's timestamp in epoch ms
 * (`timestamp`), the EMF value as a double (`token_usage`) and the line's `type`, `model`,
 * `session.id`, ... properties, each '' when the line lacks it. The lines come from the collector's
 * `awsemf` exporter, which passes delta sums through and turns cumulative sums into deltas (Claude
 * Code's default temporality is delta; the guidance's own Athena queries SUM(token_usage)), so
 * `token_usage` is an increment: temporality `delta`, as for cclake's own EMF input (telemetry/emf.ts).
 *
 * The mapping: signal `metric`, name `claude_code.token.usage`, event_time from `timestamp` (null
 * when 0 or absent, so the object is quarantined, not dated 1970), metric_type from `type`, value
 * from `token_usage`, temporality `delta`, the identity columns as they are ('' read as absent),
 * `otel_lib` kept in `attributes` under the EMF key `OTelLib`; every other raw column is absent (the
 * compaction reader fills each column a file lacks with NULL). `record_id` is the id
 * telemetry/record-id.ts gives the mapped record (same canonical text, computed here in SQL), so a
 * redelivered guidance object dedupes exactly as a redelivered Firehose object does.
 */
import { BEDROCK_GUIDANCE_METRICS } from '../../../schemas/bedrock-guidance';
import { sqlIdent, sqlString } from '../engine/duckdb';

export const GUIDANCE_METRIC_NAME = 'claude_code.token.usage';
/** The attribute key the guidance's `otel_lib` column held in the EMF line. */
export const GUIDANCE_OTEL_LIB_KEY = 'OTelLib';
/** Columns without which a guidance object cannot be read (the rest read as absent). */
export const GUIDANCE_REQUIRED = ['timestamp', 'token_usage'];

/** Identity columns copied as they are: guidance column -> raw column (same names). */
const IDENTITY = ['user_id', 'session_id', 'model', 'terminal_type', 'organization_id', 'user_email', 'user_account_uuid'] as const;

const str = (col: string) => `NULLIF(CAST(r.${sqlIdent(col)} AS VARCHAR), '')`;

/** The raw columns the mapping fills, as SQL over relation `r` (a guidance file). */
function mappedColumns(): { name: string; sql: string; kind: 'string' | 'int' | 'double' }[] {
  return [
    { name: 'signal', sql: `'metric'`, kind: 'string' },
    { name: 'name', sql: sqlString(GUIDANCE_METRIC_NAME), kind: 'string' },
    { name: 'event_time', sql: `CASE WHEN r."timestamp" > 0 THEN CAST(r."timestamp" AS BIGINT) END`, kind: 'int' },
    ...IDENTITY.map((c) => ({ name: c, sql: str(c), kind: 'string' as const })),
    { name: 'metric_type', sql: str('type'), kind: 'string' },
    { name: 'value', sql: 'CAST(r.token_usage AS DOUBLE)', kind: 'double' },
    { name: 'temporality', sql: `'delta'`, kind: 'string' },
  ];
}

/** JSON text of a value exactly as record-id.ts's json() writes it (JS number and string forms). */
function jsonOf(expr: string, kind: 'string' | 'int' | 'double'): string {
  if (kind === 'string') return `CAST(to_json(${expr}) AS VARCHAR)`;
  if (kind === 'int') return `CAST(${expr} AS VARCHAR)`;
  // JS prints integral doubles without a fraction; DuckDB's shortest round-trip text agrees otherwise.
  return `CASE WHEN isinf(${expr}) OR isnan(${expr}) THEN 'null' WHEN ${expr} = trunc(${expr}) AND abs(${expr}) < 1e15 THEN CAST(CAST(${expr} AS BIGINT) AS VARCHAR) ELSE CAST(${expr} AS VARCHAR) END`;
}

/**
 * SELECT over `source` (a relation holding guidance rows, aliased `r` here) giving raw records:
 * the mapped columns, `attributes` and `record_id`. `where` (SQL over the mapped columns) keeps
 * only some of them.
 */
export function guidanceToRawSql(source: string, where?: string): string {
  const cols = mappedColumns();
  // record-id.ts: JSON of sorted [key, value] pairs, map entries `a:<key>` first, then the non-null
  // columns `c:<name>` in name order; concat_ws skips the nulls.
  const otel = str('otel_lib');
  const pairs = [
    `CASE WHEN m._otel IS NOT NULL THEN '[' || ${sqlString(JSON.stringify(`a:${GUIDANCE_OTEL_LIB_KEY}`))} || ',' || ${jsonOf('m._otel', 'string')} || ']' END`,
    ...[...cols]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map(
        (c) =>
          `CASE WHEN m.${sqlIdent(c.name)} IS NOT NULL THEN '[' || ${sqlString(JSON.stringify(`c:${c.name}`))} || ',' || ${jsonOf(`m.${sqlIdent(c.name)}`, c.kind)} || ']' END`,
      ),
  ];
  const inner = `SELECT ${cols.map((c) => `${c.sql} AS ${sqlIdent(c.name)}`).join(', ')},
      CASE WHEN ${otel} IS NULL THEN MAP {}::MAP(VARCHAR, VARCHAR) ELSE MAP {${sqlString(GUIDANCE_OTEL_LIB_KEY)}: ${otel}} END AS attributes,
      ${otel} AS _otel
    FROM ${source} r`;
  // The id is hashed over the row's content before event_time becomes a TIMESTAMP (record-id.ts hashes epoch ms).
  const mapped = `SELECT substr(sha256('[' || concat_ws(',', ${pairs.join(', ')}) || ']'), 1, 32) AS record_id,
      ${cols.map((c) => (c.name === 'event_time' ? `make_timestamp(m.event_time * 1000) AS event_time` : `m.${sqlIdent(c.name)}`)).join(', ')}, m.attributes
    FROM (${inner}) m`;
  return where ? `SELECT * FROM (${mapped}) WHERE ${where}` : mapped;
}

/** The raw columns `guidanceToRawSql` gives (every other raw column is absent: NULL). */
export const GUIDANCE_MAPPED_COLUMNS: readonly string[] = ['record_id', ...mappedColumns().map((c) => c.name), 'attributes'];

/** The guidance table's column names, for messages. */
export const GUIDANCE_COLUMNS = BEDROCK_GUIDANCE_METRICS.columns.map((c) => c.name);
