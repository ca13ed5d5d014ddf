/**
 * The Trino/DuckDB dialect guard: the lint over `sql/` (functions/lib/sql/dialect.ts) and the compat
 * macros (functions/lib/engine/trino-compat.ts), checked against a real DuckDB 1.5 engine. Expected
 * values of the macros are Trino's documented examples (https://trino.io/docs/current/functions/...),
 * cited where they are used.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { DATE_FORMAT_TO_STRFTIME, installTrinoCompat, TRINO_COMPAT_MACROS } from '../functions/lib/engine/trino-compat';
import { DATE_FORMAT_SAFE, findSqlFiles, formatSqlProblem, lintSql, lintSqlTree, SQL_LINT_RULES, type SqlLintRule } from '../functions/lib/sql/dialect';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The problems in `sql` as `rule@line:column`. */
const found = (sql: string) => lintSql(sql, 'x.sql').map((p) => `${p.rule}@${p.line}:${p.column}`);

interface RuleCase {
  rule: Exclude<SqlLintRule, 'dialect-ok'>;
  /** Each with the construct at line 2 (after `SELECT\n  `), reported at the given column. */
  bad: [sql: string, column: number][];
  good: string[];
}

const CASES: RuleCase[] = [
  {
    rule: 'integer-division',
    bad: [
      ['a / b', 5],
      ['CAST(a AS DOUBLE) * 2 / b', 25],
      ['CAST(a AS BIGINT) / b', 21],
      ['sum(x)/count(*)', 9],
    ],
    good: ['CAST(a AS DOUBLE) / nullif(b, 0)', 'cast( a  as\n double )/b', 'TRY_CAST(sum(x) AS DOUBLE) / count(*)', "'a/b' AS path"],
  },
  { rule: 'format', bad: [["format('%s%%', 123)", 3]], good: ["CAST(123 AS VARCHAR) || '%'", 'format_col'] },
  {
    rule: 'zoned-timestamp-literal',
    bad: [
      ["TIMESTAMP '2026-11-20 10:00 UTC'", 3],
      ["timestamp '2026-11-20 10:00:00Z'", 3],
      ["TIMESTAMP '2026-11-20 10:00:00.123+02:00'", 3],
      ["TIMESTAMP '2026-11-20 10:00:00 America/New_York'", 3],
      ["CAST('2026-11-20 10:00:00 UTC' AS TIMESTAMP)", 3],
    ],
    good: ["TIMESTAMP '2026-11-20 10:00:00'", "TIMESTAMP '2026-11-20'", "TIMESTAMP '2026-11-20 10:00:00.123'", "CAST('2026-11-20 10:00:00' AS TIMESTAMP)"],
  },
  {
    rule: 'approx-distinct',
    bad: [
      ['approx_distinct(user_key)', 3],
      ['APPROX_COUNT_DISTINCT(user_key)', 3],
    ],
    good: ['count(DISTINCT user_key)'],
  },
  {
    rule: 'day-of-week',
    bad: [
      ['extract(dow FROM dt)', 3],
      ['EXTRACT(DAY_OF_WEEK FROM dt)', 3],
      ['dayofweek(dt)', 3],
      ['dow(dt)', 3],
    ],
    good: ['day_of_week(dt)', 'extract(doy FROM dt)', 'extract(year FROM dt)'],
  },
  {
    rule: 'date-format-specifiers',
    bad: [
      ["date_format(ts, '%Y week %U')", 3],
      ['date_format(ts, fmt)', 3],
      ["date_format(ts, '%Y-%x')", 3],
      ["date_format(ts, '100%')", 3],
      ["date_parse(s, '%Y-%m-%d %H:%i:%s')", 3],
      ["date_parse(s, '%y%m%d')", 3],
    ],
    good: ["date_format(ts, '%Y-%m-%d %H:%i:%s')", "date_format(ts, '%M %W %T %r %f %%')", "date_parse(s, '%Y-%m-%d %T')", "date_parse(s, '%Y/%m/%d/%H')"],
  },
  {
    rule: 'map-subscript',
    bad: [
      ["attributes['k']", 13],
      ["split(s, ',')[1]", 16],
      ['"attrs"[2]', 10],
      ['ARRAY[1, 2][1]', 14],
    ],
    good: ["element_at(attributes, 'k')", 'ARRAY[1, 2]', "MAP(ARRAY['k'], ARRAY[1])"],
  },
  {
    rule: 'date-diff',
    bad: [
      ["date_diff('hour', a, b)", 3],
      ["date_diff('day', ts_a, ts_b)", 3],
      ["date_diff('month', CAST(a AS DATE), CAST(b AS DATE))", 3],
    ],
    good: ["date_diff('day', CAST(a AS DATE), DATE '2026-01-01')", "date_diff('DAY', current_date, CAST(b AS DATE))", 'to_unixtime(b) - to_unixtime(a)'],
  },
  {
    rule: 'date-trunc-type',
    bad: [
      ["date_trunc('month', dt)", 3],
      ["CAST(date_trunc('month', dt) + INTERVAL '1' DAY AS DATE)", 8],
    ],
    good: ["CAST(date_trunc('month', dt) AS DATE)", "cast(date_trunc('hour', ts) as timestamp)"],
  },
  { rule: 'concat-null', bad: [['concat(a, b)', 3]], good: ['a || b', "coalesce(a, '') || b", "concat_ws('-', a, b)"] },
  {
    rule: 'greatest-least-null',
    bad: [
      ['greatest(a, b)', 3],
      ['least(a, 0)', 3],
      ['greatest(coalesce(a, 0), b + 1)', 3],
    ],
    good: ['greatest(coalesce(a, 0), coalesce(b, 0))', 'least(coalesce(a, 0), 100)', "greatest(coalesce(a, 0), -1, 'x')"],
  },
  {
    rule: 'split-part-missing',
    bad: [
      ["split_part(s, ',', 2)", 3],
      ["nullif(split_part(s, ',', 2), 'x')", 10],
    ],
    good: ["nullif(split_part(s, ',', 2), '')", "NULLIF( split_part(s, ',', 2) , '' )"],
  },
  {
    rule: 'regexp-extract-no-match',
    bad: [["regexp_extract(s, 'a+')", 3]],
    good: ["nullif(regexp_extract(s, 'a+'), '')", "nullif(regexp_extract(s, '(a+)b', 1), '')"],
  },
  {
    rule: 'regexp-replace',
    bad: [
      ["regexp_replace(s, 'a', 'b')", 3],
      ["regexp_replace(s, '^(a)', '$1')", 3],
      ["regexp_replace(s, '^a')", 3],
      ['regexp_replace(s, p, r)', 3],
    ],
    good: ["regexp_replace(s, '^v', '')", "replace(s, 'a', 'b')"],
  },
  {
    rule: 'millisecond-of-second',
    bad: [
      ['millisecond(ts)', 3],
      ['millisecond(ts) % 100', 3],
    ],
    good: ['millisecond(ts) % 1000'],
  },
  {
    rule: 'at-time-zone',
    bad: [
      ["ts AT TIME ZONE 'America/New_York'", 6],
      ["(ts AT TIME ZONE 'UTC') AT TIME ZONE tz", 7],
    ],
    good: ["CAST((ts AT TIME ZONE 'UTC') AT TIME ZONE 'America/Los_Angeles' AS TIMESTAMP)", "cast((e.ts at time zone 'utc') at time zone o.tz as timestamp)"],
  },
  {
    rule: 'approx-percentile-type',
    bad: [
      ['approx_percentile(x, 0.5)', 3],
      ['approx_percentile(CAST(x AS BIGINT), 0.5)', 3],
    ],
    good: ['approx_percentile(CAST(x AS DOUBLE), 0.5)', 'approx_percentile(CAST(x AS DOUBLE), ARRAY[0.5, 0.9])'],
  },
  {
    rule: 'decimal-default-precision',
    bad: [
      ['CAST(x AS DECIMAL)', 13],
      ["DECIMAL '1.2345'", 3],
    ],
    good: ['CAST(x AS DECIMAL(12, 6))', "DECIMAL(3, 1) '1.5'"],
  },
];

