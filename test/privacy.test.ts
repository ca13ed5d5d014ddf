/**
 * Issue 21, privacy mode: the same generated lake (plus one raw object whose attributes carry an
 * e-mail address) runs through every stage (generate, ingest, compact, partitions, rollup,
 * anomalies, publish, chargeback and evidence exports) once in named mode and once in pseudonymous
 * mode. In pseudonymous mode no e-mail address of the population appears in any file under
 * curated/, rollups/, anomalies/, dashboards/, reports/, exports/, seeds/ or alerts/, nor in any
 * view but `reidentification`; and DAU/WAU/MAU, token burn, per-person rows and chargeback equal
 * the named mode's, person for person through the pseudonym.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../functions/cli/demo';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { Pseudonymiser, PSEUDONYM_PATTERN } from '../functions/lib/privacy/pseudonym';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-privacy-');
const KEY_ENV = 'CCLAKE_TEST_PRIVACY_KEY';
const KEY = 'test-only privacy key, 32+ bytes long';
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** The extra person: an e-mail in user_email (mixed case) and one in an attribute. */
const EXTRA_EMAIL = 'Extra.Person@Example.COM';
const ATTRIBUTE_EMAIL = 'reviewer.someone@example.org';

const demo = { users: 8, days: 7, seed: 'privacy21', end: '2026-11-20', faults: false };

interface Lake {
  dir: string;
  store: LocalObjectStore;
  config: Config;
}

async function runLake(config: Config): Promise<Lake> {
  const dir = tmp.make();
  const store = new LocalObjectStore(dir);
  // Arrived on the last generated day, dated the day before: one more person, with an e-mail in an attribute.
  await putRaw(store, '2026-11-20T10:05:00Z', [
    rec('2026-11-19T09:00:00Z', 'extra-user', { user_email: EXTRA_EMAIL, attributes: { 'review.by': ATTRIBUTE_EMAIL, k: 'v' } }),
    rec('2026-11-19T09:01:00Z', 'extra-user', { user_email: EXTRA_EMAIL, input_tokens: 700 }),
  ]);
  await runDemo({ out: () => {}, err: () => {} }, store, config, demo);
  return { dir, store, config };
}

const engines = new Map<Lake, LocalQueryEngine>();
/** One query session per lake, opened on first use (closed after all tests). */
async function query<T = Record<string, unknown>>(lake: Lake, sql: string): Promise<T[]> {
  let engine = engines.get(lake);
  if (!engine) engines.set(lake, (engine = await LocalQueryEngine.open(lake.store, lake.config)));
  return (await engine.query(sql)).rows as T[];
}

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  for (const n of names) {
    const p = path.join(dir, n);
    out = statSync(p).isDirectory() ? out.concat(filesUnder(p)) : out.concat(p);
  }
  return out;
}

/** The text of a PDF: its bytes with every Flate stream inflated (Chromium's glyph-coded page text is not decoded; its HTML source is scanned). */
function pdfText(bytes: Buffer): string {
  const latin = bytes.toString('latin1');
  const parts = [latin];
  const re = /stream\r?\n/g;
  for (let m = re.exec(latin); m; m = re.exec(latin)) {
    const start = m.index + m[0].length;
    const end = latin.indexOf('endstream', start);
    if (end < 0) break;
    try {
      parts.push(inflateSync(bytes.subarray(start, end)).toString('latin1'));
    } catch {
      // not a Flate stream
    }
  }
  return parts.join('\n');
}

let named: Lake;
let pseudo: Lake;
let pseudonymOf: (identity: string) => string;
let population: string[];

beforeAll(async () => {
  process.env[KEY_ENV] = KEY;
  pseudonymOf = (id) => new Pseudonymiser(Buffer.from(KEY)).of(id);
  named = await runLake(parseConfig({}));
  pseudo = await runLake(parseConfig({ privacy: { mode: 'pseudonymous', key: { source: 'env', name: KEY_ENV } } }));
  // Every e-mail address that arrived in the raw zone or is in the org directory (the population).
  const duck = await DuckDBEngine.open();
  try {
    const raw = filesUnder(path.join(pseudo.dir, 'raw')).filter((f) => f.endsWith('.parquet'));
    const rows = (
      await duck.query(
        `SELECT DISTINCT lower(trim(user_email)) AS e FROM read_parquet([${raw.map(sqlString).join(', ')}], union_by_name = true) WHERE user_email LIKE '%@%'`,
      )
    ).rows;
    const directory = readFileSync(path.join(pseudo.dir, 'reference', 'org-directory.csv'), 'utf8').match(EMAIL) ?? [];
    population = [...new Set([...rows.map((r) => String(r.e)), ...directory.map((e) => e.toLowerCase()), ATTRIBUTE_EMAIL])];
  } finally {
    duck.close();
  }
}, 1_200_000);

