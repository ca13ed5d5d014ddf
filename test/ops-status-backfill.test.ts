/**
 * `cclake status` (each stage's watermark, lag and waiting work, read from the lake) and
 * `cclake backfill` (the stages replayed over a range, resumed after an interruption), on a small
 * hand-built lake: three event dates, one arrival after the last date closes, then late data.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROLLUP_TABLES } from '../schemas/rollups';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { main } from '../functions/cli/main';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { backfill, backfillPlan, progressKey } from '../functions/lib/jobs/backfill';
import { compact } from '../functions/lib/jobs/compact';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { readWatermarks, stageStatuses } from '../functions/lib/ops/watermarks';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-ops-test-');
afterAll(() => tmp.cleanup());
const config = parseConfig({});
const NOW = Date.parse('2026-11-21T06:10:00Z');

/** Events on 18..21 Nov; the object arriving at 2026-11-21T01:05 closes the 20th. */
async function lake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  await putRaw(store, '2026-11-18T10:05:00Z', [rec('2026-11-18T09:00:00Z', 'u1', { session_id: 's1' })]);
  await putRaw(store, '2026-11-19T10:05:00Z', [rec('2026-11-19T09:00:00Z', 'u2', { session_id: 's2' })]);
  await putRaw(store, '2026-11-20T12:05:00Z', [
    rec('2026-11-20T11:00:00Z', 'u1', { session_id: 's3' }),
    rec('2026-11-20T11:30:00Z', 'u3', { session_id: 's4' }),
  ]);
  await putRaw(store, '2026-11-21T01:05:00Z', [rec('2026-11-21T00:30:00Z', 'u2', { session_id: 's5' })]);
  return store;
}

async function allStages(store: LocalObjectStore, catalog: LocalCatalog) {
  await compact(store, catalog, config, { now: NOW });
  await syncPartitions(store, catalog, config, { now: NOW });
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalog, engine, config, { now: NOW });
  } finally {
    engine.close();
  }
}

describe('watermarks and cclake status', () => {
  it('follow the stages: raw waiting, then all caught up, then late data holding the rollup watermark back', async () => {
    const store = await lake();
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);

    const before = await readWatermarks(store, catalog, config, { now: NOW });
    expect(before).toMatchObject({
      rawNewestHourMs: Date.parse('2026-11-21T01:00:00Z'),
      rawPending: 4,
      compactedHourMs: null,
      curatedThrough: null,
      rollupThrough: null,
      catalogRawHourMs: null,
    });

    await allStages(store, catalog);
    const caughtUp = await readWatermarks(store, catalog, config, { now: NOW });
    expect(caughtUp).toMatchObject({
      rawPending: 0,
      compactedHourMs: Date.parse('2026-11-21T01:00:00Z'),
      // The 21st is still open: only objects that arrived after a date ended make it complete.
      curatedThrough: '2026-11-20',
      curatedNewest: '2026-11-21',
      catalogRawHourMs: Date.parse('2026-11-21T01:00:00Z'),
      catalogBehind: 0,
      rollupThrough: '2026-11-20',
    });
    // The open date is rolled up too (and will be again as data arrives), but it is not counted as pending.
    expect(caughtUp.rollupPending).toBe(0);
    const rows = stageStatuses(caughtUp, NOW);
    expect(rows.map((r) => r.stage)).toEqual(['raw (Firehose)', 'compact', 'catalog (partitions)', 'rollup', 'anomalies', 'chargeback', 'evidence']);
    expect(rows.find((r) => r.stage === 'anomalies')).toMatchObject({ watermark: null, upstream: '2026-11-20' });
    // The rollups cover October to its last day (nothing of it here), not yet November: October can close.
    expect(rows.find((r) => r.stage === 'chargeback')).toMatchObject({ watermark: null, upstream: '2026-10', pending: 'month 2026-10 can be closed' });
    expect(rows.find((r) => r.stage === 'evidence')).toMatchObject({ watermark: null, upstream: '2026-11-20' });
    expect(rows.find((r) => r.stage === 'compact')).toMatchObject({ watermark: '2026-11-21T01:00Z', upstream: '2026-11-21T01:00Z', lag: '0 h' });
    expect(rows.find((r) => r.stage === 'raw (Firehose)')).toMatchObject({ lag: '5 h' });
    expect(rows.find((r) => r.stage === 'rollup')).toMatchObject({ watermark: '2026-11-20', upstream: '2026-11-20', lag: '0 d', pending: '0 table-days' });

    // A late row for the 19th arrives: raw waits for compaction; once compacted, every rollup table
    // owes the 19th again, and the rollup watermark falls back to the 18th until the rollup runs.
    await putRaw(store, '2026-11-21T05:10:00Z', [rec('2026-11-19T15:00:00Z', 'u4', { session_id: 's6' })]);
    expect((await readWatermarks(store, catalog, config, { now: NOW })).rawPending).toBe(1);
    const c = await compact(store, catalog, config, { now: NOW });
    // What the compact function's freshness metrics are made of.
    expect([c.rawNewestHourMs, c.watermarkHourMs]).toEqual([Date.parse('2026-11-21T05:00:00Z'), Date.parse('2026-11-21T05:00:00Z')]);
    const late = await readWatermarks(store, catalog, config, { now: NOW });
    expect(late).toMatchObject({ rawPending: 0, rollupThrough: '2026-11-18', rollupPending: ROLLUP_TABLES.length, catalogBehind: 0 });
    // The catalog has not registered the new arrival hour yet.
    expect(stageStatuses(late, NOW).find((r) => r.stage === 'catalog (partitions)')).toMatchObject({ lag: '4 h' });

    // The CLI prints the same, as a table and as JSON.
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    expect(await main(['status', '--lake', store.root], io)).toBe(0);
    const table = out.join('\n');
    expect(table).toMatch(/stage\s+watermark\s+upstream\s+lag\s+pending/);
    expect(table).toMatch(new RegExp(`rollup\\s+2026-11-18\\s+2026-11-20\\s+2 d\\s+${ROLLUP_TABLES.length} table-days`));
    out.length = 0;
    expect(await main(['status', '--lake', store.root, '--format', 'json'], io)).toBe(0);
    expect(JSON.parse(out.join('\n')).watermarks).toMatchObject({ rollupThrough: '2026-11-18', curatedThrough: '2026-11-20' });
    // A mistyped lake is an error, not a lake where nothing ever ran.
    out.length = 0;
    expect(await main(['status', '--lake', path.join(store.root, 'no-such-lake')], io)).toBe(2);
    expect(out.join('\n')).toContain(`cclake: no lake at ${path.join(store.root, 'no-such-lake')}`);
    // So is compacting one, rather than compacting nothing into a new folder.
    out.length = 0;
    expect(await main(['compact', '--lake', path.join(store.root, 'no-such-lake')], io)).toBe(2);
    expect(out.join('\n')).toContain(`cclake: no lake at ${path.join(store.root, 'no-such-lake')}`);
    expect(existsSync(path.join(store.root, 'no-such-lake'))).toBe(false);
  });
});

