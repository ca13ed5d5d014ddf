/**
 * The relation names a SQL text may read, for binding only what a query needs. Deliberately
 * generous: every identifier outside comments and string literals counts (a column that shares a
 * view's name only binds one view too many), so a name the query reads is never missed.
 */

/** Names that mean the query looks at the catalog itself, so every relation must be there. */
const CATALOG_NAMES = new Set([
  'information_schema',
  'duckdb_views',
  'duckdb_tables',
  'duckdb_columns',
  'duckdb_dependencies',
  'sqlite_master',
  'pg_catalog',
  'pg_tables',
  'pg_views',
  'show_tables',
  'show_tables_expanded',
  'duckdb_schemas',
]);
/** Words that may make up a statement listing every table (`SHOW TABLES`, `SHOW ALL TABLES`, a bare `SHOW` or `DESCRIBE`). */
const LISTING_WORDS = new Set(['show', 'describe', 'all', 'tables']);

export interface References {
  /** Lower-cased identifiers, quoted ones unquoted. */
  names: Set<string>;
  /** The SQL lists the catalog (SHOW TABLES, information_schema, ...). */
  catalog: boolean;
}

export function referencedNames(sql: string): References {
  const names = new Set<string>();
  // Comments, string literals, quoted identifiers and bare words, left to right.
  const token = /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)/g;
  for (let m = token.exec(sql); m; m = token.exec(sql)) {
    if (m[1] !== undefined) names.add(m[1].replace(/""/g, '"').toLowerCase());
    else if (m[2] !== undefined) names.add(m[2].toLowerCase());
  }
  const catalog =
    [...CATALOG_NAMES].some((n) => names.has(n)) ||
    (names.has('show') && names.has('tables')) ||
    (names.size > 0 && [...names].every((n) => LISTING_WORDS.has(n)));
  return { names, catalog };
}
