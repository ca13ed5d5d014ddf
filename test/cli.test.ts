/**
 * The command line, in-process through `main(argv, io)`: exit codes (0 ok, 1 failed job, 2 bad
 * usage or config), what lands in the lake, and what a user reads on stdout and stderr.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { readRows } from '../functions/lib/parquet/io';
import { RAW_RECORD, type RawRecord } from '../schemas/raw-record';

const FIX = fileURLToPath(new URL('../fixtures/otlp/', import.meta.url));
const GOOD_LOGS = path.join(FIX, 'claude-code-logs.json');
const GOOD_METRICS = path.join(FIX, 'claude-code-metrics.json');
const BAD = readdirSync(path.join(FIX, 'bad'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => path.join(FIX, 'bad', f));

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Firehose layout (CONTRACTS section 1); the partition path and the name's stamp are the same UTC hour. */
const GEN_KEY = new RegExp(`^raw/year=2026/month=11/day=(\\d{2})/hour=(\\d{2})/cclake-telemetry-1-2026-11-(\\d{2})-(\\d{2})-\\d{2}-\\d{2}-${UUID}\\.parquet$`);

const dirs: string[] = [];
const tempDir = (name = 'cclake-cli-') => {
  const d = mkdtempSync(path.join(tmpdir(), name));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string[];
  err: string[];
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(...s.split('\n')), err: (s) => err.push(...s.split('\n')) });
  return { code, out, err, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Every file under a lake (keys with '/'), the store's own temp folder included. */
function lakeFiles(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(path.relative(root, p).split(path.sep).join('/'), readFileSync(p));
    }
  };
  walk(root);
  return files;
}

/** "generated 5 developers x A..B: 1,234 records in 56 raw objects ..." */
function generatedCounts(stdout: string): { records: number; objects: number } {
  const m = /generated \d+ developers x \S+: ([\d,]+) records in (\d+) raw objects/.exec(stdout);
  if (!m) throw new Error(`no generate summary in:\n${stdout}`);
  return { records: Number(m[1]!.replace(/,/g, '')), objects: Number(m[2]) };
}

/** "ingested 1 file(s): 6 records in 1 raw object(s) ..." */
function ingestedRecords(stdout: string): number {
  const m = /ingested \d+ file\(s\): ([\d,]+) records/.exec(stdout);
  if (!m) throw new Error(`no ingest summary in:\n${stdout}`);
  return Number(m[1]!.replace(/,/g, ''));
}

async function queryJson(lake: string, sql: string): Promise<Record<string, unknown>[]> {
  const r = await cli('query', '--lake', lake, '--format', 'json', sql);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

describe('cclake generate: bad usage exits 2 and says why', () => {
  it('missing --users', async () => {
    const r = await cli('generate', '--lake', tempDir(), '--days', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--users <n>' not specified/);
  });

  it('--users 0', async () => {
    const lake = tempDir();
    const r = await cli('generate', '--lake', lake, '--users', '0', '--days', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--users must be a positive integer, got "0"/);
    expect(existsSync(path.join(lake, 'raw'))).toBe(false);
  });

  it('--end 2026-02-30 (not a calendar date)', async () => {
    const r = await cli('generate', '--lake', tempDir(), '--users', '2', '--days', '1', '--end', '2026-02-30');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--end must be a date YYYY-MM-DD, got "2026-02-30"/);
  });

  it('a bad config file names the field and value', async () => {
    const dir = tempDir();
    const conf = path.join(dir, 'bad.yaml');
    writeFileSync(conf, 'reporting:\n  timeZone: Mars/Olympus\n');
    const r = await cli('generate', '--config', conf, '--lake', path.join(dir, 'lake'), '--users', '2', '--days', '1', '--end', '2026-11-20');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cclake: invalid config file /m);
    expect(r.stderr).toContain(conf);
    expect(r.stderr).toMatch(/reporting\.timeZone: .*"Mars\/Olympus"/);
    expect(existsSync(path.join(dir, 'lake'))).toBe(false);
  });

  it('an unknown command', async () => {
    const r = await cli('frobnicate', '--lake', tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/frobnicate/);
  });
});

