/**
 * The commit protocol every generation table goes through (functions/lib/generations/): of two
 * writers racing from one version exactly one commits, the loser gets CommitConflictError and its
 * files are collected, and no reader ever sees a mix; a run SIGKILLed between writing a generation
 * and committing it (the rollup, the anomalies job) is completed by the next run, which collects the
 * orphan; a retry with the same run id (Lambda keeps awsRequestId) writes to a fresh location.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DETECTED_ANOMALIES } from '../schemas/anomalies';
import { ROLLUP_TABLES } from '../schemas/rollups';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { generationTables } from '../functions/lib/catalog/tables';
import { CommitConflictError, Generations, RETIRED_PREFIX, tablePrefix, type LiveGeneration } from '../functions/lib/generations/generations';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { readRows, writeRows } from '../functions/lib/parquet/io';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { putRaw, rec, REPO, tempDirs } from './helpers/compaction-lake';
import { spawn } from 'node:child_process';

const GENERATION_SPECS = generationTables().map((t) => t.spec);

const tmp = tempDirs('cclake-generations-');
afterAll(() => tmp.cleanup());
const config = parseConfig({});
const TABLE = DETECTED_ANOMALIES.name;
const DT = '2026-11-20';

/** The generation folders under a table's prefix for one date. */
async function folders(store: LocalObjectStore, table: string, dt: string): Promise<string[]> {
  const prefix = `${tablePrefix(table)}dt=${dt}/`;
  return [...new Set((await listAll(store, prefix)).map((o) => o.key.slice(0, o.key.indexOf('/', prefix.length) + 1)))].sort();
}

describe('two writers racing on one date', () => {
  /** A writer's generation: three files whose rows all name the writer. */
  async function prepare(store: LocalObjectStore, g: Generations, writer: string) {
    const live = await g.current(TABLE, DT);
    const { generation, location } = g.newLocation(TABLE, DT, writer, live?.commit ?? null);
    const files = [];
    for (let i = 0; i < 3; i++) {
      const rows = Array.from({ length: 5 }, (_, k) => ({
        anomaly_id: `${writer}-${i}-${k}`,
        detector: 'error_rate',
        entity_type: 'model',
        entity: writer,
        observed: 1,
        baseline: 0,
        score: 9,
        severity: 'warning',
        message: 'm',
        details: '{}',
      }));
      const key = `${location}part-${String(i).padStart(5, '0')}.parquet`;
      const bytes = writeRows(DETECTED_ANOMALIES, rows);
      await store.put(key, bytes);
      files.push({ key, bytes: bytes.length, rows: rows.length });
    }
    return { expect: live, next: { location, generation, files, rows: 15, runId: writer } };
  }

  it('exactly one commit wins, the loser gets CommitConflictError, readers never see a mix, GC collects the loser', async () => {
    const store = new LocalObjectStore(tmp.make());
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    const g = new Generations(store, catalog, GENERATION_SPECS);
    const first = await prepare(store, g, 'gen1writer');
    const gen1 = await g.commit(TABLE, DT, first.next, { expect: null, retiredAt: new Date() });
    expect((await g.publish(TABLE, [gen1.commit])).errors).toEqual([]);

    // A reader reads the commit, then every file it names: all rows must be one writer's.
    let racing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (racing) {
        const live = (await g.current(TABLE, DT))!;
        const writers = new Set<string>();
        let rows = 0;
        for (const f of live.commit.files) {
          expect(f.key.startsWith(live.commit.location)).toBe(true);
          for (const r of readRows(await store.get(f.key))) writers.add(r.entity as string);
          rows += f.rows ?? 0;
        }
        expect([...writers]).toEqual([live.commit.runId]);
        expect(rows).toBe(live.commit.rows);
        seen.add(live.commit.runId);
      }
    })();

    const a = await prepare(store, g, 'writerA1');
    const b = await prepare(store, g, 'writerB1');
    expect(a.expect!.version).toBe(b.expect!.version); // both started from generation 1
    const results = await Promise.allSettled([a, b].map((w) => g.commit(TABLE, DT, w.next, { expect: w.expect, retiredAt: new Date() })));
    racing = false;
    await reader;

    const won = results.filter((r): r is PromiseFulfilledResult<LiveGeneration> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toBeInstanceOf(CommitConflictError);
    const winner = won[0]!.value.commit;
    const loser = [a, b].find((w) => w.next.location !== winner.location)!;
    expect((lost[0]!.reason as CommitConflictError).location).toBe(loser.next.location);
    expect((await g.current(TABLE, DT))!.commit).toEqual(winner);
    expect(seen.has('gen1writer')).toBe(true);

    // Before the catalog follows, generation 1 is still read there and stays; the loser's files wait for GC.
    expect(await folders(store, TABLE, DT)).toEqual([first.next.location, a.next.location, b.next.location].sort());
    const kept = await g.collectGarbage([TABLE], { now: Date.now() + 1, graceMinutes: 0 });
    expect(kept.deleted).toBe(1); // the loser's: never committed, and nothing reads it
    expect(await folders(store, TABLE, DT)).toEqual([first.next.location, winner.location].sort());
    expect((await g.publish(TABLE, [winner])).errors).toEqual([]);
    const gc = await g.collectGarbage([TABLE], { now: Date.now() + 1, graceMinutes: 0 });
    expect(gc).toEqual({ deleted: 1, errors: [] });
    expect(await folders(store, TABLE, DT)).toEqual([winner.location]);
    expect(await listAll(store, RETIRED_PREFIX)).toEqual([]);
  });

  it('keeps retired and orphaned generations for the grace period; a first commit over an existing one conflicts', async () => {
    const store = new LocalObjectStore(tmp.make());
    const g = new Generations(store, new LocalCatalog(store, config.aws.glueDatabase), GENERATION_SPECS);
    const one = await prepare(store, g, 'w1');
    await g.commit(TABLE, DT, one.next, { expect: null, retiredAt: new Date() });
    const two = await prepare(store, g, 'w2');
    await g.commit(TABLE, DT, two.next, { expect: two.expect, retiredAt: new Date() });
    const orphan = await prepare(store, g, 'w3');
    expect(await g.collectGarbage([TABLE], { now: Date.now(), graceMinutes: 60 })).toEqual({ deleted: 0, errors: [] });
    const stale = await prepare(store, g, 'w4');
    await expect(g.commit(TABLE, DT, stale.next, { expect: null, retiredAt: new Date() })).rejects.toBeInstanceOf(CommitConflictError);
    expect(await g.collectGarbage([TABLE], { now: Date.now() + 61 * 60_000, graceMinutes: 60 })).toEqual({ deleted: 3, errors: [] });
    expect(await folders(store, TABLE, DT)).toEqual([two.next.location]);
    expect(orphan.next.location).not.toBe(two.next.location);
  });
});

