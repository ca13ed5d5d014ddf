/**
 * The rollup stage on hand-built telemetry with hand-computed expectations: user_daily (token burn
 * per session from events or metrics, cumulative deltas with a restart, attribution from the
 * effective-dated org directory), DAU/WAU/MAU with an empty day and a team change inside the window,
 * incremental days (late data recomputes only its day), and the ledger (an edited model is refused).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROLLUP_TABLES } from '../schemas/rollups';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { rollup, type RollupSummary } from '../functions/lib/jobs/rollup';
import { checksumOf, readSqlTree, SQL_DIR, type SqlTree } from '../functions/lib/sql/files';
import { countPlaceholders } from '../functions/lib/sql/placeholders';
import { TableTestError, tableTestProblems } from '../functions/lib/quality/table-tests';
import { TOOL_USAGE_DAILY } from '../schemas/rollups';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { putRaw, rec, REPO, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-rollup-test-');
afterAll(() => tmp.cleanup());
const config = parseConfig({});
const catalogOf = (store: LocalObjectStore) => new LocalCatalog(store, config.aws.glueDatabase);

const metric = (iso: string, user: string, session: string, name: string, type: string | null, value: number, extra: Record<string, unknown> = {}) =>
  rec(iso, user, {
    signal: 'metric',
    name: `claude_code.${name}`,
    session_id: session,
    metric_type: type,
    value,
    temporality: 'delta',
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
    model: null,
    ...extra,
  });

/** Three developers over 2026-11-18..20 (see each row's comment); nobody is active on the 19th. */
async function fixtureLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  const dir = path.join(store.root, 'reference');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'org-directory.csv'),
    [
      'user_email,user_id,team,department,cost_center,valid_from,valid_to',
      // u1 moves from payments to search on the 20th.
      'u1@example.com,u1,payments,finance-eng,CC-100,2026-11-01,2026-11-20',
      'u1@example.com,u1,search,core,CC-200,2026-11-20,',
    ].join('\n') + '\n',
  );
  await putRaw(store, '2026-11-18T10:05:00Z', [rec('2026-11-18T09:00:00Z', 'u1', { session_id: 's0' })]);
  await putRaw(store, '2026-11-20T12:05:00Z', [
    // u1, session s1: two requests (100 in / 20 out / 0.01 USD each) and an error; its token.usage
    // datapoint is ignored because the session has api_request events.
    rec('2026-11-20T09:00:00Z', 'u1', { session_id: 's1' }),
    rec('2026-11-20T09:05:00Z', 'u1', { session_id: 's1' }),
    rec('2026-11-20T09:06:00Z', 'u1', {
      session_id: 's1',
      name: 'claude_code.api_error',
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
      status_code: 529,
    }),
    metric('2026-11-20T09:07:00Z', 'u1', 's1', 'token.usage', 'input', 500),
    // Edit decisions: two accepts, one reject (and a Bash decision that is not an edit).
    rec('2026-11-20T09:10:00Z', 'u1', {
      session_id: 's1',
      name: 'claude_code.tool_decision',
      tool_name: 'Edit',
      decision: 'accept',
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    }),
    rec('2026-11-20T09:11:00Z', 'u1', {
      session_id: 's1',
      name: 'claude_code.tool_decision',
      tool_name: 'Write',
      decision: 'accept',
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    }),
    rec('2026-11-20T09:12:00Z', 'u1', {
      session_id: 's1',
      name: 'claude_code.tool_decision',
      tool_name: 'Edit',
      decision: 'reject',
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    }),
    rec('2026-11-20T09:13:00Z', 'u1', {
      session_id: 's1',
      name: 'claude_code.tool_decision',
      tool_name: 'Bash',
      decision: 'reject',
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    }),
    // u2 (not in the directory; the record says team infra), metrics-only session s2: delta token
    // usage, and a cumulative lines-added series 10 -> 25, then a restart (new start_time) at 5.
    metric('2026-11-20T10:00:00Z', 'u2', 's2', 'token.usage', 'input', 300, { team_id: 'infra', model: 'claude-sonnet-4-5' }),
    metric('2026-11-20T10:00:00Z', 'u2', 's2', 'token.usage', 'output', 50, { team_id: 'infra', model: 'claude-sonnet-4-5' }),
    metric('2026-11-20T10:01:00Z', 'u2', 's2', 'cost.usage', null, 0.25, { team_id: 'infra', model: 'claude-sonnet-4-5' }),
    metric('2026-11-20T10:00:00Z', 'u2', 's2', 'lines_of_code.count', 'added', 10, {
      temporality: 'cumulative',
      start_time: Date.parse('2026-11-20T09:59:00Z'),
      team_id: 'infra',
    }),
    metric('2026-11-20T10:01:00Z', 'u2', 's2', 'lines_of_code.count', 'added', 25, {
      temporality: 'cumulative',
      start_time: Date.parse('2026-11-20T09:59:00Z'),
      team_id: 'infra',
    }),
    metric('2026-11-20T10:30:00Z', 'u2', 's2', 'lines_of_code.count', 'added', 5, {
      temporality: 'cumulative',
      start_time: Date.parse('2026-11-20T10:29:00Z'),
      team_id: 'infra',
    }),
    metric('2026-11-20T10:31:00Z', 'u2', 's2', 'commit.count', null, 1, { team_id: 'infra' }),
    // u3: a tool result only: in user_daily (one session) but not active.
    rec('2026-11-20T11:00:00Z', 'u3', {
      session_id: 's3',
      name: 'claude_code.tool_result',
      tool_name: 'Bash',
      success: true,
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    }),
  ]);
  await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-20T13:00:00Z') });
  return store;
}

