/**
 * docs/contracts.md is the document users read; these tests hold the code to it, reading the
 * document itself (never a file outside the repository):
 *  - section 4: the views and their columns (names, order, DuckDB types) are exactly what a query
 *    session of `cclake query` shows over a small generated, compacted and rolled-up lake;
 *  - section 5: the commands, their options (required or not) and positional arguments are exactly
 *    what the commander program registers.
 * The parser's own behaviour is checked on small made-up documents, so a drift in either direction
 * (a view or column the document lacks, or one it lists that the code does not have) fails.
 * Section 2 (the raw record) is held to schemas/raw-record.ts in test/schema.test.ts.
 */
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../functions/cli/main';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { documentedCommands, documentedViews, readContractsDoc, type DocCommand } from './helpers/contracts-doc';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-contracts-doc-');
afterAll(() => tmp.cleanup());

const doc = readContractsDoc();

/** Runs the CLI in-process; stdout and stderr as text. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('section 4: the views a query session shows', () => {
  let lakeDir: string;
  let session: Map<string, { name: string; type: string }[]>;

  beforeAll(async () => {
    lakeDir = tmp.make();
    const config = parseConfig({});
    const store = new LocalObjectStore(lakeDir);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await generate(store, config, { users: 4, days: 2, end: '2026-11-20', seed: 'contracts-doc' });
    await compact(store, catalog, config);
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config);
    } finally {
      engine.close();
    }
    // What `cclake query` itself shows, through the command line.
    const r = await cli([
      'query',
      '--lake',
      lakeDir,
      '--format',
      'json',
      `SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY table_name, ordinal_position`,
    ]);
    expect(r.code, r.err).toBe(0);
    session = new Map();
    for (const row of JSON.parse(r.out) as { table_name: string; column_name: string; data_type: string }[]) {
      if (!session.has(row.table_name)) session.set(row.table_name, []);
      session.get(row.table_name)!.push({ name: row.column_name, type: row.data_type });
    }
  }, 180_000);

  it('the lake has data in the curated zone and the rollups (the views read real files)', async () => {
    const r = await cli([
      'query',
      '--lake',
      lakeDir,
      '--format',
      'json',
      'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM user_daily) AS user_days',
    ]);
    expect(r.code, r.err).toBe(0);
    const [counts] = JSON.parse(r.out) as { events: number; user_days: number }[];
    expect(counts!.events).toBeGreaterThan(0);
    expect(counts!.user_days).toBeGreaterThan(0);
  });

  it('names exactly the relations the session has', () => {
    expect([...documentedViews(doc).keys()].sort()).toEqual([...session.keys()].sort());
  });

  it("lists every relation's columns in order, with their types", () => {
    const documented = documentedViews(doc);
    for (const [name, columns] of session) expect(documented.get(name), name).toEqual(columns);
  });

  it('the comparison notices a column missing from the document, or one too many', () => {
    const documented = documentedViews(doc.replace('`wau` BIGINT, ', ''));
    expect(documented.get('active_users_daily')).not.toEqual(session.get('active_users_daily'));
    const extra = documentedViews(
      doc.replace("the raw record's columns (section 2), then `dt` DATE", "the raw record's columns (section 2), then `dt` DATE, `gen` VARCHAR"),
    );
    expect(extra.get('events_curated')).not.toEqual(session.get('events_curated'));
    const fewer = documentedViews(doc.replace('except `department` and `cost_center`', 'except `department`'));
    expect(fewer.get('events')).not.toEqual(session.get('events'));
  });
});

/** Leaf commands of the program (`export` only groups its subcommands). */
function registered(program: Command, prefix: string[] = []): { path: string; command: Command }[] {
  return program.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return c.commands.length ? registered(c, path) : [{ path: path.join(' '), command: c }];
  });
}

const GLOBALS = ['--config', '--lake'];

function asDocumented(command: Command): Omit<DocCommand, 'path'> {
  return {
    options: new Map(command.options.filter((o) => !GLOBALS.includes(o.long!)).map((o) => [o.long!, o.mandatory])),
    args: command.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)),
  };
}

describe('section 5: the commands the CLI registers', () => {
  const program = buildProgram({ out: () => {}, err: () => {} });
  const leaves = registered(program);
  const documented = documentedCommands(doc);

  it('names exactly the registered commands, each once', () => {
    expect(leaves.length).toBeGreaterThan(10);
    expect(documented.map((c) => c.path).sort()).toEqual(leaves.map((l) => l.path).sort());
    expect(new Set(documented.map((c) => c.path)).size).toBe(documented.length);
  });

  it('every command takes --config and --lake, as the section says', () => {
    for (const { path, command } of leaves)
      expect(
        command.options.map((o) => o.long),
        path,
      ).toEqual(expect.arrayContaining(GLOBALS));
  });

  it('gives each command exactly its options (required ones outside brackets) and positional arguments', () => {
    for (const { path, command } of leaves) {
      const doc = documented.find((c) => c.path === path);
      expect({ path: doc?.path, ...asDocumented(command) }, path).toEqual({ path, options: doc?.options, args: doc?.args });
    }
  });

  it('the comparison notices an option missing from the document, a required one shown as optional, and a command too many', () => {
    const generateOf = (md: string) => documentedCommands(md).find((c) => c.path === 'generate')!;
    const real = asDocumented(leaves.find((l) => l.path === 'generate')!.command);
    expect(generateOf(doc)).toEqual({ path: 'generate', ...real });
    expect(
      generateOf(doc.replace('--days D [--end YYYY-MM-DD] [--seed S] [--faults] [--anomalies]', '--days D [--end YYYY-MM-DD] [--seed S] [--faults]')),
    ).not.toEqual({ path: 'generate', ...real });
    expect(generateOf(doc.replace('`cclake generate --users N', '`cclake generate [--users N]'))).not.toEqual({ path: 'generate', ...real });
    const withExtra = documentedCommands(doc.replace('| `cclake export verify` |', '| `cclake erase --user ID` | not a command |\n| `cclake export verify` |'));
    expect(withExtra.map((c) => c.path).sort()).not.toEqual(leaves.map((l) => l.path).sort());
  });

  it('the documented exit codes are the ones main returns: 0 help, 1 failed job, 2 bad usage', async () => {
    expect(doc).toMatch(/^\| 0 \| success/m);
    expect(doc).toMatch(/^\| 1 \| a job failed/m);
    expect(doc).toMatch(/^\| 2 \| bad usage/m);
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli(['no-such-command'])).code).toBe(2);
    expect((await cli(['generate', '--users', '2'])).code).toBe(2); // --days is required
    expect((await cli(['compact', '--rebuild'])).code).toBe(2);
    const lake = tmp.make();
    expect((await cli(['query', '--lake', lake, 'SELECT * FROM no_such_view'])).code).toBe(1);
  });
});
