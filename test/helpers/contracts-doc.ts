/**
 * Reads the project's contract document, docs/contracts.md, the way a reader would: its numbered
 * sections and their Markdown tables. The tests hold the code to what these return (the raw
 * record's columns, the views and their columns, the commands and their options), so a parse that
 * finds something it does not understand throws instead of guessing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CONTRACTS_DOC = fileURLToPath(new URL('../../docs/contracts.md', import.meta.url));

export function readContractsDoc(): string {
  return readFileSync(CONTRACTS_DOC, 'utf8');
}

/** The text of `## <n>. …` up to the next `## ` heading. */
export function section(markdown: string, n: number): string {
  const m = new RegExp(`^## ${n}\\. .*$([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(markdown);
  if (!m) throw new Error(`docs/contracts.md has no "## ${n}." section`);
  return m[1]!;
}

export interface MarkdownTable {
  header: string[];
  rows: string[][];
}

/** Cells of one table line, split on unescaped pipes (`\|` is a pipe inside a cell). */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Every pipe table in `text`, in order. */
export function tables(text: string): MarkdownTable[] {
  const out: MarkdownTable[] = [];
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|') || !/^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(lines[i + 1]!)) continue;
    const table: MarkdownTable = { header: cells(lines[i]!), rows: [] };
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) table.rows.push(cells(lines[j]!));
    out.push(table);
    i = j - 1;
  }
  return out;
}

const unquote = (cell: string): string => {
  const m = /^`([^`]+)`$/.exec(cell);
  if (!m) throw new Error(`expected one backticked name, got ${JSON.stringify(cell)}`);
  return m[1]!;
};
const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

export interface DocColumn {
  name: string;
  type: string;
  /** The backticked attribute keys of the "taken from" cell (prose without backticks gives none). */
  from: string[];
  meaning: string;
}

/** Section 2: the rows of every `| column | type | taken from | meaning |` table, in document order. */
export function rawRecordColumns(markdown: string): DocColumn[] {
  const found = tables(section(markdown, 2)).filter((t) => t.header[0] === 'column' && t.header[1] === 'type');
  if (!found.length) throw new Error('section 2 has no "| column | type | …" table');
  return found.flatMap((t) =>
    t.rows.map(([name, type, from, meaning]) => ({ name: unquote(name!), type: type!, from: backticked(from ?? ''), meaning: meaning ?? '' })),
  );
}

/** Section 2's type table: each logical type's spelling in Parquet, Glue and DuckDB. */
export function typeSpellings(markdown: string): Map<string, { parquet: string; glue: string; duckdb: string }> {
  const t = tables(section(markdown, 2)).find((x) => x.header[0] === 'type');
  if (!t) throw new Error('section 2 has no "| type | …" table');
  return new Map(t.rows.map(([type, parquet, glue, duckdb]) => [type!, { parquet: parquet!, glue: glue!, duckdb: duckdb! }]));
}

export interface ViewColumn {
  name: string;
  type: string;
}

/** Splits `a, b(c, d), e` at the commas outside parentheses. */
function topLevelList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}

function columnList(text: string): ViewColumn[] {
  return topLevelList(text).map((item) => {
    const m = /^`([^`]+)` ([A-Z][A-Z0-9]*(?:\([A-Z0-9, ]+\))?)$/.exec(item);
    if (!m) throw new Error(`a view column is written \`name\` TYPE, got ${JSON.stringify(item)}`);
    return { name: m[1]!, type: m[2]! };
  });
}

const RAW_COLUMNS = "the raw record's columns (section 2)";

/**
 * Section 4: every `| name | one row per | columns |` table, as view name -> columns in order.
 * A columns cell may start with "the raw record's columns (section 2)" (section 2's list with its
 * DuckDB types), optionally followed by "except `a` and `b`" and by ", then" more columns.
 */
export function documentedViews(markdown: string): Map<string, ViewColumn[]> {
  const spellings = typeSpellings(markdown);
  const raw = rawRecordColumns(markdown).map((c) => {
    const duckdb = spellings.get(c.type)?.duckdb;
    if (!duckdb) throw new Error(`section 2: type ${c.type} of ${c.name} is not in the type table`);
    return { name: c.name, type: duckdb };
  });
  const views = new Map<string, ViewColumn[]>();
  const found = tables(section(markdown, 4)).filter((t) => t.header.join('|') === 'name|one row per|columns');
  if (!found.length) throw new Error('section 4 has no "| name | one row per | columns |" table');
  for (const t of found) {
    for (const [nameCell, , cell] of t.rows) {
      const name = unquote(nameCell!);
      if (views.has(name)) throw new Error(`section 4 lists ${name} twice`);
      let columns: ViewColumn[];
      if (cell!.startsWith(RAW_COLUMNS)) {
        const m = /^(?: except (.+?))?(?:, then (.+))?$/.exec(cell!.slice(RAW_COLUMNS.length));
        if (!m) throw new Error(`section 4, ${name}: cannot read ${JSON.stringify(cell)}`);
        const except = backticked(m[1] ?? '');
        for (const e of except) if (!raw.some((c) => c.name === e)) throw new Error(`section 4, ${name}: "except ${e}" is not a raw record column`);
        columns = [...raw.filter((c) => !except.includes(c.name)), ...(m[2] ? columnList(m[2]) : [])];
      } else {
        columns = columnList(cell!);
      }
      views.set(name, columns);
    }
  }
  return views;
}

export interface DocCommand {
  /** e.g. `export chargeback`. */
  path: string;
  /** Long option names (without the globals) -> required. */
  options: Map<string, boolean>;
  /** Positional arguments as written, e.g. `<files...>`. */
  args: string[];
}

/**
 * Section 5's `| command | does |` table. The synopsis is `cclake <words> [--optional X] --required Y
 * <positional>`: the command path is the words before the first `[`, `-` or `<`.
 */
export function documentedCommands(markdown: string): DocCommand[] {
  const t = tables(section(markdown, 5)).find((x) => x.header[0] === 'command');
  if (!t) throw new Error('section 5 has no "| command | does |" table');
  return t.rows.map(([cell]) => {
    const synopsis = unquote(cell!);
    const words = synopsis.split(/\s+/);
    if (words[0] !== 'cclake') throw new Error(`section 5: a command starts with cclake, got ${JSON.stringify(synopsis)}`);
    const path: string[] = [];
    for (const w of words.slice(1)) {
      if (/^[[<-]/.test(w)) break;
      path.push(w);
    }
    const optionalGroups = synopsis.match(/\[[^\]]*\]/g) ?? [];
    const outside = synopsis.replace(/\[[^\]]*\]/g, ' ');
    const options = new Map<string, boolean>();
    for (const g of optionalGroups) for (const o of g.match(/--[a-z][a-z-]*/g) ?? []) options.set(o, false);
    for (const o of outside.match(/--[a-z][a-z-]*/g) ?? []) options.set(o, true);
    return { path: path.join(' '), options, args: outside.match(/<[^>]+>/g) ?? [] };
  });
}
