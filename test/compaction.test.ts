/**
 * Compaction (issue acceptance criteria) on small hand-built and generated lakes: real Parquet,
 * real DuckDB, and real processes for the CLI. Dedupe, event-date partitioning in the reporting
 * time zone, late data reopening a date, incremental runs, schema union, quarantine, the lock,
 * `--dt` / `--rebuild`, the deadline, and the end-to-end numbers of a faulty generated lake.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { STATE_KEY, loadState } from '../functions/lib/compaction/state';
import { thisProcess } from '../functions/lib/lock/this-machine';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { COMPACT_LOCK_PREFIX, compact, type CompactOptions } from '../functions/lib/jobs/compact';
import { FAULT_LABELS_KEY, generate, type FaultLabels } from '../functions/lib/jobs/generate';
import { writeRows } from '../functions/lib/parquet/io';
import { rawObjectKey } from '../functions/lib/raw/keys';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { RAW_RECORD } from '../schemas/raw-record';
import {
  NARROW_TABLE,
  WORKSPACE_TABLE,
  WRONG_SCHEMA_TABLE,
  compareLake,
  curatedRows,
  fileOf,
  liveFiles,
  putRaw,
  rawKeys,
  rec,
  runCli,
  spawnCli,
  tempDirs,
} from './helpers/compaction-lake';

const tmp = tempDirs('cclake-compact-test-');
afterAll(() => tmp.cleanup());

const lakeStore = () => new LocalObjectStore(tmp.make());
const cfg = (over: Record<string, unknown> = {}): Config => parseConfig(over);
const run = (store: LocalObjectStore, config: Config = cfg(), options: CompactOptions = {}) =>
  compact(store, catalogFromConfig(config, store), config, options);
const ids = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.record_id)).sort();
const pointer = (store: LocalObjectStore, dt: string) => new PartitionCommits(store).get('events_curated', dt);
/** The id of a process that ran on this machine and has exited. */
async function pidOfExitedProcess(): Promise<number> {
  const gone = spawnCli(['--version']);
  await gone.done;
  return gone.child.pid!;
}

async function describeColumns(files: string[]): Promise<Map<string, string>> {
  const engine = await DuckDBEngine.open();
  try {
    const r = await engine.query(`DESCRIBE SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`);
    return new Map(r.rows.map((x) => [String(x.column_name), String(x.column_type)]));
  } finally {
    engine.close();
  }
}

describe('dedupe', () => {
  it('drops duplicates across objects (redelivery) and within an object, and counts them', async () => {
    const store = lakeStore();
    const [a, b, c] = [rec('2026-11-20T05:00:00Z', 'u1'), rec('2026-11-20T05:01:00Z', 'u2'), rec('2026-11-20T05:02:00Z', 'u3')];
    const k1 = await putRaw(store, '2026-11-20T05:10:00Z', [a, b, b, c]);
    // Firehose redelivered the same object under another key, half an hour later.
    const k2 = await putRaw(store, '2026-11-20T05:40:00Z', [a, b, b, c]);
    expect(k1).not.toBe(k2);
    const s = await run(store);
    expect(s.status).toBe('completed');
    expect(s.objectsRead).toBe(2);
    expect(s.rowsIn).toBe(8);
    expect(s.rowsOut).toBe(3);
    expect(s.duplicatesDropped).toBe(5);
    expect(s.dts.map((d) => [d.dt, d.rowsIn, d.newRows, d.rowsOut, d.generation])).toEqual([['2026-11-20', 8, 3, 3, 1]]);
    const rows = await curatedRows(store);
    expect(ids(rows)).toEqual(ids([a, b, c]));
    const cmp = await compareLake(store, [k1, k2]);
    expect([cmp.missing, cmp.extra, cmp.curatedRows]).toEqual([[], [], 3]);
  });
});