const userDays = (s: RollupSummary) => s.days.filter((d) => d.table === 'user_daily');

async function run(store: LocalObjectStore, options: Parameters<typeof rollup>[4] = {}) {
  const engine = await LocalQueryEngine.open(store, config, options.sql);
  try {
    return await rollup(store, catalogOf(store), engine, config, { now: Date.parse('2026-11-21T02:00:00Z'), ...options });
  } finally {
    engine.close();
  }
}

async function q(store: LocalObjectStore, sql: string): Promise<Record<string, unknown>[]> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return (await engine.query(sql)).rows;
  } finally {
    engine.close();
  }
}

describe('rollup on a hand-built fixture', () => {
  it('user_daily: tokens per session from events or metrics, cumulative deltas with a restart, attribution by day', async () => {
    const store = await fixtureLake();
    const s = await run(store);
    expect(s.modelsApplied).toContain('sql/models/V001__user_daily.sql');
    expect(userDays(s).map((d) => [d.table, d.dt, d.reason, d.rows])).toEqual([
      ['user_daily', '2026-11-18', 'new', 1],
      ['user_daily', '2026-11-20', 'new', 3],
    ]);
    const rows = await q(store, `SELECT * FROM user_daily ORDER BY dt, user_key`);
    const pick = (r: Record<string, unknown>) => ({ ...r });
    // The default prices with the list-price book: claude-sonnet-4-5 on the Claude API at 3 / 15 USD per million tokens.
    expect(rows.map(pick)).toEqual([
      {
        dt: '2026-11-18',
        user_key: 'u1@example.com',
        team: 'payments',
        department: 'finance-eng',
        cost_center: 'CC-100',
        sessions: 1,
        requests: 1,
        errors: 0,
        input_tokens: 100,
        output_tokens: 20,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost_usd: 0.01,
        priced_cost_usd: (100 * 3 + 20 * 15) / 1e6,
        lines_added: 0,
        lines_removed: 0,
        commits: 0,
        pull_requests: 0,
        active_seconds: 0,
        edits_accepted: 0,
        edits_rejected: 0,
      },
      {
        dt: '2026-11-20',
        user_key: 'u1@example.com',
        team: 'search',
        department: 'core',
        cost_center: 'CC-200',
        sessions: 1,
        requests: 2,
        errors: 1,
        input_tokens: 200,
        output_tokens: 40,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost_usd: 0.02,
        priced_cost_usd: (200 * 3 + 40 * 15) / 1e6,
        lines_added: 0,
        lines_removed: 0,
        commits: 0,
        pull_requests: 0,
        active_seconds: 0,
        edits_accepted: 2,
        edits_rejected: 1,
      },
      {
        dt: '2026-11-20',
        user_key: 'u2@example.com',
        team: 'infra',
        department: 'unattributed',
        cost_center: 'unattributed',
        sessions: 1,
        requests: 0,
        errors: 0,
        input_tokens: 300,
        output_tokens: 50,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost_usd: 0.25,
        priced_cost_usd: (300 * 3 + 50 * 15) / 1e6,
        lines_added: 30,
        lines_removed: 0,
        commits: 1,
        pull_requests: 0,
        active_seconds: 0,
        edits_accepted: 0,
        edits_rejected: 0,
      },
      {
        dt: '2026-11-20',
        user_key: 'u3@example.com',
        team: 'unattributed',
        department: 'unattributed',
        cost_center: 'unattributed',
        sessions: 1,
        requests: 0,
        errors: 0,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost_usd: 0,
        priced_cost_usd: null,
        lines_added: 0,
        lines_removed: 0,
        commits: 0,
        pull_requests: 0,
        active_seconds: 0,
        edits_accepted: 0,
        edits_rejected: 0,
      },
    ]);
  });

  it('active users: an idle day is a row of zeros; WAU/MAU windows; a team change counts for both teams', async () => {
    const store = await fixtureLake();
    await run(store);
    expect(await q(store, `SELECT dt, dau, wau, mau FROM active_users_daily ORDER BY dt`)).toEqual([
      { dt: '2026-11-18', dau: 1, wau: 1, mau: 1 },
      { dt: '2026-11-19', dau: 0, wau: 1, mau: 1 },
      { dt: '2026-11-20', dau: 2, wau: 2, mau: 2 },
    ]);
    expect(await q(store, `SELECT team, dau, wau, mau FROM active_users_daily_by_team WHERE dt = DATE '2026-11-20' ORDER BY team`)).toEqual([
      { team: 'infra', dau: 1, wau: 1, mau: 1 },
      { team: 'payments', dau: 0, wau: 1, mau: 1 },
      { team: 'search', dau: 1, wau: 1, mau: 1 },
      { team: 'unattributed', dau: 0, wau: 0, mau: 0 },
    ]);
  });

  it('is incremental: a rerun computes nothing; late data recomputes only its day, atomically', async () => {
    const store = await fixtureLake();
    await run(store);
    expect((await run(store)).days).toEqual([]);
    await putRaw(store, '2026-11-21T03:05:00Z', [rec('2026-11-18T15:00:00Z', 'u4')]);
    await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-21T04:00:00Z') });
    const late = await run(store, { now: Date.parse('2026-11-21T05:00:00Z') });
    expect(userDays(late).map((d) => [d.dt, d.reason, d.rows, d.generation])).toEqual([['2026-11-18', 'late data', 2, 2]]);
    expect(new Set(late.days.map((d) => d.dt))).toEqual(new Set(['2026-11-18'])); // every table: only that day
    expect(await q(store, `SELECT dau FROM active_users_daily WHERE dt = DATE '2026-11-18'`)).toEqual([{ dau: 2 }]);
    // A retry of the same day replaces it: never doubled.
    const again = await run(store, { dt: '2026-11-18', now: Date.parse('2026-11-21T05:10:00Z') });
    expect(userDays(again).map((d) => [d.dt, d.reason, d.rows, d.generation])).toEqual([['2026-11-18', 'requested', 2, 3]]);
    expect(await q(store, `SELECT count(*) AS n FROM user_daily WHERE dt = DATE '2026-11-18'`)).toEqual([{ n: 2 }]);
    // The generations it replaced go after the grace period, never the live one.
    const later = await run(store, { now: Date.parse('2026-11-21T08:00:00Z') });
    expect(later.generationsDeleted).toBe(2 * ROLLUP_TABLES.length); // two replaced generations of 2026-11-18 per table
    const live = (await new PartitionCommits(store).get('user_daily', '2026-11-18'))!;
    expect((await listAll(store, 'rollups/user_daily/dt=2026-11-18/')).every((o) => o.key.startsWith(live.location))).toBe(true);
  });

  it('refuses an applied model that was edited, naming the file and saying "checksum"; a new version recomputes every day', async () => {
    const store = await fixtureLake();
    await run(store);
    const sqlDir = tmp.make();
    cpSync(SQL_DIR, sqlDir, { recursive: true });
    const model = path.join(sqlDir, 'models', 'V001__user_daily.sql');
    writeFileSync(model, readFileSync(model, 'utf8').replace('count(DISTINCT session_id) AS sessions', 'count(DISTINCT session_id) + 0 AS sessions'));
    await expect(run(store, { sql: readSqlTree(sqlDir) })).rejects.toThrow(/sql\/models\/V001__user_daily\.sql: checksum mismatch/);
    // Restored, plus the change as a higher version than any: both days are recomputed by it.
    cpSync(path.join(REPO, 'sql', 'models', 'V001__user_daily.sql'), model);
    writeFileSync(path.join(sqlDir, 'models', 'V900__user_daily.sql'), readFileSync(model, 'utf8'));
    const s = await run(store, { sql: readSqlTree(sqlDir) });
    expect(s.modelsApplied).toEqual(['sql/models/V900__user_daily.sql']);
    expect(userDays(s).map((d) => [d.dt, d.reason])).toEqual([
      ['2026-11-18', 'model changed'],
      ['2026-11-20', 'model changed'],
    ]);
  });
});

