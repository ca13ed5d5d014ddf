/**
 * The dialect lint for the versioned SQL under `sql/`: that SQL is written once in Athena's (Trino)
 * dialect and runs unchanged on DuckDB locally (with `installTrinoCompat` supplying the Trino
 * functions DuckDB lacks). Where the same text means different things on the two engines and no
 * compat macro can make them agree, this lint rejects the text and says what to write instead.
 *
 * Each rule names its sources in `SQL_LINT_RULES`; the DuckDB side of every rule was checked on
 * DuckDB 1.5.6 (`@duckdb/node-api` 1.5.6-r.1) and is asserted again in test/sql-dialect.test.ts.
 *
 * String literals, quoted identifiers and comments (`--`, `/* *\/`) never trigger a rule. A line
 * opts out of one rule with a trailing `-- dialect-ok: <rule> <reason>`; the reason is mandatory,
 * and an opt-out that is malformed, names an unknown rule or suppresses nothing is itself a problem
 * (rule `dialect-ok`), so stale opt-outs do not pile up.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';

const TRINO_DOCS = 'https://trino.io/docs/current';
const DUCKDB_DOCS = 'https://duckdb.org/docs/stable/sql';

/** Every rule: what it rejects and what to write instead (`message`), and where the difference is documented. */
export const SQL_LINT_RULES = {
  'integer-division': {
    message:
      '`/` truncates on Trino when both operands are integers (7/2 = 3) but never on DuckDB (7/2 = 3.5): write CAST(a AS DOUBLE) / nullif(b, 0), the numerator explicitly DOUBLE',
    source: `${TRINO_DOCS}/functions/math.html (operators: "Division (integer division performs truncation)"); ${DUCKDB_DOCS}/functions/numeric.html (\`/\` is float division, \`//\` integer division)`,
  },
  format: {
    message:
      "format() takes a Java format string on Trino ('%s') but a fmt string on DuckDB ('{}'); DuckDB returns format('%s', 1) as '%s' unchanged: write the text with ||, CAST(... AS VARCHAR), lpad() or round() instead",
    source: `${TRINO_DOCS}/functions/conversion.html#format; ${DUCKDB_DOCS}/functions/text.html#formatformat-parameters`,
  },
  'zoned-timestamp-literal': {
    message:
      "a TIMESTAMP literal with a zone (UTC, Z, +hh:mm, a region name) is a timestamp WITH time zone on Trino, but DuckDB makes a plain TIMESTAMP and drops a numeric offset ('10:00:00+02:00' reads as 10:00, not 08:00 UTC) or rejects a region name: write the UTC wall time without a zone, TIMESTAMP '2026-11-20 10:00:00'",
    source: `${TRINO_DOCS}/language/types.html#timestamp-with-time-zone; ${DUCKDB_DOCS}/data_types/timestamp.html`,
  },
  'approx-distinct': {
    message:
      'approx_distinct/approx_count_distinct are HyperLogLog estimates (Trino: 2.3% standard error) with different sketches on each engine, and contract counts such as DAU must be exact: write count(DISTINCT x)',
    source: `${TRINO_DOCS}/functions/aggregate.html#approx_distinct; ${DUCKDB_DOCS}/functions/aggregates.html#approx_count_distinctx`,
  },
  'day-of-week': {
    message:
      'extract(dow ...) / extract(day_of_week ...) / dayofweek() number Monday=1..Sunday=7 on Trino but Sunday=0..Saturday=6 on DuckDB, and dow() does not exist on DuckDB: write day_of_week(x) (ISO 1..7 on both; a compat macro on DuckDB)',
    source: `${TRINO_DOCS}/functions/datetime.html#day_of_week; ${DUCKDB_DOCS}/functions/datepart.html (dayofweek: Sunday = 0)`,
  },
  'date-format-specifiers': {
    message:
      "date_format/date_parse take MySQL specifiers on Trino (%i minutes, %M month name, %s seconds) that mean other things in DuckDB strftime/strptime: use a literal format with the safe specifiers only (date_format is translated by the compat macro; date_parse cannot be, so parse text with minutes as CAST(s AS TIMESTAMP), the same on both for 'YYYY-MM-DD HH:MM:SS')",
    source: `${TRINO_DOCS}/functions/datetime.html#mysql-date-functions; ${DUCKDB_DOCS}/functions/dateformat.html`,
  },
  'map-subscript': {
    message:
      "x[k] fails on Trino when the map has no key k (or the array has no index k) but is NULL on DuckDB: write element_at(x, k), NULL on both (the compat macro makes DuckDB's element_at return the value, not a one-element list)",
    source: `${TRINO_DOCS}/functions/map.html#subscript-operator; ${TRINO_DOCS}/functions/array.html#element_at; ${DUCKDB_DOCS}/functions/map.html (element_at returns a list)`,
  },
  'date-diff': {
    message:
      "date_diff counts whole units elapsed on Trino but unit boundaries crossed on DuckDB (23:00 to 01:00 next day: 0 days on Trino, 1 on DuckDB); they agree only for days between DATEs: write date_diff('day', CAST(a AS DATE), CAST(b AS DATE)), or for durations to_unixtime(b) - to_unixtime(a) (seconds, DOUBLE)",
    source: `${TRINO_DOCS}/functions/datetime.html#date_diff ("timestamp2 - timestamp1 expressed in terms of unit"); ${DUCKDB_DOCS}/functions/timestamp.html (date_diff: "the number of partition boundaries between the timestamps")`,
  },
  'date-trunc-type': {
    message:
      'date_trunc returns the type of its argument on Trino (DATE for a DATE) but TIMESTAMP on DuckDB for a DATE, which changes result and Parquet column types: write CAST(date_trunc(unit, x) AS DATE) or CAST(date_trunc(unit, x) AS TIMESTAMP)',
    source: `${TRINO_DOCS}/functions/datetime.html#date_trunc ("[same as input]"); verified on DuckDB 1.5.6: date_trunc('month', DATE '2026-03-07') is TIMESTAMP`,
  },
  'concat-null': {
    message:
      "concat() is NULL when any argument is NULL on Trino but skips NULL arguments on DuckDB (concat('a', NULL) = 'a'): write a || b, NULL on both, with coalesce(x, '') where a missing part should read as empty",
    source: `${TRINO_DOCS}/functions/string.html#concat ("same functionality as ||"); ${DUCKDB_DOCS}/functions/text.html#concatvalue- ("NULL inputs are skipped")`,
  },
  'greatest-least-null': {
    message:
      'greatest()/least() are NULL when any argument is NULL on Trino but ignore NULL arguments on DuckDB: write every argument non-NULL, greatest(coalesce(a, 0), coalesce(b, 0)) (a literal argument is fine)',
    source: `${TRINO_DOCS}/functions/comparison.html#greatest-and-least ("return null if any argument is null"); verified on DuckDB 1.5.6: greatest(1, NULL, 3) = 3`,
  },
  'split-part-missing': {
    message:
      "split_part() is NULL on Trino past the last field but '' on DuckDB: write nullif(split_part(s, delimiter, n), '') (NULL on both; an empty field reads as NULL too)",
    source: `${TRINO_DOCS}/functions/string.html#split_part ("If the index is larger than the number of fields, then null is returned"); verified on DuckDB 1.5.6: split_part('a,b', ',', 5) = ''`,
  },
  'regexp-extract-no-match': {
    message: "regexp_extract() is NULL on Trino when nothing matches but '' on DuckDB: write nullif(regexp_extract(s, pattern[, group]), '')",
    source: `trinodb/trino JoniRegexpFunctions.regexpExtract (@SqlNullable, returns null when there is no match); ${DUCKDB_DOCS}/functions/regular_expressions.html (empty string when there is no match)`,
  },
  'regexp-replace': {
    message:
      "regexp_replace() replaces every match on Trino but only the first on DuckDB (without the 'g' option Trino does not accept), and refers to groups as $1 on Trino but \\1 on DuckDB: use an anchored pattern ('^...', one match at most) and a replacement without $ or \\, or replace() for literal text",
    source: `${TRINO_DOCS}/functions/regexp.html#regexp_replace ("Replaces every instance", groups as $g); ${DUCKDB_DOCS}/functions/regular_expressions.html ("Replaces the first occurrence", 'g' to replace all, \\1 back-references)`,
  },
  'millisecond-of-second': {
    message:
      'millisecond(x) is the millisecond of the second on Trino (0..999) but of the minute on DuckDB (seconds*1000 + ms, 0..59999): write millisecond(x) % 1000',
    source: `${TRINO_DOCS}/functions/datetime.html#millisecond; ${DUCKDB_DOCS}/functions/datepart.html (millisecond: "sub-minute milliseconds")`,
  },
  'at-time-zone': {
    message:
      "ts AT TIME ZONE z on a TIMESTAMP converts the UTC instant to zone z on Trino but reads ts as wall time in z on DuckDB: write CAST((ts AT TIME ZONE 'UTC') AT TIME ZONE z AS TIMESTAMP) for the wall time in z (the same on both)",
    source: `${TRINO_DOCS}/functions/datetime.html#time-zone-conversion; ${DUCKDB_DOCS}/functions/timestamptz.html (AT TIME ZONE on a TIMESTAMP interprets it in the zone)`,
  },
  'approx-percentile-type': {
    message:
      'approx_percentile(x, p) returns the type of x on Trino (rounded to an integer for integer x) but DOUBLE on DuckDB (quantile_cont): write approx_percentile(CAST(x AS DOUBLE), p)',
    source: `${TRINO_DOCS}/functions/aggregate.html#approx_percentile ("[same as x]"); ${DUCKDB_DOCS}/functions/aggregates.html#quantile_contx-pos`,
  },
  'decimal-default-precision': {
    message:
      'DECIMAL without a precision is DECIMAL(38,0) on Trino (scale 0) but DECIMAL(18,3) on DuckDB, so CAST(1.2345 AS DECIMAL) is 1 on one and 1.235 on the other: write DECIMAL(p, s)',
    source: `${TRINO_DOCS}/language/types.html#decimal ("Scale is optional and defaults to 0"); ${DUCKDB_DOCS}/data_types/numeric.html (DECIMAL defaults to DECIMAL(18,3))`,
  },
} as const satisfies Record<string, { message: string; source: string }>;