describe('event-date partitions in the reporting time zone', () => {
  const rows = [rec('2026-11-20T03:00:00Z', 'u1'), rec('2026-11-20T12:00:00Z', 'u2'), rec('2026-11-19T20:00:00Z', 'u3')];
  const byDt = async (store: LocalObjectStore) => {
    const out: Record<string, string[]> = {};
    for (const p of await new PartitionCommits(store).list('events_curated')) out[p.dt] = ids(await curatedRows(store, p.dt));
    return out;
  };

  it('America/New_York: 2026-11-20T03:00Z is on 2026-11-19; one raw hour feeds several dates', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T13:00:00Z', rows);
    const s = await run(store, cfg({ reporting: { timeZone: 'America/New_York' } }));
    expect(s.dts.map((d) => [d.dt, d.newRows])).toEqual([
      ['2026-11-19', 2],
      ['2026-11-20', 1],
    ]);
    expect(await byDt(store)).toEqual({ '2026-11-19': ids([rows[0]!, rows[2]!]), '2026-11-20': ids([rows[1]!]) });
    // The events view reads dt from the partition path.
    const engine = await DuckDBEngine.open();
    try {
      await registerLakeViews(engine, store, cfg());
      const r = await engine.query(`SELECT record_id, strftime(dt, '%Y-%m-%d') AS dt FROM events ORDER BY event_time`);
      expect(r.rows.map((x) => x.dt)).toEqual(['2026-11-19', '2026-11-19', '2026-11-20']);
    } finally {
      engine.close();
    }
  });

  it('UTC: the same record is on 2026-11-20', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T13:00:00Z', rows);
    await run(store, cfg({ reporting: { timeZone: 'UTC' } }));
    expect(await byDt(store)).toEqual({ '2026-11-19': ids([rows[2]!]), '2026-11-20': ids([rows[0]!, rows[1]!]) });
  });
});

describe('late data', () => {
  it('reopens an old date as a new generation (old + new, sorted by event time then user); the old generation outlives the grace period only', async () => {
    const store = lakeStore();
    const first = [rec('2026-11-19T10:00:00Z', 'bob'), rec('2026-11-19T08:00:00Z', 'carol'), rec('2026-11-19T10:00:00Z', 'alice')];
    await putRaw(store, '2026-11-19T11:00:00Z', first);
    const s1 = await run(store);
    expect(s1.dts.map((d) => [d.dt, d.generation, d.rowsOut, d.lateRows])).toEqual([['2026-11-19', 1, 3, 0]]);
    const gen1 = (await pointer(store, '2026-11-19'))!;

    // A day and a half later a backlog delivers a row of 2026-11-19, next to a row of 2026-11-21.
    const late = rec('2026-11-19T09:00:00Z', 'dave');
    const today = rec('2026-11-21T01:00:00Z', 'erin');
    await putRaw(store, '2026-11-21T02:00:00Z', [late, today]);
    const s2 = await run(store);
    expect(s2.objectsRead).toBe(1);
    expect(s2.lateRows).toBe(1);
    expect(s2.dts.map((d) => [d.dt, d.generation, d.liveRowsBefore, d.newRows, d.rowsOut, d.lateRows])).toEqual([
      ['2026-11-19', 2, 3, 1, 4, 1],
      ['2026-11-21', 1, 0, 1, 1, 0],
    ]);
    const gen2 = (await pointer(store, '2026-11-19'))!;
    expect(gen2.generation).toBe(2);
    expect(gen2.location).not.toBe(gen1.location);
    const rows = await curatedRows(store, '2026-11-19');
    expect(rows.map((r) => r.user_id)).toEqual(['carol', 'dave', 'alice', 'bob']); // 08:00, 09:00, 10:00 alice, 10:00 bob

    // Grace period: the retired generation is still readable right after the switch...
    for (const f of gen1.files) expect(existsSync(fileOf(store, f.key)), f.key).toBe(true);
    const s3 = await run(store);
    expect([s3.objectsRead, s3.generationsDeleted]).toEqual([0, 0]);
    for (const f of gen1.files) expect(existsSync(fileOf(store, f.key)), f.key).toBe(true);
    // ...and deleted by a run after it (grace 0), while the live generation stays.
    const s4 = await run(store, cfg({ retention: { generationGraceMinutes: 0 } }));
    expect(s4.generationsDeleted).toBe(1);
    for (const f of gen1.files) expect(existsSync(fileOf(store, f.key)), f.key).toBe(false);
    for (const f of gen2.files) expect(existsSync(fileOf(store, f.key)), f.key).toBe(true);
    expect((await loadState(store))!.retired).toEqual([]);
  });
});

