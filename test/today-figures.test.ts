/**
 * The dashboards' "today" figures (issue 20, freshness): today so far from the intraday rollup,
 * through the leadership view `leadership_daily_figures` (organization totals; a day of fewer than
 * privacy.minGroupSize active developers shows no figure), on the local HTML dashboard (labelled
 * intraday, as of the run) and in the QuickSight definitions; equal to a direct query of `events`
 * for the day; `final` once the daily rollup has the day. And the intraday run beside the daily
 * rollup: it does not wait for the lake lock, and both runs' results are right. Real lake, real
 * DuckDB, the real publisher.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../functions/cli/demo';
import { main } from '../functions/cli/main';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { erase } from '../functions/lib/jobs/erase';
import { generate } from '../functions/lib/jobs/generate';
import { publish } from '../functions/lib/jobs/publish';
import { rollup } from '../functions/lib/jobs/rollup';
import { COMPACT_LOCK_PREFIX, INTRADAY_LOCK_PREFIX, takeLakeLock } from '../functions/lib/lock/lease';
import { dataSetIdOf, fieldsOf, loadTemplates, visualInfo } from '../functions/lib/publish/definitions';
import { defaultFilter } from '../functions/lib/publish/html/page';
import { chartData, tableValues, type VisualModel } from '../functions/lib/publish/html/runtime';
import { HtmlPublisher } from '../functions/lib/publish/local';
import { TODAY_DATASET } from '../functions/lib/publish/today';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll, type PutOptions } from '../functions/lib/store/port';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-today-');
afterAll(() => tmp.cleanup());

// k = 5 (the default minimum group size); no PDF or CSV snapshots (this test is about the data).
const config = parseConfig({ publish: { snapshot: { pdf: [], csv: [] } } });
const TODAY = '2026-11-21';

/**
 * The lake as the daily rollup run sees it, paused before its first `user_daily` commit until
 * `release` is called: it then holds the lake lock for as long as the test wants.
 */
class PausedStore extends LocalObjectStore {
  paused: Promise<void>;
  private reached!: () => void;
  private gate: Promise<void>;
  release!: () => void;
  constructor(root: string) {
    super(root);
    this.paused = new Promise((r) => {
      this.reached = r;
    });
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }
  override async putIfVersion(key: string, body: Uint8Array | string, expect: string | null, options?: PutOptions): Promise<string | null> {
    if (key.startsWith('_cclake/commits/user_daily/')) {
      this.reached();
      await this.gate;
    }
    return super.putIfVersion(key, body, expect, options);
  }
}

let store: LocalObjectStore;
let catalog: LocalCatalog;

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return (await engine.query(sql)).rows;
  } finally {
    engine.close();
  }
}

/** Today so far straight from `events` (every record of the day here is an api_request event). */
const directToday = (dt: string) =>
  query(`SELECT CAST(count(DISTINCT user_key) AS BIGINT) AS active_users, CAST(count(*) AS BIGINT) AS requests,
      CAST(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0) + coalesce(cache_read_tokens, 0) + coalesce(cache_creation_tokens, 0)) AS BIGINT) AS tokens, sum(cost_usd) AS cost_usd
    FROM events WHERE dt = DATE '${dt}' AND name = 'claude_code.api_request'`);

const figures = () => query(`SELECT CAST(dt AS VARCHAR) AS dt, source, active_users, requests, tokens, cost_usd FROM leadership_daily_figures ORDER BY dt`);

/** Publishes the local dashboards and reads back what the executive page's visuals hold. */
async function publishedExecutive(): Promise<{ visuals: VisualModel[]; firstDate: string; lastDate: string }> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await publish(new HtmlPublisher(store, engine, config), config);
  } finally {
    engine.close();
  }
  const html = readFileSync(path.join(store.root, 'dashboards', 'executive', 'index.html'), 'utf8');
  const json = /<script type="application\/json" id="cclake-dashboard">(.*?)<\/script>/s.exec(html)![1]!.replace(/<\\!--/g, '<!--');
  return JSON.parse(json);
}