export type SqlLintRule = keyof typeof SQL_LINT_RULES | 'dialect-ok';

export interface SqlLintProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  rule: SqlLintRule;
  message: string;
}

/**
 * Specifiers whose Trino (MySQL) meaning the compat `date_format` macro reproduces exactly in DuckDB
 * strftime (see trino-compat.ts). Rejected: %D %U %u %V %v %w %X %x (Trino does not support them, or
 * DuckDB numbers weeks differently) and unknown letters (Trino prints the letter, DuckDB errors).
 * date_parse cannot be translated (DuckDB's strptime needs a constant format), so it keeps the
 * specifiers spelled the same on both (%T is DuckDB's %H:%M:%S too); %y is out (Trino's two-digit years pivot at 1970..2069).
 */
export const DATE_FORMAT_SAFE = new Set('%abcdefHhIijklMmprSsTWYy'.split(''));
export const DATE_PARSE_SAFE = new Set('%YmdHST'.split(''));

interface Token {
  kind: 'word' | 'qident' | 'string' | 'number' | 'punct';
  /** word: upper-cased; string / qident: unescaped contents; otherwise the text. */
  value: string;
  line: number;
  column: number;
}

interface LineComment {
  line: number;
  column: number;
  text: string;
}

function tokenize(text: string): { tokens: Token[]; comments: LineComment[] } {
  const tokens: Token[] = [];
  const comments: LineComment[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  /** Moves to `stop`, counting the newlines passed. */
  const advance = (stop: number) => {
    for (; i < stop; i++) {
      if (text[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
  };
  /** A quoted run from `i` (the opening quote): its contents with the doubled quote unescaped. */
  const quoted = (q: string): string => {
    let j = i + 1;
    let value = '';
    for (;;) {
      const k = text.indexOf(q, j);
      if (k < 0) {
        value += text.slice(j);
        j = text.length;
        break;
      }
      value += text.slice(j, k);
      if (text[k + 1] === q) {
        value += q;
        j = k + 2;
        continue;
      }
      j = k + 1;
      break;
    }
    advance(j);
    return value;
  };
  while (i < text.length) {
    const c = text[i]!;
    const at = { line, column: i - lineStart + 1 };
    if (c === '\n' || /\s/.test(c)) {
      advance(i + 1);
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      comments.push({ ...at, text: text.slice(i + 2, stop) });
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      advance(end < 0 ? text.length : end + 2);
    } else if (c === "'") {
      tokens.push({ kind: 'string', value: quoted("'"), ...at });
    } else if (c === '"') {
      tokens.push({ kind: 'qident', value: quoted('"'), ...at });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 256))!;
      tokens.push({ kind: 'word', value: m[0].toUpperCase(), ...at });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 256))!;
      tokens.push({ kind: 'number', value: m[0], ...at });
      i += m[0].length;
    } else {
      tokens.push({ kind: 'punct', value: c, ...at });
      i++;
    }
  }
  return { tokens, comments };
}