describe('cclake generate -> query', () => {
  const args = (lake: string) => ['generate', '--lake', lake, '--users', '5', '--days', '2', '--end', '2026-11-20', '--seed', '7'];
  let lakeA: string;
  let lakeB: string;
  let runA: Run;
  let runB: Run;

  beforeAll(async () => {
    lakeA = path.join(tempDir(), 'lake-a');
    lakeB = path.join(tempDir(), 'lake-b');
    runA = await cli(...args(lakeA));
    runB = await cli(...args(lakeB));
  });

  it('exits 0 and prints where the lake and org directory are', () => {
    expect(runA.code, runA.stderr).toBe(0);
    expect(runA.stderr).toBe('');
    expect(runA.stdout).toMatch(/generated 5 developers x 2026-11-19\.\.2026-11-20: /);
    expect(runA.stdout).toContain(`lake:          file://${lakeA}/`);
    expect(runA.stdout).toContain(`org directory: file://${lakeA}/reference/org-directory.csv`);
  });

  it('writes Firehose-layout raw objects and the org directory, and nothing else', () => {
    const files = lakeFiles(lakeA);
    const { objects } = generatedCounts(runA.stdout);
    const raw = [...files.keys()].filter((k) => k.startsWith('raw/'));
    const other = [...files.keys()].filter((k) => !k.startsWith('raw/'));
    expect(other).toEqual(['reference/org-directory.csv']);
    expect(raw.length).toBe(objects);
    expect(raw.length).toBeGreaterThan(0);
    const days = new Set<string>();
    for (const key of raw) {
      const m = GEN_KEY.exec(key);
      expect(m, key).not.toBeNull();
      expect(m![3], key).toBe(m![1]); // day in the path = day in the name
      expect(m![4], key).toBe(m![2]); // hour in the path = hour in the name
      days.add(m![1]!);
      const bytes = files.get(key)!;
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    }
    expect(days.has('19')).toBe(true);
    expect(days.has('20')).toBe(true);
    const csv = files.get('reference/org-directory.csv')!.toString('utf8').split('\n');
    expect(csv[0]).toBe('user_email,user_id,team,department,cost_center,valid_from,valid_to');
    expect(csv.filter((l) => l.trim() !== '').length).toBeGreaterThanOrEqual(1 + 5);
  });

  it('raw objects hold raw records whose event times fall in the generated days', () => {
    const files = lakeFiles(lakeA);
    let rows = 0;
    for (const [key, bytes] of files) {
      if (!key.startsWith('raw/')) continue;
      const recs = readRows<RawRecord>(new Uint8Array(bytes));
      expect(Object.keys(recs[0]!)).toEqual(RAW_RECORD.columns.map((c) => c.name));
      for (const r of recs) {
        expect(r.event_time!).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 19));
        expect(r.event_time!).toBeLessThan(Date.UTC(2026, 10, 21));
        expect(r.record_id).toMatch(/\S/);
      }
      rows += recs.length;
    }
    expect(rows).toBe(generatedCounts(runA.stdout).records);
  });

  it('the same seed gives the same bytes for every object (determinism through the CLI)', () => {
    expect(runB.code, runB.stderr).toBe(0);
    const a = lakeFiles(lakeA);
    const b = lakeFiles(lakeB);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [key, bytes] of a) expect(Buffer.compare(bytes, b.get(key)!), key).toBe(0);
    expect(generatedCounts(runB.stdout)).toEqual(generatedCounts(runA.stdout));
  });

  it('a different seed gives a different lake', async () => {
    const lakeC = path.join(tempDir(), 'lake-c');
    const r = await cli('generate', '--lake', lakeC, '--users', '5', '--days', '2', '--end', '2026-11-20', '--seed', '8');
    expect(r.code, r.stderr).toBe(0);
    const a = [...lakeFiles(lakeA).keys()].filter((k) => k.startsWith('raw/')).sort();
    const c = [...lakeFiles(lakeC).keys()].filter((k) => k.startsWith('raw/')).sort();
    expect(c).not.toEqual(a);
  });

  it('query --format json: count(*) over events_raw equals the records generate reported', async () => {
    const rows = await queryJson(lakeA, 'SELECT count(*) AS n, count(DISTINCT record_id) AS ids FROM events_raw');
    const { records } = generatedCounts(runA.stdout);
    expect(rows).toEqual([{ n: records, ids: records }]);
  });

  it('query --format json: timestamps come back as ISO UTC and fall in the generated days', async () => {
    const rows = await queryJson(
      lakeA,
      `SELECT min(event_time) AS first, max(event_time) AS last, count(DISTINCT CAST(event_time AS DATE)) AS days FROM events_raw`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.first).toMatch(/^2026-11-19T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(rows[0]!.last).toMatch(/^2026-11-20T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(rows[0]!.days).toBe(2);
  });

  it('query joins the org directory view', async () => {
    const rows = await queryJson(lakeA, `SELECT count(DISTINCT user_email) AS people FROM org_directory`);
    expect(rows[0]!.people).toBeGreaterThanOrEqual(1);
    expect(rows[0]!.people).toBeLessThanOrEqual(5);
  });

  it('query --format csv (the default) prints a header line and one line per row', async () => {
    const r = await cli('query', '--lake', lakeA, `SELECT signal, count(*) AS records FROM events_raw GROUP BY signal ORDER BY signal`);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('signal,records');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const total = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[1]), 0);
    expect(total).toBe(generatedCounts(runA.stdout).records);
    const explicit = await cli('query', '--lake', lakeA, '--format', 'csv', `SELECT 'a,b' AS x, NULL AS y`);
    expect(explicit.stdout.split('\n')).toEqual(['x,y', '"a,b",']);
  });

  it('a SQL error exits 1 with one line: cclake: query failed: ...', async () => {
    const r = await cli('query', '--lake', lakeA, 'SELECT no_such_column FROM events_raw');
    expect(r.code).toBe(1);
    expect(r.out.filter((l) => l !== '')).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^cclake: query failed: .*no_such_column/);
  });

  it('an unknown --format is bad usage (2)', async () => {
    const r = await cli('query', '--lake', lakeA, '--format', 'xml', 'SELECT 1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/xml/);
  });
});

