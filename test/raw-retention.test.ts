/**
 * Raw retention and privacy mode in compaction (issue 21): in privacy mode raw objects past
 * retention.rawDays are deleted once compaction has finished them, never before; their rows stay
 * in curated/. In privacy
 * mode a later run merging late rows into a committed date keeps the live rows' pseudonyms (never
 * pseudonymised twice), gives the late rows the same pseudonym, and adds no duplicate
 * re-identification rows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { compact } from '../functions/lib/jobs/compact';
import { Pseudonymiser } from '../functions/lib/privacy/pseudonym';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-raw-retention-');
afterAll(() => {
  tmp.cleanup();
  delete process.env.CCLAKE_RETENTION_KEY;
});

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Noon UTC, `n` days before today. */
const daysAgo = (n: number) => Date.parse(`${new Date(Date.now() - n * DAY).toISOString().slice(0, 10)}T12:00:00Z`);

async function curated(store: LocalObjectStore, config: Config, sql: string): Promise<Record<string, unknown>[]> {
  const engine = await DuckDBEngine.open();
  try {
    await registerLakeViews(engine, store, config);
    return (await engine.query(sql)).rows;
  } finally {
    engine.close();
  }
}

const rawKeys = async (store: LocalObjectStore) => (await listAll(store, 'raw/')).map((o) => o.key).sort();

describe('raw retention (retention.rawDays) in compaction, privacy mode', () => {
  process.env.CCLAKE_RETENTION_KEY = 'raw retention test key, long enough';
  const config = parseConfig({ retention: { rawDays: 3 }, privacy: { mode: 'pseudonymous', key: { source: 'env', name: 'CCLAKE_RETENTION_KEY' } } });

  it('deletes the raw objects past retention that it compacted, keeps the recent ones; their rows stay curated', async () => {
    const store = new LocalObjectStore(tmp.make());
    const old = await putRaw(store, iso(daysAgo(10)), [rec(iso(daysAgo(10) - 60_000), 'a'), rec(iso(daysAgo(10) - 30_000), 'b')]);
    const recent = await putRaw(store, iso(daysAgo(1)), [rec(iso(daysAgo(1) - 60_000), 'a')]);
    const s = await compact(store, catalogFromConfig(config, store), config);
    expect(s.rowsOut).toBe(3);
    expect(s.rawObjectsExpired).toBe(1);
    expect(await rawKeys(store)).toEqual([recent]);
    expect(old).not.toBe(recent);
    expect(await curated(store, config, 'SELECT count(*) AS n FROM events_curated')).toEqual([{ n: 3 }]);
  });

  it('named mode leaves raw to the partitions job and the lifecycle rule', async () => {
    const store = new LocalObjectStore(tmp.make());
    const named = parseConfig({ retention: { rawDays: 3 } });
    const old = await putRaw(store, iso(daysAgo(10)), [rec(iso(daysAgo(10) - 60_000), 'a')]);
    const s = await compact(store, catalogFromConfig(named, store), named);
    expect(s.rawObjectsExpired).toBe(0);
    expect(await rawKeys(store)).toEqual([old]);
  });

  it('never deletes what it has not compacted: dates left for later (--dt) keep their raw objects until committed', async () => {
    const store = new LocalObjectStore(tmp.make());
    const old = await putRaw(store, iso(daysAgo(10)), [rec(iso(daysAgo(10) - 60_000), 'a')]);
    const recent = await putRaw(store, iso(daysAgo(1)), [rec(iso(daysAgo(1) - 60_000), 'a')]);
    const catalog = catalogFromConfig(config, store);
    const first = await compact(store, catalog, config, { dt: iso(daysAgo(1)).slice(0, 10) });
    expect(first.deferredDts).toEqual([iso(daysAgo(10)).slice(0, 10)]);
    expect(first.rawObjectsExpired).toBe(0);
    expect(await rawKeys(store)).toEqual([old, recent].sort());
    const second = await compact(store, catalog, config);
    expect(second.rawObjectsExpired).toBe(1);
    expect(await rawKeys(store)).toEqual([recent]);
    expect(await curated(store, config, 'SELECT count(*) AS n FROM events_curated')).toEqual([{ n: 2 }]);
  });

  it('leaves an old object delivered after its hour left the lookback (never listed, never compacted)', async () => {
    const store = new LocalObjectStore(tmp.make());
    const catalog = catalogFromConfig(config, store);
    await putRaw(store, iso(daysAgo(1)), [rec(iso(daysAgo(1) - 60_000), 'a')]);
    await compact(store, catalog, config);
    // Written now into an hour ten days back: beyond the 48-hour lookback, so no run lists it.
    const late = await putRaw(store, iso(daysAgo(10)), [rec(iso(daysAgo(10) - 60_000), 'late')]);
    const s = await compact(store, catalog, config);
    expect(s.rawObjectsExpired).toBe(0);
    expect(await rawKeys(store)).toContain(late);
  });
});

describe('privacy mode across compaction runs', () => {
  it('late rows for a committed date get the same pseudonym, live rows are not pseudonymised again, no duplicate re-identification rows', async () => {
    process.env.CCLAKE_RETENTION_TEST_KEY = 'retention test key, long enough';
    try {
      const config = parseConfig({ privacy: { mode: 'pseudonymous', key: { source: 'env', name: 'CCLAKE_RETENTION_TEST_KEY' } } });
      const store = new LocalObjectStore(tmp.make());
      const catalog = catalogFromConfig(config, store);
      const t = daysAgo(2);
      await putRaw(store, iso(t), [rec(iso(t - 120_000), 'a', { user_email: 'A.Person@Example.com' })]);
      await compact(store, catalog, config);
      await putRaw(store, iso(t + 3_600_000), [
        rec(iso(t - 60_000), 'a', { user_email: 'a.person@example.com ' }),
        rec(iso(t - 30_000), 'b', { user_email: null }),
      ]);
      const s = await compact(store, catalog, config);
      expect(s.dts.map((d) => [d.liveRowsBefore, d.rowsOut])).toEqual([[1, 3]]);
      const p = new Pseudonymiser(Buffer.from('retention test key, long enough'));
      const rows = await curated(store, config, 'SELECT user_email, user_id, user_account_uuid FROM events_curated ORDER BY event_time');
      expect(rows).toEqual([
        { user_email: p.of('a.person@example.com'), user_id: p.of('a'), user_account_uuid: null },
        { user_email: p.of('a.person@example.com'), user_id: p.of('a'), user_account_uuid: null },
        // No e-mail: the identity is the user id, and user_key its pseudonym.
        { user_email: p.of('b'), user_id: p.of('b'), user_account_uuid: null },
      ]);
      const reid = await curated(store, config, 'SELECT pseudonym, identity, kind FROM reidentification ORDER BY identity, kind');
      expect(reid).toEqual([
        { pseudonym: p.of('a'), identity: 'a', kind: 'user_id' },
        { pseudonym: p.of('a.person@example.com'), identity: 'a.person@example.com', kind: 'user_key' },
        { pseudonym: p.of('b'), identity: 'b', kind: 'user_id' },
        { pseudonym: p.of('b'), identity: 'b', kind: 'user_key' },
      ]);
      expect((await listAll(store, 'reidentify/')).length).toBe(2);
    } finally {
      delete process.env.CCLAKE_RETENTION_TEST_KEY;
    }
  });
});