/** For each bracket token, the index of its partner (-1 when unbalanced or not a bracket). */
function matchBrackets(tokens: Token[]): number[] {
  const match = new Array<number>(tokens.length).fill(-1);
  const stack: number[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== 'punct') return;
    if (t.value === '(' || t.value === '[') stack.push(i);
    else if (t.value === ')' || t.value === ']') {
      const open = stack.pop();
      if (open !== undefined) {
        match[open] = i;
        match[i] = open;
      }
    }
  });
  return match;
}

/** Words that may stand before `[` without it being a subscript (Trino's only bracket literal is ARRAY[...]). */
const NOT_SUBSCRIPTABLE = new Set([
  'ARRAY',
  'SELECT',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'THEN',
  'ELSE',
  'WHEN',
  'AS',
  'BY',
  'ON',
  'CASE',
  'IS',
  'LIKE',
  'VALUES',
  'RETURN',
]);

class Linter {
  readonly problems: { line: number; column: number; rule: SqlLintRule; message: string }[] = [];
  private readonly match: number[];

  constructor(private readonly t: Token[]) {
    this.match = matchBrackets(t);
  }

  private word(i: number, ...names: string[]): boolean {
    const tok = this.t[i];
    return tok?.kind === 'word' && names.includes(tok.value);
  }