describe('cclake query on a lake with no raw data', () => {
  it('events_raw exists and counts 0 (empty folder)', async () => {
    const lake = tempDir();
    expect(await queryJson(lake, 'SELECT count(*) AS n FROM events_raw')).toEqual([{ n: 0 }]);
  });

  it('events_raw exists and counts 0 (folder not created yet)', async () => {
    const lake = path.join(tempDir(), 'not-yet');
    expect(await queryJson(lake, 'SELECT count(*) AS n FROM events_raw')).toEqual([{ n: 0 }]);
  });

  it('an empty lake still has the raw record columns', async () => {
    const rows = await queryJson(tempDir(), `SELECT column_name FROM (DESCRIBE events_raw)`);
    expect(rows.map((r) => r.column_name)).toEqual(RAW_RECORD.columns.map((c) => c.name));
  });

  it('a config that points at S3, without --lake, is bad usage (2) for query', async () => {
    const dir = tempDir();
    const conf = path.join(dir, 'cclake.config.yaml');
    writeFileSync(conf, 'lake:\n  s3:\n    bucket: acme-telemetry\n');
    const r = await cli('query', '--config', conf, 'SELECT 1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lake/);
  });
});

describe('cclake ingest', () => {
  it('a good OTLP logs export: exit 0, Firehose keys, rows queryable', async () => {
    const lake = tempDir();
    const before = Date.now();
    const r = await cli('ingest', '--lake', lake, GOOD_LOGS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const n = ingestedRecords(r.stdout);
    expect(n).toBeGreaterThan(0);
    const keys = [...lakeFiles(lake).keys()].filter((k) => !k.startsWith('.cclake-tmp/'));
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).toMatch(new RegExp(`^raw/year=\\d{4}/month=\\d{2}/day=\\d{2}/hour=\\d{2}/cclake-telemetry-1-\\d{4}(-\\d{2}){5}-${UUID}\\.parquet$`));
      expect(r.stdout).toContain(k); // every object written is listed
      const hour = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})/.exec(k)!;
      const arrival = Date.UTC(+hour[1]!, +hour[2]! - 1, +hour[3]!, +hour[4]!);
      expect(arrival).toBeGreaterThanOrEqual(Math.floor(before / 3_600_000) * 3_600_000); // arrival hour = now
      expect(arrival).toBeLessThanOrEqual(Date.now());
    }
    const rows = await queryJson(
      lake,
      `SELECT count(*) AS n, count(*) FILTER (WHERE signal = 'event') AS events, count(*) FILTER (WHERE name LIKE 'claude_code.%') AS named FROM events_raw`,
    );
    expect(rows).toEqual([{ n, events: n, named: n }]);
  });

  it('good and bad files together: exit 1, every bad file named with its reason, good rows still land', async () => {
    const lake = tempDir();
    expect(BAD.length).toBeGreaterThanOrEqual(4);
    const r = await cli('ingest', '--lake', lake, GOOD_LOGS, ...BAD, GOOD_METRICS);
    expect(r.code).toBe(1);
    for (const bad of BAD) {
      const lines = r.err.filter((l) => l.includes(bad));
      expect(lines.length, `${bad} not named on stderr:\n${r.stderr}`).toBeGreaterThan(0);
      // the reason follows the file name, not just the name
      for (const l of lines) expect(l.slice(l.indexOf(bad) + bad.length).replace(/[:\s$]/g, '').length, l).toBeGreaterThan(5);
    }
    expect(r.stderr).not.toContain(GOOD_LOGS);
    expect(r.stderr).not.toContain(GOOD_METRICS);
    const last = r.err.filter((l) => l !== '').at(-1)!;
    expect(last).toMatch(/^cclake: /);
    expect(last).toContain(`of ${BAD.length + 2} file(s)`);
    // reasons a user can act on
    expect(r.stderr).toMatch(new RegExp(`not-json\\.json.*JSON`, 'i'));
    expect(r.stderr).toMatch(new RegExp(`unknown-signal\\.json.*unknown signal`, 'i'));
    expect(r.stderr).toMatch(new RegExp(`no-timestamp\\.json.*timestamp`, 'i'));

    const n = ingestedRecords(r.stdout);
    const good = await cli('ingest', '--lake', tempDir(), GOOD_LOGS, GOOD_METRICS);
    expect(good.code, good.stderr).toBe(0);
    expect(n).toBeGreaterThanOrEqual(ingestedRecords(good.stdout));
    const rows = await queryJson(lake, `SELECT count(*) AS n, count(DISTINCT signal) AS signals FROM events_raw`);
    expect(rows).toEqual([{ n, signals: 2 }]);
  });

  it('a file that does not exist: exit 1, named', async () => {
    const lake = tempDir();
    const missing = path.join(tempDir(), 'nope.json');
    const r = await cli('ingest', '--lake', lake, missing);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/not found/);
  });
});