describe("the dashboards' today figures", () => {
  beforeAll(async () => {
    store = new LocalObjectStore(tmp.make());
    catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await generate(store, config, { users: 12, days: 2, end: '2026-11-20', seed: 'today' });
    await compact(store, catalog, config);
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config);
    } finally {
      engine.close();
    }
    // Today: three developers' first hour compacted already, then six developers' later records in the raw tail.
    await putRaw(store, '2026-11-21T08:10:00Z', [
      rec('2026-11-21T08:00:00Z', 't1'),
      rec('2026-11-21T08:01:00Z', 't2', { input_tokens: 300 }),
      rec('2026-11-21T08:02:00Z', 't3', { cost_usd: 0.25 }),
    ]);
    await compact(store, catalog, config);
    await putRaw(
      store,
      '2026-11-21T09:40:00Z',
      ['t1', 't4', 't5', 't6', 't7'].map((u, i) => rec(`2026-11-21T09:0${i}:00Z`, u, { input_tokens: 1000 + i, cache_read_tokens: 50 })),
    );
  }, 180_000);

  it('an intraday run completes while the daily rollup holds the lake lock, and both compute their days right', async () => {
    const paused = new PausedStore(store.root);
    const dailyEngine = await LocalQueryEngine.open(paused, config);
    const intradayEngine = await LocalQueryEngine.open(store, config);
    try {
      // The daily rollup has the compacted first hour of the 21st to compute: it stops holding the lake lock.
      const daily = rollup(paused, new LocalCatalog(paused, config.aws.glueDatabase), dailyEngine, config);
      await paused.paused;
      const locks = await listAll(store, COMPACT_LOCK_PREFIX);
      const holder = await Promise.all(locks.map(async (o) => JSON.parse(new TextDecoder().decode(await store.get(o.key))).owner));
      expect(holder).toEqual([expect.stringMatching(/^rollup /)]);
      const intraday = await rollup(store, catalog, intradayEngine, config, { intraday: true, dt: TODAY });
      expect(intraday.status).toBe('completed');
      expect(intraday.days.map((d) => [d.table, d.dt, d.rows])).toEqual([['intraday_user_daily', TODAY, 7]]);
      // The daily run still held the lock the whole time; now it goes on.
      expect((await listAll(store, COMPACT_LOCK_PREFIX)).length).toBe(1);
      paused.release();
      const done = await daily;
      expect(done.status).toBe('completed');
      expect(done.days.filter((d) => d.table === 'user_daily').map((d) => [d.dt, d.rows])).toEqual([[TODAY, 3]]);
    } finally {
      paused.release();
      dailyEngine.close();
      intradayEngine.close();
    }
    expect(await listAll(store, '_cclake/locks/')).toEqual([]);
    // The intraday day is curated ∪ tail; the daily one the curated first hour only.
    const perUser = `SELECT user_key, CAST(count(*) AS BIGINT) AS requests, CAST(sum(input_tokens) AS BIGINT) AS input_tokens FROM %s WHERE dt = DATE '${TODAY}' AND name = 'claude_code.api_request' GROUP BY ALL ORDER BY user_key`;
    expect(await query(`SELECT user_key, requests, input_tokens FROM intraday_user_daily WHERE dt = DATE '${TODAY}' ORDER BY user_key`)).toEqual(
      await query(perUser.replace('%s', 'events')),
    );
    expect(await query(`SELECT user_key, requests, input_tokens FROM user_daily WHERE dt = DATE '${TODAY}' ORDER BY user_key`)).toEqual(
      await query(perUser.replace('%s', '(SELECT * FROM events WHERE record_id IN (SELECT record_id FROM events_curated)) AS curated')),
    );
  }, 180_000);

  it('today equals a direct query of events for today so far, and the HTML dashboard shows it, labelled intraday as of its run', async () => {
    const [want] = await directToday(TODAY);
    expect(want).toMatchObject({ active_users: 7, requests: 8 });
    const today = (await figures()).at(-1)!;
    expect(today).toEqual({ dt: TODAY, source: 'intraday', active_users: 7, requests: 8, tokens: Number(want!.tokens), cost_usd: expect.any(Number) });
    expect(today.cost_usd).toBeCloseTo(Number(want!.cost_usd), 9);

    const page = await publishedExecutive();
    const filter = defaultFilter(page.firstDate, page.lastDate);
    const visual = (id: string) => page.visuals.find((v) => v.id === id)!;
    const kpi = (id: string) => chartData(visual(id), filter)[0];
    expect(kpi('today-active-users')).toMatchObject({ value: 7, when: `on ${TODAY}` });
    expect(kpi('today-requests')).toMatchObject({ value: 8, when: `on ${TODAY}` });
    expect(kpi('today-tokens')).toMatchObject({ value: Number(want!.tokens), when: `on ${TODAY}` });
    expect(kpi('today-cost')!.value).toBeCloseTo(Number(want!.cost_usd), 9);
    // The label says which run computed the figure: the intraday commit's time.
    const commit = JSON.parse(new TextDecoder().decode(await store.get(`_cclake/commits/intraday_user_daily/dt=${TODAY}.json`)));
    const asOf = `${String(commit.committedAt).slice(0, 16).replace('T', ' ')}Z`;
    for (const id of ['today-active-users', 'today-requests', 'today-tokens', 'today-cost', 'today-and-recent-days'])
      expect(visual(id).subtitle).toContain(`${TODAY} so far: intraday, as of ${asOf} (final after the daily rollup)`);
    // The table carries the source of every day: today intraday, the generated days final.
    const table = tableValues(visual('today-and-recent-days'), filter);
    expect(table.columns.map((c) => c.title)).toEqual(['Day', 'Source', 'Active users', 'Requests', 'Tokens', 'Cost USD']);
    expect(table.rows.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([
      [TODAY, 'intraday', 7, 8],
      ...(await query(`SELECT CAST(dt AS VARCHAR) AS dt, dau FROM active_users_daily WHERE dt < DATE '${TODAY}' ORDER BY dt DESC`)).map((r) => [
        r.dt,
        'final',
        r.dau,
        expect.any(Number),
      ]),
    ]);
    // Organization totals: no team, no developer anywhere in the figures' data.
    for (const v of page.visuals.filter((x) => x.dataSetId === TODAY_DATASET)) {
      expect(v.teamKey).toBeNull();
      expect(JSON.stringify(v.rows)).not.toMatch(/@example\.com|"team"/);
    }
  }, 180_000);

  it('yesterday reads intraday, not the partial final day, until the daily rollup has a later day; then final, the same numbers; a day of fewer than k developers shows none', async () => {
    const before = (await figures()).find((r) => r.dt === TODAY)!;
    // The daily rollup's 21st is partial (the first hour compacted when it ran), as the 01:40 run's today is.
    expect(await query(`SELECT count(*) AS n FROM user_daily WHERE dt = DATE '${TODAY}'`)).toEqual([{ n: 3 }]);
    // 00:45 on the 22nd: two developers so far (k = 5), in the tail; the hourly run computes the 22nd and, the
    // daily rollup having no later day than the 21st, the 21st again.
    await putRaw(store, '2026-11-22T00:40:00Z', [rec('2026-11-22T00:10:00Z', 't1'), rec('2026-11-22T00:20:00Z', 't2')]);
    const hourly = await LocalQueryEngine.open(store, config);
    try {
      const s = await rollup(store, catalog, hourly, config, { intraday: true, now: Date.parse('2026-11-22T00:45:00Z') });
      expect(s.days.map((d) => [d.dt, d.rows])).toEqual([
        [TODAY, 7],
        ['2026-11-22', 2],
      ]);
    } finally {
      hourly.close();
    }
    const night = await figures();
    expect(night.find((r) => r.dt === TODAY)).toEqual({ ...before, cost_usd: expect.closeTo(Number(before.cost_usd), 9) });
    // Two people are behind the 22nd: its row says intraday and shows no figure.
    expect(night.at(-1)).toEqual({ dt: '2026-11-22', source: 'intraday', active_users: null, requests: null, tokens: null, cost_usd: null });

    // The daily rollup of 01:40: the 21st whole (late data) and the 22nd so far; the 21st now reads final.
    await compact(store, catalog, config);
    const engine = await LocalQueryEngine.open(store, config);
    try {
      expect((await rollup(store, catalog, engine, config)).days.filter((d) => d.table === 'user_daily').map((d) => [d.dt, d.reason])).toEqual([
        [TODAY, 'late data'],
        ['2026-11-22', 'new'],
      ]);
    } finally {
      engine.close();
    }
    const after = await figures();
    expect(after.find((r) => r.dt === TODAY)).toEqual({ ...before, source: 'final', cost_usd: expect.closeTo(Number(before.cost_usd), 9) });
    expect(after.at(-1)).toEqual({ dt: '2026-11-22', source: 'intraday', active_users: null, requests: null, tokens: null, cost_usd: null });
    expect(await query(`SELECT sum(active_users) AS n FROM daily_figures WHERE dt = DATE '2026-11-22'`)).toEqual([{ n: 2 }]);
    // No row of the view stands for 1..k-1 developers.
    expect(await query('SELECT count(*) AS n FROM leadership_daily_figures WHERE active_users BETWEEN 1 AND 4')).toEqual([{ n: 0 }]);

    const page = await publishedExecutive();
    const filter = defaultFilter(page.firstDate, page.lastDate);
    const kpi = page.visuals.find((v) => v.id === 'today-active-users')!;
    expect(kpi.subtitle).toContain('2026-11-22 so far: intraday');
    expect(kpi.subtitle).toContain('fewer developers active than the minimum group size, not shown');
    // The KPI says which day its number is of: the 21st, not a figure for the 22nd.
    expect(chartData(kpi, filter)[0]).toMatchObject({ value: before.active_users, when: `on ${TODAY}` });
  }, 180_000);
});