  private punct(i: number, ch: string): boolean {
    const tok = this.t[i];
    return tok?.kind === 'punct' && tok.value === ch;
  }

  private report(i: number, rule: keyof typeof SQL_LINT_RULES, detail?: string): void {
    const tok = this.t[i]!;
    const message = detail ? `${detail}: ${SQL_LINT_RULES[rule].message}` : SQL_LINT_RULES[rule].message;
    this.problems.push({ line: tok.line, column: tok.column, rule, message });
  }

  /** The top-level arguments of the call whose `(` is at `open`, as [start, end) token ranges. */
  private args(open: number): [number, number][] {
    const close = this.match[open]!;
    const out: [number, number][] = [];
    let start = open + 1;
    for (let i = open + 1; i < close; i++) {
      const partner = this.match[i]!;
      if ((this.punct(i, '(') || this.punct(i, '[')) && partner > i) i = partner;
      else if (this.punct(i, ',')) {
        out.push([start, i]);
        start = i + 1;
      }
    }
    if (close > open + 1) out.push([start, close]);
    return out;
  }

  /** The target type word of the CAST / TRY_CAST at `castAt` (null when it is not one). */
  private castTarget(castAt: number): string | null {
    if (!this.word(castAt, 'CAST', 'TRY_CAST') || !this.punct(castAt + 1, '(')) return null;
    const close = this.match[castAt + 1]!;
    let as = -1;
    for (let i = castAt + 2; i < close; i++) {
      const partner = this.match[i]!;
      if ((this.punct(i, '(') || this.punct(i, '[')) && partner > i) i = partner;
      else if (this.word(i, 'AS')) as = i;
    }
    return as > 0 && this.t[as + 1]?.kind === 'word' ? this.t[as + 1]!.value : null;
  }

