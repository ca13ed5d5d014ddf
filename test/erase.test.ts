/**
 * The right to erasure (issue 21, part 3) on a lake where every stage ran (`cclake demo`: raw,
 * curated, rollups, anomalies, seeds, the org directory, dashboards and PDF snapshots, a closed
 * chargeback month, an evidence report): after `cclake erase`, a scan of every file's text
 * (Parquet through DuckDB, CSV/JSON/HTML as text, PDF content streams inflated) finds the person's
 * e-mail and ids nowhere; other people's numbers, DAU and token burn, and the closed month's
 * totals are unchanged; `export verify` passes with the receipt in the chain; a second run changes
 * nothing; late raw data of the person never reaches curated; and a run SIGKILLed at any write,
 * run again, ends in the same state with nothing lost for anyone else.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEraseEvent } from '../functions/erase/handler';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { personOf, replaceInText, valuesPattern } from '../functions/lib/erasure/person';
import { replacementRawKey } from '../functions/lib/jobs/erase';
import { Pseudonymiser } from '../functions/lib/privacy/pseudonym';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, REPO, runCli, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-erase-');
afterAll(() => tmp.cleanup());

/** Every file of a lake folder (relative keys), but the local store's scratch folder. */
function filesOf(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as { isFile(): boolean; name: string; parentPath: string }[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((k) => !k.startsWith('.cclake-tmp'))
    .sort();
}

const digests = (root: string) =>
  new Map(
    filesOf(root).map((k) => [
      k,
      createHash('sha256')
        .update(readFileSync(path.join(root, k)))
        .digest('hex'),
    ]),
  );

/** The text of a PDF: the file and its inflated content streams (as text and as the hex strings PDF writers use). */
function pdfText(bytes: Buffer): string {
  const out = [bytes.toString('latin1')];
  for (const m of bytes.toString('latin1').matchAll(/stream\r?\n/g)) {
    const start = m.index! + m[0].length;
    const end = bytes.indexOf('endstream', start, 'latin1');
    try {
      out.push(inflateSync(bytes.subarray(start, end)).toString('latin1'));
    } catch {
      // not Flate
    }
  }
  return out.join('\n').toLowerCase().replace(/\s+/g, '');
}

/** Every place (file, with a count) where one of `values` appears in the lake's text. */
async function scan(engine: DuckDBEngine, root: string, values: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const key of filesOf(root)) {
    const file = path.join(root, key);
    if (key.endsWith('.parquet')) {
      // The whole row as DuckDB text: every string column, map and list.
      const where = values.map((v) => `contains(lower(CAST(t AS VARCHAR)), ${sqlString(v)})`).join(' OR ');
      const n = Number(
        (await engine.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)}, hive_partitioning = false) t WHERE ${where}`)).rows[0]!.n,
      );
      if (n) found.push(`${key}: ${n} row(s)`);
    } else {
      const bytes = readFileSync(file);
      const text = key.endsWith('.pdf') ? pdfText(bytes) : bytes.toString('utf8').toLowerCase();
      for (const v of values) if (text.includes(v) || (key.endsWith('.pdf') && text.includes(Buffer.from(v).toString('hex')))) found.push(`${key}: ${v}`);
    }
  }
  return found;
}

interface Numbers {
  others: Record<string, unknown>[];
  erasedSums: Record<string, unknown>;
  totals: Record<string, unknown>;
}

/** What must not change: other people's user_daily rows, the person's sums (under whatever key), DAU and token burn, the closed month's chargeback. */
async function numbers(lake: string, person: string[]): Promise<Numbers> {
  const q = async (sql: string) => {
    const r = await runCli(['query', '--lake', lake, '--format', 'json', sql]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };
  const mine = `user_key IN (${person.map(sqlString).join(', ')}) OR user_key LIKE 'erased-%'`;
  const cols =
    'sessions, requests, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, round(cost_usd, 9) AS cost, round(priced_cost_usd, 9) AS priced';
  return {
    others: await q(`SELECT dt, user_key, team, cost_center, ${cols} FROM user_daily WHERE NOT (${mine}) ORDER BY dt, user_key`),
    erasedSums: (
      await q(
        `SELECT count(*) AS n, sum(input_tokens) AS input, sum(output_tokens) AS output, round(sum(priced_cost_usd), 9) AS priced, string_agg(DISTINCT team, ',') AS teams FROM user_daily WHERE ${mine}`,
      )
    )[0]!,
    totals: (
      await q(`SELECT (SELECT sum(tokens) FROM token_burn_daily) AS tokens, (SELECT round(sum(priced_cost_usd), 9) FROM token_burn_daily) AS priced,
        (SELECT sum(dau) FROM active_users_daily) AS dau, (SELECT sum(mau) FROM active_users_daily) AS mau,
        (SELECT round(sum(priced_cost_usd), 9) FROM chargeback_monthly WHERE month = '2026-10') AS october,
        (SELECT count(DISTINCT user_key) FROM chargeback_monthly WHERE month = '2026-10') AS october_people`)
    )[0]!,
  };
}

/** The closed month's chargeback revision: the manifest's totals and focus.csv's billed sum. */
function october(lake: string) {
  const dir = path.join(lake, 'exports/chargeback/month=2026-10/rev=001');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const lines = readFileSync(path.join(dir, 'focus.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const billed = lines.slice(1).reduce((s, l) => s + Math.round(Number(l.split(',')[header.indexOf('BilledCost')]) * 100), 0);
  return { totals: manifest.totals, rows: manifest.rows, billedCents: billed, summary: readFileSync(path.join(dir, 'summary.csv'), 'utf8') };
}

/** The person: an org-directory row with activity in October's closed month (its e-mail and user id). */
async function pickPerson(lake: string): Promise<{ email: string; userId: string }> {
  const r = await runCli([
    'query',
    '--lake',
    lake,
    '--format',
    'json',
    "SELECT user_key, count(*) AS n FROM chargeback_monthly WHERE month = '2026-10' GROUP BY 1 ORDER BY 2 DESC, 1",
  ]);
  const directory = readFileSync(path.join(lake, 'reference/org-directory.csv'), 'utf8').split('\n');
  for (const { user_key } of JSON.parse(r.stdout) as { user_key: string }[]) {
    const row = directory.find((l) => l.startsWith(`${user_key},`) && l.split(',')[1]);
    if (row) return { email: user_key, userId: row.split(',')[1]! };
  }
  throw new Error('no October developer with an org-directory row');
}

describe('who the person is: one definition of a match', () => {
  it('finds a long value as a word of its own, never inside a longer e-mail or id, and short values only as a whole cell', () => {
    const p = personOf(['Li.Kim@acme.example', '42']);
    const tokens = new Map([
      ['li.kim@acme.example', 'erased-a'],
      ['42', 'erased-b'],
    ]);
    const re = new RegExp(valuesPattern(p.values, { cells: true })!, 'i');
    expect(re.test('li.kim@acme.example')).toBe(true);
    expect(re.test('spike for LI.KIM@ACME.EXAMPLE.')).toBe(true);
    expect(re.test('eli.kim@acme.example')).toBe(false);
    expect(re.test('li.kim@acme.example.org')).toBe(false);
    expect(re.test('42')).toBe(true);
    expect(re.test('1420')).toBe(false);
    expect(re.test('observed 42 requests')).toBe(false);
    // In free text only the long values are replaced (a count of 42 stays 42).
    expect(replaceInText('li.kim@acme.example,eli.kim@acme.example,42,"li.kim@acme.example"', tokens).text).toBe('erased-a,eli.kim@acme.example,42,"erased-a"');
  });

  it('keeps Firehose naming for a replaced raw object: same hour and time stamp, a new uuid, the same for a rerun', () => {
    const key = 'raw/year=2026/month=10/day=02/hour=21/cclake-telemetry-1-2026-10-02-21-50-13-a16f29d7-54ae-4441-93d2-937909013c1c.parquet';
    const next = replacementRawKey(key, 'e1');
    expect(next).toMatch(
      /^raw\/year=2026\/month=10\/day=02\/hour=21\/cclake-telemetry-1-2026-10-02-21-50-13-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}\.parquet$/,
    );
    expect(next).not.toBe(key);
    expect(replacementRawKey(key, 'e1')).toBe(next);
  });
});

describe('the erase function: a strict event', () => {
  it('takes { user } and an optional dryRun, nothing else', () => {
    expect(parseEraseEvent({ user: ' dev@example.com ' })).toEqual({ user: 'dev@example.com' });
    expect(parseEraseEvent({ user: 'u-1', dryRun: true })).toEqual({ user: 'u-1', dryRun: true });
    expect(() => parseEraseEvent({})).toThrow(/event\.user must be the person to erase/);
    expect(() => parseEraseEvent({ user: '  ' })).toThrow(/event\.user must be a non-empty e-mail, user id or account uuid/);
    expect(() => parseEraseEvent({ user: 'a@b.c', dry: true })).toThrow(/the erase event accepts only "user" and "dryRun", got "dry"/);
    expect(() => parseEraseEvent({ user: 'a@b.c', dryRun: 'yes' })).toThrow(/event\.dryRun must be true or false/);
  });
});

describe('cclake erase on a lake where every stage ran', () => {
  let lake: string;
  let pristine: string;
  let engine: DuckDBEngine;
  let person: { email: string; userId: string };
  let before: Numbers;
  let octoberBefore: ReturnType<typeof october>;

  beforeAll(async () => {
    pristine = tmp.make();
    const demo = await runCli(['demo', '--lake', pristine, '--users', '6', '--days', '3', '--end', '2026-10-02', '--seed', 'erase']);
    expect(demo.code, demo.stderr).toBe(0);
    lake = tmp.make();
    cpSync(pristine, lake, { recursive: true });
    engine = await DuckDBEngine.open();
    person = await pickPerson(lake);
    before = await numbers(lake, [person.email]);
    octoberBefore = october(lake);
  }, 600_000);
  afterAll(() => engine?.close());

  it('finds the person everywhere before (the scan can see them), and a dry run lists the files and changes nothing', async () => {
    const seen = await scan(engine, lake, [person.email, person.userId]);
    for (const zone of [
      'raw/',
      'curated/',
      'rollups/user_daily/',
      'exports/chargeback/month=2026-10/rev=001/focus.csv',
      'reference/org-directory.csv',
      'seeds/org_directory/',
    ])
      expect(
        seen.some((s) => s.startsWith(zone)),
        zone,
      ).toBe(true);
    const was = digests(lake);
    const dry = await runCli(['erase', '--lake', lake, '--user', person.email.toUpperCase(), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: \d+ file\(s\) at .* hold the person \(\d+ identity value\(s\)/);
    expect(dry.stdout).toMatch(/curated\s+curated\/events\/dt=\d{4}-\d{2}-\d{2}\/gen=\S+ {2}[\d,]+ of [\d,]+ row\(s\) {2}-> new generation/);
    expect(dry.stdout).toContain('exports/chargeback/month=2026-10/rev=001/focus.csv');
    expect(dry.stdout).toContain('nothing changed (dry run)');
    expect(digests(lake)).toEqual(was);
  }, 600_000);

  it('erases: no trace in any file, numbers and closed-month totals unchanged, export verify passes with the receipt', async () => {
    const run = await runCli(['erase', '--lake', lake, '--user', person.email]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/receipt: evidence report 2 at /);
    expect(await scan(engine, lake, [person.email, person.userId])).toEqual([]);

    const after = await numbers(lake, [person.email]);
    expect(after.others).toEqual(before.others);
    expect(after.erasedSums).toEqual(before.erasedSums);
    expect(after.totals).toEqual(before.totals);
    const oct = october(lake);
    expect(oct.totals).toEqual(octoberBefore.totals);
    expect(oct.rows).toEqual(octoberBefore.rows);
    expect(oct.billedCents).toBe(octoberBefore.billedCents);
    expect(oct.summary).toBe(octoberBefore.summary);
    expect(readFileSync(path.join(lake, 'exports/chargeback/month=2026-10/rev=001/focus.csv'), 'utf8')).toMatch(/,erased-[0-9a-f]{12},/);

    const verify = await runCli(['export', 'verify', '--lake', lake]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('checked 2 evidence report(s)');
    expect(verify.stdout).toContain('every file matches its manifest and every chain link holds');
    const receiptDir = filesOf(lake).find((k) => k.startsWith('reports/evidence/seq=000002_') && k.endsWith('/erasure.json'))!;
    const receipt = JSON.parse(readFileSync(path.join(lake, receiptDir), 'utf8'));
    expect(receipt).toMatchObject({ kind: 'cclake.erasure.receipt', identity_values: expect.any(Number) });
    expect(Object.keys(receipt.zones)).toEqual(expect.arrayContaining(['raw', 'curated', 'rollups', 'exports', 'reference', 'seeds']));
    const raw = receipt.files.find((f: { zone: string }) => f.zone === 'raw');
    expect(raw).toMatchObject({
      action: 'replaced',
      new_key: expect.stringMatching(/^raw\//),
      before: { sha256: expect.any(String) },
      after: { sha256: expect.any(String) },
    });
    expect(existsKey(lake, raw.key)).toBe(false);
    expect(existsKey(lake, raw.new_key)).toBe(true);
    // The closed month's chargeback stays as billed: a rerun of the export finds nothing to bill.
    const cb = await runCli(['export', 'chargeback', '--lake', lake, '--month', '2026-10']);
    expect(cb.code, cb.stderr).toBe(0);
    expect(cb.stdout).toContain('chargeback 2026-10: unchanged, revision 1 (nothing written)');
    expect(cb.stderr).not.toContain('rebuilding it today gives a different');
  }, 600_000);

  it('is a no-op the second time; compaction and the rollup find nothing to redo (no raw object counted twice)', async () => {
    const was = digests(lake);
    const again = await runCli(['erase', '--lake', lake, '--user', person.userId]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already erased');
    expect(digests(lake)).toEqual(was);
    const compact = await runCli(['compact', '--lake', lake]);
    expect(compact.code, compact.stderr).toBe(0);
    expect(compact.stdout).toMatch(/ 0 new rows out;/);
    const rollup = await runCli(['rollup', '--lake', lake]);
    expect(rollup.stdout).toMatch(/rolled up 0 table-day\(s\)/);
    // A rebuild of a date from raw gives the same rows: the replaced raw objects carry every record.
    const rebuild = await runCli(['compact', '--lake', lake, '--dt', '2026-10-01', '--rebuild']);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    await runCli(['rollup', '--lake', lake]);
    expect(await numbers(lake, [person.email])).toEqual(before);
    expect(await scan(engine, lake, [person.email, person.userId])).toEqual([]);
  }, 600_000);

  it('drops the person’s raw data arriving after the erasure; the others’ late rows in the same object land', async () => {
    const store = new LocalObjectStore(lake);
    const localPart = person.email.split('@')[0]!;
    const mine = rec('2026-10-02T10:00:00Z', localPart, { user_email: person.email, user_id: person.userId });
    const theirs = rec('2026-10-02T10:00:01Z', 'late.colleague');
    // Arriving now (Firehose's arrival hour), dated in the erased past: late data.
    const key = await putRaw(store, new Date().toISOString(), [mine, theirs]);
    const compact = await runCli(['compact', '--lake', lake]);
    expect(compact.code, compact.stderr).toBe(0);
    expect(compact.stdout).toContain('1 row(s) of erased people dropped');
    const q = await runCli([
      'query',
      '--lake',
      lake,
      '--format',
      'json',
      `SELECT record_id FROM events WHERE record_id IN ('${mine.record_id}', '${theirs.record_id}')`,
    ]);
    expect(JSON.parse(q.stdout)).toEqual([{ record_id: theirs.record_id }]);
    // The raw object itself still holds it (it arrived after the erasure): erasing again takes it out.
    expect((await scan(engine, lake, [person.email])).filter((s) => !s.startsWith(key))).toEqual([]);
  }, 600_000);

  it('a run SIGKILLed at any write and run again ends as an uninterrupted one: nothing lost for anyone else', async () => {
    const crashed = tmp.make();
    cpSync(pristine, crashed, { recursive: true });
    const { email, userId } = person;
    // Killed in each phase: at the start, among the raw objects, among the generation commits,
    // between a chargeback file and its manifest, between the receipt and its manifest.
    const kills: string[] = [];
    for (const [at, prefix] of [
      [3, ''],
      [40, ''],
      [5, '_cclake/commits/'],
      [2, 'exports/chargeback/'],
      [2, 'reports/evidence/'],
    ] as const) {
      const r = await killAfterWrites(at, prefix, ['erase', '--lake', crashed, '--user', email]);
      kills.push(`${prefix}${at}: ${r.signal ?? r.code}`);
    }
    expect(kills.filter((k) => k.endsWith('SIGKILL')).length, kills.join('; ')).toBe(5);
    const last = await runCli(['erase', '--lake', crashed, '--user', email]);
    expect(last.code, last.stderr).toBe(0);
    expect(await scan(engine, crashed, [email, userId])).toEqual([]);
    expect(await numbers(crashed, [email])).toEqual(before);
    expect(october(crashed).totals).toEqual(octoberBefore.totals);
    const verify = await runCli(['export', 'verify', '--lake', crashed]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('checked 2 evidence report(s)'); // one receipt, however many runs
    // Every other person's curated rows are there, unchanged.
    const others = async (dir: string) => {
      const files = sqlString(`${dir}/curated/events/*/*/*.parquet`);
      const notPerson = `coalesce(lower(user_email), '') <> ${sqlString(email)} AND coalesce(user_email, '') NOT LIKE 'erased-%'`;
      const q = `SELECT count(*) AS n, count(DISTINCT record_id) AS d, sum(hash(record_id, user_email, input_tokens, cost_usd)) AS h
        FROM read_parquet(${files}, hive_partitioning = false) WHERE ${notPerson}`;
      return (await engine.query(q)).rows[0];
    };
    expect(await others(crashed)).toEqual(await others(pristine));
    const done = await runCli(['erase', '--lake', crashed, '--user', email]);
    expect(done.stdout).toContain('already erased');
  }, 900_000);
});

const existsKey = (lake: string, key: string) => filesOf(lake).includes(key);

/** `cclake <args>` in a child that SIGKILLs itself before its `n`th write to the lake (under `prefix`). */
function killAfterWrites(n: number, prefix: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test', 'helpers', 'kill-after-writes.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, CCLAKE_KILL_AFTER_WRITES: String(n), CCLAKE_KILL_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.resume();
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('cclake erase in privacy mode', () => {
  const KEY_ENV = 'CCLAKE_TEST_ERASE_KEY';
  const env = { [KEY_ENV]: 'erase test privacy key, 32 bytes+' };
  const pseudonymOf = (id: string) => new Pseudonymiser(Buffer.from(env[KEY_ENV])).of(id);

  it('finds the person by e-mail through their pseudonyms: curated, rollups and the re-identification rows keep no trace, numbers unchanged', async () => {
    const lake = tmp.make();
    const config = path.join(tmp.make(), 'cclake.config.yaml');
    writeFileSync(config, `privacy:\n  mode: pseudonymous\n  key: { source: env, name: ${KEY_ENV} }\n`);
    const demo = await runCli(['demo', '--config', config, '--lake', lake, '--users', '6', '--days', '3', '--end', '2026-10-02', '--seed', 'erase'], env);
    expect(demo.code, demo.stderr).toBe(0);
    // The person: the busiest developer (by pseudonym) and their org-directory row (e-mail, user id).
    const busiest = await runCli(
      ['query', '--config', config, '--lake', lake, '--format', 'json', 'SELECT user_key, count(*) AS n FROM user_daily GROUP BY 1 ORDER BY 2 DESC, 1'],
      env,
    );
    const keys = (JSON.parse(busiest.stdout) as { user_key: string }[]).map((r) => r.user_key);
    const directory = readFileSync(path.join(lake, 'reference/org-directory.csv'), 'utf8').trim().split('\n').slice(1);
    const row = directory.map((l) => l.split(',')).find(([e, id]) => e && id && keys.includes(pseudonymOf(e.toLowerCase())))!;
    const [email, userId] = row as [string, string];
    const traces = [email.toLowerCase(), userId.toLowerCase(), pseudonymOf(email.toLowerCase()), pseudonymOf(userId)];
    const engine = await DuckDBEngine.open();
    try {
      const seen = await scan(engine, lake, traces);
      // The scan can see them: the pseudonym in curated data and rollups, the identity in the re-identification table.
      for (const zone of ['curated/', 'rollups/user_daily/', 'reidentify/'])
        expect(
          seen.some((s) => s.startsWith(zone)),
          zone,
        ).toBe(true);
      const dau = await runCli(['query', '--config', config, '--lake', lake, 'SELECT sum(dau) AS dau FROM active_users_daily'], env);

      const run = await runCli(['erase', '--config', config, '--lake', lake, '--user', email], env);
      expect(run.code, run.stderr).toBe(0);
      expect(await scan(engine, lake, traces)).toEqual([]);
      const after = await runCli(['query', '--config', config, '--lake', lake, 'SELECT sum(dau) AS dau FROM active_users_daily'], env);
      expect(after.stdout).toBe(dau.stdout);
    } finally {
      engine.close();
    }
  }, 900_000);
});
