/**
 * A query session over a local lake: one raw object whose footer is corrupt (PAR1 magic at both
 * ends, so only a reader finds out) must not stop any query on curated data or the rollups, and a
 * query on events_raw leaves it out and says so. Views are bound lazily, by what a statement reads,
 * and give the same answers as a session with every view bound.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { loadConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { referencedNames } from '../functions/lib/sql/references';
import { LocalObjectStore } from '../functions/lib/store/local';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function queryJson(lake: string, sql: string) {
  const r = await cli('query', '--lake', lake, '--format', 'json', sql);
  expect(r.code, r.stderr).toBe(0);
  return { rows: JSON.parse(r.stdout) as Record<string, unknown>[], stderr: r.stderr };
}

/** Every file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** A copy of a good Parquet file with its footer metadata overwritten: magic and footer length intact. */
function corruptFooterCopy(good: string, to: string): void {
  const b = readFileSync(good);
  const footerLength = b.readUInt32LE(b.length - 8);
  b.fill(0xff, b.length - 8 - footerLength, b.length - 8);
  expect(b.subarray(0, 4).toString('latin1')).toBe('PAR1');
  expect(b.subarray(b.length - 4).toString('latin1')).toBe('PAR1');
  writeFileSync(to, b);
}

describe('a raw object with a corrupt footer', () => {
  let lake: string;
  let before: { raw: number; events: number; userDays: number; dau: unknown[] };
  let badKey: string;

  beforeAll(async () => {
    lake = mkdtempSync(path.join(tmpdir(), 'cclake-session-'));
    dirs.push(lake);
    for (const argv of [['generate', '--users', '4', '--days', '2', '--end', '2026-11-20', '--seed', '11'], ['compact'], ['rollup']]) {
      const r = await cli(...argv, '--lake', lake);
      expect(r.code, r.stderr).toBe(0);
    }
    before = {
      raw: (await queryJson(lake, 'SELECT count(*) AS n FROM events_raw')).rows[0]!.n as number,
      events: (await queryJson(lake, 'SELECT count(*) AS n FROM events')).rows[0]!.n as number,
      userDays: (await queryJson(lake, 'SELECT count(*) AS n FROM user_daily')).rows[0]!.n as number,
      dau: (await queryJson(lake, 'SELECT dt, dau FROM active_users_daily ORDER BY dt')).rows,
    };
    expect(before.raw).toBeGreaterThan(0);
    // A new arrival, not compacted yet, whose footer no reader can parse.
    const good = filesUnder(path.join(lake, 'raw')).find((f) => f.endsWith('.parquet'))!;
    const bad = path.join(path.dirname(good), 'cclake-telemetry-1-2026-11-20-23-59-59-corrupt-footer.parquet');
    corruptFooterCopy(good, bad);
    badKey = path.relative(lake, bad).split(path.sep).join('/');
  }, 120_000);

  it('leaves queries on events and the rollups working, with the same answers; events (whose tail holds it) names it, the rollups say nothing', async () => {
    const events = await queryJson(lake, 'SELECT count(*) AS n FROM events');
    expect(events.rows).toEqual([{ n: before.events }]);
    expect(events.stderr).toMatch(/^note: 1 raw object\(s\) not compacted yet were left out of events/);
    expect(events.stderr).toContain(badKey);
    const userDays = await queryJson(lake, 'SELECT count(*) AS n FROM user_daily');
    expect(userDays.rows).toEqual([{ n: before.userDays }]);
    expect(userDays.stderr).toBe('');
    expect((await queryJson(lake, 'SELECT dt, dau FROM active_users_daily ORDER BY dt')).rows).toEqual(before.dau);
  });

  it('a query on events_raw leaves it out and names it on stderr', async () => {
    const r = await queryJson(lake, 'SELECT count(*) AS n FROM events_raw');
    expect(r.rows).toEqual([{ n: before.raw }]);
    expect(r.stderr).toMatch(/^note: 1 raw object\(s\) are not readable Parquet and were left out of events_raw/);
    expect(r.stderr).toContain(badKey);
  });

  it('the raw objects found unreadable are listed by the session, the good ones all read', async () => {
    const loaded = loadConfig({ lake });
    const engine = await LocalQueryEngine.open(new LocalObjectStore(lake), loaded.config);
    try {
      const r = await engine.query('SELECT count(DISTINCT record_id) AS ids FROM events_raw');
      expect(engine.setup.skippedRawObjects).toEqual([badKey]);
      expect(Number(r.rows[0]!.ids)).toBeGreaterThan(0);
    } finally {
      engine.close();
    }
  });

  it('two corrupt objects among many are both found', async () => {
    const good = filesUnder(path.join(lake, 'raw'))
      .filter((f) => f.endsWith('.parquet') && !f.includes('corrupt'))
      .at(-1)!;
    const other = path.join(path.dirname(good), 'cclake-telemetry-1-2026-11-20-23-59-58-corrupt-too.parquet');
    corruptFooterCopy(good, other);
    try {
      const r = await queryJson(lake, 'SELECT count(*) AS n FROM events_raw');
      expect(r.rows).toEqual([{ n: before.raw }]);
      expect(r.stderr).toMatch(/^note: 2 raw object\(s\)/);
    } finally {
      rmSync(other);
    }
  });

  it('a session binds only what a statement reads, and the answers match a session with every view bound', async () => {
    const { config } = loadConfig({ lake });
    const lazy = await LocalQueryEngine.open(new LocalObjectStore(lake), config);
    const eager = await LocalQueryEngine.open(new LocalObjectStore(lake), config);
    try {
      expect(lazy.setup.views).toEqual([]);
      const sql = 'SELECT team, count(*) AS n, count(DISTINCT user_key) AS users FROM events GROUP BY team ORDER BY team';
      const got = await lazy.query(sql);
      // events reads the curated table, its tail and user_daily; nothing else is bound, events_raw is never bound
      expect([...lazy.setup.views].sort()).toEqual(['events', 'events_curated', 'events_tail', 'user_daily']);
      expect(lazy.setup.skippedRawObjects).toEqual([]);
      await eager.bindAll();
      expect([...eager.setup.views].sort()).toEqual([...eager.viewNames].sort());
      expect((await eager.query(sql)).rows).toEqual(got.rows);
      // a view over views binds its whole chain, in order
      expect((await lazy.query('SELECT dt, dau FROM active_users_daily ORDER BY dt')).rows).toEqual(before.dau);
      expect(lazy.setup.views).toEqual(expect.arrayContaining(['active_user_days', 'rollup_days', 'active_users_daily']));
      // listing the catalog binds every view, so the session offers the same views as before
      const tables = await lazy.query(`SELECT table_name FROM information_schema.tables ORDER BY table_name`);
      expect(tables.rows.map((r) => r.table_name)).toEqual([...lazy.viewNames].sort());
    } finally {
      lazy.close();
      eager.close();
    }
  });
});

describe('referencedNames', () => {
  it('finds bare and quoted identifiers, lower-cased, and skips comments and string literals', () => {
    const r = referencedNames(`-- from raw_only_in_comment\nSELECT "Events".x, 'user_daily' AS s /* prices */ FROM "Events" JOIN org_directory USING (k)`);
    expect(r.names.has('events')).toBe(true);
    expect(r.names.has('org_directory')).toBe(true);
    expect(r.names.has('user_daily')).toBe(false);
    expect(r.names.has('prices')).toBe(false);
    expect(r.names.has('raw_only_in_comment')).toBe(false);
    expect(r.catalog).toBe(false);
  });

  it('a statement that lists the catalog asks for every view', () => {
    for (const sql of ['SHOW TABLES', 'show all tables;', 'SELECT * FROM information_schema.tables', 'SELECT * FROM duckdb_views()', 'DESCRIBE']) {
      expect(referencedNames(sql).catalog, sql).toBe(true);
    }
    expect(referencedNames('DESCRIBE events').catalog).toBe(false);
  });
});