describe('lintSql rules', () => {
  it('has a case, a source and a "write/use ... instead" message for every rule', () => {
    expect(CASES.map((c) => c.rule).sort()).toEqual(Object.keys(SQL_LINT_RULES).sort());
    for (const [rule, { message, source }] of Object.entries(SQL_LINT_RULES)) {
      expect(message, rule).toMatch(/\b(write|use)\b/);
      expect(source, rule).toMatch(/trino|Trino/);
    }
  });

  describe.each(CASES)('$rule', ({ rule, bad, good }) => {
    it.each(bad)('catches %s at line 2, column %i', (expr, column) => {
      const problems = lintSql(`SELECT\n  ${expr}\nFROM t`, 'sql/R__v.sql');
      expect(problems.map((p) => `${p.rule}@${p.line}:${p.column}`)).toContain(`${rule}@2:${column}`);
      const p = problems.find((q) => q.rule === rule)!;
      expect(p.file).toBe('sql/R__v.sql');
      expect(p.message).toContain(SQL_LINT_RULES[rule].message);
    });

    it.each(good)('passes %s', (expr) => {
      expect(found(`SELECT\n  ${expr}\nFROM t`).filter((f) => f.startsWith(`${rule}@`))).toEqual([]);
    });
  });

  it('passes a realistic rollup written in the compliant forms', () => {
    const sql = `-- R__daily_usage.sql
CREATE OR REPLACE VIEW daily_usage AS
SELECT
  dt,
  day_of_week(dt) AS weekday,
  count(DISTINCT user_key) AS dau,
  CAST(sum(cost_usd) AS DOUBLE) / nullif(count(DISTINCT user_key), 0) AS cost_per_user,
  approx_percentile(CAST(duration_ms AS DOUBLE), 0.9) AS p90_ms,
  element_at(attributes, 'model') AS model,
  nullif(split_part(user_email, '@', 2), '') AS email_domain,
  date_format(event_time, '%Y-%m-%dT%H:%i') AS minute
FROM events
WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) /* inclusive: 7/2 days? */
GROUP BY 1, 2, 6, 7, 8`;
    expect(lintSql(sql, 'sql/R__daily_usage.sql')).toEqual([]);
  });

  it('reports every problem of a text, in text order, with its line and column', () => {
    const sql = "SELECT a / b,\n       format('%d', x), approx_distinct(u)\nFROM t\nWHERE m['k'] = 1";
    expect(found(sql)).toEqual(['integer-division@1:10', 'format@2:8', 'approx-distinct@2:25', 'map-subscript@4:8']);
  });
});

