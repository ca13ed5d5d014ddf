/**
 * The local publisher end to end, in a real browser: a generated lake (12 developers x 5 days,
 * compacted and rolled up, with a price table so priced cost and cache savings have values) plus a
 * small `anomalies` view made in the test (that stage lives on another branch), published to static
 * HTML and a PDF. The executive page is opened in Debian's Chromium through playwright-core with the
 * network off: the charts are SVG with the numbers of the views, the anomalies panel renders, the
 * team filter narrows what the charts and tables show, no script error happens, and a screenshot is
 * kept under test-results/. Each sheet is its own one-page PDF, as QuickSight's snapshots make them. Without Chromium the HTML is still
 * written and the CLI says why there is no PDF; the definitions fail clearly on a typo or on columns
 * that are not the view's.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PDFDocument } from 'pdf-lib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { publish } from '../functions/lib/jobs/publish';
import { rollup } from '../functions/lib/jobs/rollup';
import { DefinitionError, loadTemplates, TEMPLATES_DIR } from '../functions/lib/publish/definitions';
import { CHROMIUM_ARGS } from '../functions/lib/publish/html/pdf';
import { HtmlPublisher } from '../functions/lib/publish/local';
import type { PublishSummary } from '../functions/lib/publish/port';
import { LocalObjectStore } from '../functions/lib/store/local';
import { REPO, tempDirs } from './helpers/compaction-lake';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(REPO, 'test-results', 'publish-local');
const tmp = tempDirs('cclake-publish-local-');
afterAll(() => tmp.cleanup());

const END = '2026-11-20';
const config = parseConfig({
  prices: { version: 'list-test', rows: [{ model: '*claude*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }] },
  publish: { snapshot: { pdf: ['executive'], csv: ['executive/roi-by-team-month', 'operations/tool-usage'] } },
  // 12 developers make teams of fewer than 5: this test is about rendering, test/min-group-size.test.ts about merging.
  privacy: { minGroupSize: 1 },
});

/** Anomalies as the detectors' view will hold them (CONTRACTS section 4), made here for the panel. */
const ANOMALIES_VIEW = `CREATE OR REPLACE VIEW anomalies AS
SELECT CAST(dt AS DATE) AS dt, detector, entity_type, entity, CAST(observed AS DOUBLE) AS observed, CAST(baseline AS DOUBLE) AS baseline, CAST(score AS DOUBLE) AS score, severity, message
FROM (VALUES
  ('2026-11-20', 'cost_spike', 'team', 'payments', 412.5, 120.25, 4.2, 'high', 'payments spent 3.4x its 28-day baseline'),
  ('2026-11-19', 'error_rate', 'model', 'us.anthropic.claude-sonnet-4-5', 0.12, 0.02, 3.1, 'medium', 'error rate 12% against 2%')
) AS t (dt, detector, entity_type, entity, observed, baseline, score, severity, message)`;

let lake: LocalObjectStore;
let engine: LocalQueryEngine;
let summary: PublishSummary;
let browser: Browser;

