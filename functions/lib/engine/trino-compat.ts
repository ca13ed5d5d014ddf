/**
 * Trino functions for DuckDB: the macros that let the Athena (Trino) SQL under `sql/` run unchanged
 * on the local engine with Trino's meaning. Only what DuckDB 1.5 lacks, or has with another meaning
 * under the same Trino spelling, is defined here; where no macro can make the two agree, the dialect
 * lint (functions/lib/sql/dialect.ts) rejects the construct instead.
 *
 * Facts these rest on (DuckDB 1.5.6, each asserted in test/sql-dialect.test.ts):
 * - A macro may take a builtin's name and then shadows it (`element_at`, `cardinality`, `date_add`
 *   below); the builtin stays reachable as `system.main.<name>`. So a builtin is shadowed only where
 *   its Trino spelling already gives another result or type on DuckDB, and the shadow keeps DuckDB's
 *   own signatures working where they exist (`date_add(date, interval)`, `cardinality(map)`).
 * - Builtins left alone: `date_diff(unit, a, b)` already has Trino's argument order and gives
 *   Trino's documented examples, but counts unit boundaries where Trino counts whole units on
 *   timestamps, so the lint's `date-diff` rule limits it to days between DATEs rather than this file
 *   redefining a DuckDB builtin's meaning; likewise `date_trunc` (TIMESTAMP for a DATE: lint rule)
 *   and `regexp_extract` ('' for no match: lint rule). `if(c, a, b)` is the same on both; Trino's
 *   two-argument `if(c, a)` cannot be supplied: DuckDB's parser rejects it before any macro is
 *   looked up ("Wrong number of arguments to IF").
 *
 * The macros are TEMP: they belong to the engine's connection, are never written into an on-disk
 * database, and views over them work (the macro is expanded when the view is bound).
 */
import type { DuckDBEngine } from './duckdb';

/** A SQL string literal, with chr(1) for the sentinel that keeps `%%` out of the translation. */
const lit = (s: string) => (s === '\x01' ? 'chr(1)' : `'${s.replace(/'/g, "''")}'`);

/** Nested replace() calls applying `pairs` in order to the SQL expression `expr`. */
const translate = (expr: string, pairs: [string, string][]) => pairs.reduce((acc, [from, to]) => `replace(${acc}, ${lit(from)}, ${lit(to)})`, expr);

/**
 * Trino's MySQL specifiers to DuckDB strftime, in an order where no output is rewritten by a later
 * step (%M -> %B before %i -> %M). `%%` is parked on a sentinel first so `%%i` stays a literal `%i`.
 * Specifiers spelled the same on both pass through: %a %b %d %H %I %j %m %p %S %Y %y. %f: Trino
 * prints 6 digits of a value truncated to milliseconds (`123000`), so milliseconds then `000`.
 */
export const DATE_FORMAT_TO_STRFTIME: [string, string][] = [
  ['%%', '\x01'],
  ['%M', '%B'],
  ['%W', '%A'],
  ['%i', '%M'],
  ['%s', '%S'],
  ['%T', '%H:%M:%S'],
  ['%r', '%I:%M:%S %p'],
  ['%h', '%I'],
  ['%e', '%-d'],
  ['%c', '%-m'],
  ['%k', '%-H'],
  ['%l', '%-I'],
  ['%f', '%g000'],
  ['\x01', '%%'],
];

/** Interval units of Trino's date_add (datetime.html#interval-functions), as DuckDB interval builders. */
const DATE_ADD_UNITS: [string, string][] = [
  ['millisecond', 'to_milliseconds(n)'],
  ['second', 'to_seconds(n)'],
  ['minute', 'to_minutes(n)'],
  ['hour', 'to_hours(n)'],
  ['day', 'to_days(n)'],
  ['week', 'to_weeks(n)'],
  ['month', 'to_months(n)'],
  ['quarter', 'to_months(3 * n)'],
  ['year', 'to_years(n)'],
];

/** Trino's cap on sequence() (SequenceFunction.checkMaxEntry) and its message. */
const SEQUENCE_MAX = 10000;
const SEQUENCE_TOO_LONG = `result of sequence function must not have more than ${SEQUENCE_MAX} entries`;

