/**
 * `cclake sql`, driven as a user's terminal or script would drive it: the real CLI in a child
 * process, statements written to its stdin (multi-line, ending with ';'), dot commands, output modes,
 * errors that do not end the session, and the exit code of a script.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { splitStatements } from '../functions/cli/repl';

const REPO = fileURLToPath(new URL('..', import.meta.url));
let lake: string;
let rawCount: number;

beforeAll(async () => {
  lake = mkdtempSync(path.join(tmpdir(), 'cclake-sql-'));
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  expect(await main(['generate', '--lake', lake, '--users', '3', '--days', '1', '--end', '2026-11-20', '--seed', '5'], io)).toBe(0);
  expect(await main(['query', '--lake', lake, '--format', 'json', 'SELECT count(*) AS n FROM events_raw'], { out: (s) => out.push(s), err: () => {} })).toBe(0);
  rawCount = (JSON.parse(out.at(-1)!) as { n: number }[])[0]!.n;
  expect(rawCount).toBeGreaterThan(0);
}, 120_000);
afterAll(() => rmSync(lake, { recursive: true, force: true }));

function sql(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'cclake.mjs'), 'sql', '--lake', lake, ...args], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(script);
  });
}

describe('splitStatements', () => {
  it("splits at ';' outside string literals, quoted names and comments, and keeps the unfinished rest", () => {
    expect(splitStatements(`SELECT ';' AS "a;b" -- c;\nFROM t; SELECT /* ; */ 2; SELECT 3`)).toEqual({
      statements: [`SELECT ';' AS "a;b" -- c;\nFROM t`, 'SELECT /* ; */ 2'],
      rest: ' SELECT 3',
    });
  });
});

describe('cclake sql', () => {
  it('runs multi-line statements, dot commands and output modes over one session', async () => {
    const r = await sql(
      [
        '.tables',
        'SELECT count(*) AS n,',
        '       count(DISTINCT record_id) AS ids',
        'FROM events_raw;',
        '.mode json',
        "SELECT 'a' AS x; SELECT 2 AS y;",
        '.mode csv',
        '.schema events_raw',
        "SELECT 'a,b' AS x;",
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    // .tables: every view of the session, bound or not
    for (const v of ['events', 'events_raw', 'user_daily', 'active_users_daily', 'org_directory']) expect(lines).toContain(v);
    // the table mode (the default): header, rule, the count
    const header = lines.findIndex((l) => /^\s*n\s+ids$/.test(l));
    expect(header).toBeGreaterThan(-1);
    expect(lines[header + 2]!.trim().split(/\s+/)).toEqual([rawCount.toLocaleString('en-US'), rawCount.toLocaleString('en-US')]);
    // two statements on one line: each ends at its ';' and both run, as JSON
    expect(r.stdout).toContain(`${JSON.stringify([{ x: 'a' }], null, 2)}\n${JSON.stringify([{ y: 2 }], null, 2)}`);
    // .schema in table form, then CSV quoting
    expect(r.stdout).toMatch(/record_id\s+VARCHAR/);
    expect(r.stdout).toContain('x\n"a,b"');
    // the timer, on stderr, one line per statement
    expect(r.stderr.match(/^-- \d+ row\(s\) in \d+ ms$/gm)?.length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('an error is reported and the session goes on; a script with a failed statement exits 1', async () => {
    const r = await sql(['SELECT no_such_column FROM events_raw;', '.schema no_such_view', 'SELECT 41 + 1 AS answer'].join('\n'), '--format', 'csv');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*no_such_column/m);
    expect(r.stderr).toMatch(/^error: no view no_such_view/m);
    // the last statement had no ';' but ends the input, so it runs
    expect(r.stdout).toContain('answer\n42');
    expect(r.stderr).toMatch(/^cclake: 2 statement\(s\) failed/m);
  }, 120_000);
});