describe('order across slices and files', () => {
  it('a date of several slices cut into several files reads back in order, file after file (event time, user, id)', async () => {
    const store = lakeStore();
    // 160,000 rows over one day, in 8 objects.
    const start = Date.parse('2026-11-20T00:00:00Z');
    for (let obj = 0; obj < 8; obj++) {
      const rows = Array.from({ length: 20_000 }, (_, i) => {
        const n = obj * 20_000 + i;
        return rec(new Date(start + ((n * 7919) % 86_400) * 1000).toISOString(), `u${n % 37}`);
      });
      await putRaw(store, `2026-11-21T0${obj}:05:00Z`, rows);
    }
    // 4 slices of 50,000 rows (the smallest slice) at the smallest memory limit; the 3 MiB target
    // holds two sorted slices, so files are joined from several slices' row groups.
    const s = await run(store, cfg({ compaction: { memoryLimitMiB: 64, targetFileSizeMiB: 3 } }));
    expect(s.dts.map((d) => [d.dt, d.rowsOut])).toEqual([['2026-11-20', 160_000]]);
    expect(s.dts[0]!.files).toBeGreaterThan(1);
    const engine = await DuckDBEngine.open();
    try {
      const files = await liveFiles(store, '2026-11-20');
      const groups = await engine.query(
        `SELECT file_name AS f, count(DISTINCT row_group_id) AS n, sum(row_group_num_rows) AS rows FROM parquet_metadata([${files.map(sqlString).join(', ')}]) WHERE path_in_schema = 'record_id' GROUP BY ALL`,
      );
      expect(groups.rows.length).toBe(files.length);
      expect(Math.max(...groups.rows.map((r) => r.n as number))).toBeGreaterThan(1);
      expect(groups.rows.reduce((a, r) => a + (r.rows as number), 0)).toBe(160_000);
      for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(3 * 1024 * 1024);
      // Rows in file order, then row order within each file, as a reader scanning the generation sees them.
      const r = await engine.query(`
        WITH t AS (SELECT event_time, lower(user_email) AS user_key, record_id, filename, file_row_number FROM read_parquet([${files.map(sqlString).join(', ')}], filename = true, file_row_number = true)),
        ordered AS (SELECT *, lag(event_time) OVER w AS prev_time, lag(user_key) OVER w AS prev_user
                    FROM t WINDOW w AS (ORDER BY list_position([${files.map(sqlString).join(', ')}], filename), file_row_number))
        SELECT count(*) AS n, count(*) FILTER (WHERE prev_time > event_time OR (prev_time = event_time AND prev_user > user_key)) AS out_of_order FROM ordered`);
      expect(r.rows[0]).toEqual({ n: 160_000, out_of_order: 0 });
    } finally {
      engine.close();
    }
  });
});

describe('incremental runs', () => {
  it('a run with nothing new reads nothing and writes nothing; a run after new objects reads only those', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T05:00:00Z', [rec('2026-11-20T04:00:00Z', 'u1')]);
    await putRaw(store, '2026-11-20T06:00:00Z', [rec('2026-11-20T05:00:00Z', 'u2')]);
    const s1 = await run(store);
    expect([s1.objectsRead, s1.rowsOut]).toEqual([2, 2]);
    const before = (await listAll(store, 'curated/')).map((o) => o.key);
    const p1 = await pointer(store, '2026-11-20');

    const s2 = await run(store);
    expect([s2.objectsRead, s2.rowsIn, s2.rowsOut, s2.dts.length, s2.quarantined.length]).toEqual([0, 0, 0, 0, 0]);
    expect((await listAll(store, 'curated/')).map((o) => o.key)).toEqual(before);
    expect(await pointer(store, '2026-11-20')).toEqual(p1);

    const added = [
      await putRaw(store, '2026-11-20T07:00:00Z', [rec('2026-11-20T06:00:00Z', 'u3')]),
      await putRaw(store, '2026-11-20T07:05:00Z', [rec('2026-11-20T06:01:00Z', 'u4')]),
      await putRaw(store, '2026-11-20T08:00:00Z', [rec('2026-11-20T07:00:00Z', 'u5')]),
    ];
    const s3 = await run(store);
    expect(s3.objectsRead).toBe(added.length);
    expect([s3.rowsIn, s3.rowsOut]).toEqual([3, 3]);
    expect((await pointer(store, '2026-11-20'))!.rows).toBe(5);
  });
});