describe('seeds and priced cost', () => {
  const priced = parseConfig({
    prices: {
      version: 'list-2026-11',
      rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }],
    },
  });

  it('prices each day from the book with the configured rows on top; a day using a model version the book lacks is null, not a partial sum', async () => {
    const store = await fixtureLake();
    await putRaw(store, '2026-11-18T10:10:00Z', [rec('2026-11-18T09:30:00Z', 'u1', { session_id: 's0', model: 'us.anthropic.claude-opus-4-9-v1:0' })]);
    await compact(store, catalogOf(store), priced, { now: Date.parse('2026-11-20T13:30:00Z') });
    const engine = await LocalQueryEngine.open(store, priced);
    try {
      const s = await rollup(store, catalogOf(store), engine, priced, { now: Date.parse('2026-11-21T02:00:00Z') });
      expect(s.seeds.map((x) => [x.table, x.action, x.rows])).toEqual([
        ['org_directory', 'written', 2],
        ['prices', 'written', 2],
        ['roi_assumptions', 'written', 1],
        ['compliance_policy', 'written', 7], // 4 approved model globs, 2 residency prefixes, the attribution threshold
        ['budgets', 'written', 0], // none configured
        ['min_group_size', 'written', 1],
      ]);
      const rows = (await engine.query(`SELECT dt, user_key, priced_cost_usd FROM user_daily ORDER BY dt, user_key`)).rows;
      expect(rows).toEqual([
        { dt: '2026-11-18', user_key: 'u1@example.com', priced_cost_usd: null }, // sonnet and an unpriced opus request
        { dt: '2026-11-20', user_key: 'u1@example.com', priced_cost_usd: (200 * 3 + 40 * 15) / 1e6 },
        { dt: '2026-11-20', user_key: 'u2@example.com', priced_cost_usd: (300 * 3 + 50 * 15) / 1e6 }, // metrics-only session, priced by its model
        { dt: '2026-11-20', user_key: 'u3@example.com', priced_cost_usd: null }, // no usage to price
      ]);
      // One row per model id seen and stretch of days with one price: the book's list price until the
      // configured row starts, then the configured row; the unknown opus-4-9 has none.
      expect(
        (
          await engine.query(
            `SELECT model_pattern, model_like, CAST(valid_from AS VARCHAR) AS valid_from, CAST(valid_to AS VARCHAR) AS valid_to, version FROM prices ORDER BY valid_from`,
          )
        ).rows,
      ).toEqual([
        { model_pattern: 'claude-sonnet-4-5', model_like: 'claude-sonnet-4-5', valid_from: '2025-09-29', valid_to: '2026-01-01', version: 'list-2026-12-05' },
        { model_pattern: '*claude-sonnet-4*', model_like: 'claude-sonnet-4-5', valid_from: '2026-01-01', valid_to: null, version: 'list-2026-11' },
      ]);
      // Unchanged content is not rewritten.
      const again = await rollup(store, catalogOf(store), engine, priced, { now: Date.parse('2026-11-21T03:00:00Z') });
      expect(again.seeds.every((x) => x.action === 'unchanged')).toBe(true);
    } finally {
      engine.close();
    }
  });

  it('a bad org directory row fails the run with its line, and nothing is written', async () => {
    const store = await fixtureLake();
    const csv = path.join(store.root, 'reference', 'org-directory.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8') + 'u9@example.com,u9,platform,eng,CC-9,2026-13-01,\n');
    await expect(run(store)).rejects.toThrow('reference/org-directory.csv line 4: valid_from "2026-13-01" is not a date YYYY-MM-DD');
    expect(await listAll(store, 'seeds/')).toEqual([]);
    expect(await listAll(store, 'rollups/')).toEqual([]);
  });
});