/** A lake with two curated days, compacted, and a config file for the CLI (grace 0, so orphans go at once). */
async function lakeWithCuratedDays(): Promise<{ store: LocalObjectStore; configFile: string }> {
  const root = tmp.make();
  const store = new LocalObjectStore(path.join(root, 'lake'));
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    'user_email,user_id,team,department,cost_center,valid_from,valid_to\nu1@example.com,u1,payments,finance-eng,CC-100,2026-11-01,\n',
  );
  await putRaw(store, '2026-11-18T10:05:00Z', [rec('2026-11-18T09:00:00Z', 'u1', { session_id: 's0' })]);
  await putRaw(store, '2026-11-20T12:05:00Z', [
    rec('2026-11-20T09:00:00Z', 'u1', { session_id: 's1' }),
    rec('2026-11-20T09:05:00Z', 'u2', { session_id: 's2' }),
  ]);
  await compact(store, new LocalCatalog(store, config.aws.glueDatabase), config, { now: Date.parse('2026-11-20T13:00:00Z') });
  const configFile = path.join(root, 'cclake.config.json');
  writeFileSync(configFile, JSON.stringify({ lake: { local: { path: store.root } }, retention: { generationGraceMinutes: 0 } }));
  return { store, configFile };
}

/** `cclake <args>` in a child that SIGKILLs itself as it is about to commit a partition of `table`. */
function runKilledBeforeCommit(table: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test', 'helpers', 'kill-before-commit.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, CCLAKE_KILL_TABLE: table },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

/** Every generation folder of the table's dates is its committed one. */
async function onlyCommitted(store: LocalObjectStore, table: string): Promise<void> {
  const g = new Generations(store, new LocalCatalog(store, config.aws.glueDatabase), GENERATION_SPECS);
  const commits = await g.commits.list(table);
  expect(commits.length).toBeGreaterThan(0);
  for (const c of commits) expect(await folders(store, table, c.dt), `${table} dt=${c.dt}`).toEqual([c.location]);
  const all = new Set((await listAll(store, tablePrefix(table))).map((o) => o.key.split('/').slice(0, -1).join('/') + '/'));
  expect([...all].sort()).toEqual(commits.map((c) => c.location).sort());
}

