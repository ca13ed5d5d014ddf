/** Counting `?` parameters the way both engines read them (outside literals, quoted identifiers and comments). */

/** The `?` placeholders of a statement, not counting those in string literals, quoted identifiers or comments. */
export function countPlaceholders(sql: string): number {
  let count = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === '?') count++;
    else if (c === "'" || c === '"') {
      // A doubled quote inside is an escaped one: the scan leaves and re-enters the same literal.
      const end = sql.indexOf(c, i + 1);
      i = end === -1 ? sql.length : end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 1;
    }
  }
  return count;
}