describe('the events view (CONTRACTS section 4)', () => {
  it('has the raw record columns plus dt, user_key, team, department, cost_center; attribution from the rollup; no event doubled', async () => {
    const store = await fixtureLake();
    await run(store);
    const engine = await LocalQueryEngine.open(store, config);
    try {
      const cols = (await engine.query(`SELECT column_name FROM (DESCRIBE events)`)).rows.map((r) => r.column_name);
      const raw = (await engine.query(`SELECT column_name FROM (DESCRIBE events_curated)`)).rows.map((r) => r.column_name).filter((c) => c !== 'dt');
      expect(new Set(cols)).toEqual(new Set([...raw, 'dt', 'user_key', 'team']));
      expect(cols.length).toBe(raw.length + 3);
      const rows = (await engine.query(`SELECT dt, user_key, team, department, cost_center, count(*) AS n FROM events GROUP BY ALL ORDER BY dt, user_key`))
        .rows;
      expect(rows).toEqual([
        { dt: '2026-11-18', user_key: 'u1@example.com', team: 'payments', department: 'finance-eng', cost_center: 'CC-100', n: 1 },
        { dt: '2026-11-20', user_key: 'u1@example.com', team: 'search', department: 'core', cost_center: 'CC-200', n: 8 },
        { dt: '2026-11-20', user_key: 'u2@example.com', team: 'infra', department: 'unattributed', cost_center: 'unattributed', n: 7 },
        { dt: '2026-11-20', user_key: 'u3@example.com', team: 'unattributed', department: 'unattributed', cost_center: 'unattributed', n: 1 },
      ]);
      expect((await engine.query(`SELECT count(*) AS n FROM events`)).rows[0]).toEqual(
        (await engine.query(`SELECT count(*) AS n FROM events_curated`)).rows[0],
      );
    } finally {
      engine.close();
    }
  });

  it('passes the dialect lint', async () => {
    const { lintSql } = await import('../functions/lib/sql/dialect');
    const { eventsViewSql } = await import('../functions/lib/sql/events-view');
    expect(lintSql(eventsViewSql(), 'events-view')).toEqual([]);
  });
});