describe('lintSql never looks inside strings, quoted identifiers or comments', () => {
  const inert = [
    "SELECT 'a / b', 'format(x)', 'TIMESTAMP ''2026-11-20 10:00 UTC''', 'm[''k'']', 'approx_distinct(x)' FROM t",
    'SELECT "a/b", "format"(x), "approx_distinct"(y), "dow"(d), "weird[1]" FROM t',
    "SELECT 1 -- a / b, format('%s', 1), m['k'], concat(a, b), extract(dow FROM d)",
    "SELECT /* a / b\n format('%s', 1)\n m['k'] */ 1 FROM t",
    'SELECT 1 FROM t /* unterminated a / b',
    "SELECT U&'a / b \\2603', X'2F' FROM t",
  ];
  it.each(inert)('%s', (sql) => {
    expect(lintSql(sql, 'x.sql')).toEqual([]);
  });

  it('keeps counting lines through multi-line strings and comments', () => {
    const sql = "SELECT 'line1\nline2\nline3' AS s, /* c1\nc2 */ a / b\nFROM t";
    expect(found(sql)).toEqual(['integer-division@4:9']);
  });
});

describe('the dialect-ok opt-out', () => {
  it('silences its rule on its line when it gives a reason', () => {
    expect(found('SELECT a / b FROM t -- dialect-ok: integer-division both columns are DOUBLE')).toEqual([]);
  });

  it('does nothing without a reason, and says so', () => {
    const problems = lintSql('SELECT a / b FROM t -- dialect-ok: integer-division', 'x.sql');
    expect(problems.map((p) => `${p.rule}@${p.line}:${p.column}`)).toEqual(['integer-division@1:10', 'dialect-ok@1:21']);
    expect(problems[1]!.message).toMatch(/needs a reason/);
  });

  it('silences only the rule it names, and only on its own line', () => {
    expect(found("SELECT a / b, format('%s', c) FROM t -- dialect-ok: format documented Java format use")).toEqual(['integer-division@1:10']);
    expect(found('-- dialect-ok: integer-division next line is fine\nSELECT a / b FROM t')).toEqual(['dialect-ok@1:1', 'integer-division@2:10']);
  });

  it('rejects an unknown rule name and an opt-out that silences nothing', () => {
    expect(lintSql('SELECT a / b FROM t -- dialect-ok: int-div reason', 'x.sql').map((p) => p.rule)).toEqual(['integer-division', 'dialect-ok']);
    const stale = lintSql('SELECT 1 FROM t -- dialect-ok: format kept from an old version', 'x.sql');
    expect(stale).toHaveLength(1);
    expect(stale[0]!.message).toMatch(/opts out of nothing/);
  });
});

