/**
 * Freshness (issue 20 part 4): `events` is the curated events and the raw tail compaction has not
 * taken yet, deduplicated by record_id as compaction deduplicates, with the same rows whichever
 * side they come from. Real lakes (generated, with the generator's faults), real DuckDB, the CLI.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { lintSql } from '../functions/lib/sql/dialect';
import { currentModels, readSqlTree } from '../functions/lib/sql/files';
import { athenaEventsTailViewSql } from '../functions/lib/sql/events-tail';
import { eventsViewSql } from '../functions/lib/sql/events-view';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs, WRONG_SCHEMA_TABLE } from './helpers/compaction-lake';

const dirs = tempDirs('cclake-fresh-');
afterAll(() => dirs.cleanup());

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function ok(...argv: string[]) {
  const r = await cli(...argv);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function rows(lake: string, sql: string, ...extra: string[]) {
  const r = await ok('query', '--lake', lake, ...extra, '--format', 'json', sql);
  return { rows: JSON.parse(r.stdout) as Record<string, unknown>[], stderr: r.stderr };
}

/** Every column of `events`, in a stable order (maps as sorted JSON so they compare). */
const ALL_EVENTS = `SELECT * REPLACE (CAST(to_json(map_from_entries(list_sort(map_entries(attributes)))) AS VARCHAR) AS attributes) FROM events ORDER BY record_id`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('events over an uncompacted lake equals events after compaction', () => {
  for (const tz of ['UTC', 'America/Los_Angeles']) {
    it(`a generated lake with faults (redeliveries, late rows, drift, corrupt objects), reporting time zone ${tz}`, async () => {
      const lake = dirs.make();
      const config = path.join(lake, 'cclake.yaml');
      writeFileSync(config, `reporting:\n  timeZone: ${tz}\n`);
      await ok('generate', '--lake', lake, '--config', config, '--users', '5', '--days', '2', '--end', '2026-11-20', '--seed', '7', '--faults');
      // Nothing compacted: every event is in the tail, and the objects compaction would quarantine are left out and named.
      const before = await rows(lake, ALL_EVENTS, '--config', config);
      expect(before.rows.length).toBeGreaterThan(100);
      expect(before.stderr).toMatch(/raw object\(s\) not compacted yet were left out of events/);
      await ok('compact', '--lake', lake, '--config', config);
      expect(filesUnder(path.join(lake, 'quarantine')).length).toBeGreaterThan(0);
      const after = await rows(lake, ALL_EVENTS, '--config', config);
      expect(after.stderr).toBe('');
      expect(after.rows).toEqual(before.rows);
    }, 180_000);
  }
});