describe('an erasure and the intraday run', () => {
  it('never overlap: an erasure finds the intraday lock held and stops before changing anything, releasing the lake lock', async () => {
    const held = await takeLakeLock(store, 'rollup --intraday r1', 15, INTRADAY_LOCK_PREFIX);
    if (!('lock' in held)) throw new Error('the intraday lock is free here');
    try {
      const s = await erase(store, catalog, config, { user: 't1@example.com' });
      expect(s).toMatchObject({ status: 'locked', lockedBy: expect.stringMatching(/^rollup --intraday r1 on /), erasureId: null });
      expect(await listAll(store, COMPACT_LOCK_PREFIX)).toEqual([]);
      expect(await query(`SELECT count(*) AS n FROM intraday_user_daily WHERE user_key = 't1@example.com' AND dt = DATE '2026-11-22'`)).toEqual([{ n: 1 }]);
    } finally {
      await held.lock.release();
    }
  }, 120_000);
});

describe('the QuickSight definitions carry the today figures', () => {
  it('the executive dashboard reads daily_figures (view leadership_daily_figures, direct query, no team column) in four KPIs and a table with the source', () => {
    const templates = loadTemplates();
    const ds = templates.dataSets.find((d) => d.DataSetId === TODAY_DATASET)!;
    expect(ds).toMatchObject({ View: 'leadership_daily_figures', ImportMode: 'DIRECT_QUERY' });
    expect(ds.Columns.map((c) => c.Name)).toEqual(['dt', 'source', 'active_users', 'requests', 'tokens', 'cost_usd']);
    const exec = templates.dashboards.find((d) => d.DashboardId === 'executive')!;
    const today = exec.Definition.Sheets.flatMap((s) => s.Visuals.map(visualInfo)).filter(
      (v) => dataSetIdOf(exec, fieldsOf(v)[0]!.identifier) === TODAY_DATASET,
    );
    expect(today.map((v) => [v.id, v.kind, fieldsOf(v).map((f) => f.column)])).toEqual([
      ['today-active-users', 'kpi', ['dt', 'active_users']],
      ['today-requests', 'kpi', ['dt', 'requests']],
      ['today-tokens', 'kpi', ['dt', 'tokens']],
      ['today-cost', 'kpi', ['dt', 'cost_usd']],
      ['today-and-recent-days', 'table', ['dt', 'source', 'active_users', 'requests', 'tokens', 'cost_usd']],
    ]);
    for (const v of today) expect(v.subtitle).toMatch(/intraday/);
  });
});