  /** Whether tokens [start, end) are exactly one CAST(... AS <one of types>). */
  private isCastTo([start, end]: [number, number], ...types: string[]): boolean {
    return this.match[start + 1] === end - 1 && types.includes(this.castTarget(start) ?? '');
  }

  /** Whether tokens [start, end) are exactly one call of one of `names`. */
  private isCall([start, end]: [number, number], ...names: string[]): boolean {
    return this.word(start, ...names) && this.punct(start + 1, '(') && this.match[start + 1] === end - 1;
  }

  /** Whether the call at `name` (closing at `close`) is the whole operand of CAST(... AS <types>). */
  private castWrapped(name: number, close: number, ...types: string[]): boolean {
    return (
      this.punct(name - 1, '(') &&
      this.match[name - 1] === close + 3 &&
      this.word(close + 1, 'AS') &&
      this.word(close + 2, ...types) &&
      this.castTarget(name - 2) !== null
    );
  }

  /** Whether the call at `name` (closing at `close`) is the first argument of nullif(..., ''). */
  private nullifEmpty(name: number, close: number): boolean {
    const s = this.t[close + 2];
    return (
      this.word(name - 2, 'NULLIF') &&
      this.punct(name - 1, '(') &&
      this.punct(close + 1, ',') &&
      s?.kind === 'string' &&
      s.value === '' &&
      this.match[name - 1] === close + 3
    );
  }

  private single(range: [number, number], kind: Token['kind']): Token | null {
    return range[1] - range[0] === 1 && this.t[range[0]]!.kind === kind ? this.t[range[0]]! : null;
  }

  run(): void {
    const t = this.t;
    for (let i = 0; i < t.length; i++) {
      const tok = t[i]!;
      if (tok.kind === 'punct') this.punctRules(i, tok.value);
      else if (tok.kind === 'word') {
        if (this.punct(i + 1, '(') && !this.punct(i - 1, '.')) this.callRules(i, tok.value, this.match[i + 1]!);
        this.wordRules(i, tok.value);
      }
    }
  }

  private punctRules(i: number, p: string): void {
    if (p === '/') {
      const open = this.punct(i - 1, ')') ? this.match[i - 1]! : -1;
      if (open < 1 || this.castTarget(open - 1) !== 'DOUBLE') this.report(i, 'integer-division');
    } else if (p === '[') {
      const prev = this.t[i - 1];
      const subscript =
        prev !== undefined &&
        ((prev.kind === 'word' && !NOT_SUBSCRIPTABLE.has(prev.value)) ||
          prev.kind === 'qident' ||
          (prev.kind === 'punct' && (prev.value === ')' || prev.value === ']')));
      if (subscript) this.report(i, 'map-subscript');
    }
  }

  private wordRules(i: number, w: string): void {
    const next = this.t[i + 1];
    if (w === 'TIMESTAMP' && next?.kind === 'string' && hasZone(next.value)) this.report(i, 'zoned-timestamp-literal');
    if (w === 'DECIMAL' && !this.punct(i + 1, '(')) this.report(i, 'decimal-default-precision');
    if (w === 'AT' && this.word(i + 1, 'TIME') && this.word(i + 2, 'ZONE') && !this.canonicalAtTimeZone(i)) this.report(i, 'at-time-zone');
  }

