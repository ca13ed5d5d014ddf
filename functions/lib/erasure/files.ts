/**
 * One file at a time: does it hold the person, and the same file with the person replaced by
 * anonymous keys. Parquet through DuckDB (every text, map and list-of-text column), CSV, JSON,
 * HTML and other text as text, PDF by its (inflated) content streams.
 */
import { inflateSync } from 'node:zlib';
import { sqlIdent, sqlString, type DuckDBEngine } from '../engine/duckdb';
import { columnMatchSql, columnReplaceSql, replaceInText, valuesPattern, type Person, type Tokens } from './person';

export type FileKind = 'parquet' | 'text' | 'pdf' | 'other';

const TEXT = /\.(csv|json|jsonl|ndjson|html|htm|txt|md|tsv|xml|yaml|yml|log|sql)$/i;

export function kindOf(key: string): FileKind {
  if (/\.parquet$/i.test(key)) return 'parquet';
  if (TEXT.test(key)) return 'text';
  if (/\.pdf$/i.test(key)) return 'pdf';
  return 'other';
}

const read = (file: string) => `read_parquet(${sqlString(file)}, hive_partitioning = false)`;

async function columnsOf(engine: DuckDBEngine, file: string): Promise<{ name: string; type: string }[]> {
  return (await engine.query(`DESCRIBE SELECT * FROM ${read(file)}`)).rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

/** Rows of a Parquet file, and how many of them hold the person. */
export async function parquetHolding(engine: DuckDBEngine, file: string, person: Person): Promise<{ rows: number; matched: number }> {
  const pattern = valuesPattern(person.values, { cells: true });
  const preds = pattern ? (await columnsOf(engine, file)).map((c) => columnMatchSql(c.name, c.type, pattern)).filter((p): p is string => !!p) : [];
  const matched = preds.length ? `count(*) FILTER (WHERE ${preds.join(' OR ')})` : '0';
  const r = (await engine.query(`SELECT count(*) AS n, ${matched} AS m FROM ${read(file)}`)).rows[0]!;
  return { rows: Number(r.n), matched: Number(r.m) };
}

/**
 * `parquetHolding` of many files in a few queries (batches read with union_by_name). A file that
 * cannot be read (a corrupt object, kept in quarantine) is returned in `unreadable` with the reason.
 */
export async function parquetHoldings(
  engine: DuckDBEngine,
  files: readonly string[],
  person: Person,
): Promise<{ held: Map<string, { rows: number; matched: number }>; unreadable: Map<string, string> }> {
  const held = new Map<string, { rows: number; matched: number }>();
  const unreadable = new Map<string, string>();
  const pattern = valuesPattern(person.values, { cells: true });
  const one = async (file: string) => {
    try {
      held.set(file, await parquetHolding(engine, file, person));
    } catch (err) {
      unreadable.set(file, (err as Error).message.split('\n')[0]!);
    }
  };
  for (let i = 0; i < files.length; i += 200) {
    const batch = files.slice(i, i + 200);
    const rel = `read_parquet([${batch.map(sqlString).join(', ')}], union_by_name = true, filename = 'cclake_file', hive_partitioning = false)`;
    try {
      const cols = (await engine.query(`DESCRIBE SELECT * FROM ${rel}`)).rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      const preds = pattern
        ? cols
            .filter((c) => c.name !== 'cclake_file')
            .map((c) => columnMatchSql(c.name, c.type, pattern))
            .filter((p): p is string => !!p)
        : [];
      const matched = preds.length ? `count(*) FILTER (WHERE ${preds.join(' OR ')})` : '0';
      const rows = (await engine.query(`SELECT cclake_file AS f, count(*) AS n, ${matched} AS m FROM ${rel} GROUP BY ALL`)).rows;
      for (const f of batch) held.set(f, { rows: 0, matched: 0 });
      for (const r of rows) held.set(String(r.f), { rows: Number(r.n), matched: Number(r.m) });
    } catch {
      // One file the batch cannot read (or whose types do not unite): one at a time.
      for (const f of batch) await one(f);
    }
  }
  return { held, unreadable };
}

/**
 * Writes `file` to `out` with every identity value replaced by its token, rows in the same order,
 * then checks the copy: as many rows, none holding the person. `compression`: the zone's codec.
 */
export async function rewriteParquet(
  engine: DuckDBEngine,
  file: string,
  out: string,
  person: Person,
  tokens: Tokens,
  compression: 'zstd' | 'snappy',
): Promise<{ rows: number; matched: number }> {
  const before = await parquetHolding(engine, file, person);
  const cols = await columnsOf(engine, file);
  const select = cols.map((c) => `${columnReplaceSql(c.name, c.type, tokens) ?? sqlIdent(c.name)} AS ${sqlIdent(c.name)}`).join(', ');
  await engine.run(`COPY (SELECT ${select} FROM ${read(file)}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION ${compression})`);
  const after = await parquetHolding(engine, out, person);
  if (after.rows !== before.rows || after.matched !== 0)
    throw new Error(`erasure of ${file} did not verify: ${after.rows} rows written of ${before.rows}, ${after.matched} still holding the person`);
  return before;
}

/** Text with the person replaced (null when it does not hold the person). */
export function rewriteText(bytes: Uint8Array, tokens: Tokens): { bytes: Uint8Array; found: number } | null {
  const { text, found } = replaceInText(new TextDecoder().decode(bytes), tokens);
  return found ? { bytes: new TextEncoder().encode(text), found } : null;
}

/**
 * Whether a PDF shows the person: its content streams inflated and searched for each value as
 * text and as the hex strings PDF writers use for text (`<6f6c6761…> Tj`). A PDF whose fonts
 * re-encode glyphs (a browser's print) hides its text from this; see README, Privacy.
 */
export function pdfHolds(bytes: Uint8Array, person: Person): boolean {
  const raw = Buffer.from(bytes);
  const texts = [raw.toString('latin1')];
  let at = 0;
  for (;;) {
    const s = raw.indexOf('stream', at, 'latin1');
    if (s < 0) break;
    const start = s + (raw[s + 6] === 0x0d ? 8 : 7);
    const e = raw.indexOf('endstream', start, 'latin1');
    if (e < 0) break;
    try {
      texts.push(inflateSync(raw.subarray(start, e)).toString('latin1'));
    } catch {
      // Not a Flate stream (an image, or uncompressed: already searched as part of the file).
    }
    at = e + 9;
  }
  const haystack = texts.join('\n').toLowerCase().replace(/\s+/g, '');
  return person.values.some((v) => haystack.includes(v) || haystack.includes(Buffer.from(v, 'latin1').toString('hex')));
}