describe('cclake demo: the today figure', () => {
  it('runs the intraday rollup after the daily one; the lake holds what arrived by its clock; the dashboards and status show today so far', async () => {
    // The demo's clock: 15:00 on its last day, so that day is "today so far".
    const now = Date.parse('2026-11-20T15:00:00Z');
    const out: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => out.push(x) };
    store = new LocalObjectStore(tmp.make());
    await runDemo(io, store, config, { users: 20, days: 2, end: '2026-11-20', seed: '42', faults: false, now });
    const text = out.join('\n');
    expect(text).toMatch(/then the intraday rollup: today so far \(UTC\), from events with the uncompacted tail\nrolled up 1 table-day\(s\)/);
    expect(text).toMatch(/intraday_user_daily: 1 day\(s\) 2026-11-20\.\.2026-11-20 \(intraday\), \d+ rows/);
    expect(text).toMatch(/Today so far and the days before \(view leadership_daily_figures/);
    // Nothing Firehose would deliver after the clock is in the lake.
    const [newest] = await query(`SELECT max(event_time) AS t FROM events WHERE dt >= DATE '2026-11-19'`);
    expect(Date.parse(String(newest!.t))).toBeLessThan(now);
    expect(Date.parse(String(newest!.t))).toBeGreaterThan(now - 3 * 3_600_000);
    const today = (await figures()).at(-1)!;
    expect(today).toMatchObject({ dt: '2026-11-20', source: 'intraday' });
    const [direct] = await query(`SELECT CAST(count(*) AS BIGINT) AS requests FROM events WHERE dt = DATE '2026-11-20' AND name = 'claude_code.api_request'`);
    expect(today.requests).toBe(direct!.requests);
    expect((await figures()).filter((r) => String(r.dt) < '2026-11-20').every((r) => r.source === 'final')).toBe(true);
    const html = readFileSync(path.join(store.root, 'dashboards', 'executive', 'index.html'), 'utf8');
    expect(html).toContain('2026-11-20 so far: intraday, as of ');
    // `cclake status` shows the intraday run among the rollups' freshness.
    const status: string[] = [];
    expect(await main(['status', '--lake', store.root, '--format', 'json'], { out: (x) => status.push(x), err: () => {} })).toBe(0);
    expect(JSON.parse(status.join('\n')).freshness[1].note).toMatch(/; intraday 2026-11-20 as of \d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
  }, 300_000);
});