describe("table tests: each rollup table's key and not-null columns (schemas/rollups.ts), checked on every day written", () => {
  /** The SQL tree with one model's text rewritten (a broken model, as a bad edit would make it). */
  function withModel(table: string, edit: (sql: string) => string): SqlTree {
    const tree = readSqlTree(SQL_DIR);
    return {
      ...tree,
      models: tree.models.map((m) => {
        if (m.table !== table) return m;
        const sql = edit(m.sql);
        return { ...m, sql, checksum: checksumOf(sql), placeholders: countPlaceholders(sql) };
      }),
    };
  }

  it('every rollup table declares a key made of its own not-null columns', () => {
    for (const t of ROLLUP_TABLES) {
      expect(t.key.length, t.name).toBeGreaterThan(0);
      for (const k of t.key)
        expect(
          t.columns.find((c) => c.name === k),
          `${t.name}.${k}`,
        ).toBeDefined();
    }
  });

  it('names the duplicate key and the null', () => {
    const rows = [
      { tool_name: 'Bash', calls: 1 },
      { tool_name: 'Bash', calls: 2 },
      { tool_name: null, calls: 3 },
    ];
    expect(tableTestProblems(TOOL_USAGE_DAILY, rows)).toEqual([
      '1 row(s) with a null in not-null column tool_name (first: key tool_name=null)',
      '1 duplicate key(s) (tool_name), first: tool_name="Bash" in 2 rows',
    ]);
    expect(tableTestProblems(TOOL_USAGE_DAILY, rows.slice(1))).toHaveLength(1);
    expect(tableTestProblems(TOOL_USAGE_DAILY, [rows[0]!])).toEqual([]);
  });

  it('a model that doubles its rows fails the run, naming the table, day and key, and the day is not committed', async () => {
    const store = await fixtureLake();
    const sql = withModel('tool_usage_daily', (m) => `SELECT * FROM (\n${m}\n) AS a\nUNION ALL\nSELECT * FROM (\n${m}\n) AS b`);
    const failed = run(store, { sql });
    await expect(failed).rejects.toThrow(TableTestError);
    await expect(failed).rejects.toThrow(
      'table test failed: tool_usage_daily 2026-11-20: 1 duplicate key(s) (tool_name), first: tool_name="Bash" in 2 rows; nothing committed',
    );
    const commits = new PartitionCommits(store);
    expect(await commits.get('tool_usage_daily', '2026-11-20')).toBeNull();
    // The tables computed before it are committed; the run stopped at the bad day.
    expect(await commits.get('user_daily', '2026-11-20')).not.toBeNull();
    expect(await commits.get('token_burn_daily', '2026-11-20')).toBeNull();
    // The fix is a new model version (an applied model must not change): it commits the day.
    const good = readSqlTree(SQL_DIR);
    const v11 = good.models.find((m) => m.table === 'tool_usage_daily')!;
    const fixed = { ...sql, models: [...sql.models, { ...v11, version: 99, file: 'sql/models/V099__tool_usage_daily.sql' }] };
    await run(store, { sql: fixed });
    expect(await commits.get('tool_usage_daily', '2026-11-20')).toMatchObject({ rows: 1, model: { version: 99 } });
  });

  it('a null in a not-null column fails the run the same way', async () => {
    const store = await fixtureLake();
    const sql = withModel('tool_usage_daily', (m) =>
      m.replace("coalesce(tool_name, 'unknown') AS tool_name", "nullif(coalesce(tool_name, 'unknown'), 'Bash') AS tool_name"),
    );
    await expect(run(store, { sql })).rejects.toThrow(
      'table test failed: tool_usage_daily 2026-11-20: 1 row(s) with a null in not-null column tool_name (first: key tool_name=null); nothing committed',
    );
    expect(await new PartitionCommits(store).get('tool_usage_daily', '2026-11-20')).toBeNull();
  });
});
