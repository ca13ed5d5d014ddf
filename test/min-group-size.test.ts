/**
 * Minimum group size (issue 21, config privacy.minGroupSize, k = 5 by default): the leadership views
 * the dashboards and QuickSight datasets read merge a team of fewer than k people on a row's day (or
 * month) into 'other teams', keeping totals.
 *
 * End to end on a generated lake (40 developers x 10 days) whose org directory is rewritten so that
 * three teams are small ('solo' of 1, 'pair' of 2, 'trio' of 3 developers) beside the generator's
 * teams: every row of every leadership view is joined back to the developers behind it in user_daily
 * (0 or at least k), the totals per day and month equal the unmerged views', and the published HTML
 * dashboards carry only those rows. Then scenarios on hand-made rollup rows pin the rules: the next
 * smallest team is merged when 'other teams' alone would be small (no recovery by subtraction),
 * distinct people in 'other teams', k = 1 merges nothing, and no anomaly about a developer or a small
 * group reaches a leadership dashboard.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { installTrinoCompat } from '../functions/lib/engine/trino-compat';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { publish } from '../functions/lib/jobs/publish';
import { rollup } from '../functions/lib/jobs/rollup';
import { loadTemplates } from '../functions/lib/publish/definitions';
import { HtmlPublisher } from '../functions/lib/publish/local';
import type { PublishSummary } from '../functions/lib/publish/port';
import { readSqlTree } from '../functions/lib/sql/files';
import { LocalObjectStore } from '../functions/lib/store/local';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-min-group-size-');
afterAll(() => tmp.cleanup());

const K = 5;
const END = '2026-11-20';
const OTHER = 'other teams';
const SMALL = { solo: 1, pair: 2, trio: 3 } as const;
const config = parseConfig({
  prices: { version: 'list-test', rows: [{ model: '*claude*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }] },
  publish: { snapshot: { pdf: [], csv: ['executive/roi-by-team-month'] } },
});

let lake: LocalObjectStore;
let engine: LocalQueryEngine;
let summary: PublishSummary;
const q = async (sql: string) => (await engine.query(sql)).rows;

/** Puts the first developers with one directory row into the small teams (the directory decides attribution). */
function craftDirectory(csv: string): { csv: string; moved: Map<string, string> } {
  const [header, ...lines] = csv.trim().split('\n');
  const cols = header!.split(',');
  const team = cols.indexOf('team');
  const email = cols.indexOf('user_email');
  const id = cols.indexOf('user_id');
  const keyOf = (cells: string[]) => cells[email] || cells[id]!;
  const rowsPer = new Map<string, number>();
  for (const l of lines) rowsPer.set(keyOf(l.split(',')), (rowsPer.get(keyOf(l.split(','))) ?? 0) + 1);
  const wanted = Object.entries(SMALL).flatMap(([t, n]) => Array.from({ length: n }, () => t));
  const moved = new Map<string, string>();
  const out = lines.map((l) => {
    const cells = l.split(',');
    const key = keyOf(cells);
    if (rowsPer.get(key) !== 1 || !cells[email] || moved.size >= wanted.length) return l;
    const t = wanted[moved.size]!;
    moved.set(key.toLowerCase(), t);
    cells[team] = t;
    return cells.join(',');
  });
  return { csv: `${[header, ...out].join('\n')}\n`, moved };
}

beforeAll(async () => {
  lake = new LocalObjectStore(tmp.make());
  const catalog = new LocalCatalog(lake, config.aws.glueDatabase);
  await generate(lake, config, { users: 40, days: 10, end: END, seed: 'kanon', faults: false });
  const file = path.join(lake.root, ...config.orgDirectory.key.split('/'));
  const crafted = craftDirectory(readFileSync(file, 'utf8'));
  expect(crafted.moved.size).toBe(6);
  writeFileSync(file, crafted.csv);
  await compact(lake, catalog, config);
  engine = await LocalQueryEngine.open(lake, config);
  await rollup(lake, catalog, engine, config);
  await engine.refresh();
  summary = await publish(new HtmlPublisher(lake, engine, config, () => new Date('2026-11-21T06:00:00Z')), config, {
    now: Date.parse('2026-11-21T06:00:00Z'),
    runId: 'kanon001',
  });
}, 600_000);

afterAll(() => engine?.close());