describe('cclake demo', () => {
  it('--users 20 --days 2 --end 2026-11-20: exit 0, prints the lake path and every section', async () => {
    const lake = path.join(tempDir(), 'demo-lake');
    const r = await cli('demo', '--lake', lake, '--users', '20', '--days', '2', '--end', '2026-11-20');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('== 1. generate: 20 developers, 2 days ending 2026-11-20, seed 42');
    expect(r.stdout).toMatch(/generated 20 developers x 2026-11-19\.\.2026-11-20: /);
    expect(r.stdout).toContain('== 2. ingest');
    expect(r.stdout).toContain('== 3. compact');
    expect(r.stdout).toContain('== 4. partitions');
    expect(r.stdout).toContain('== 5. rollup');
    expect(r.stdout).toContain('== 6. anomalies');
    expect(r.stdout).toMatch(
      /judged \d+ day\(s\) \(\d{4}-\d\d-\d\d\.\.2026-11-20\) in [\d.]+ s: 0 anomalies; table detected_anomalies at \S+anomalies\/, view anomalies/,
    );
    expect(r.stdout).toContain('== 7. publish');
    expect(r.stdout).toContain(`HTML: ${path.join(lake, 'dashboards', 'executive', 'index.html')}`);
    expect(statSync(path.join(lake, 'dashboards', 'executive', 'index.html')).isFile()).toBe(true);
    expect(r.stdout).toContain('== 8. export');
    // The chargeback of 2026-11 (a preliminary snapshot while the month is open, revision 1 once it
    // is closed), the evidence report of the two days, and every export verified.
    expect(r.stdout).toMatch(/chargeback 2026-11: (PRELIMINARY snapshot|revision 1 written)/);
    expect(r.stdout).toMatch(/reconciled, difference 0\.00/);
    expect(statSync(path.join(lake, 'reports/evidence/seq=000001_2026-11-19_2026-11-20/manifest.json')).isFile()).toBe(true);
    expect(r.stdout).toContain('every file matches its manifest and every chain link holds');
    expect(r.stdout).toContain('== What is in the lake');
    for (const title of [
      'Curated events by signal and name:',
      'Active developers (view active_users_daily',
      'Token burn and cost by team',
      'Anomalies (view anomalies',
      'Requests by model:',
    ])
      expect(r.stdout).toContain(title);
    expect(r.out).toContain(`Lake: ${lake}`);
    expect(r.stdout).toMatch(/Try: +npx cclake query --lake \S+/);
    expect(r.stdout).toContain('claude_code.api_request');
    // what the demo says is in the lake really is there
    expect(statSync(path.join(lake, 'reference', 'org-directory.csv')).isFile()).toBe(true);
    const generated = generatedCounts(r.stdout).records;
    const ingested = ingestedRecords(r.stdout);
    expect(await queryJson(lake, 'SELECT count(*) AS n FROM events_raw')).toEqual([{ n: generated + ingested }]);
    // the demo compacted everything it wrote: no faults, so curated holds every record once
    expect(await queryJson(lake, 'SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM events')).toEqual([
      { n: generated + ingested, d: generated + ingested },
    ]);
    // the rollup covered every curated day, and the contract views answer from it
    const days = await queryJson(lake, 'SELECT count(DISTINCT dt) AS n FROM events');
    expect(await queryJson(lake, 'SELECT count(DISTINCT dt) AS n FROM user_daily')).toEqual(days);
    // two days give no baseline: the anomalies view exists, with the contract's columns, and is empty
    expect(await queryJson(lake, 'SELECT * FROM anomalies')).toEqual([]);
    // The embedded default prices with the shipped list-price book: every model the demo uses is
    // priced, at its list price per million tokens (Bedrock geographic profiles +10% over global).
    expect(r.stdout).not.toContain('not priced:');
    const LIST: Record<string, [number, number, number, number]> = {
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0': [3.3, 16.5, 0.33, 4.125],
      'eu.anthropic.claude-sonnet-4-5-20250929-v1:0': [3.3, 16.5, 0.33, 4.125],
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0': [3, 15, 0.3, 3.75],
      'us.anthropic.claude-haiku-4-5-20251001-v1:0': [1.1, 5.5, 0.11, 1.375],
      'us.anthropic.claude-opus-4-1-20250805-v1:0': [15, 75, 1.5, 18.75],
      // fixtures/otlp/claude-code-logs-2026.json (Anthropic API ids; the [1m] suffix is the context tier)
      'claude-opus-4-6': [5, 25, 0.5, 6.25],
      'claude-sonnet-4-6': [3, 15, 0.3, 3.75],
    };
    const perModel = await queryJson(
      lake,
      'SELECT model, sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cache_read_tokens) AS r, sum(cache_creation_tokens) AS c FROM chargeback_daily GROUP BY model',
    );
    const byHand = perModel.reduce((usd, m) => {
      const p = LIST[String(m.model)];
      expect(p, String(m.model)).toBeDefined();
      return usd + (Number(m.i) * p![0] + Number(m.o) * p![1] + Number(m.r) * p![2] + Number(m.c) * p![3]) / 1e6;
    }, 0);
    expect(byHand).toBeGreaterThan(0);
    const [{ priced }] = (await queryJson(lake, 'SELECT sum(priced_cost_usd) AS priced FROM user_daily')) as [{ priced: number }];
    expect(priced).toBeCloseTo(byHand, 6);
    const [dau] = await queryJson(lake, `SELECT dau FROM active_users_daily WHERE dt = DATE '2026-11-20'`);
    expect(dau).toEqual({
      dau: (await queryJson(lake, `SELECT count(DISTINCT user_key) AS dau FROM events WHERE dt = DATE '2026-11-20' AND name = 'claude_code.api_request'`))[0]!
        .dau,
    });
  });
});