  /**
   * `CAST((x AT TIME ZONE 'UTC') AT TIME ZONE z AS TIMESTAMP)`, z one string, name or `?`: both hops
   * of it are accepted (the first hop at `i`, or the second hop at `i`).
   */
  private canonicalAtTimeZone(i: number): boolean {
    const firstHop = (k: number): boolean => {
      const utc = this.t[k + 3];
      if (utc?.kind !== 'string' || utc.value.toUpperCase() !== 'UTC' || !this.punct(k + 4, ')')) return false;
      const innerOpen = this.match[k + 4]!;
      const hop2 = k + 5;
      if (!(this.word(hop2, 'AT') && this.word(hop2 + 1, 'TIME') && this.word(hop2 + 2, 'ZONE'))) return false;
      let j = hop2 + 3;
      while (j < this.t.length && !this.word(j, 'AS') && (['word', 'qident', 'string'].includes(this.t[j]!.kind) || this.punct(j, '.') || this.punct(j, '?')))
        j++;
      if (j === hop2 + 3 || !this.word(j, 'AS') || !this.word(j + 1, 'TIMESTAMP') || !this.punct(j + 2, ')')) return false;
      const castOpen = this.match[j + 2]!;
      return castOpen === innerOpen - 1 && this.word(castOpen - 1, 'CAST', 'TRY_CAST');
    };
    return firstHop(i) || (this.punct(i - 1, ')') && this.word(i - 5, 'AT') && firstHop(i - 5));
  }

  private callRules(i: number, name: string, close: number): void {
    const args = this.args(i + 1);
    switch (name) {
      case 'FORMAT':
        return this.report(i, 'format');
      case 'APPROX_DISTINCT':
      case 'APPROX_COUNT_DISTINCT':
        return this.report(i, 'approx-distinct');
      case 'DAYOFWEEK':
      case 'DOW':
        return this.report(i, 'day-of-week');
      case 'EXTRACT':
        if (this.word(i + 2, 'DOW', 'DAY_OF_WEEK')) this.report(i, 'day-of-week');
        return;
      case 'DATE_FORMAT':
      case 'DATE_PARSE': {
        const fmt = args[1] && this.single(args[1], 'string');
        if (!fmt) return this.report(i, 'date-format-specifiers', `${name.toLowerCase()} needs a literal format string`);
        const bad = badSpecifiers(fmt.value, name === 'DATE_FORMAT' ? DATE_FORMAT_SAFE : DATE_PARSE_SAFE);
        if (bad.length) {
          const safe = [...(name === 'DATE_FORMAT' ? DATE_FORMAT_SAFE : DATE_PARSE_SAFE)].map((c) => `%${c}`).join(' ');
          this.report(i, 'date-format-specifiers', `${name.toLowerCase()} format '${fmt.value}' uses ${bad.join(' ')}; the safe specifiers are ${safe}`);
        }
        return;
      }
      case 'DATE_DIFF': {
        const unit = args[0] && this.single(args[0], 'string');
        const isDate = (r: [number, number] | undefined) =>
          r !== undefined &&
          (this.isCastTo(r, 'DATE') ||
            this.isCall(r, 'DATE') ||
            (r[1] - r[0] === 2 && this.word(r[0], 'DATE') && this.t[r[0] + 1]!.kind === 'string') ||
            (r[1] - r[0] === 1 && this.word(r[0], 'CURRENT_DATE')));
        if (unit?.value.toLowerCase() !== 'day' || !isDate(args[1]) || !isDate(args[2])) this.report(i, 'date-diff');
        return;
      }
      case 'DATE_TRUNC':
        if (!this.castWrapped(i, close, 'DATE', 'TIMESTAMP')) this.report(i, 'date-trunc-type');
        return;
      case 'CONCAT':
        return this.report(i, 'concat-null');
      case 'GREATEST':
      case 'LEAST': {
        const safe = (r: [number, number]) =>
          this.single(r, 'number') !== null ||
          this.single(r, 'string') !== null ||
          this.isCall(r, 'COALESCE') ||
          (r[1] - r[0] === 2 && this.punct(r[0], '-') && this.t[r[0] + 1]!.kind === 'number');
        if (!args.every(safe)) this.report(i, 'greatest-least-null');
        return;
      }
      case 'SPLIT_PART':
        if (!this.nullifEmpty(i, close)) this.report(i, 'split-part-missing');
        return;
      case 'REGEXP_EXTRACT':
        if (!this.nullifEmpty(i, close)) this.report(i, 'regexp-extract-no-match');
        return;
      case 'REGEXP_REPLACE': {
        const pattern = args[1] && this.single(args[1], 'string');
        const replacement = args[2] && this.single(args[2], 'string');
        const ok = args.length === 3 && pattern?.value.startsWith('^') && replacement && !/[$\\]/.test(replacement.value);
        if (!ok) this.report(i, 'regexp-replace');
        return;
      }
      case 'MILLISECOND':
        if (!(this.punct(close + 1, '%') && this.t[close + 2]?.kind === 'number' && this.t[close + 2]!.value === '1000'))
          this.report(i, 'millisecond-of-second');
        return;
      case 'APPROX_PERCENTILE':
        if (!args[0] || !this.isCastTo(args[0], 'DOUBLE')) this.report(i, 'approx-percentile-type');
        return;
      case 'CAST':
      case 'TRY_CAST': {
        // CAST('2026-11-20 10:00:00 UTC' AS TIMESTAMP): the same zone problem as the literal.
        const at = i + 2;
        const s = this.t[at];
        if (s?.kind === 'string' && this.word(at + 1, 'AS') && this.castTarget(i) === 'TIMESTAMP' && !this.word(at + 3, 'WITH') && hasZone(s.value)) {
          this.report(i, 'zoned-timestamp-literal');
        }
        return;
      }
    }
  }
}