describe('a raw object written after compaction', () => {
  let lake: string;
  let store: LocalObjectStore;
  const early = rec('2026-11-20T10:00:00Z', 'fresh-a');
  const copied = rec('2026-11-20T10:05:00Z', 'fresh-a');
  const later = rec('2026-11-20T11:00:00Z', 'fresh-b');
  let baseline: number;

  beforeAll(async () => {
    lake = dirs.make();
    store = new LocalObjectStore(lake);
    await ok('generate', '--lake', lake, '--users', '3', '--days', '1', '--end', '2026-11-20', '--seed', '3');
    await putRaw(store, '2026-11-21T01:10:00Z', [early, copied]);
    await ok('compact', '--lake', lake);
    await ok('rollup', '--lake', lake);
    baseline = (await rows(lake, 'SELECT count(*) AS n FROM events')).rows[0]!.n as number;
  }, 180_000);

  it('is visible in events on the next query, deduplicated against curated, and reads as compaction later writes it', async () => {
    // A redelivery of a curated record and a new one, landed after the last compaction.
    await putRaw(store, '2026-11-21T02:20:00Z', [copied, later, later]);
    const q = `SELECT * REPLACE (CAST(to_json(attributes) AS VARCHAR) AS attributes) FROM events WHERE record_id IN ('${early.record_id}', '${copied.record_id}', '${later.record_id}') ORDER BY record_id`;
    const fresh = await rows(lake, q);
    expect(fresh.stderr).toBe('');
    expect(fresh.rows.map((r) => r.record_id)).toEqual([early.record_id, copied.record_id, later.record_id].sort());
    expect((await rows(lake, 'SELECT count(*) AS n FROM events')).rows).toEqual([{ n: baseline + 1 }]);
    expect((await rows(lake, `SELECT dt, team, user_key, input_tokens FROM events WHERE record_id = '${later.record_id}'`)).rows).toEqual([
      { dt: '2026-11-20', team: 'unattributed', user_key: 'fresh-b@example.com', input_tokens: 100 },
    ]);
    await ok('compact', '--lake', lake);
    expect((await rows(lake, q)).rows).toEqual(fresh.rows);
    expect((await rows(lake, 'SELECT count(*) AS n FROM events')).rows).toEqual([{ n: baseline + 1 }]);
  }, 120_000);

  it('a corrupt tail object (valid magic, broken footer) or one compaction would quarantine is skipped and named; events still answers', async () => {
    const good = filesUnder(path.join(lake, 'raw')).find((f) => f.endsWith('.parquet'))!;
    const b = readFileSync(good);
    const footer = b.readUInt32LE(b.length - 8);
    b.fill(0xff, b.length - 8 - footer, b.length - 8);
    const badKey = 'raw/year=2026/month=11/day=21/hour=03/cclake-telemetry-1-2026-11-21-03-00-00-corrupt.parquet';
    await store.put(badKey, b);
    const textKey = await putRaw(store, '2026-11-21T03:30:00Z', [rec('2026-11-20T12:00:00Z', 'fresh-c')], WRONG_SCHEMA_TABLE);
    const r = await rows(lake, 'SELECT count(*) AS n FROM events');
    expect(r.rows).toEqual([{ n: baseline + 1 }]);
    expect(r.stderr).toMatch(/^note: 2 raw object\(s\) not compacted yet were left out of events/);
    expect(r.stderr).toContain(badKey);
    expect(r.stderr).toContain(textKey);
    // The curated-only and rollup queries never read the tail.
    expect((await rows(lake, 'SELECT count(*) AS n FROM user_daily')).stderr).toBe('');
  }, 120_000);
});

describe('the intraday rollup and status freshness', () => {
  it('computes today so far from the tail, equals the final day once compacted, gives way to it, and status shows each stage’s freshness', async () => {
    const lake = dirs.make();
    const store = new LocalObjectStore(lake);
    await ok('generate', '--lake', lake, '--users', '3', '--days', '1', '--end', '2026-11-20', '--seed', '5');
    await ok('compact', '--lake', lake);
    await ok('rollup', '--lake', lake);
    // Today (the 21st) so far has landed in raw/ only.
    const today = [rec('2026-11-21T09:00:00Z', 'today-a'), rec('2026-11-21T09:30:00Z', 'today-b', { model: 'claude-opus-4-6', input_tokens: 5000 })];
    await putRaw(store, '2026-11-21T09:40:00Z', today);
    await ok('rollup', '--lake', lake, '--intraday', '--dt', '2026-11-21');
    const intraday = (await rows(lake, "SELECT * FROM intraday_user_daily WHERE dt = DATE '2026-11-21' ORDER BY user_key")).rows;
    expect(intraday.map((r) => [r.user_key, r.requests, r.input_tokens])).toEqual([
      ['today-a@example.com', 1, 100],
      ['today-b@example.com', 1, 5000],
    ]);
    const figures = 'SELECT dt, source, sum(active_users) AS users, sum(requests) AS requests FROM daily_figures GROUP BY ALL ORDER BY dt';
    const before = (await rows(lake, figures)).rows;
    expect(before.at(-1)).toEqual({ dt: '2026-11-21', source: 'intraday', users: 2, requests: 2 });

    const status = JSON.parse((await ok('status', '--lake', lake, '--format', 'json')).stdout);
    expect(status.freshness.map((r: { stage: string }) => r.stage)).toEqual(['events', 'rollups', 'dashboards']);
    expect(status.freshness[0]).toMatchObject({ stage: 'events', newest: '2026-11-21T09:30Z' });
    expect(status.freshness[1].note).toMatch(/intraday 2026-11-21 as of \d{4}-/);
    expect(status.freshness[2]).toMatchObject({ newest: null, note: 'published never' });
    const table = (await ok('status', '--lake', lake)).stdout;
    expect(table).toMatch(/Freshness \(age of the newest data each reader sees\):\n\s*stage\s+newest\s+age\s+note/);
    expect(table).toMatch(/events\s+2026-11-21T09:30Z\s+\d+ d \d+ h\s+newest event_time in events/);

    // Compacted and rolled up: the day's final numbers are exactly what the intraday rollup computed from the tail.
    await ok('compact', '--lake', lake);
    await ok('rollup', '--lake', lake);
    expect((await rows(lake, "SELECT * FROM user_daily WHERE dt = DATE '2026-11-21' ORDER BY user_key")).rows).toEqual(intraday);
    // The next day's first activity and intraday run: the 21st still reads from the intraday rollup
    // until the daily rollup has a later day (it then ran after the 21st was over).
    await putRaw(store, '2026-11-22T08:10:00Z', [rec('2026-11-22T08:00:00Z', 'today-a')]);
    await ok('rollup', '--lake', lake, '--intraday', '--dt', '2026-11-22');
    expect((await rows(lake, figures)).rows.find((r) => r.dt === '2026-11-21')).toEqual(before.at(-1));
    // The daily rollup with the 22nd: the 21st reads from it, with the same figures.
    await ok('compact', '--lake', lake);
    await ok('rollup', '--lake', lake);
    const after = (await rows(lake, figures)).rows;
    expect(after.find((r) => r.dt === '2026-11-21')).toEqual({ ...before.at(-1), source: 'final' });
    expect(after.filter((r) => String(r.dt) < '2026-11-21')).toEqual(before.filter((r) => String(r.dt) < '2026-11-21'));
    expect(after.at(-1)).toEqual({ dt: '2026-11-22', source: 'intraday', users: 1, requests: 1 });
  }, 180_000);
});

