/**
 * `cclake sql`: an interactive shell over one query session, so an analyst pays the start-up once.
 * Statements may span lines and end with `;`; dot commands (`.help`) list views, describe one,
 * switch the output format and the timer. Reads stdin line by line (node:readline), so it also
 * runs a script piped in; history is kept in ~/.cclake_history on a terminal.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import type { LocalQueryEngine } from '../lib/engine/local';
import { sqlIdent } from '../lib/engine/duckdb';
import type { Io } from './main';
import { formatRows, formatTable, tailNote } from './output';

export type ReplFormat = 'table' | 'csv' | 'json';

export interface ReplOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  format: ReplFormat;
  /** History file (terminal only); default ~/.cclake_history. */
  historyFile?: string;
}

const HELP = [
  'Statements end with ";" and may span lines. Dot commands:',
  '  .tables             the views of this session',
  '  .schema VIEW        the columns of a view',
  '  .mode table|csv|json output format',
  "  .timer on|off       print each statement's rows and time (stderr)",
  '  .quit               leave (or end of input)',
];

/** The complete statements (each ended by a `;` outside quotes and comments) and what follows the last one. */
export function splitStatements(text: string): { statements: string[]; rest: string } {
  const statements: string[] = [];
  const token = /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*(?:'|$)|"(?:[^"]|"")*(?:"|$)|;/g;
  let start = 0;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    if (m[0] !== ';') continue;
    const st = text.slice(start, m.index).trim();
    if (st) statements.push(st);
    start = m.index + 1;
  }
  return { statements, rest: text.slice(start) };
}

/** Runs the shell until end of input or `.quit`; the number of statements that failed. */
export async function runRepl(engine: LocalQueryEngine, io: Io, options: ReplOptions): Promise<number> {
  const terminal = options.input.isTTY === true;
  const historyFile = options.historyFile ?? path.join(homedir(), '.cclake_history');
  const history = terminal && existsSync(historyFile) ? readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 500) : [];
  const rl = createInterface({ input: options.input, output: terminal ? process.stdout : undefined, terminal, history, historySize: 500, prompt: 'cclake> ' });
  let format = options.format;
  let timer = true;
  let failed = 0;
  let buffer: string[] = [];
  let notedSkipped = 0;
  let notedTail = 0;

  const run = async (sql: string) => {
    const started = performance.now();
    try {
      const result = await engine.query(sql);
      if (result.columns.length) io.out(format === 'table' ? formatTable(result) : formatRows(result, format));
      if (timer) io.err(`-- ${result.rows.length} row(s) in ${Math.round(performance.now() - started)} ms`);
    } catch (err) {
      failed++;
      io.err(`error: ${(err as Error).message.split('\n')[0]}`);
    }
    const skipped = engine.setup.skippedRawObjects;
    if (skipped.length && skipped.length !== notedSkipped) {
      notedSkipped = skipped.length;
      io.err(`note: ${skipped.length} raw object(s) are not readable Parquet and were left out of events_raw (compaction quarantines them)`);
    }
    const tail = engine.setup.skippedTailObjects ?? [];
    if (tail.length && tail.length !== notedTail) {
      notedTail = tail.length;
      io.err(tailNote(tail));
    }
    if (terminal) appendFileSync(historyFile, `${sql.replace(/\s*\n\s*/g, ' ')}\n`);
  };

  const dot = async (line: string): Promise<boolean> => {
    const [cmd, arg] = line.split(/\s+/, 2);
    switch (cmd) {
      case '.quit':
      case '.exit':
        return false;
      case '.help':
        for (const l of HELP) io.out(l);
        break;
      case '.tables':
        io.out([...engine.viewNames].sort().join('\n'));
        break;
      case '.schema':
        if (!arg) io.err('usage: .schema VIEW');
        else if (!engine.viewNames.some((v) => v.toLowerCase() === arg.toLowerCase())) {
          failed++;
          io.err(`error: no view ${arg} (.tables lists them)`);
        } else {
          const d = await engine.query(`SELECT column_name, column_type FROM (DESCRIBE ${sqlIdent(arg.toLowerCase())})`);
          io.out(formatTable(d));
        }
        break;
      case '.mode':
        if (arg === 'table' || arg === 'csv' || arg === 'json') format = arg;
        else io.err('usage: .mode table|csv|json');
        break;
      case '.timer':
        if (arg === 'on' || arg === 'off') timer = arg === 'on';
        else io.err('usage: .timer on|off');
        break;
      default:
        failed++;
        io.err(`error: unknown command ${cmd} (.help lists them)`);
    }
    return true;
  };

  if (terminal) {
    io.out(`cclake sql: ${engine.viewNames.length} views (.tables); statements end with ";", .help for more`);
    rl.prompt();
  }
  for await (const line of rl) {
    if (!buffer.length && line.trim().startsWith('.')) {
      if (!(await dot(line.trim()))) break;
    } else if (buffer.length || line.trim()) {
      buffer.push(line);
      const { statements, rest } = splitStatements(buffer.join('\n'));
      buffer = rest.trim() ? [rest] : [];
      for (const st of statements) await run(st);
    }
    if (terminal) rl.setPrompt(buffer.length ? '   ...> ' : 'cclake> '), rl.prompt();
  }
  rl.close();
  // A last statement without its ';' at the end of a script still runs.
  const rest = buffer.join('\n').trim();
  if (rest) await run(rest);
  return failed;
}