/**
 * The developers behind each (period, team) of a leadership view, from user_daily: a named team's
 * own; for 'other teams' every developer of a team not shown by name in that period. `whole`: the
 * view shows no team by name in that period (its 'other teams' is the organization).
 */
async function peopleBehind(view: string, period: 'dt' | 'month'): Promise<{ period: string; team: string; people: number; whole: boolean }[]> {
  const p = period === 'dt' ? 'CAST(dt AS VARCHAR)' : 'substr(CAST(dt AS VARCHAR), 1, 7)';
  return (await q(`
    WITH shown AS (SELECT DISTINCT CAST(${period} AS VARCHAR) AS period, team FROM ${view}),
    named AS (SELECT period, team FROM shown WHERE team <> '${OTHER}'),
    ud AS (SELECT DISTINCT ${p} AS period, team, user_key FROM user_daily),
    grouped AS (
      SELECT u.period, u.user_key, coalesce(n.team, '${OTHER}') AS team
      FROM ud u LEFT JOIN named n ON n.period = u.period AND n.team = u.team
    )
    SELECT s.period, s.team, count(DISTINCT g.user_key) AS people, count(DISTINCT n.team) = 0 AS whole
    FROM shown s
    LEFT JOIN grouped g ON g.period = s.period AND g.team = s.team
    LEFT JOIN named n ON n.period = s.period
    GROUP BY s.period, s.team
    ORDER BY 1, 2`)) as { period: string; team: string; people: number; whole: boolean }[];
}

const small = (n: number) => n >= 1 && n < K;