afterAll(() => {
  for (const e of engines.values()) e.close();
  delete process.env[KEY_ENV];
  tmp.cleanup();
});

describe('privacy mode: no e-mail outside the re-identification table', () => {
  it('the population is real: the raw zone and the directory hold e-mail addresses, the extra person among them', () => {
    expect(population.length).toBeGreaterThan(6);
    expect(population).toContain(EXTRA_EMAIL.toLowerCase());
  });

  it('no file under curated/, rollups/, anomalies/, dashboards/, reports/, exports/, seeds/ or alerts/ holds an e-mail address', async () => {
    const zones = ['curated', 'rollups', 'anomalies', 'dashboards', 'reports', 'exports', 'seeds', 'alerts'];
    const files = zones.flatMap((z) => filesUnder(path.join(pseudo.dir, z)));
    const kinds = new Set(files.map((f) => path.extname(f)));
    // The scan sees what each stage wrote: Parquet, CSV, JSON, HTML and the PDF snapshots.
    for (const ext of ['.parquet', '.csv', '.json', '.html', '.pdf']) expect(kinds, `no ${ext} file written`).toContain(ext);
    const duck = await DuckDBEngine.open();
    const hits: string[] = [];
    try {
      for (const f of files) {
        let text: string;
        if (f.endsWith('.parquet')) {
          const rows = (await duck.query(`SELECT CAST(t AS VARCHAR) AS row FROM read_parquet(${sqlString(f)}) t`)).rows;
          text = rows.map((r) => String(r.row)).join('\n');
        } else if (f.endsWith('.pdf')) {
          text = pdfText(readFileSync(f));
        } else {
          text = readFileSync(f, 'utf8');
        }
        const lower = text.toLowerCase();
        for (const e of population) if (lower.includes(e)) hits.push(`${path.relative(pseudo.dir, f)}: ${e}`);
        for (const m of text.match(EMAIL) ?? []) if (!f.endsWith('.pdf')) hits.push(`${path.relative(pseudo.dir, f)}: ${m}`);
      }
    } finally {
      duck.close();
    }
    expect(hits).toEqual([]);
    // The same scan finds them in the named lake: it can fail.
    const namedCurated = filesUnder(path.join(named.dir, 'rollups')).concat(filesUnder(path.join(named.dir, 'exports')));
    const namedText = namedCurated
      .filter((f) => f.endsWith('.csv'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(namedText.match(EMAIL)?.length ?? 0).toBeGreaterThan(0);
  });

  it('no view but reidentification shows an e-mail address; that one maps every pseudonym back', async () => {
    const views = (
      await query<{ table_name: string }>(pseudo, `SELECT DISTINCT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1`)
    ).map((r) => r.table_name);
    expect(views).toContain('reidentification');
    expect(views).toContain('events_raw');
    // Every text column (and map, as text) of every other view, searched in DuckDB.
    const columns = await query<{ table_name: string; column_name: string; data_type: string }>(
      pseudo,
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND (data_type = 'VARCHAR' OR data_type LIKE 'MAP%')`,
    );
    const re = sqlString(EMAIL.source);
    const hits: unknown[] = [];
    let scanned = 0;
    for (const v of views.filter((x) => x !== 'reidentification')) {
      const cols = columns.filter((c) => c.table_name === v).map((c, i) => ({ select: `CAST("${c.column_name}" AS VARCHAR) AS c${i}`, name: `c${i}` }));
      if (!cols.length) continue;
      scanned++;
      const found = await query(
        pseudo,
        `SELECT '${v}' AS view, * FROM (SELECT ${cols.map((c) => c.select).join(', ')} FROM "${v}") t WHERE ${cols.map((c) => `regexp_matches(${c.name}, ${re})`).join(' OR ')} LIMIT 3`,
      );
      hits.push(...found);
    }
    expect(scanned).toBeGreaterThan(20);
    expect(hits).toEqual([]);

    const reid = await query<{ pseudonym: string; identity: string; kind: string }>(pseudo, `SELECT pseudonym, identity, kind FROM reidentification`);
    const byPseudonym = new Map(reid.filter((r) => r.kind === 'user_key').map((r) => [r.pseudonym, r.identity]));
    const keys = await query<{ user_key: string }>(pseudo, `SELECT DISTINCT user_key FROM user_daily`);
    expect(keys.length).toBeGreaterThan(6);
    for (const { user_key } of keys) {
      expect(user_key).toMatch(PSEUDONYM_PATTERN);
      expect(pseudonymOf(byPseudonym.get(user_key)!)).toBe(user_key);
    }
    expect([...byPseudonym.values()]).toContain(EXTRA_EMAIL.toLowerCase());
    expect(reid.find((r) => r.kind === 'attribute')?.identity).toBe(ATTRIBUTE_EMAIL);
    // The attribute kept its key, with the pseudonym as its value.
    const attr = await query<{ v: string }>(pseudo, `SELECT attributes['review.by'] AS v FROM events WHERE attributes['review.by'] IS NOT NULL`);
    expect(attr).toEqual([{ v: pseudonymOf(ATTRIBUTE_EMAIL) }]);
  }, 400_000);

  it('the named lake has an empty reidentification table and its events_raw shows the e-mails', async () => {
    expect(Number((await query<{ n: number }>(named, `SELECT count(*) AS n FROM reidentification`))[0]!.n)).toBe(0);
    const raw = await query<{ n: bigint }>(named, `SELECT count(*) AS n FROM events_raw WHERE user_email LIKE '%@%'`);
    expect(Number(raw[0]!.n)).toBeGreaterThan(0);
  });
});

describe('privacy mode: every number equals the named mode', () => {
  const same = async (sql: string, { mayBeEmpty = false } = {}) => {
    const a = await query(named, sql);
    const b = await query(pseudo, sql);
    if (!mayBeEmpty) expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  };

  it('DAU, WAU and MAU, overall and by team', async () => {
    await same(`SELECT dt, dau, wau, mau FROM active_users_daily ORDER BY dt`);
    await same(`SELECT dt, team, dau, wau, mau FROM active_users_daily_by_team ORDER BY dt, team`);
  });

  it('token burn and cost by day, team, cost center, model and token type', async () => {
    await same(`SELECT dt, team, cost_center, project, model, token_type, tokens, round(priced_cost_usd, 9) AS priced FROM token_burn_daily ORDER BY ALL`);
  });

  it('chargeback by month, cost center and team; compliance and anomalies counts', async () => {
    await same(
      `SELECT month, cost_center, team, count(DISTINCT user_key) AS people, sum(tokens) AS tokens, round(sum(priced_cost_usd), 9) AS priced FROM chargeback_monthly GROUP BY ALL ORDER BY ALL`,
    );
    await same(`SELECT dt, control_id, team, evaluated, violations, status FROM compliance_daily ORDER BY ALL`);
    // Seven days are short of a baseline: few or no anomalies, the same in both.
    await same(`SELECT dt, detector, entity_type, count(*) AS n FROM anomalies GROUP BY ALL ORDER BY ALL`, { mayBeEmpty: true });
  });

  it('the chargeback export: summary.csv per cost center is byte for byte the named one', () => {
    const summaries = (lake: Lake) => filesUnder(path.join(lake.dir, 'exports', 'chargeback')).filter((f) => f.endsWith('summary.csv'));
    const a = summaries(named);
    expect(a.length).toBeGreaterThan(0);
    expect(summaries(pseudo).map((f) => path.relative(pseudo.dir, f))).toEqual(a.map((f) => path.relative(named.dir, f)));
    for (const f of a) expect(readFileSync(path.join(pseudo.dir, path.relative(named.dir, f)), 'utf8')).toBe(readFileSync(f, 'utf8'));
  });

  it("each person's rows are the named person's, under the pseudonym of the named user_key", async () => {
    const cols = `dt, team, department, cost_center, sessions, requests, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, round(cost_usd, 9) AS cost, commits`;
    const a = await query<Record<string, unknown>>(named, `SELECT user_key, ${cols} FROM user_daily ORDER BY ALL`);
    const b = await query<Record<string, unknown>>(pseudo, `SELECT user_key, ${cols} FROM user_daily ORDER BY ALL`);
    const key = (r: Record<string, unknown>) => JSON.stringify({ ...r, user_key: undefined }, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    const expected = a.map((r) => ({ ...r, user_key: pseudonymOf(String(r.user_key)) }));
    const sort = (rows: Record<string, unknown>[]) => [...rows].sort((x, y) => `${x.user_key}${key(x)}`.localeCompare(`${y.user_key}${key(y)}`));
    expect(sort(b)).toEqual(sort(expected));
    // Attribution found the directory's teams (not "unattributed") for the pseudonyms too.
    expect(b.filter((r) => r.team !== 'unattributed').length).toBe(a.filter((r) => r.team !== 'unattributed').length);
    expect(a.some((r) => r.team !== 'unattributed')).toBe(true);
  });
});