describe('the Athena tail view', () => {
  it('passes the Trino/DuckDB dialect lint in every form (zone, window, exclusions, another raw profile), as does the events view over it', () => {
    const forms = [
      athenaEventsTailViewSql({
        fromHourMs: Date.parse('2026-11-21T03:00:00Z'),
        excludedPaths: ["s3://lake/raw/year=2026/x'y.parquet"],
        timeZone: 'Europe/Berlin',
        rawIsRecord: true,
      }),
      athenaEventsTailViewSql({ fromHourMs: null, excludedPaths: [], timeZone: 'UTC', rawIsRecord: true }),
      athenaEventsTailViewSql({ fromHourMs: null, excludedPaths: [], timeZone: 'UTC', rawIsRecord: false }),
      eventsViewSql(),
    ];
    for (const sql of forms) expect(lintSql(sql, 'generated')).toEqual([]);
    expect(forms[0]).toContain("year || month || day || hour >= '2026112103'");
    expect(forms[0]).toContain(`"$path" NOT IN ('s3://lake/raw/year=2026/x''y.parquet')`);
    expect(forms[0]).toContain("CAST(CAST((event_time AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Berlin' AS TIMESTAMP) AS DATE) AS dt");
    expect(forms[1]).not.toMatch(/NOT IN \('s3|year \|\|/);
    expect(forms[2]).toMatch(/FROM events_curated\nWHERE false/);
  });
});

describe('the intraday model', () => {
  // intraday_user_daily must count a day exactly as user_daily does (daily_figures switches from one
  // to the other): its current model is the current user_daily model over curated ∪ tail, nothing
  // else. Versioned models are copies, so this keeps the two from drifting when either gets a version.
  it('is the current user_daily model with events_tail added to its source, and no other difference', () => {
    const models = currentModels(readSqlTree());
    const body = (sql: string) =>
      sql
        .split('\n')
        .filter((l) => !l.startsWith('--'))
        .join('\n');
    const daily = body(models.get('user_daily')!.sql);
    const intraday = body(models.get('intraday_user_daily')!.sql);
    const from = '  FROM events_curated e';
    expect(daily.split(from)).toHaveLength(2);
    expect(intraday).toBe(daily.replace(from, '  FROM (SELECT * FROM events_curated UNION ALL SELECT * FROM events_tail) e'));
  });
});