describe('minimum group size on a generated lake with teams of 1, 2 and 3 developers (k = 5)', () => {
  it('the lake has small teams to merge: rows of 1..k-1 developers in user_daily and in the analysts’ views', async () => {
    const perDay = await q(`SELECT dt, team, count(*) AS n FROM user_daily GROUP BY dt, team`);
    expect(perDay.filter((r) => small(Number(r.n))).length).toBeGreaterThan(10);
    expect(new Set(perDay.filter((r) => (r.team as string) in SMALL).map((r) => r.team))).toEqual(new Set(Object.keys(SMALL)));
    const byTeam = await q(`SELECT dau, wau, mau FROM active_users_daily_by_team`);
    expect(byTeam.some((r) => small(Number(r.dau)))).toBe(true);
  });

  it('no row of a leadership view has 1..k-1 developers behind it (joined back to user_daily), and the small teams never show', async () => {
    const views: [string, 'dt' | 'month'][] = [
      ['leadership_active_users_daily_by_team', 'dt'],
      ['leadership_token_burn_daily', 'dt'],
      ['leadership_cache_savings_daily', 'dt'],
      ['leadership_team_daily', 'dt'],
      ['leadership_roi_monthly', 'month'],
      ['leadership_interaction_latency_daily', 'dt'],
      // The whole organization's row ('ALL') is not a team.
      [`(SELECT * FROM leadership_compliance_daily WHERE team <> 'ALL') AS c`, 'dt'],
    ];
    for (const [view, period] of views) {
      const rows = await peopleBehind(view, period);
      expect(rows.length, view).toBeGreaterThan(0);
      // 1..k-1 only where the whole organization is that small (a weekend day): then 'other teams' is the organization.
      expect(
        rows.filter((r) => small(Number(r.people)) && !(r.team === OTHER && r.whole)),
        view,
      ).toEqual([]);
      expect(
        rows.filter((r) => r.team in SMALL),
        view,
      ).toEqual([]);
      expect(
        rows.some((r) => r.team === OTHER),
        view,
      ).toBe(true);
    }
    // The people counts of the team rows of leadership_team_daily are the developers behind them.
    const counted = await q(`SELECT CAST(dt AS VARCHAR) AS period, team, developers FROM leadership_team_daily ORDER BY 1, 2`);
    expect(counted.map((r) => [r.period, r.team, Number(r.developers)])).toEqual(
      (await peopleBehind('leadership_team_daily', 'dt')).map((r) => [r.period, r.team, Number(r.people)]),
    );
    // The exception: days the whole organization had fewer than k developers show one row, equal to it.
    const wholeDays = (await peopleBehind('leadership_team_daily', 'dt')).filter((r) => small(Number(r.people)));
    for (const r of wholeDays) expect((await q(`SELECT count(*) AS n FROM user_daily WHERE dt = DATE '${r.period}'`))[0]!.n).toBe(r.people);
  });

  it('DAU, WAU and MAU by team are never 1..k-1; other teams counts distinct developers across the merged teams', async () => {
    const rows = await q(`SELECT CAST(dt AS VARCHAR) AS dt, team, dau, wau, mau FROM leadership_active_users_daily_by_team ORDER BY dt, team`);
    const org = new Map((await q(`SELECT CAST(dt AS VARCHAR) AS dt, dau, wau, mau FROM active_users_daily`)).map((r) => [r.dt, r]));
    const lowRows = rows.filter((r) => small(Number(r.dau)) || small(Number(r.wau)) || small(Number(r.mau)));
    // Only where the organization itself had fewer than k active developers: then the day's one row is the organization's.
    for (const r of lowRows) {
      expect(rows.filter((x) => x.dt === r.dt)).toEqual([r]);
      const o = org.get(r.dt)!;
      expect([r.dau, r.wau, r.mau]).toEqual([o.dau, o.wau, o.mau]);
    }
    // Recomputed here from the active developer-days: distinct over the teams not shown by name.
    const days = await q(`SELECT CAST(dt AS VARCHAR) AS dt, team, user_key FROM active_user_days`);
    const shown = new Map<string, Set<string>>();
    for (const r of rows) if (r.team !== OTHER) (shown.get(r.dt as string) ?? shown.set(r.dt as string, new Set()).get(r.dt as string)!).add(r.team as string);
    const ms = (d: string) => Date.parse(`${d}T00:00:00Z`);
    let checked = 0;
    for (const r of rows.filter((x) => x.team === OTHER)) {
      const named = shown.get(r.dt as string) ?? new Set();
      const within = (lag: number) =>
        new Set(
          days
            .filter(
              (a) => !named.has(a.team as string) && ms(a.dt as string) <= ms(r.dt as string) && ms(a.dt as string) > ms(r.dt as string) - lag * 86_400_000,
            )
            .map((a) => a.user_key),
        ).size;
      expect([Number(r.dau), Number(r.wau), Number(r.mau)], r.dt as string).toEqual([within(1), within(7), within(28)]);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('totals per day (and month) equal the unmerged views', async () => {
    const pairs: [string, string][] = [
      [
        `SELECT CAST(dt AS VARCHAR) AS k, sum(dau) AS v FROM leadership_active_users_daily_by_team GROUP BY dt`,
        `SELECT CAST(dt AS VARCHAR) AS k, sum(dau) AS v FROM active_users_daily GROUP BY dt`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) || model || token_type AS k, sum(tokens) AS v FROM leadership_token_burn_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) || model || token_type AS k, sum(tokens) AS v FROM token_burn_daily GROUP BY 1`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) AS k, sum(priced_cost_usd) AS v FROM leadership_token_burn_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) AS k, sum(priced_cost_usd) AS v FROM token_burn_daily GROUP BY 1`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) AS k, sum(savings_usd) AS v FROM leadership_cache_savings_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) AS k, sum(savings_usd) AS v FROM cache_savings_daily GROUP BY 1`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) AS k, sum(cost_usd) || '/' || sum(sessions) || '/' || sum(commits) || '/' || sum(developers) AS v FROM leadership_team_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) AS k, sum(cost_usd) || '/' || sum(sessions) || '/' || sum(commits) || '/' || count(*) AS v FROM user_daily GROUP BY 1`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) || model AS k, sum(interactions) || '/' || sum(llm_ms + tool_ms + waiting_on_user_ms) AS v FROM leadership_interaction_latency_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) || model AS k, sum(interactions) || '/' || sum(llm_ms + tool_ms + waiting_on_user_ms) AS v FROM interaction_latency_daily GROUP BY 1`,
      ],
      [
        `SELECT CAST(dt AS VARCHAR) || control_id || (team = 'ALL') AS k, sum(evaluated) || '/' || sum(violations) AS v FROM leadership_compliance_daily GROUP BY 1`,
        `SELECT CAST(dt AS VARCHAR) || control_id || (team = 'ALL') AS k, sum(evaluated) || '/' || sum(violations) AS v FROM compliance_daily GROUP BY 1`,
      ],
      [
        `SELECT month AS k, sum(cost_usd) || '/' || sum(value_usd) AS v FROM leadership_roi_monthly GROUP BY 1`,
        `SELECT month AS k, sum(cost_usd) || '/' || sum(value_usd) AS v FROM roi_monthly GROUP BY 1`,
      ],
    ];
    for (const [merged, base] of pairs) {
      const sorted = async (sql: string) => (await q(`${sql} ORDER BY 1`)).map((r) => [r.k as string, String(r.v).split('/').map(Number)] as const);
      const want = await sorted(base);
      const got = await sorted(merged);
      expect(want.length).toBeGreaterThan(0);
      expect(
        got.map((r) => r[0]),
        merged,
      ).toEqual(want.map((r) => r[0]));
      // Money is a sum of doubles in another order: equal to the micro-dollar.
      got.forEach(([k, values], i) => values.forEach((v, j) => expect(v, `${merged} ${k}`).toBeCloseTo(want[i]![1][j]!, 6)));
    }
    // Compliance: the organization's rows and the named teams' keep their status; other teams fails a control one of its teams fails ('fail' < 'pass')
    // (attribution coverage aside: a share of the group's cost).
    const status = await q(`
      SELECT l.team, l.control_id, l.status, c.status AS own, (SELECT min(x.status) FROM compliance_daily x JOIN team_groups_daily g ON g.dt = x.dt AND g.team = x.team
        WHERE x.dt = l.dt AND x.control_id = l.control_id AND g.reported_team = '${OTHER}' AND x.team <> 'ALL') AS worst
      FROM leadership_compliance_daily l LEFT JOIN compliance_daily c ON c.dt = l.dt AND c.control_id = l.control_id AND c.team = l.team`);
    expect(status.length).toBeGreaterThan(0);
    for (const r of status) {
      if (r.team !== OTHER) expect(r.status, `${r.team} ${r.control_id}`).toBe(r.own);
      else if (r.control_id !== 'attribution_coverage') expect(r.status, `${r.control_id}`).toBe(r.worst);
    }
    // ROI % of a group is recomputed from its sums, never summed.
    for (const r of await q(`SELECT cost_usd, value_usd, roi_pct FROM leadership_roi_monthly WHERE cost_usd > 0`))
      expect(Number(r.roi_pct)).toBeCloseTo(((Number(r.value_usd) - Number(r.cost_usd)) / Number(r.cost_usd)) * 100, 6);
  });

  it('the published dashboards read the leadership views: no small team, no developer, no row of 1..k-1 developers in the page data', async () => {
    expect(summary.status).toBe('completed');
    const emails = (await q(`SELECT DISTINCT user_key FROM user_daily WHERE user_key LIKE '%@%'`)).map((r) => r.user_key as string);
    expect(emails.length).toBeGreaterThan(0);
    const named = new Map<string, Set<string>>();
    for (const r of await q(`SELECT CAST(dt AS VARCHAR) AS dt, reported_team FROM team_groups_daily`))
      (named.get(r.dt as string) ?? named.set(r.dt as string, new Set()).get(r.dt as string)!).add(r.reported_team as string);
    const monthly = new Set((await q(`SELECT month || '/' || reported_team AS k FROM team_groups_monthly`)).map((r) => r.k));
    let rows = 0;
    for (const dash of ['executive', 'operations', 'compliance']) {
      const html = readFileSync(path.join(lake.root, 'dashboards', dash, 'index.html'), 'utf8');
      for (const e of emails) expect(html.includes(e), `${dash} holds ${e}`).toBe(false);
      const data = JSON.parse(/<script type="application\/json" id="cclake-dashboard">([\s\S]*?)<\/script>/.exec(html)![1]!) as {
        visuals: { id: string; rows: Record<string, unknown>[] }[];
      };
      for (const v of data.visuals)
        for (const r of v.rows) {
          if (typeof r.team !== 'string' || r.team === 'ALL') continue;
          rows++;
          expect(Object.keys(SMALL), `${dash}/${v.id}`).not.toContain(r.team);
          if (typeof r.dt === 'string') expect([...(named.get(r.dt) ?? [])], `${dash}/${v.id} ${r.dt}`).toContain(r.team);
          if (typeof r.month === 'string') expect(monthly.has(`${r.month}/${r.team}`), `${dash}/${v.id} ${r.month} ${r.team}`).toBe(true);
        }
    }
    expect(rows).toBeGreaterThan(100);
    const csv = readFileSync(path.join(lake.root, 'reports', 'snapshots', '2026-11-21', 'executive-roi-by-team-month.csv'), 'utf8');
    expect(csv).toContain(OTHER);
    for (const t of Object.keys(SMALL)) expect(csv).not.toMatch(new RegExp(`(^|\\n|,)${t},`));
  });
});

describe('the QuickSight definitions: leadership datasets only on dashboards', () => {
  it('every dataset a dashboard reads with a team column reads a leadership view, and none has a user_key column', () => {
    const templates = loadTemplates();
    const used = new Set(
      templates.dashboards.flatMap((d) => d.Definition.DataSetIdentifierDeclarations.map((x) => /\$\{dataset:(.+)\}/.exec(x.DataSetArn)![1]!)),
    );
    for (const ds of templates.dataSets.filter((d) => used.has(d.DataSetId))) {
      const cols = ds.Columns.map((c) => c.Name);
      expect(cols, ds.DataSetId).not.toContain('user_key');
      if (cols.includes('team') || cols.includes('cost_center') || ds.DataSetId === 'anomalies') expect(ds.View, ds.DataSetId).toMatch(/^leadership_/);
    }
  });
});

// ---- the rules on hand-made rollup rows ----------------------------------------------------------

/** A DuckDB session with user_daily (one row per developer and day) and the views up to the leadership ones. */
async function session(k: number | null, people: [string, string, string][], anomalies: [string, string, string][] = []): Promise<DuckDBEngine> {
  const e = await DuckDBEngine.open();
  await installTrinoCompat(e);
  const values = people.map(([dt, team, user]) => `(DATE '${dt}', '${team}', '${user}')`).join(', ');
  await e.run(`CREATE TABLE user_daily AS
    SELECT dt, team, user_key, 'cc' AS cost_center, 1::BIGINT AS requests, 10::BIGINT AS input_tokens, 0::BIGINT AS output_tokens,
      0::BIGINT AS cache_read_tokens, 0::BIGINT AS cache_creation_tokens
    FROM (VALUES ${values}) AS t (dt, team, user_key)`);
  await e.run(`CREATE TABLE min_group_size (k BIGINT)`);
  if (k !== null) await e.run(`INSERT INTO min_group_size VALUES (${k})`);
  const a = anomalies.map(([dt, type, entity]) => `(DATE '${dt}', 'spike', '${type}', '${entity}', 1.0, 1.0, 1.0, 'warning', 'm')`);
  await e.run(`CREATE TABLE anomalies AS SELECT * FROM (VALUES ${a.length ? a.join(', ') : `(DATE '2000-01-01', 'x', 'model', 'x', 1.0, 1.0, 1.0, 'warning', 'm')`})
    AS t (dt, detector, entity_type, entity, observed, baseline, score, severity, message)`);
  const wanted = [
    'active_user_days',
    'rollup_days',
    'active_users_daily_by_team',
    'team_groups_daily',
    'team_groups_monthly',
    'leadership_active_users_daily_by_team',
    'leadership_anomalies',
  ];
  for (const v of readSqlTree().views.filter((x) => wanted.includes(x.view))) await e.run(v.sql);
  return e;
}

const team = (n: number, name: string, dt = '2026-11-02'): [string, string, string][] =>
  Array.from({ length: n }, (_, i) => [dt, name, `${name}${i}@example.com`]);

const groups = async (e: DuckDBEngine, dt = '2026-11-02') =>
  Object.fromEntries(
    (await e.query(`SELECT team, reported_team FROM team_groups_daily WHERE dt = DATE '${dt}' ORDER BY team`)).rows.map((r) => [r.team, r.reported_team]),
  );

describe('the merge rules (team_groups_daily, team_groups_monthly)', () => {
  it('one small team alone: the next smallest team is merged too, so the small one cannot be recovered by subtraction', async () => {
    const e = await session(3, [...team(6, 'big'), ...team(4, 'mid'), ...team(5, 'mid2'), ...team(1, 'solo')]);
    try {
      // other teams = solo (1) would be below k: mid, the smallest team with people, joins it.
      expect(await groups(e)).toEqual({ big: 'big', mid: OTHER, mid2: 'mid2', solo: OTHER });
      expect((await e.query(`SELECT team, dau FROM leadership_active_users_daily_by_team ORDER BY team`)).rows).toEqual([
        { team: 'big', dau: 6 },
        { team: 'mid2', dau: 5 },
        { team: OTHER, dau: 5 },
      ]);
      expect((await e.query(`SELECT team, reported_team, people FROM team_groups_monthly ORDER BY team`)).rows).toEqual([
        { team: 'big', reported_team: 'big', people: 6 },
        { team: 'mid', reported_team: OTHER, people: 4 },
        { team: 'mid2', reported_team: 'mid2', people: 5 },
        { team: 'solo', reported_team: OTHER, people: 1 },
      ]);
    } finally {
      e.close();
    }
  });

  it('small teams that together reach k are merged alone; k = 1 merges nothing; a missing k merges every team', async () => {
    const people = [...team(6, 'big'), ...team(1, 'one'), ...team(2, 'two')];
    const e3 = await session(3, people);
    const e1 = await session(1, people);
    const none = await session(null, people);
    try {
      expect(await groups(e3)).toEqual({ big: 'big', one: OTHER, two: OTHER });
      expect(await groups(e1)).toEqual({ big: 'big', one: 'one', two: 'two' });
      expect(await groups(none)).toEqual({ big: OTHER, one: OTHER, two: OTHER });
    } finally {
      for (const e of [e3, e1, none]) e.close();
    }
  });

  it('a quiet day: a team with a DAU of 1..k-1 is merged though its MAU reaches k, and other teams counts a mover once', async () => {
    // Day 1: 'a' has 4 developers, 'b' 3, 'c' 5. Day 2: 'a' has 1 active, 'b' 2 (one of them moved from 'a').
    const d1 = '2026-11-02';
    const d2 = '2026-11-03';
    const people: [string, string, string][] = [
      ...team(4, 'a', d1),
      ...team(3, 'b', d1),
      ...team(5, 'c', d1),
      [d2, 'a', 'a1@example.com'],
      [d2, 'b', 'a0@example.com'],
      [d2, 'b', 'b0@example.com'],
      ...team(5, 'c', d2),
    ];
    const e = await session(4, people);
    try {
      // Day 1: b (3) is small and alone, so a (4), the smallest other team, joins it.
      expect(await groups(e, d1)).toEqual({ a: OTHER, b: OTHER, c: 'c' });
      // Day 2: a (DAU 1, MAU 4) and b (DAU 2) are small; together 3 active < 4, so c joins them too.
      expect(await groups(e, d2)).toEqual({ a: OTHER, b: OTHER, c: OTHER });
      const rows = (await e.query(`SELECT CAST(dt AS VARCHAR) AS dt, team, dau, wau, mau FROM leadership_active_users_daily_by_team ORDER BY dt, team`)).rows;
      // Day 2's WAU is 12 distinct developers (a0..a3, b0..b2, c0..c4): a0 moved from a to b and counts
      // once, where the teams' own WAUs add up to 4 + 4 + 5 = 13.
      expect(rows).toEqual([
        { dt: d1, team: 'c', dau: 5, wau: 5, mau: 5 },
        { dt: d1, team: OTHER, dau: 7, wau: 7, mau: 7 },
        { dt: d2, team: OTHER, dau: 8, wau: 12, mau: 12 },
      ]);
      const own = (await e.query(`SELECT sum(wau) AS w FROM active_users_daily_by_team WHERE dt = DATE '${d2}'`)).rows[0]!;
      expect(Number(own.w)).toBe(13);
    } finally {
      e.close();
    }
  });

  it('leadership anomalies: none about a developer, a merged team or a small cost center', async () => {
    const e = await session(
      3,
      [...team(6, 'big'), ...team(1, 'solo')].map(([dt, t, u]) => [dt, t, u]),
      [
        ['2026-11-02', 'user', 'big0@example.com'],
        ['2026-11-02', 'team', 'big'],
        ['2026-11-02', 'team', 'solo'],
        ['2026-11-02', 'cost_center', 'cc'],
        ['2026-11-02', 'cost_center', 'tiny-cc'],
        ['2026-11-02', 'model', 'claude-x'],
      ],
    );
    try {
      // k = 3: solo (1) and, to hide it, big (6) are merged; so no team anomaly is left.
      expect((await e.query(`SELECT entity_type, entity FROM leadership_anomalies ORDER BY entity_type, entity`)).rows).toEqual([
        { entity_type: 'cost_center', entity: 'cc' },
        { entity_type: 'model', entity: 'claude-x' },
      ]);
    } finally {
      e.close();
    }
  });
});