describe('lintSqlTree', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cclake-sql-lint-'));
    await mkdir(path.join(dir, 'views', 'nested'), { recursive: true });
    await writeFile(path.join(dir, 'V001__ok.sql'), 'SELECT CAST(a AS DOUBLE) / nullif(b, 0) FROM t\n');
    await writeFile(path.join(dir, 'views', 'nested', 'R__bad.sql'), 'SELECT 1\nFROM t\nWHERE approx_distinct(u) > 7/2\n');
    await writeFile(path.join(dir, 'views', 'notes.md'), 'a / b is not SQL here\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the .sql files at any depth and the problems in them (the scanner is not vacuous)', async () => {
    const bad = path.join(dir, 'views', 'nested', 'R__bad.sql');
    expect(await findSqlFiles(dir)).toEqual([path.join(dir, 'V001__ok.sql'), bad]);
    const problems = await lintSqlTree(dir);
    expect(problems.map(formatSqlProblem)).toEqual([
      `${bad}:3:7 approx-distinct: ${SQL_LINT_RULES['approx-distinct'].message}`,
      `${bad}:3:29 integer-division: ${SQL_LINT_RULES['integer-division'].message}`,
    ]);
  });

  it('finds nothing in a folder that does not exist', async () => {
    expect(await lintSqlTree(path.join(dir, 'missing'))).toEqual([]);
  });

  it('passes every sql/**/*.sql file in this repository', async () => {
    const sqlDir = path.join(REPO, 'sql');
    const files = await findSqlFiles(sqlDir);
    console.info(`sql dialect lint: ${files.length} file(s) under sql/${files.length ? `: ${files.map((f) => path.relative(REPO, f)).join(', ')}` : ''}`);
    expect((await lintSqlTree(sqlDir)).map(formatSqlProblem)).toEqual([]);
  });
});