const q = async (sql: string) => (await engine.query(sql)).rows;
const fmtInt = (n: unknown) => Number(n).toLocaleString('en-US');
const fmtUsd = (n: unknown) => `$${Number(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

beforeAll(async () => {
  lake = new LocalObjectStore(tmp.make());
  const catalog = new LocalCatalog(lake, config.aws.glueDatabase);
  await generate(lake, config, { users: 12, days: 5, end: END, seed: 'publish', faults: false });
  await compact(lake, catalog, config);
  engine = await LocalQueryEngine.open(lake, config);
  await rollup(lake, catalog, engine, config);
  await engine.refresh();
  await engine.query(ANOMALIES_VIEW);
  summary = await publish(new HtmlPublisher(lake, engine, config, () => new Date('2026-11-21T06:00:00Z')), config, {
    now: Date.parse('2026-11-21T06:00:00Z'),
    runId: 'test0001',
  });
  const profile = tmp.make();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS.filter((a) => a !== '--headless'), `--disk-cache-dir=${profile}`],
    headless: true,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  engine?.close();
});

/** Opens a published page offline, failing on any console error or page error. */
async function open(dashboard: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(path.join(lake.root, 'dashboards', dashboard, 'index.html')).href);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

const visualSvg = (page: Page, id: string) =>
  page
    .locator(`[data-visual-id="${id}"] .visual-body svg`)
    .first()
    .evaluate((e) => e.outerHTML);
/** Waits until the page re-rendered for a filter whose description contains `status`. */
async function rendered(page: Page, status: string): Promise<void> {
  await page.locator('#filter-status', { hasText: status }).waitFor();
  await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
}

/** The days a line chart has a point for, for one series (from the points' ARIA labels). */
const daysOf = (svg: string, series: string) =>
  [
    ...new Set(
      [...svg.matchAll(new RegExp(`Measure: ${series}; Day: ([A-Z][a-z]{2} \\d{1,2}, \\d{4})`, 'g'))].map((m) =>
        new Date(`${m[1]} UTC`).toISOString().slice(0, 10),
      ),
    ),
  ].sort();
const visualText = (page: Page, id: string) => page.locator(`[data-visual-id="${id}"] .visual-body`).innerText();

describe('cclake publish on the embedded default (HTML + PDF)', () => {
  it('writes one HTML page per dashboard, reads every dataset, and the PDF and CSV snapshots', () => {
    expect(summary.status).toBe('completed');
    expect(summary.dashboards.map((d) => [d.id, d.action, d.location])).toEqual(
      ['compliance', 'executive', 'operations'].map((id) => [id, 'written', path.join(lake.root, 'dashboards', id, 'index.html')]),
    );
    for (const d of summary.dashboards) expect(existsSync(d.location)).toBe(true);
    expect(summary.dataSets.find((d) => d.id === 'anomalies')).toEqual({ id: 'anomalies', action: 'read', rows: 2 });
    expect(summary.dataSets.every((d) => d.action === 'read')).toBe(true);
    const dir = path.join(lake.root, 'reports', 'snapshots', '2026-11-21');
    // One PDF per sheet, named as the QuickSight plan names its files (snapshotFileNames).
    expect(summary.snapshots).toEqual([
      {
        dashboardId: 'executive',
        status: 'COMPLETED',
        files: ['executive-adoption-and-cost.pdf', 'executive-savings-and-value.pdf', 'executive-roi-by-team-month.csv'],
        outputs: [
          path.join(dir, 'executive-roi-by-team-month.csv'),
          path.join(dir, 'executive-adoption-and-cost.pdf'),
          path.join(dir, 'executive-savings-and-value.pdf'),
        ],
      },
      { dashboardId: 'operations', status: 'COMPLETED', files: ['operations-tool-usage.csv'], outputs: [path.join(dir, 'operations-tool-usage.csv')] },
    ]);
    for (const s of summary.snapshots) expect(s.outputs.map((o) => path.basename(o)).sort()).toEqual([...s.files!].sort());
  });

  it("renders the executive dashboard in Chromium: SVG charts carry the views' numbers, no script error, no network", async () => {
    const { page, problems } = await open('executive');
    const [latest] = await q('SELECT dt, dau, wau, mau FROM active_users_daily ORDER BY dt DESC LIMIT 1');
    expect(Number(latest!.dau)).toBeGreaterThan(0);
    // KPIs: the latest day's DAU, WAU and MAU as SVG text.
    for (const k of ['dau', 'wau', 'mau'] as const) {
      const svg = await visualSvg(page, k);
      expect(svg).toContain(`>${fmtInt(latest![k])}</text>`);
      expect(svg).toContain(`on ${latest!.dt}`);
    }
    // The trend: one point per day and measure, each labelled with its value.
    const trend = await visualSvg(page, 'active-users-trend');
    expect(trend).toContain(`DAU, WAU, MAU: ${fmtInt(latest!.dau)}; Measure: DAU`);
    expect(daysOf(trend, 'DAU')).toEqual((await q('SELECT dt FROM active_users_daily ORDER BY dt')).map((r) => r.dt));
    // Cost per day by team: the latest day's reported cost of the costliest team.
    const [top] = await q(`SELECT team, sum(cost_usd) AS c FROM user_daily WHERE dt = DATE '${END}' GROUP BY team ORDER BY c DESC LIMIT 1`);
    expect(await visualSvg(page, 'cost-trend-by-team')).toContain(`Cost USD: ${fmtUsd(top!.c)}; Team: ${top!.team}`);
    // Cache savings: cache reads x (input - cache read price) = reads x 2.7 USD per million.
    const [savings] = await q('SELECT sum(savings_usd) AS s, sum(cache_read_tokens) AS t FROM cache_savings_daily');
    expect(Number(savings!.s)).toBeCloseTo((Number(savings!.t) * 2.7) / 1e6, 6);
    expect(await visualSvg(page, 'cache-savings-total')).toContain(`>${fmtUsd(savings!.s)}</text>`);
    // The anomalies panel reads the view.
    const anomalies = await visualText(page, 'executive-anomalies');
    expect(anomalies).toContain('payments spent 3.4x its 28-day baseline');
    expect(anomalies).toContain('412.50');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'executive.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);

  it('filters by team and date range in the page, offline', async () => {
    const { page, problems } = await open('executive');
    const team = (await q(`SELECT team FROM user_daily WHERE team <> 'unattributed' GROUP BY team ORDER BY sum(cost_usd) DESC LIMIT 1`))[0]!.team as string;
    const teams = (await q('SELECT DISTINCT team FROM user_daily')).map((r) => r.team as string);
    await page.selectOption('#filter-team', team);
    await rendered(page, `${team}, `);
    // Cost per day: only the chosen team's series is left.
    const costSvg = await visualSvg(page, 'cost-trend-by-team');
    expect(costSvg).toContain(`Team: ${team}`);
    for (const other of teams.filter((t) => t !== team)) expect(costSvg).not.toContain(`Team: ${other};`);
    // Team activity: one row, the team's totals from user_daily.
    const [totals] = await q(`SELECT sum(sessions) AS s, sum(cost_usd) AS c FROM user_daily WHERE team = '${team}'`);
    const activity = await visualText(page, 'team-activity');
    expect(activity.trim().split('\n').length).toBe(2);
    expect(activity).toContain(team);
    expect(activity).toContain(fmtInt(totals!.s));
    expect(activity).toContain(fmtUsd(totals!.c));
    // Org-wide KPIs say they are not split by team.
    expect(await page.locator('[data-visual-id="dau"] .filter-note').innerText()).toBe('not split by team');
    await page.screenshot({ path: path.join(SHOTS, 'executive-team.png'), fullPage: true });

    // The last day only: the DAU trend has one point per measure.
    await page.fill('#filter-from', END);
    await page.locator('#filter-from').dispatchEvent('change');
    await rendered(page, `${END} to ${END}`);
    expect(daysOf(await visualSvg(page, 'active-users-trend'), 'DAU')).toEqual([END]);
    expect(problems).toEqual([]);
  }, 60_000);

  it('renders the operations and compliance dashboards without errors', async () => {
    const templates = loadTemplates();
    for (const d of ['operations', 'compliance']) {
      const { page, problems } = await open(d);
      const visuals = templates.dashboards.find((x) => x.DashboardId === d)!.Definition.Sheets.flatMap((s) => s.Visuals);
      expect(await page.locator('figure.visual').count()).toBe(visuals.length);
      expect(await page.locator('figure.visual .visual-body svg').count()).toBe(visuals.filter((v) => !v.TableVisual).length);
      expect(await page.locator('figure.visual .visual-body table').count()).toBe(visuals.filter((v) => v.TableVisual).length);
      expect(problems).toEqual([]);
    }
    const { page } = await open('compliance');
    const [org] = await q(`SELECT sum(violations) AS v FROM compliance_daily WHERE team = 'ALL' AND dt = (SELECT max(dt) FROM compliance_daily)`);
    expect(await visualSvg(page, 'violations-latest-day')).toContain(`>${fmtInt(org!.v)}</text>`);
  }, 60_000);

  it('prints one single-page PDF per executive sheet, as QuickSight does, and the CSVs hold the table rows', async () => {
    const dir = path.join(lake.root, 'reports', 'snapshots', '2026-11-21');
    const sheets = loadTemplates().dashboards.find((d) => d.DashboardId === 'executive')!.Definition.Sheets;
    expect(sheets.length).toBe(2);
    expect(existsSync(path.join(dir, 'executive.pdf'))).toBe(false);
    const heights: number[] = [];
    for (const sheet of sheets) {
      const pdf = await PDFDocument.load(readFileSync(path.join(dir, `executive-${sheet.SheetId}.pdf`)));
      expect(pdf.getPageCount()).toBe(1);
      heights.push(pdf.getPage(0).getHeight());
    }
    // Each page is as tall as its own sheet (the sheets differ), not the tallest one.
    expect(new Set(heights).size).toBe(2);
    const csv = readFileSync(path.join(dir, 'executive-roi-by-team-month.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('Month,Team,Cost USD,Hours saved,Value USD,ROI %,Assumptions version');
    expect(csv.length - 1).toBe(Number((await q('SELECT count(*) AS n FROM roi_monthly'))[0]!.n));
  });
});

describe('cclake publish without Chromium, and bad definitions', () => {
  it('writes the HTML, says the PDF needs Chromium and exits 0; --require-pdf exits 1', async () => {
    const dir = tmp.make();
    const cfg = path.join(dir, 'cclake.config.json');
    writeFileSync(cfg, JSON.stringify({ publish: { chromiumPath: path.join(dir, 'no-chromium') } }));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    expect(await main(['publish', '--config', cfg, '--lake', lake.root], io)).toBe(0);
    expect(out).toContain(`HTML: ${path.join(lake.root, 'dashboards', 'executive', 'index.html')}`);
    expect(out.some((l) => l.startsWith('PDF:'))).toBe(false);
    // The rollup made the anomalies view (empty here): no panel is skipped.
    expect(out.some((l) => l.includes('panels skipped'))).toBe(false);
    expect(err.join('\n')).toContain(
      `note: PDF of executive not written: the PDF snapshot needs Chromium at ${path.join(dir, 'no-chromium')} (Debian: apt-get install chromium`,
    );
    err.length = 0;
    expect(await main(['publish', '--config', cfg, '--lake', lake.root, '--require-pdf'], io)).toBe(1);
    expect(err.at(-1)).toMatch(/^cclake: snapshot executive not made: the PDF snapshot needs Chromium/);
  }, 60_000);

  it('fails on a typo in a definition, naming the file and the field', () => {
    const dir = path.join(tmp.make(), 'templates');
    cpSync(TEMPLATES_DIR, dir, { recursive: true });
    const file = path.join(dir, 'dashboards', 'operations.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"Title": {', '"Titel": {'));
    expect(() => loadTemplates(dir)).toThrow(DefinitionError);
    expect(() => loadTemplates(dir)).toThrow(
      /^quicksight-templates\/dashboards\/operations\.json: Definition\.Sheets\[0\]\.Visuals\[0\](\.KPIVisual)?: .*Titel/,
    );
    writeFileSync(file, readFileSync(file, 'utf8').replace('"Titel": {', '"Title": {').replace('"ColumnName": "p95_ms"', '"ColumnName": "p95"'));
    expect(() => loadTemplates(dir)).toThrow(
      /operations\.json: Definition\.Sheets\[0\]\.Visuals\[2\]\.LineChartVisual\.ChartConfiguration\.FieldWells\.LineChartAggregatedFieldWells\.Values\[0\]\.Column\.ColumnName: dataset api_health_daily has no column p95 /,
    );
  });

  it("fails when a dataset definition is not its view's columns, naming both", async () => {
    const dir = path.join(tmp.make(), 'templates');
    cpSync(TEMPLATES_DIR, dir, { recursive: true });
    const file = path.join(dir, 'datasets', 'roi_monthly.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"Name": "roi_pct",\n      "Type": "DECIMAL"', '"Name": "roi_pct",\n      "Type": "INTEGER"'));
    await expect(
      publish(new HtmlPublisher(lake, engine, parseConfig({ publish: { snapshot: { pdf: [] } } })), config, { templates: loadTemplates(dir) }),
    ).rejects.toThrow(
      /quicksight-templates\/datasets\/roi_monthly\.json: Columns \(.*roi_pct INTEGER.*\) are not the columns of view leadership_roi_monthly \(.*roi_pct DECIMAL.*\)/,
    );
  });
});