/** List element types given their own `cardinality` overload (smaller integers and DECIMAL cast up implicitly). */
const LIST_TYPES = ['VARCHAR', 'BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'BOOLEAN'];

export const TRINO_COMPAT_MACROS: string[] = [
  // Trino day_of_week: ISO, Monday = 1 .. Sunday = 7 (DuckDB's dayofweek is Sunday = 0): isodow.
  `CREATE OR REPLACE TEMP MACRO day_of_week(x) AS isodow(x)`,

  // Trino approx_percentile is a sketch (default rank error 0.01) whose exact output no engine
  // reproduces. quantile_cont is exact, interpolating, and independent of thread count and row order,
  // so local results are reproducible and within Trino's rank error of Athena's. (approx_quantile, a
  // t-digest, would add a second, different approximation.) It also takes an array of percentages,
  // like Trino's approx_percentile(x, ARRAY[...]). It returns DOUBLE: the lint requires
  // approx_percentile(CAST(x AS DOUBLE), p) so that Trino's result type ("same as x") is DOUBLE too.
  `CREATE OR REPLACE TEMP MACRO approx_percentile(x, p) AS quantile_cont(x, p)`,

  // Trino from_unixtime(seconds): Math.round(seconds * 1000) milliseconds (DateTimeFunctions.fromUnixTime;
  // Math.round is floor(x + 0.5), not DuckDB's half-away-from-zero round), as a timestamp in the
  // session zone (UTC on Athena). Here the UTC wall time as TIMESTAMP, the form lake timestamps take;
  // SQL that needs the same type on both writes CAST(from_unixtime(s) AS TIMESTAMP).
  `CREATE OR REPLACE TEMP MACRO from_unixtime(s) AS make_timestamp(CAST(floor(CAST(s AS DOUBLE) * 1000 + 0.5) AS BIGINT) * 1000)`,

  // Trino to_unixtime(timestamp) -> DOUBLE seconds: DuckDB's epoch (the same double for millisecond values).
  `CREATE OR REPLACE TEMP MACRO to_unixtime(ts) AS epoch(ts)`,

  // Trino date_add(unit, value, x) -> [same as x]; DuckDB has only date_add(date, interval), which the
  // first overload keeps. A DATE stays a DATE (DuckDB's DATE + INTERVAL is a TIMESTAMP); sub-day
  // units on a DATE fail as on Trino instead of truncating.
  `CREATE OR REPLACE TEMP MACRO date_add(d, i) AS d + i,
    (unit, n, x) AS CASE
      WHEN unit IS NULL THEN NULL
      WHEN typeof(x) = 'DATE' AND lower(unit) IN ('millisecond', 'second', 'minute', 'hour')
        THEN error('date_add: ''' || unit || ''' is not a valid DATE field')
      ELSE cast_to_type(x + CASE lower(unit) ${DATE_ADD_UNITS.map(([u, e]) => `WHEN '${u}' THEN ${e}`).join(' ')}
        ELSE error('date_add: unknown unit ''' || unit || '''') END, x)
    END`,

  // Trino sequence(start, stop): integers or dates, step 1 (1 day) or -1 when start > stop, both ends
  // included. sequence(start, stop, step): integers, or dates / timestamps with an interval step, the
  // elements keeping the type of start (DuckDB's generate_series over DATEs yields TIMESTAMPs). Trino
  // computes element i as start + i * step (SequenceFunction.sequenceDateYearToMonth), so a month step
  // from Jan 31 gives Feb 28, Mar 31; DuckDB's generate_series adds the step cumulatively (Mar 28), so
  // the three-argument form is built from start + i * step here. Trino's errors are kept: a zero or
  // wrong-way step, a sub-day step on dates, more than 10000 entries.
  `CREATE OR REPLACE TEMP MACRO sequence(a, b) AS CASE
      WHEN abs(b - a) >= ${SEQUENCE_MAX} THEN error('${SEQUENCE_TOO_LONG}')
      ELSE list_transform(generate_series(0, b - a, CASE WHEN a <= b THEN 1 ELSE -1 END), lambda i: a + CAST(i AS INTEGER))
    END,
    (a, b, step) AS CASE
      WHEN a IS NULL OR b IS NULL OR step IS NULL THEN NULL
      WHEN a + step = a THEN error('sequence step must not be zero')
      WHEN cast_to_type(a + step, a) <> a + step THEN error('sequence step must be a day interval if start and end values are dates')
      WHEN (a + step > a AND b < a) OR (a + step < a AND b > a)
        THEN error('sequence stop value should be greater than or equal to start value if step is greater than zero otherwise stop should be less than or equal to start')
      WHEN (a + step > a AND a + step * ${SEQUENCE_MAX} <= b) OR (a + step < a AND a + step * ${SEQUENCE_MAX} >= b) THEN error('${SEQUENCE_TOO_LONG}')
      ELSE list_transform(
        list_filter(range(0, ${SEQUENCE_MAX}), lambda i: CASE WHEN a + step > a THEN a + step * i <= b ELSE a + step * i >= b END),
        lambda i: cast_to_type(a + step * i, a))
    END`,

  // Trino element_at(map, key) is the value or NULL, element_at(array, i) the element or NULL (i < 0
  // from the end); DuckDB's element_at returns a one-element (or empty) LIST for a map and takes no
  // array. DuckDB's subscript already has Trino's element_at meaning for both: value or NULL.
  `CREATE OR REPLACE TEMP MACRO element_at(x, k) AS x[k]`,

  // Trino cardinality(array | map); DuckDB's takes only a MAP (kept, as len(map_entries(m)), which also
  // returns BIGINT like Trino instead of UBIGINT).
  `CREATE OR REPLACE TEMP MACRO cardinality${LIST_TYPES.map((t) => `(x ${t}[]) AS len(x), `).join('')}(x) AS len(map_entries(x))`,

  // Trino date_format with MySQL specifiers, translated to strftime; the lint keeps the format a
  // literal within the specifiers translated here.
  `CREATE OR REPLACE TEMP MACRO date_format(x, f) AS strftime(x, ${translate('f', DATE_FORMAT_TO_STRFTIME)})`,
  // Trino date_parse -> timestamp(3). DuckDB's strptime needs a constant format and rejects a macro
  // whose format is an expression of its parameter ("strptime format must be a constant"), so no
  // translation is possible here: the lint allows only the specifiers both spell the same
  // (%Y %m %d %H %S %T %%), and other text with minutes is parsed with CAST(s AS TIMESTAMP) on both.
  `CREATE OR REPLACE TEMP MACRO date_parse(s, f) AS strptime(s, f)`,

  // Trino to_iso8601: DATE as YYYY-MM-DD; TIMESTAMP(3), the type of every lake timestamp column, as
  // YYYY-MM-DDTHH:MM:SS.mmm without a zone. (A TIMESTAMP(0) literal prints no fraction on Trino, so the
  // SQL should not rely on literals' precision.) Other types fail rather than guess.
  `CREATE OR REPLACE TEMP MACRO to_iso8601(x) AS CASE
      WHEN x IS NULL THEN NULL
      WHEN typeof(x) = 'DATE' THEN strftime(x, '%Y-%m-%d')
      WHEN typeof(x) IN ('TIMESTAMP', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP_NS') THEN strftime(x, '%Y-%m-%dT%H:%M:%S.%g')
      ELSE error('to_iso8601 (DuckDB compat) takes DATE or TIMESTAMP, not ' || typeof(x))
    END`,

  // Trino regexp_like: the pattern only has to occur in the string, as with DuckDB's regexp_matches.
  `CREATE OR REPLACE TEMP MACRO regexp_like(s, p) AS regexp_matches(s, p)`,
];

/** Defines the macros on the engine's connection (idempotent: CREATE OR REPLACE). */
export async function installTrinoCompat(engine: DuckDBEngine): Promise<void> {
  for (const sql of TRINO_COMPAT_MACROS) await engine.run(sql);
}