describe('DuckDB 1.5 behaviour the rules rest on (plain engine, no compat macros)', () => {
  let engine: DuckDBEngine;
  beforeAll(async () => {
    engine = await DuckDBEngine.open();
  });
  afterAll(() => engine.close());
  const one = async (sql: string) => (await engine.query(sql)).rows[0]!;

  it('differs from Trino where the lint rejects the text', async () => {
    expect(await one(`SELECT 7 / 2 AS d, CAST(7 AS DOUBLE) / nullif(2, 0) AS ok`)).toEqual({ d: 3.5, ok: 3.5 }); // Trino: 3 and 3.5
    expect(await one(`SELECT format('%s%%', 123) AS f`)).toEqual({ f: '%s%%' }); // Trino: '123%' (conversion.html#format)
    expect(await one(`SELECT TIMESTAMP '2026-11-20 10:00:00+02:00' AS t, typeof(TIMESTAMP '2026-11-20 10:00:00 UTC') AS ty`)).toEqual({
      t: '2026-11-20T10:00:00.000Z',
      ty: 'TIMESTAMP',
    }); // Trino: 08:00 UTC, timestamp with time zone
    await expect(engine.query(`SELECT TIMESTAMP '2026-11-20 10:00:00 America/New_York'`)).rejects.toThrow(/not UTC/);
    expect(await one(`SELECT extract(dow FROM DATE '2026-11-22') AS e, dayofweek(DATE '2026-11-22') AS d`)).toEqual({ e: 0, d: 0 }); // a Sunday: Trino 7
    expect(await one(`SELECT MAP {'a': 1}['b'] AS missing, element_at(MAP {'a': 1}, 'a') AS builtin`)).toEqual({ missing: null, builtin: [1] }); // Trino: error, and 1
    expect(await one(`SELECT date_diff('day', TIMESTAMP '2026-01-01 23:00:00', TIMESTAMP '2026-01-02 01:00:00') AS d`)).toEqual({ d: 1 }); // Trino: 0 whole days
    expect((await engine.query(`SELECT date_trunc('month', DATE '2026-03-07') AS m`)).columns[0]!.type).toBe('TIMESTAMP'); // Trino: DATE
    expect(await one(`SELECT concat('a', NULL, 'b') AS c, 'a' || NULL AS p`)).toEqual({ c: 'ab', p: null }); // Trino concat: NULL
    expect(await one(`SELECT greatest(1, NULL, 3) AS g, least(1, NULL, 3) AS l`)).toEqual({ g: 3, l: 1 }); // Trino: NULL, NULL
    expect(await one(`SELECT split_part('a,b', ',', 5) AS s, nullif(split_part('a,b', ',', 5), '') AS ok`)).toEqual({ s: '', ok: null }); // Trino: NULL
    expect(await one(`SELECT regexp_extract('abc', 'x') AS r`)).toEqual({ r: '' }); // Trino: NULL
    expect(await one(`SELECT regexp_replace('aaa', 'a', 'b') AS first, regexp_replace('abc', '(b)', '$1$1') AS grp`)).toEqual({ first: 'baa', grp: 'a$1$1c' }); // Trino: 'bbb', 'abbc'
    expect(await one(`SELECT millisecond(TIMESTAMP '2026-03-07 04:05:06.789') AS m, millisecond(TIMESTAMP '2026-03-07 04:05:06.789') % 1000 AS ok`)).toEqual({
      m: 6789,
      ok: 789,
    }); // Trino: 789
    expect(await one(`SELECT quantile_cont(x, 0.5) AS q FROM (VALUES (1), (2), (3), (4)) t(x)`)).toEqual({ q: 2.5 });
    expect((await engine.query(`SELECT CAST(1.2345 AS DECIMAL) AS d`)).columns[0]!.type).toBe('DECIMAL(18,3)'); // Trino: decimal(38,0)
  });

  it('reads a TIMESTAMP AT TIME ZONE as wall time in the zone, and agrees with Trino in the form the lint allows', async () => {
    // Trino datetime.html#time-zone-conversion: TIMESTAMP '2012-10-31 01:00 UTC' AT TIME ZONE 'America/Los_Angeles' is 2012-10-30 18:00 there.
    expect(await one(`SELECT TIMESTAMP '2012-10-31 01:00:00' AT TIME ZONE 'America/Los_Angeles' AS t`)).toEqual({ t: '2012-10-31T08:00:00.000Z' });
    expect(await one(`SELECT CAST((TIMESTAMP '2012-10-31 01:00:00' AT TIME ZONE 'UTC') AT TIME ZONE 'America/Los_Angeles' AS TIMESTAMP) AS t`)).toEqual({
      t: '2012-10-30T18:00:00.000Z',
    });
  });

  it('lets a macro shadow a builtin, which stays reachable as system.main.<name>', async () => {
    await engine.run(`CREATE OR REPLACE TEMP MACRO lower(s) AS 'shadowed'`);
    expect(await one(`SELECT lower('ABC') AS a, system.main.lower('ABC') AS b`)).toEqual({ a: 'shadowed', b: 'abc' });
    await engine.run(`DROP MACRO temp.lower`);
    expect(await one(`SELECT lower('ABC') AS a`)).toEqual({ a: 'abc' });
  });

  it("rejects Trino's two-argument if() in the parser, so no macro can supply it", async () => {
    await expect(engine.query(`SELECT if(false, 1) AS x`)).rejects.toThrow(/IF/);
  });
});