/** Whether a timestamp literal's text carries a zone after its date and time. */
function hasZone(literal: string): boolean {
  const m = /^\s*\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(.*)$/.exec(literal);
  return m !== null && m[1]!.trim() !== '';
}

/** The specifiers of a MySQL-style format string outside `safe` (a trailing lone `%` counts). */
function badSpecifiers(format: string, safe: Set<string>): string[] {
  const bad: string[] = [];
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const c = format[i + 1];
    if (c === undefined || !safe.has(c)) bad.push(`%${c ?? ''}`);
    i++;
  }
  return [...new Set(bad)];
}

const OPT_OUT = /\bdialect-ok:?\s*(\S*)\s*(.*)$/;

/** Lints one SQL text; `file` is only copied into the problems. Problems come in text order. */
export function lintSql(text: string, file: string): SqlLintProblem[] {
  const { tokens, comments } = tokenize(text);
  const linter = new Linter(tokens);
  linter.run();
  const found = linter.problems;
  const out: SqlLintProblem[] = [];
  const optOuts = comments.flatMap((c) => {
    const m = OPT_OUT.exec(c.text);
    return m ? [{ ...c, rule: m[1]!, reason: m[2]!.trim(), used: false }] : [];
  });
  for (const p of found) {
    const opt = optOuts.find((o) => o.line === p.line && o.rule === p.rule && o.reason !== '');
    if (opt) opt.used = true;
    else out.push({ file, ...p });
  }
  for (const o of optOuts) {
    const at = { file, line: o.line, column: o.column, rule: 'dialect-ok' as const };
    if (!(o.rule in SQL_LINT_RULES)) {
      out.push({
        ...at,
        message: `dialect-ok names no known rule ('${o.rule}'): write -- dialect-ok: <rule> <reason>, rule one of ${Object.keys(SQL_LINT_RULES).join(', ')}`,
      });
    } else if (o.reason === '') {
      out.push({ ...at, message: `dialect-ok: ${o.rule} needs a reason after the rule name; without one it opts out of nothing` });
    } else if (!o.used) {
      out.push({ ...at, message: `dialect-ok: ${o.rule} opts out of nothing on this line: remove it` });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Every `*.sql` file below `dir`, sorted (none when `dir` does not exist). */
export async function findSqlFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.sql'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Lints every `*.sql` file below `dir`. */
export async function lintSqlTree(dir: string): Promise<SqlLintProblem[]> {
  const out: SqlLintProblem[] = [];
  for (const file of await findSqlFiles(dir)) out.push(...lintSql(await readFile(file, 'utf8'), file));
  return out;
}

/** `file:line:column rule: message`, the form compilers use, for test failures and CLI output. */
export const formatSqlProblem = (p: SqlLintProblem) => `${p.file}:${p.line}:${p.column} ${p.rule}: ${p.message}`;