describe('schema union', () => {
  it('an object with an extra column and one with int32 tokens compact together: the extra column is kept (null elsewhere), tokens are BIGINT', async () => {
    const store = lakeStore();
    const wide = [{ ...rec('2026-11-20T01:00:00Z', 'u1'), workspace_id: 'ws-1' }];
    const narrow = [rec('2026-11-20T02:00:00Z', 'u2', { input_tokens: 2_000_000_000, output_tokens: 7 })];
    const plain = [rec('2026-11-20T03:00:00Z', 'u3', { input_tokens: 5_000_000_000 })];
    await putRaw(store, '2026-11-20T04:00:00Z', wide, WORKSPACE_TABLE);
    await putRaw(store, '2026-11-20T04:01:00Z', narrow, NARROW_TABLE);
    await putRaw(store, '2026-11-20T04:02:00Z', plain);
    const s = await run(store);
    expect([s.status, s.objectsRead, s.rowsOut, s.quarantined]).toEqual(['completed', 3, 3, []]);
    const cols = await describeColumns(await liveFiles(store));
    expect(cols.get('workspace_id')).toBe('VARCHAR');
    for (const c of ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens']) expect(cols.get(c), c).toBe('BIGINT');
    const rows = await curatedRows(store);
    expect(rows.map((r) => [r.user_id, r.workspace_id, r.input_tokens])).toEqual([
      ['u1', 'ws-1', 100],
      ['u2', null, 2_000_000_000],
      ['u3', null, 5_000_000_000],
    ]);
  });

  it('curated files carry exactly the raw record columns (plus columns a newer table added), not the raw or curated path partitions', async () => {
    // CONTRACTS / schemas/curated-events.ts: "Files carry exactly the raw record's columns (plus any
    // column a newer table version added)". Raw keys contain year=/month=/day=/hour= and curated keys
    // dt=/gen=; DuckDB's hive auto-detection must not turn them into data columns.
    const store = lakeStore();
    await putRaw(store, '2026-11-20T04:00:00Z', [rec('2026-11-20T01:00:00Z', 'u1')]);
    await run(store);
    await putRaw(store, '2026-11-21T04:00:00Z', [rec('2026-11-20T02:00:00Z', 'u2')]); // reopens 2026-11-20
    await run(store);
    expect((await pointer(store, '2026-11-20'))!.generation).toBe(2);
    const cols = [...(await describeColumns(await liveFiles(store))).keys()];
    expect(cols).toEqual(RAW_RECORD.columns.map((c) => c.name));
  });
});

describe('quarantine', () => {
  it('moves truncated, garbage, zero-byte, bad-footer and wrong-schema objects aside with a reason, keeps the good rows of the hour, and never retries them', async () => {
    const store = lakeStore();
    const good = [rec('2026-11-20T06:00:00Z', 'u1'), rec('2026-11-20T06:30:00Z', 'u2')];
    const goodKey = await putRaw(store, '2026-11-20T07:01:00Z', good);
    const bytes = writeRows(RAW_RECORD, [rec('2026-11-20T06:10:00Z', 'u9'), rec('2026-11-20T06:11:00Z', 'u9')], { codec: 'snappy' });
    const put = async (minute: number, body: Uint8Array | string) => {
      const key = rawObjectKey('raw/', 'cclake-telemetry', Date.parse(`2026-11-20T07:${String(minute).padStart(2, '0')}:00Z`));
      await store.put(key, body);
      return key;
    };
    const bad = {
      truncated: await put(10, bytes.subarray(0, Math.floor(bytes.length * 0.6))),
      garbage: await put(11, '{"message":"not parquet"}\n'),
      empty: await put(12, new Uint8Array(0)),
      footer: await put(13, new Uint8Array([...Buffer.from('PAR1'), ...new Uint8Array(64).fill(7), ...Buffer.from('PAR1')])),
      wrongSchema: await put(14, writeRows(WRONG_SCHEMA_TABLE, [{ ...rec('2026-11-20T06:20:00Z', 'u8'), input_tokens: '12' }])),
    };
    const s = await run(store);
    expect(s.status).toBe('completed');
    const reasons = Object.fromEntries(s.quarantined.map((q) => [q.key, q.reason]));
    expect(Object.keys(reasons).sort()).toEqual(Object.values(bad).sort());
    expect(reasons[bad.truncated]).toMatch(/truncated/i);
    expect(reasons[bad.garbage]).toMatch(/not a Parquet/i);
    expect(reasons[bad.empty]).toMatch(/empty|0 bytes/i);
    expect(reasons[bad.footer]).toMatch(/footer|unreadable/i);
    expect(reasons[bad.wrongSchema]).toMatch(/input_tokens.*VARCHAR|incompatible/i);
    for (const [what, key] of Object.entries(bad)) {
      expect(existsSync(fileOf(store, key)), `raw ${what} stays in raw/`).toBe(true);
      expect(existsSync(fileOf(store, `quarantine/${key}`)), `quarantine/${what}`).toBe(true);
      const reason = JSON.parse(new TextDecoder().decode(await store.get(`quarantine/${key}.reason.json`))) as Record<string, unknown>;
      expect(reason.key).toBe(key);
      expect(reason.error).toBe(reasons[key]);
      expect(reason.size).toBe((await store.head(key))!.size);
      expect(Number.isNaN(Date.parse(String(reason.firstSeen)))).toBe(false);
    }
    expect(Buffer.from(await store.get(`quarantine/${bad.truncated}`))).toEqual(Buffer.from(await store.get(bad.truncated)));
    // The good rows of the same hour are all there, and nothing of the bad objects.
    expect(ids(await curatedRows(store))).toEqual(ids(good));
    expect(s.objectsRead).toBe((await rawKeys(store)).length - Object.keys(bad).length);
    expect((await loadState(store))!.finished).toContain(goodKey);

    const again = await run(store);
    expect([again.quarantined, again.objectsRead, again.dts]).toEqual([[], 0, []]);
  });
});

describe('the compaction lock', () => {
  it('of two in-process runs started together exactly one proceeds; the other returns locked; the result is right', async () => {
    const store = lakeStore();
    const keys = [];
    for (let h = 0; h < 6; h++)
      keys.push(await putRaw(store, `2026-11-20T0${h}:30:00Z`, [rec(`2026-11-20T0${h}:00:00Z`, `u${h}`), rec(`2026-11-19T1${h}:00:00Z`, `u${h}`)]));
    const results = await Promise.all([run(store), run(store)]);
    expect(results.map((r) => r.status).sort()).toEqual(['completed', 'locked']);
    const locked = results.find((r) => r.status === 'locked')!;
    expect(locked.lockedBy).toMatch(new RegExp(`pid ${process.pid}`));
    expect([locked.objectsRead, locked.dts]).toEqual([0, []]);
    const cmp = await compareLake(store, keys);
    expect([cmp.missing, cmp.extra, cmp.curatedRows]).toEqual([[], [], 12]);
    expect(await listAll(store, COMPACT_LOCK_PREFIX)).toEqual([]);
  });

  it('takes over a lock whose lease expired, and is blocked by an unexpired lock of a live process', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T05:00:00Z', [rec('2026-11-20T04:00:00Z')]);
    const lock = (body: object) =>
      store.put(
        `${COMPACT_LOCK_PREFIX}000001.json`,
        JSON.stringify({ owner: 'compact old', acquiredAt: new Date(Date.now() - 3_600_000).toISOString(), ...body }),
      );

    await lock({ host: hostname(), pid: process.pid, expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const blocked = await run(store);
    expect(blocked.status).toBe('locked');
    expect(blocked.lockedBy).toContain(`pid ${process.pid}`);
    expect(await pointer(store, '2026-11-20')).toBeNull();

    await lock({ host: 'some-other-host', pid: 424242, expiresAt: new Date(Date.now() - 60_000).toISOString() });
    const s = await run(store);
    expect(s.status).toBe('completed');
    expect((await pointer(store, '2026-11-20'))!.rows).toBe(1);
    expect(await listAll(store, COMPACT_LOCK_PREFIX)).toEqual([]);
  });

  it('takes over an unexpired lock of a dead process on this host', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T05:00:00Z', [rec('2026-11-20T04:00:00Z')]);
    const deadPid = await pidOfExitedProcess();
    // Same machine: same host name and kernel boot id.
    await store.put(
      `${COMPACT_LOCK_PREFIX}000007.json`,
      JSON.stringify({
        owner: 'compact dead',
        host: hostname(),
        boot: thisProcess().boot,
        pid: deadPid,
        acquiredAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    const s = await run(store);
    expect(s.status).toBe('completed');
    expect(await listAll(store, COMPACT_LOCK_PREFIX)).toEqual([]);
  });

  it('respects an unexpired lock of another container on the same kernel (another host name), whatever its pid', async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T05:00:00Z', [rec('2026-11-20T04:00:00Z')]);
    const lock = {
      owner: 'compact elsewhere',
      host: `${hostname()}-other`,
      boot: thisProcess().boot,
      pid: await pidOfExitedProcess(),
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    await store.put(`${COMPACT_LOCK_PREFIX}000007.json`, JSON.stringify(lock));
    const s = await run(store);
    expect(s.status).toBe('locked');
    expect(s.lockedBy).toContain('compact elsewhere');
  });
});

describe('scratch folders', () => {
  it("a run deletes the scratch folders killed runs of this machine left behind, never a live process's or another machine's, and leaves none of its own", async () => {
    const store = lakeStore();
    await putRaw(store, '2026-11-20T05:00:00Z', [rec('2026-11-20T04:00:00Z')]);
    const deadPid = await pidOfExitedProcess();
    const scratch = tmp.make();
    const here = { host: hostname(), boot: thisProcess().boot };
    const folders = {
      'cclake-compact-dead': { ...here, pid: deadPid },
      'cclake-compact-live': { ...here, pid: process.ppid },
      // Another container on the same kernel: its pids mean nothing here.
      'cclake-compact-other-host': { ...here, host: `${hostname()}-other`, pid: deadPid },
      'cclake-compact-no-owner': null,
      'someone-else': { ...here, pid: deadPid },
    };
    for (const [name, owner] of Object.entries(folders)) {
      mkdirSync(path.join(scratch, name, 'spill'), { recursive: true });
      if (owner) writeFileSync(path.join(scratch, name, 'owner.json'), JSON.stringify(owner));
    }
    // Killed between creating its folder (named for its pid) and writing owner.json: empty, deleted.
    mkdirSync(path.join(scratch, `cclake-compact-${deadPid}-Ab12Cd`));
    // The same name with a live pid is a run about to write its owner: kept.
    mkdirSync(path.join(scratch, `cclake-compact-${process.ppid}-Ef34Gh`));
    const s = await run(store, cfg(), { tmpDir: scratch });
    expect(s.status).toBe('completed');
    expect(readdirSync(scratch).sort()).toEqual(
      [`cclake-compact-${process.ppid}-Ef34Gh`, 'cclake-compact-live', 'cclake-compact-no-owner', 'cclake-compact-other-host', 'someone-else'].sort(),
    );
  });
});

describe('--dt and --rebuild', () => {
  it('--dt commits only that date and leaves objects that also feed other dates unfinished; a later run finishes them', async () => {
    const store = lakeStore();
    const both = await putRaw(store, '2026-11-20T02:00:00Z', [rec('2026-11-19T23:00:00Z', 'u1'), rec('2026-11-20T01:00:00Z', 'u1')]);
    const only19 = await putRaw(store, '2026-11-20T02:05:00Z', [rec('2026-11-19T22:00:00Z', 'u2')]);
    const s1 = await run(store, cfg(), { dt: '2026-11-19' });
    expect(s1.dts.map((d) => [d.dt, d.rowsOut])).toEqual([['2026-11-19', 2]]);
    expect(s1.deferredDts).toEqual(['2026-11-20']);
    expect(await pointer(store, '2026-11-20')).toBeNull();
    const finished = (await loadState(store))!.finished;
    expect(finished).toContain(only19);
    expect(finished).not.toContain(both);

    const s2 = await run(store);
    expect(s2.objectsRead).toBe(1);
    expect(s2.dts.map((d) => [d.dt, d.newRows, d.generation])).toEqual([
      ['2026-11-19', 0, 1],
      ['2026-11-20', 1, 1],
    ]);
    expect((await loadState(store))!.finished).toContain(both);
    const cmp = await compareLake(store, [both, only19]);
    expect([cmp.missing, cmp.extra, cmp.curatedRows]).toEqual([[], [], 3]);
  });

  it('--rebuild --dt rebuilds a deleted or corrupted date from raw to the same rows', async () => {
    const store = lakeStore();
    const keys = [
      await putRaw(store, '2026-11-20T02:00:00Z', [rec('2026-11-19T23:00:00Z', 'u1'), rec('2026-11-20T01:00:00Z', 'u1')]),
      await putRaw(store, '2026-11-20T02:30:00Z', [rec('2026-11-19T22:00:00Z', 'u2'), rec('2026-11-19T22:00:00Z', 'u3')]),
      await putRaw(store, '2026-11-21T09:00:00Z', [rec('2026-11-19T21:00:00Z', 'u4')]), // late
    ];
    await run(store, cfg(), { dt: '2026-11-19' }); // deliberately partial first
    await run(store);
    const want = await curatedRows(store, '2026-11-19');
    expect(want).toHaveLength(4);

    // Deleted: every live file of the date is gone.
    for (const f of await liveFiles(store, '2026-11-19')) rmSync(f);
    const s1 = await run(store, cfg(), { dt: '2026-11-19', rebuild: true });
    expect(s1.status).toBe('completed');
    expect(s1.dts.map((d) => [d.dt, d.rowsOut])).toEqual([['2026-11-19', 4]]);
    expect(await curatedRows(store, '2026-11-19')).toEqual(want);

    // Corrupted: garbage in place of the live file.
    for (const f of await liveFiles(store, '2026-11-19')) writeFileSync(f, 'garbage');
    const s2 = await run(store, cfg(), { dt: '2026-11-19', rebuild: true });
    expect(s2.status).toBe('completed');
    expect(await curatedRows(store, '2026-11-19')).toEqual(want);
    // The other date was not touched, and everything still matches raw.
    const cmp = await compareLake(store, keys);
    expect([cmp.missing, cmp.extra, cmp.curatedRows]).toEqual([[], [], 5]);
  });

  it('--rebuild keeps the generation it replaces readable for the grace period', async () => {
    // A rebuild switches the pointer like any commit; readers that resolved the old pointer must
    // still find its files for retention.generationGraceMinutes (default 60).
    const store = lakeStore();
    await putRaw(store, '2026-11-20T02:00:00Z', [rec('2026-11-19T23:00:00Z', 'u1')]);
    await run(store);
    const old = (await pointer(store, '2026-11-19'))!;
    // The partition was committed two hours ago (older than the grace period).
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const f of old.files) utimesSync(fileOf(store, f.key), twoHoursAgo, twoHoursAgo);
    await run(store, cfg(), { dt: '2026-11-19', rebuild: true });
    const now = (await pointer(store, '2026-11-19'))!;
    expect(now.location).not.toBe(old.location);
    for (const f of old.files) expect(existsSync(fileOf(store, f.key)), `${f.key} deleted right after the switch`).toBe(true);
  });

  it('cclake compact --rebuild without --dt is bad usage (exit 2)', async () => {
    const dir = tmp.make();
    const err: string[] = [];
    const code = await main(['compact', '--lake', dir, '--rebuild'], { out: () => {}, err: (s) => err.push(s) });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--rebuild needs --dt/);
    await expect(run(new LocalObjectStore(dir), cfg(), { rebuild: true })).rejects.toThrow(RangeError);
  });
});

describe('deadline', () => {
  it('with the deadline already past, the run stops as partial, commits nothing, and the next run completes everything', async () => {
    const store = lakeStore();
    const keys = [
      await putRaw(store, '2026-11-20T02:00:00Z', [rec('2026-11-19T23:00:00Z', 'u1'), rec('2026-11-20T01:00:00Z', 'u1')]),
      await putRaw(store, '2026-11-20T03:00:00Z', [rec('2026-11-20T02:00:00Z', 'u2')]),
    ];
    const s1 = await run(store, cfg(), { deadlineMs: Date.now() - 1 });
    expect(s1.status).toBe('partial');
    expect(s1.dts).toEqual([]);
    expect(s1.deferredDts).toEqual(['2026-11-19', '2026-11-20']);
    expect(await new PartitionCommits(store).list('events_curated')).toEqual([]);
    expect(await listAll(store, 'curated/')).toEqual([]);
    const s2 = await run(store);
    expect([s2.status, s2.objectsRead, s2.rowsOut]).toEqual(['completed', 2, 3]);
    const cmp = await compareLake(store, keys);
    expect([cmp.missing, cmp.extra]).toEqual([[], []]);
  });

  it('objects a partial run left unfinished are picked up later even when the run finished (quarantined) a much newer object', async () => {
    // The watermark moves to the newest *finished* object's hour, and incremental runs list only
    // from (watermark - lookbackHours) on: an older object the partial run deferred falls out of view.
    const store = lakeStore();
    const old = await putRaw(store, '2026-11-10T05:00:00Z', [rec('2026-11-10T04:00:00Z', 'u1')]);
    const corruptKey = rawObjectKey('raw/', 'cclake-telemetry', Date.parse('2026-11-14T05:00:00Z'));
    await store.put(corruptKey, 'not parquet');
    const s1 = await run(store, cfg(), { deadlineMs: Date.now() - 1 });
    expect(s1.status).toBe('partial');
    expect(s1.quarantined.map((q) => q.key)).toEqual([corruptKey]);
    const s2 = await run(store);
    expect(s2.status).toBe('completed');
    const cmp = await compareLake(store, [old]);
    expect([cmp.missing, cmp.curatedRows], 'the 2026-11-10 object was never compacted').toEqual([[], 1]);
  });
});

describe('a faulty generated lake, through the CLI', () => {
  let src: string;
  let labels: FaultLabels;

  beforeAll(async () => {
    src = tmp.make();
    await generate(new LocalObjectStore(src), cfg(), { users: 10, days: 3, end: '2026-11-14', seed: 'verify', faults: true, concurrency: 1 });
    labels = JSON.parse(new TextDecoder().decode(await new LocalObjectStore(src).get(FAULT_LABELS_KEY))) as FaultLabels;
  }, 60_000);

  const copyLake = () => {
    const dir = tmp.make();
    cpSync(src, dir, { recursive: true });
    return new LocalObjectStore(dir);
  };

  it('`cclake query` counts exactly the distinct raw records, and the quarantine is exactly the labelled bad objects', async () => {
    const store = copyLake();
    const bad = [...labels.emptyObjects, ...labels.corruptObjects, ...labels.wrongSchemaObjects].sort();
    expect(bad.length).toBeGreaterThan(0);
    expect(labels.redeliveredObjects.length + labels.lateRows).toBeGreaterThan(0);
    const c = await runCli(['compact', '--lake', store.root]);
    expect(c.code, c.stderr).toBe(0);
    const quarantined = [...c.stderr.matchAll(/^quarantined: (\S+): /gm)].map((m) => m[1]!).sort();
    expect(quarantined).toEqual(bad);
    const state = JSON.parse(new TextDecoder().decode(await store.get(STATE_KEY))) as { finished: string[] };
    for (const k of bad) expect(state.finished).toContain(k);

    const valid = (await rawKeys(store)).filter((k) => !bad.includes(k));
    const cmp = await compareLake(store, valid);
    expect([cmp.missing, cmp.extra, cmp.conflictingIds]).toEqual([[], [], 0]);
    const q = await runCli(['query', '--lake', store.root, '--format', 'json', 'SELECT count(*) AS n, count(DISTINCT record_id) AS ids FROM events']);
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: cmp.rawDistinct, ids: cmp.rawDistinct }]);
    // The summary's numbers agree with the lake.
    const m = /: ([\d,]+) rows in, ([\d,]+) duplicates dropped, [\d,]+ late, ([\d,]+) new rows out; (\d+) quarantined/.exec(c.stdout);
    expect(m, c.stdout).not.toBeNull();
    const n = (s: string) => Number(s.replace(/,/g, ''));
    expect(n(m![3]!)).toBe(cmp.rawDistinct);
    expect(n(m![1]!) - n(m![2]!)).toBe(cmp.rawDistinct);
    expect(n(m![4]!)).toBe(bad.length);
  });

  it('of two `cclake compact` processes started together exactly one runs; the other says so and exits 0', async () => {
    const store = copyLake();
    const [a, b] = await Promise.all([runCli(['compact', '--lake', store.root]), runCli(['compact', '--lake', store.root])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const skipped = [a, b].filter((r) => /compaction skipped: another run holds the lock/.test(r.stdout));
    const ran = [a, b].filter((r) => /^compacted /.test(r.stdout));
    expect([skipped.length, ran.length], `${a.stdout}\n${b.stdout}`).toEqual([1, 1]);
    const bad = new Set([...labels.emptyObjects, ...labels.corruptObjects, ...labels.wrongSchemaObjects]);
    const cmp = await compareLake(
      store,
      (await rawKeys(store)).filter((k) => !bad.has(k)),
    );
    expect([cmp.missing, cmp.extra, cmp.curatedRows]).toEqual([[], [], cmp.rawDistinct]);
    expect(readdirSync(path.join(store.root, '_cclake', 'locks', 'compact'))).toEqual([]);
  });
});