describe('Trino compat macros on DuckDB', () => {
  let engine: DuckDBEngine;
  beforeAll(async () => {
    engine = await DuckDBEngine.open();
    await installTrinoCompat(engine);
  });
  afterAll(() => engine.close());
  const one = async (sql: string) => (await engine.query(sql)).rows[0]!;

  it('installs idempotently, and keeps the DuckDB forms the repo uses working', async () => {
    expect(TRINO_COMPAT_MACROS.length).toBeGreaterThan(0);
    await installTrinoCompat(engine);
    expect(await one(`SELECT date_add(DATE '2026-01-01', INTERVAL 1 DAY) AS d, cardinality(MAP {'a': 1, 'b': 2}) AS n`)).toEqual({
      d: '2026-01-02T00:00:00.000Z',
      n: 2,
    });
    await engine.run(`CREATE OR REPLACE VIEW v_dow AS SELECT day_of_week(DATE '2026-11-23') AS d`);
    expect(await one(`SELECT d FROM v_dow`)).toEqual({ d: 1 });
  });

  it('day_of_week: ISO, 1 (Monday) .. 7 (Sunday) (datetime.html#day_of_week)', async () => {
    expect(
      await one(
        `SELECT day_of_week(DATE '2026-11-23') AS mon, day_of_week(DATE '2026-11-22') AS sun, day_of_week(TIMESTAMP '2026-11-28 23:59:59') AS sat, day_of_week(CAST(NULL AS DATE)) AS n`,
      ),
    ).toEqual({ mon: 1, sun: 7, sat: 6, n: null });
  });

  it('approx_percentile: exact interpolated percentiles, scalar or array of percentages (aggregate.html#approx_percentile)', async () => {
    const rows = `(VALUES (1), (2), (3), (4), (NULL)) t(x)`;
    expect(
      await one(`SELECT approx_percentile(CAST(x AS DOUBLE), 0.5) AS p50, approx_percentile(CAST(x AS DOUBLE), ARRAY[0.5, 0.9]) AS ps FROM ${rows}`),
    ).toEqual({ p50: 2.5, ps: [2.5, 3.7] });
    expect(await one(`SELECT approx_percentile(CAST(x AS DOUBLE), 0.5) AS p FROM (VALUES (CAST(NULL AS INTEGER))) t(x)`)).toEqual({ p: null });
    const grouped = await engine.query(
      `SELECT g, approx_percentile(CAST(x AS DOUBLE), 0.5) AS p FROM (VALUES ('a', 1), ('a', 3), ('b', 10)) t(g, x) GROUP BY g ORDER BY g`,
    );
    expect(grouped.rows).toEqual([
      { g: 'a', p: 2 },
      { g: 'b', p: 10 },
    ]);
  });

  it('from_unixtime / to_unixtime: seconds since 1970-01-01 00:00:00 UTC, to the millisecond (datetime.html#from_unixtime)', async () => {
    const r =
      await one(`SELECT from_unixtime(980172245) AS a, from_unixtime(980172245.888) AS b, from_unixtime(0) AS z, from_unixtime(CAST(NULL AS DOUBLE)) AS n,
      to_unixtime(TIMESTAMP '2001-01-22 14:04:05.888') AS u, to_unixtime(CAST(NULL AS TIMESTAMP)) AS un, typeof(from_unixtime(1)) AS ty`);
    expect(r).toEqual({
      a: '2001-01-22T14:04:05.000Z',
      b: '2001-01-22T14:04:05.888Z',
      z: '1970-01-01T00:00:00.000Z',
      n: null,
      u: 980172245.888,
      un: null,
      ty: 'TIMESTAMP',
    });
  });

  it('date_add: the documented examples, DATE stays DATE, NULLs, and Trino errors (datetime.html#date_add)', async () => {
    const r = await one(`SELECT
      date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00') AS s,   -- 2020-03-01 00:01:26.000
      date_add('hour', 9, TIMESTAMP '2020-03-01 00:00:00') AS h,      -- 2020-03-01 09:00:00.000
      date_add('day', -1, TIMESTAMP '2020-03-01 00:00:00') AS d,      -- 2020-02-29 00:00:00.000
      date_add('month', 1, TIMESTAMP '2012-10-31 01:00:00') AS m,     -- operator table: 2012-11-30 01:00:00.000
      date_add('MONTH', 1, DATE '2026-01-31') AS dm, date_add('quarter', 1, DATE '2026-01-31') AS q, date_add('week', 2, DATE '2026-01-01') AS w,
      date_add('day', NULL, DATE '2026-01-01') AS n1, date_add('day', 1, CAST(NULL AS DATE)) AS n2`);
    expect(r).toEqual({
      s: '2020-03-01T00:01:26.000Z',
      h: '2020-03-01T09:00:00.000Z',
      d: '2020-02-29T00:00:00.000Z',
      m: '2012-11-30T01:00:00.000Z',
      dm: '2026-02-28',
      q: '2026-04-30',
      w: '2026-01-15',
      n1: null,
      n2: null,
    });
    await expect(engine.query(`SELECT date_add('hour', 1, DATE '2026-01-01')`)).rejects.toThrow(/not a valid DATE field/);
    await expect(engine.query(`SELECT date_add('fortnight', 1, DATE '2026-01-01')`)).rejects.toThrow(/unknown unit/);
  });

  it('date_diff is the builtin (Trino argument order) and gives the documented examples (datetime.html#date_diff)', async () => {
    const r = await one(`SELECT
      date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00') AS s,                      -- 86400
      date_diff('day', DATE '2020-03-01', DATE '2020-03-02') AS d,                                                      -- 1
      date_diff('second', TIMESTAMP '2020-06-01 12:30:45.000000', TIMESTAMP '2020-06-02 12:30:45.123456') AS s2,         -- 86400
      date_diff('millisecond', TIMESTAMP '2020-06-01 12:30:45.000000', TIMESTAMP '2020-06-02 12:30:45.123456') AS ms,   -- 86400123
      date_diff('day', CAST(TIMESTAMP '2026-01-01 23:00:00' AS DATE), CAST(TIMESTAMP '2026-01-02 01:00:00' AS DATE)) AS cal`);
    expect(r).toEqual({ s: 86400, d: 1, s2: 86400, ms: 86400123, cal: 1 });
    expect(await one(`SELECT to_unixtime(TIMESTAMP '2026-01-02 01:00:00') - to_unixtime(TIMESTAMP '2026-01-01 23:00:00') AS secs`)).toEqual({ secs: 7200 });
  });

  it("sequence: integers and dates, both ends, step -1 when start > stop, or start + i * step; Trino's errors (array.html#sequence)", async () => {
    const r = await one(`SELECT sequence(1, 5) AS up, sequence(5, 1) AS down, sequence(DATE '2026-02-27', DATE '2026-03-02') AS days,
      sequence(1, 10, 3) AS stepped, sequence(DATE '2026-01-31', DATE '2026-04-30', INTERVAL '1' MONTH) AS months,
      sequence(TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 02:00:00', INTERVAL '1' HOUR) AS hours,
      sequence(CAST(NULL AS DATE), DATE '2026-01-01') AS n1, sequence(1, CAST(NULL AS INTEGER)) AS n2`);
    expect(r).toEqual({
      up: [1, 2, 3, 4, 5],
      down: [5, 4, 3, 2, 1],
      days: ['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02'],
      stepped: [1, 4, 7, 10],
      months: ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30'],
      hours: ['2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
      n1: null,
      n2: null,
    });
    expect(await one(`SELECT cardinality(sequence(1, 10000)) AS a, cardinality(sequence(1, 10000, 1)) AS b, sequence(10, 1, -4) AS down`)).toEqual({
      a: 10000,
      b: 10000,
      down: [10, 6, 2],
    });
    for (const [sql, error] of [
      ['sequence(1, 5, 0)', /must not be zero/],
      ['sequence(5, 1, 1)', /stop value should be greater than or equal to start value/],
      [`sequence(DATE '2026-01-01', DATE '2026-01-02', INTERVAL '1' HOUR)`, /must be a day interval/],
      ['sequence(0, 10000)', /more than 10000 entries/],
      ['sequence(0, 10000, 1)', /more than 10000 entries/],
    ] as const) {
      await expect(engine.query(`SELECT ${sql}`), sql).rejects.toThrow(error);
    }
    const calendar = await engine.query(`SELECT d FROM UNNEST(sequence(DATE '2026-12-30', DATE '2027-01-02', INTERVAL '1' DAY)) AS t(d) ORDER BY d`);
    expect(calendar.columns).toEqual([{ name: 'd', type: 'DATE' }]);
    expect(calendar.rows.map((x) => x.d)).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
  });

  it('element_at: the value or NULL for maps, the element or NULL for arrays (map.html, array.html#element_at)', async () => {
    const r = await one(`SELECT
      element_at(MAP(ARRAY['key1', 'key2', 'key3'], ARRAY['v1', 'v2', 'v3']), 'key2') AS v,   -- map.html: v2
      element_at(MAP(ARRAY['key1'], ARRAY['v1']), 'nope') AS missing,
      element_at(CAST(NULL AS MAP(VARCHAR, VARCHAR)), 'k') AS null_map,
      element_at(MAP(ARRAY['k'], ARRAY['v']), NULL) AS null_key,
      element_at(ARRAY[1, 2, 4], 2) AS second, element_at(ARRAY[1, 2, 4], 5) AS beyond, element_at(ARRAY[1, 2, 4], -1) AS last`);
    expect(r).toEqual({ v: 'v2', missing: null, null_map: null, null_key: null, second: 2, beyond: null, last: 4 });
  });

  it('cardinality: arrays and maps, BIGINT, NULL for NULL (array.html#cardinality, map.html)', async () => {
    const r = await one(`SELECT cardinality(ARRAY[1, 2, 3]) AS ints, cardinality(ARRAY['a', 'b']) AS strs, cardinality(ARRAY[1.5, 2.5]) AS decs,
      cardinality(ARRAY[DATE '2026-01-01']) AS dates, cardinality(ARRAY[TIMESTAMP '2026-01-01 00:00:00']) AS tss, cardinality(ARRAY[true, false]) AS bools,
      cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2])) AS map, cardinality(MAP()) AS empty, cardinality(CAST(NULL AS VARCHAR[])) AS n, typeof(cardinality(ARRAY[1])) AS ty`);
    expect(r).toEqual({ ints: 3, strs: 2, decs: 2, dates: 1, tss: 1, bools: 2, map: 2, empty: 0, n: null, ty: 'BIGINT' });
  });

  it('date_format: the documented example and every specifier the lint allows (datetime.html#mysql-date-functions)', async () => {
    expect(await one(`SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H') AS f`)).toEqual({ f: '10-20-2022 05' });
    // Saturday 2026-03-07 16:05:06.789, with the meaning of each specifier in Trino's table.
    const expected: Record<string, string> = {
      a: 'Sat',
      b: 'Mar',
      c: '3',
      d: '07',
      e: '7',
      f: '789000',
      H: '16',
      h: '04',
      I: '04',
      i: '05',
      j: '066',
      k: '16',
      l: '4',
      M: 'March',
      m: '03',
      p: 'PM',
      r: '04:05:06 PM',
      S: '06',
      s: '06',
      T: '16:05:06',
      W: 'Saturday',
      Y: '2026',
      y: '26',
      '%': '%',
    };
    expect(new Set(Object.keys(expected))).toEqual(DATE_FORMAT_SAFE);
    const cols = Object.keys(expected).map((c, n) => `date_format(TIMESTAMP '2026-03-07 16:05:06.789', '[%${c}]') AS c${n}`);
    const row = await one(`SELECT ${cols.join(', ')}`);
    expect(Object.keys(expected).map((c, n) => [c, row[`c${n}`]])).toEqual(Object.keys(expected).map((c) => [c, `[${expected[c]}]`]));
    expect(
      await one(
        `SELECT date_format(TIMESTAMP '2026-03-07 16:05:06', '%%i=%i 100%%') AS f, date_format(DATE '2026-03-07', '%Y-%m-%d %H:%i') AS d, date_format(CAST(NULL AS TIMESTAMP), '%Y') AS n`,
      ),
    ).toEqual({ f: '%i=05 100%', d: '2026-03-07 00:00', n: null });
    expect(DATE_FORMAT_TO_STRFTIME[0]).toEqual(['%%', '\x01']);
  });

  it('date_parse: the documented example and the specifiers spelled the same on both (datetime.html#date_parse)', async () => {
    const r = await one(`SELECT date_parse('2022/10/20/05', '%Y/%m/%d/%H') AS a, date_parse('2026-03-07 16:05:06', '%Y-%m-%d %T') AS b,
      date_parse('20260307 1606', '%Y%m%d %H%S') AS c, date_parse(CAST(NULL AS VARCHAR), '%Y') AS n, CAST('2026-03-07 16:05:06' AS TIMESTAMP) AS cast_form`);
    expect(r).toEqual({
      a: '2022-10-20T05:00:00.000Z',
      b: '2026-03-07T16:05:06.000Z',
      c: '2026-03-07T16:00:06.000Z',
      n: null,
      cast_form: '2026-03-07T16:05:06.000Z',
    });
  });

  it('to_iso8601: DATE and TIMESTAMP(3) as Trino prints them; other types fail (datetime.html#to_iso8601)', async () => {
    const r = await one(
      `SELECT to_iso8601(DATE '2022-05-31') AS d, to_iso8601(TIMESTAMP '2026-05-26 02:08:02.930') AS t, to_iso8601(CAST(NULL AS TIMESTAMP)) AS n`,
    );
    expect(r).toEqual({ d: '2022-05-31', t: '2026-05-26T02:08:02.930', n: null });
    await expect(engine.query(`SELECT to_iso8601(TIMESTAMPTZ '2026-01-01 00:00:00+00')`)).rejects.toThrow(/DATE or TIMESTAMP/);
  });

  it('regexp_like: the pattern only has to occur in the string (regexp.html#regexp_like)', async () => {
    const r = await one(
      `SELECT regexp_like('1a 2b 14m', '\\d+b') AS doc, regexp_like('abc', '^b') AS anchored, regexp_like('abc', '^a.c$') AS whole, regexp_like(CAST(NULL AS VARCHAR), 'a') AS n`,
    );
    expect(r).toEqual({ doc: true, anchored: false, whole: true, n: null });
  });
});
