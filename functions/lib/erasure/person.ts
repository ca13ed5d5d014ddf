/**
 * Who "the person" of an erasure is, decided in one place (privacy mode plugs in here): the
 * CONTRACTS section 3 `user_key` identity, and every identity column value (`user_email`,
 * `user_id`, `user_account_uuid`) of the rows whose `user_key` is the person's. A value is
 * compared trimmed and case-insensitively.
 *
 * A row or a file holds the person when any of its text holds one of those values: a whole cell
 * for short values, anywhere in the text for values of `SUBSTRING_MIN` characters or more, as a
 * word of its own (an e-mail inside an anomaly message, a key inside an `attributes` map, never a
 * part of a longer e-mail such as `eli.kim@…` for `li.kim@…`). Short values are only matched whole,
 * so erasing user id `42` never touches a cell `1420` or a count of 42.
 */
import { sqlIdent, sqlString } from '../engine/duckdb';
import { USER_KEY_SQL } from '../sql/user-key';

/** The identity columns of a raw or curated row (CONTRACTS section 2). */
export const IDENTITY_COLUMNS = ['user_email', 'user_id', 'user_account_uuid'] as const;
/** Values at least this long are also found inside longer text (as a word of their own). */
export const SUBSTRING_MIN = 8;

export interface Person {
  /** Every identity value of the person, trimmed and lower-cased, longest first. */
  values: string[];
}

export const normaliseIdentity = (v: string) => v.trim().toLowerCase();

export function personOf(values: Iterable<string>): Person {
  const set = new Set([...values].map(normaliseIdentity).filter((v) => v !== ''));
  return { values: [...set].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)) };
}

/** RE2 (DuckDB) and JavaScript regular-expression escaping of a literal. */
const escapeRe = (v: string) => v.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Before a value: the start, or a character that cannot be part of an e-mail or id (captured, put back). */
const BEFORE = '(^|[^\\w.@+-])';
/** After a value: the end, or such a character, or a full stop ending a sentence (captured, put back). */
const AFTER = '($|[^\\w@.+-]|\\.(?:$|[^\\w]))';

/**
 * The regular expression (case-insensitive, the same syntax for DuckDB's RE2 and JavaScript)
 * finding `values`: a long value wherever it stands as a word of its own (never inside a longer
 * e-mail or id), a short one only as a whole cell (`cells`; in free text short values are left
 * alone). Replacing with `\1<token>\2` (JavaScript `$1<token>$2`) keeps what is around it.
 */
export function valuesPattern(values: readonly string[], { cells }: { cells: boolean }): string | null {
  const long = values.filter((v) => v.length >= SUBSTRING_MIN).map(escapeRe);
  const short = cells ? values.filter((v) => v.length < SUBSTRING_MIN).map(escapeRe) : [];
  const parts = [...(long.length ? [`${BEFORE}(?:${long.join('|')})${AFTER}`] : []), ...(short.length ? [`^()\\s*(?:${short.join('|')})\\s*()$`] : [])];
  return parts.length ? parts.join('|') : null;
}

/**
 * What each identity value becomes: an anonymous key of its own (`erased-` and random hex, derived
 * from nothing), so a person's rows keyed by their e-mail and those keyed by their user id stay two
 * keys as before, and every count, team attribution and total comes out the same.
 */
export type Tokens = ReadonlyMap<string, string>;

/** Replaces the person in free text (CSV, JSON, HTML); returns the text and how many places changed. */
export function replaceInText(text: string, tokens: Tokens): { text: string; found: number } {
  let found = 0;
  let out = text;
  for (const [value, token] of tokens) {
    const pattern = valuesPattern([value], { cells: false });
    if (!pattern) continue;
    // Twice: two occurrences side by side share the character between them, which one pass consumes.
    for (let pass = 0; pass < 2; pass++) {
      out = out.replace(new RegExp(pattern, 'gi'), (_m, before: string | undefined, after: string | undefined) => {
        found++;
        return `${before ?? ''}${token}${after ?? ''}`;
      });
    }
  }
  return { text: out, found };
}

/** The SQL predicate: does this DuckDB column (by its type) hold the person? null for columns that cannot (numbers, dates). */
export function columnMatchSql(name: string, type: string, pattern: string): string | null {
  const col = sqlIdent(name);
  if (type === 'VARCHAR') return `coalesce(regexp_matches(${col}, ${sqlString(pattern)}, 'i'), false)`;
  if (/VARCHAR/.test(type)) return `coalesce(regexp_matches(CAST(${col} AS VARCHAR), ${sqlString(pattern)}, 'i'), false)`;
  return null;
}

/**
 * The SQL expression of a column with each identity value replaced by its token (text, maps and
 * lists of text); null when the column cannot hold text. Throws for a nested type it cannot rewrite.
 */
export function columnReplaceSql(name: string, type: string, tokens: Tokens): string | null {
  const col = sqlIdent(name);
  const repl = (x: string) => {
    let e = x;
    for (const [value, token] of tokens) {
      const pattern = valuesPattern([value], { cells: true })!;
      // Twice, as replaceInText: neighbouring occurrences share the character between them.
      for (let pass = 0; pass < 2; pass++) e = `regexp_replace(${e}, ${sqlString(pattern)}, ${sqlString(`\\1${token}\\2`)}, 'gi')`;
    }
    return e;
  };
  if (type === 'VARCHAR') return repl(col);
  if (type === 'MAP(VARCHAR, VARCHAR)')
    return `map_from_entries(list_transform(map_entries(${col}), e -> {'key': ${repl('e.key')}, 'value': ${repl('e.value')}}))`;
  if (type === 'VARCHAR[]') return `list_transform(${col}, x -> ${repl('x')})`;
  if (/VARCHAR/.test(type)) throw new Error(`column ${name} of type ${type}: erasure cannot rewrite this type`);
  return null;
}

/**
 * The SQL that finds the identity values of the person named `input` in a relation of raw or
 * curated rows (`columns`: the relation's column names): the user_keys of the rows where any
 * identity column is `input`, then every identity value of the rows with those keys.
 */
export function identityValuesSql(relation: string, columns: readonly string[], input: string): string | null {
  const present = IDENTITY_COLUMNS.filter((c) => columns.includes(c));
  if (!present.length) return null;
  const key = USER_KEY_SQL.replace(/user_email|user_account_uuid|user_id/g, (c) => (present.includes(c as never) ? c : 'CAST(NULL AS VARCHAR)'));
  const cols = present.map((c) => `lower(trim(CAST(${sqlIdent(c)} AS VARCHAR)))`);
  const rows = `(SELECT ${key} AS k, ${cols.map((c, i) => `${c} AS v${i}`).join(', ')} FROM ${relation})`;
  const hit = `lower(trim(${sqlString(input)}))`;
  return `WITH r AS ${rows}, keys AS (SELECT DISTINCT k FROM r WHERE lower(k) = ${hit} OR ${present.map((_, i) => `v${i} = ${hit}`).join(' OR ')})
    SELECT DISTINCT v FROM (SELECT unnest([lower(k), ${present.map((_, i) => `v${i}`).join(', ')}]) AS v FROM r WHERE k IN (SELECT k FROM keys)) WHERE v IS NOT NULL AND v <> ''`;
}