describe('SIGKILL between writing a generation and committing it', () => {
  it("rollup: the next run completes the day and collects the killed run's files", async () => {
    const { store, configFile } = await lakeWithCuratedDays();
    const killed = await runKilledBeforeCommit('user_daily', ['rollup', '--config', configFile]);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const orphans = await folders(store, 'user_daily', '2026-11-18');
    expect(orphans).toHaveLength(1); // the UNLOAD landed; no commit names it
    expect(await new Generations(store, new LocalCatalog(store, config.aws.glueDatabase), GENERATION_SPECS).current('user_daily', '2026-11-18')).toBeNull();
    expect((await listAll(store, '_cclake/locks/')).length).toBe(1); // the dead run's lock

    const engine = await LocalQueryEngine.open(store, { ...config, retention: { ...config.retention, generationGraceMinutes: 0 } });
    try {
      const s = await rollup(
        store,
        new LocalCatalog(store, config.aws.glueDatabase),
        engine,
        { ...config, retention: { ...config.retention, generationGraceMinutes: 0 } },
        { now: Date.now() + 1 },
      );
      expect(s.status).toBe('completed');
      expect(s.days.filter((d) => d.table === 'user_daily').map((d) => [d.dt, d.generation])).toEqual([
        ['2026-11-18', 1],
        ['2026-11-20', 1],
      ]);
      expect(s.catalogErrors).toEqual([]);
      expect(s.generationsDeleted).toBeGreaterThanOrEqual(1);
    } finally {
      engine.close();
    }
    for (const o of orphans) expect(await listAll(store, o), o).toEqual([]);
    for (const t of ROLLUP_TABLES) await onlyCommitted(store, t.name);
    expect(await listAll(store, '_cclake/locks/')).toEqual([]);
  }, 240_000);

  it("anomalies: the next run completes the day and collects the killed run's file", async () => {
    const { store, configFile } = await lakeWithCuratedDays();
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, new LocalCatalog(store, config.aws.glueDatabase), engine, config);
    } finally {
      engine.close();
    }
    const killed = await runKilledBeforeCommit(TABLE, ['anomalies', '--config', configFile]);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const orphans = (await listAll(store, tablePrefix(TABLE))).map((o) => o.key);
    expect(orphans).toHaveLength(1);

    const rerun = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(REPO, 'bin', 'cclake.mjs'), 'anomalies', '--config', configFile], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    for (const k of orphans) expect(existsSync(path.join(store.root, ...k.split('/'))), k).toBe(false);
    await onlyCommitted(store, TABLE);
    const g = new Generations(store, new LocalCatalog(store, config.aws.glueDatabase), GENERATION_SPECS);
    expect((await g.commits.list(TABLE)).map((c) => [c.dt, c.generation])).toEqual([
      ['2026-11-18', 1],
      ['2026-11-20', 1],
    ]);
    expect(await listAll(store, '_cclake/locks/')).toEqual([]);
  }, 240_000);
});

describe('a retry with the same run id (Lambda keeps awsRequestId)', () => {
  it("writes to a fresh location and succeeds; the failed attempt's files are collected", async () => {
    const { store } = await lakeWithCuratedDays();
    const cfg = { ...config, retention: { ...config.retention, generationGraceMinutes: 0 } };
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    // The first attempt dies at its first commit (after its UNLOAD): a timeout, say.
    const failing = Object.create(store) as LocalObjectStore;
    failing.putIfVersion = async () => {
      throw new Error('Task timed out');
    };
    const engine = await LocalQueryEngine.open(store, cfg);
    try {
      await expect(rollup(failing, catalog, engine, cfg, { dt: '2026-11-18', runId: 'abcd1234' })).rejects.toThrow(/Task timed out/);
      const first = await listAll(store, 'rollups/');
      expect(first.length).toBeGreaterThan(0);
      expect(first.every((o) => o.key.includes('/gen=000001-abcd1234-'))).toBe(true);
      const again = await rollup(store, catalog, engine, cfg, { dt: '2026-11-18', runId: 'abcd1234', now: Date.now() + 1 });
      expect(again.status).toBe('completed');
      expect(again.days).toHaveLength(ROLLUP_TABLES.length);
      for (const d of again.days) {
        expect(d.location).toMatch(/\/gen=000001-abcd1234-[0-9a-f]{6}\/$/);
        expect(
          first.some((o) => o.key.startsWith(d.location)),
          d.location,
        ).toBe(false);
      }
      for (const o of first) expect(existsSync(path.join(store.root, ...o.key.split('/'))), o.key).toBe(false);
      for (const t of ROLLUP_TABLES) await onlyCommitted(store, t.name);
    } finally {
      engine.close();
    }
  }, 240_000);
});