describe('backfill', () => {
  it('plans the stages in order and refuses a reversed range', () => {
    expect(backfillPlan('2026-11-19', '2026-11-20', false).map((s) => s.id)).toEqual(['compact', 'partitions', 'rollup:2026-11-19', 'rollup:2026-11-20']);
    expect(backfillPlan('2026-11-20', '2026-11-20', true).map((s) => s.id)).toEqual([
      'compact-rebuild:2026-11-20',
      'compact',
      'partitions',
      'rollup:2026-11-20',
    ]);
    expect(() => backfillPlan('2026-11-20', '2026-11-19', false)).toThrow(/before --from/);
  });

  it('resumes after an interruption at the first unfinished step, and recomputes every day once', async () => {
    const store = await lake();
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await allStages(store, catalog);
    const commits = new PartitionCommits(store);
    const generationOf = async (dt: string) => (await commits.get('user_daily', dt))?.generation;
    expect(await generationOf('2026-11-19')).toBe(1);

    const engine = await LocalQueryEngine.open(store, config);
    try {
      // The first run dies as it reaches the rollup of the 19th (a kill between two steps).
      const seen: string[] = [];
      await expect(
        backfill(store, catalog, engine, config, {
          from: '2026-11-18',
          to: '2026-11-20',
          onProgress: (_done, _total, label, skipped) => {
            seen.push(`${skipped ? 'skip ' : ''}${label}`);
            if (label === 'rollup 2026-11-19') throw new Error('killed');
          },
        }),
      ).rejects.toThrow('killed');
      expect(seen).toEqual(['compact (new raw objects)', 'partitions', 'rollup 2026-11-18', 'rollup 2026-11-19']);
      expect(existsSync(path.join(store.root, progressKey('2026-11-18', '2026-11-20')))).toBe(true);
      expect(await generationOf('2026-11-18')).toBe(2);
      expect(await generationOf('2026-11-19')).toBe(1);

      seen.length = 0;
      const summary = await backfill(store, catalog, engine, config, {
        from: '2026-11-18',
        to: '2026-11-20',
        onProgress: (_d, _t, label, skipped) => seen.push(`${skipped ? 'skip ' : ''}${label}`),
      });
      expect(summary).toMatchObject({ status: 'completed', steps: 5, resumed: 3, ran: 2 });
      expect(seen).toEqual(['skip compact (new raw objects)', 'skip partitions', 'skip rollup 2026-11-18', 'rollup 2026-11-19', 'rollup 2026-11-20', 'done']);
      // Each day recomputed exactly once over the two runs; the progress file is gone.
      expect([await generationOf('2026-11-18'), await generationOf('2026-11-19'), await generationOf('2026-11-20')]).toEqual([2, 2, 2]);
      expect(existsSync(path.join(store.root, progressKey('2026-11-18', '2026-11-20')))).toBe(false);
      const dau = await engine.query(
        `SELECT CAST(dt AS VARCHAR) AS dt, dau FROM active_users_daily WHERE dt BETWEEN DATE '2026-11-18' AND DATE '2026-11-20' ORDER BY dt`,
      );
      expect(dau.rows).toEqual([
        { dt: '2026-11-18', dau: 1 },
        { dt: '2026-11-19', dau: 1 },
        { dt: '2026-11-20', dau: 2 },
      ]);
    } finally {
      engine.close();
    }
  });

  it('cclake backfill prints its progress and a summary', async () => {
    const store = await lake();
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['backfill', '--lake', store.root, '--from', '2026-11-19', '--to', '2026-11-20'], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      progress: { isTTY: true, write: (s) => err.push(s) }, // a terminal: the bar is drawn in place
    });
    expect(code).toBe(0);
    expect(err.at(-1)).toMatch(new RegExp(`^\\rbackfill \\[${'#'.repeat(24)}\\] 4/4 steps 100% in \\d+:\\d\\d done\\s*\\n$`));
    expect(out.join('\n')).toContain('Backfill 2026-11-19..2026-11-20: 4 steps, 4 ran, 0 done by an earlier run');
    expect(await main(['backfill', '--lake', store.root, '--from', '2026-11-20', '--to', '2026-11-19'], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
  });
});
