/**
 * The partitions stage: the catalog kept in line with the lake (tables from schemas/, raw hour
 * partitions, curated partitions at their committed generations, retention), on the local catalog
 * files that DuckDB's views read, and through the Glue adapter against a mocked Glue client.
 */
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
} from '@aws-sdk/client-glue';
import { modelCheckedMock } from './helpers/aws-model';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { INTRADAY_TABLES, ROLLUP_TABLES } from '../schemas/rollups';
import { DETECTED_ANOMALIES } from '../schemas/anomalies';
import { BILL_LINES } from '../schemas/bills';

/** The tables the partitions stage keeps beyond the raw and curated ones: the rollups, the anomalies, the imported bill lines, then the intraday rollup. */
const DAY_TABLES = [...ROLLUP_TABLES, DETECTED_ANOMALIES, BILL_LINES, ...INTRADAY_TABLES];
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { GlueCatalog } from '../functions/lib/catalog/glue';
import { LocalCatalog } from '../functions/lib/catalog/local';
import type { CatalogOp, Catalog } from '../functions/lib/catalog/port';
import { curatedEventsTable, rawTable } from '../functions/lib/catalog/tables';
import { main } from '../functions/cli/main';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { COMPACT_LOCK_PREFIX, compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { arrivalHourOf, hourPrefix } from '../functions/lib/raw/keys';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { fileOf, putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-partitions-test-');
afterAll(() => tmp.cleanup());

const cfg = (over: Record<string, unknown> = {}): Config => parseConfig(over);
const local = (store: LocalObjectStore, config: Config = cfg()) => new LocalCatalog(store, config.aws.glueDatabase);
const CURATED = curatedEventsTable().name;

/** Raw hour prefixes that hold objects: the raw partitions the catalog should list. */
async function rawHours(store: LocalObjectStore): Promise<string[]> {
  const hours = new Set<string>();
  for (const o of await listAll(store, 'raw/')) {
    const h = arrivalHourOf(o.key);
    if (h !== null) hours.add(hourPrefix('raw/', h));
  }
  return [...hours].sort();
}

/** A catalog whose every change fails: a compaction run that cannot reach Glue. */
function unreachable(inner: Catalog): Catalog {
  return {
    location: inner.location,
    getTable: (n) => inner.getTable(n),
    getPartition: (t, v) => inner.getPartition(t, v),
    listPartitions: (t) => inner.listPartitions(t),
    describe: (op) => inner.describe(op),
    apply: async (op: CatalogOp) => {
      throw new Error(`ThrottlingException: rate exceeded (${op.op})`);
    },
  };
}

describe('a lake generated over 60 days with late data', () => {
  it('ends with catalog partitions == curated dates, every location live, and a second run changes nothing', async () => {
    const store = new LocalObjectStore(tmp.make());
    const config = cfg();
    await generate(store, config, { users: 6, days: 60, end: '2026-11-20', seed: 'p60', faults: true });
    // After every generated arrival (late deliveries arrive up to days after the last event day).
    const now = Date.parse('2026-11-28T06:00:00Z');
    const first = await compact(store, local(store), config, { now });
    expect(first.catalogErrors).toEqual([]);
    expect(first.dts.length).toBeGreaterThanOrEqual(40); // working days of 60, and skewed neighbours

    // Late rows arrive for an old date; this run's catalog update fails (Glue throttled for good).
    const late = rec('2026-10-01T10:00:00Z', 'late-user');
    await putRaw(store, '2026-11-28T07:10:00Z', [late]);
    const second = await compact(store, unreachable(local(store)), config, { now: now + 7_200_000 });
    expect(second.dts.map((d) => [d.dt, d.newRows])).toEqual([['2026-10-01', 1]]);
    expect(second.catalogErrors.join()).toContain('ThrottlingException');
    const commits = new PartitionCommits(store);
    const moved = (await commits.get(CURATED, '2026-10-01'))!;
    expect(moved.generation).toBe(2);
    expect((await local(store).getPartition(CURATED, ['2026-10-01']))!.location).not.toBe(moved.location); // the catalog lags

    const run = await syncPartitions(store, local(store), config, { now: now + 10_800_000 });
    expect(run.failures).toEqual([]);
    const curated = run.tables.find((t) => t.table === CURATED)!;
    expect([curated.tableAction, curated.created, curated.updated, curated.deleted]).toEqual(['unchanged', 0, 1, 0]);
    // events_raw created with its hours, one events_curated partition moved, the rollup and anomalies tables created (no days yet).
    expect(run.requests.map((r) => r.operation)).toEqual([
      'CreateTable',
      'BatchCreatePartition',
      'BatchUpdatePartition',
      ...DAY_TABLES.map(() => 'CreateTable'),
    ]);

    // Catalog partitions == committed dates, each at its committed generation, every file there.
    const all = await commits.list(CURATED);
    const parts = await local(store).listPartitions(CURATED);
    expect(parts.map((p) => [p.values[0], p.location])).toEqual(all.map((c) => [c.dt, c.location]));
    for (const c of all) for (const f of c.files) expect(existsSync(fileOf(store, f.key)), f.key).toBe(true);
    // Raw partitions == the arrival hours that hold objects.
    expect((await local(store).listPartitions(rawTable(config).name)).map((p) => p.location)).toEqual(await rawHours(store));

    // `events` reads exactly what the catalog lists: the late row is there once.
    const engine = await DuckDBEngine.open();
    try {
      await registerLakeViews(engine, store, config);
      const n = await engine.query(
        `SELECT count(*) AS n, count(DISTINCT record_id) AS ids, count(*) FILTER (WHERE record_id = '${late.record_id}') AS late FROM events`,
      );
      expect(n.rows[0]).toEqual({ n: all.reduce((s, c) => s + (c.rows ?? 0), 0), ids: all.reduce((s, c) => s + (c.rows ?? 0), 0), late: 1 });
    } finally {
      engine.close();
    }

    const again = await syncPartitions(store, local(store), config, { now: now + 10_900_000, dryRun: true });
    expect(again.requests).toEqual([]);
    const io = { out: [] as string[], err: [] as string[] };
    const code = await main(['partitions', '--lake', store.root, '--dry-run'], { out: (s) => io.out.push(s), err: (s) => io.err.push(s) });
    expect(code).toBe(0);
    expect(JSON.parse(io.out.join('\n'))).toMatchObject({ nothingToDo: true });
  }, 240_000);
});

describe('partitions stage on a small lake', () => {
  async function smallLake(): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(tmp.make());
    await putRaw(store, '2026-11-20T01:05:00Z', [rec('2026-11-20T00:30:00Z', 'a'), rec('2026-11-19T23:50:00Z', 'b')]);
    await putRaw(store, '2026-11-20T02:05:00Z', [rec('2026-11-20T01:30:00Z', 'c')]);
    await compact(store, local(store), cfg(), { now: Date.parse('2026-11-20T03:00:00Z') });
    return store;
  }
  const NOW = Date.parse('2026-11-20T04:00:00Z');

  it('--dry-run lists the requests as JSON and changes nothing; the real run sends exactly those', async () => {
    const store = await smallLake();
    const before = (await listAll(store, '_cclake/catalog/')).map((o) => o.key);
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['partitions', '--lake', store.root, '--dry-run'], { out: (s) => io.out.push(s), err: (s) => io.err.push(s) })).toBe(0);
    const printed = JSON.parse(io.out.join('\n')) as { operation: string; input: { table: unknown } }[];
    expect(printed.map((r) => r.operation)).toEqual(['CreateTable', 'BatchCreatePartition', ...DAY_TABLES.map(() => 'CreateTable')]);
    expect(printed.map((r) => (r.input as { table: string | { name: string } }).table).map((t) => (typeof t === 'string' ? t : t.name))).toEqual([
      'events_raw',
      'events_raw',
      ...DAY_TABLES.map((t) => t.name),
    ]);
    expect((printed[1]!.input as unknown as { partitions: { values: string[] }[] }).partitions.map((p) => p.values)).toEqual([
      ['2026', '11', '20', '01'],
      ['2026', '11', '20', '02'],
    ]);
    expect((await listAll(store, '_cclake/catalog/')).map((o) => o.key)).toEqual(before);
    const run = await syncPartitions(store, local(store), cfg(), { now: NOW });
    expect(run.requests).toEqual(printed);
    expect(await local(store).listPartitions(rawTable(cfg()).name)).toHaveLength(2);
  });

  it('adds a column the catalog lacks (additive drift), keeps columns it has beyond the schema', async () => {
    const store = await smallLake();
    const cat = local(store);
    const table = (await cat.getTable(CURATED))!;
    const shrunk = { ...table, columns: [...table.columns.filter((c) => c.name !== 'ttft_ms'), { name: 'legacy_col', type: 'string' }] };
    await cat.apply({ op: 'updateTable', table: shrunk });
    const run = await syncPartitions(store, cat, cfg(), { now: NOW });
    expect(run.tables.find((t) => t.table === CURATED)).toMatchObject({ tableAction: 'update', addedColumns: ['ttft_ms'] });
    const names = (await cat.getTable(CURATED))!.columns.map((c) => c.name);
    expect(names).toContain('ttft_ms');
    expect(names).toContain('legacy_col');
  });

  it('refuses a breaking change, naming the column and both types, before changing anything', async () => {
    const store = await smallLake();
    const cat = local(store);
    const table = (await cat.getTable(CURATED))!;
    await cat.apply({ op: 'updateTable', table: { ...table, columns: table.columns.map((c) => (c.name === 'input_tokens' ? { ...c, type: 'string' } : c)) } });
    const before = (await listAll(store, '_cclake/catalog/')).map((o) => o.key);
    await expect(syncPartitions(store, cat, cfg(), { now: NOW })).rejects.toThrow(
      /column events_curated\.input_tokens is string in the catalog but bigint in schemas\/; refusing a breaking change/,
    );
    expect((await listAll(store, '_cclake/catalog/')).map((o) => o.key)).toEqual(before); // not even the raw table
    expect(await listAll(store, COMPACT_LOCK_PREFIX)).toEqual([]); // the lock is released
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['partitions', '--lake', store.root], { out: (s) => io.out.push(s), err: (s) => io.err.push(s) })).toBe(1);
    expect(io.err.join('\n')).toContain('input_tokens');
  });

  it('drops a partition pointing at nothing; leaves one with files but no commit, and says so', async () => {
    const store = await smallLake();
    const cat = local(store);
    await syncPartitions(store, cat, cfg(), { now: NOW });
    const table = (await cat.getTable(CURATED))!;
    await cat.apply({
      op: 'createPartitions',
      table,
      partitions: [{ values: ['2026-01-01'], location: 'curated/events/dt=2026-01-01/gen=000001-gone/', parameters: {} }],
    });
    await store.put('curated/events/dt=2026-01-02/manual/part.parquet', await store.get((await listAll(store, 'curated/events/dt=2026-11-20/'))[0]!.key));
    await cat.apply({
      op: 'createPartitions',
      table,
      partitions: [{ values: ['2026-01-02'], location: 'curated/events/dt=2026-01-02/manual/', parameters: {} }],
    });
    const run = await syncPartitions(store, cat, cfg(), { now: NOW });
    expect(run.tables.find((t) => t.table === CURATED)!.deleted).toBe(1);
    expect((await cat.listPartitions(CURATED)).map((p) => p.values[0])).toEqual(['2026-01-02', '2026-11-19', '2026-11-20']);
    expect(run.warnings.join()).toContain('dt=2026-01-02');
  });

  it('retention: drops partitions past it from the catalog, then deletes their objects and commits', async () => {
    const store = await smallLake();
    const config = cfg({ retention: { rawDays: 2, curatedDays: 2 } });
    await syncPartitions(store, local(store, config), config, { now: NOW });
    // Four days later only 2026-11-20's successors would be kept: both dates and both hours are past it.
    const later = Date.parse('2026-11-23T05:00:00Z');
    const dry = await syncPartitions(store, local(store, config), config, { now: later, dryRun: true });
    expect(dry.requests.map((r) => r.operation)).toEqual([
      'BatchDeletePartition',
      'DeleteObjects',
      'DeleteObjects',
      'BatchDeletePartition',
      'DeleteObjects',
      'DeleteObjects',
    ]);
    const run = await syncPartitions(store, local(store, config), config, { now: later });
    expect(run.failures).toEqual([]);
    expect(await local(store, config).listPartitions(CURATED)).toEqual([]);
    expect(await local(store, config).listPartitions(rawTable(config).name)).toEqual([]);
    expect(await listAll(store, 'curated/')).toEqual([]);
    expect(await listAll(store, 'raw/')).toEqual([]);
    expect(await new PartitionCommits(store).list(CURATED)).toEqual([]);
    expect(run.objectsDeleted).toBe(4); // 2 raw objects + 2 curated files
  });

  it('a catalog partition pointed at an older generation is what `events` reads (the catalog decides, not the files)', async () => {
    const store = await smallLake();
    const cat = local(store);
    await syncPartitions(store, cat, cfg(), { now: NOW });
    await putRaw(store, '2026-11-20T05:05:00Z', [rec('2026-11-20T04:30:00Z', 'd')]);
    const old = (await cat.getPartition(CURATED, ['2026-11-20']))!;
    await compact(store, cat, cfg(), { now: NOW + 3_600_000 });
    const count = async () => {
      const engine = await DuckDBEngine.open();
      try {
        await registerLakeViews(engine, store, cfg());
        return (await engine.query(`SELECT count(*) AS n FROM events WHERE dt = DATE '2026-11-20'`)).rows[0]!.n;
      } finally {
        engine.close();
      }
    };
    expect(await count()).toBe(3);
    await cat.apply({ op: 'updatePartitions', table: (await cat.getTable(CURATED))!, partitions: [old] });
    expect(await count()).toBe(2);
    // The partitions stage moves it back to the committed generation.
    const run = await syncPartitions(store, cat, cfg(), { now: NOW + 3_700_000 });
    expect(run.tables.find((t) => t.table === CURATED)!.updated).toBe(1);
    expect(await count()).toBe(3);
  });

  it('waits for the lake lock: a run while compaction holds it returns locked and changes nothing', async () => {
    const store = await smallLake();
    await store.put(
      `${COMPACT_LOCK_PREFIX}000001.json`,
      JSON.stringify({
        owner: 'compact busy',
        host: 'elsewhere',
        boot: null,
        pid: 1,
        acquiredAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    const run = await syncPartitions(store, local(store), cfg(), { now: NOW });
    expect(run.status).toBe('locked');
    expect(run.lockedBy).toContain('compact busy');
    expect(await local(store).getTable(rawTable(cfg()).name)).toBeNull();
  });
});

describe('through the Glue adapter (mocked Glue client)', () => {
  it('creates the tables and partitions, and an entry that already exists is updated instead', async () => {
    const store = new LocalObjectStore(tmp.make());
    await putRaw(store, '2026-11-20T01:05:00Z', [rec('2026-11-20T00:30:00Z', 'a')]);
    await compact(store, local(store), cfg(), { now: Date.parse('2026-11-20T03:00:00Z') });
    const glue = modelCheckedMock(GlueClient);
    try {
      glue.on(GetTableCommand).rejects(Object.assign(new Error('Table not found'), { name: 'EntityNotFoundException', $metadata: { httpStatusCode: 400 } }));
      glue.on(GetPartitionsCommand).resolves({ Partitions: [] });
      glue.on(CreateTableCommand).resolves({});
      glue.on(BatchCreatePartitionCommand).callsFake((input: { TableName: string; PartitionInputList: { Values: string[] }[] }) =>
        input.TableName === CURATED
          ? {
              Errors: [
                {
                  PartitionValues: input.PartitionInputList[0]!.Values,
                  ErrorDetail: { ErrorCode: 'AlreadyExistsException', ErrorMessage: 'Partition already exists.' },
                },
              ],
            }
          : {},
      );
      glue.on(BatchUpdatePartitionCommand).resolves({});
      const catalog = new GlueCatalog(new GlueClient({ region: 'us-east-1' }), {
        database: 'cclake',
        lakeUri: 's3://lake-bucket/prod/',
        retry: { sleep: async () => {} },
      });
      const run = await syncPartitions(store, catalog, cfg(), { now: Date.parse('2026-11-20T04:00:00Z') });
      expect(run.failures).toEqual([]);
      const created = glue.commandCalls(CreateTableCommand).map((c) => c.args[0].input.TableInput!.Name);
      expect(created).toEqual(['events_raw', 'events_curated', ...DAY_TABLES.map((t) => t.name)]);
      const curatedCreate = glue.commandCalls(BatchCreatePartitionCommand).find((c) => c.args[0].input.TableName === CURATED)!.args[0].input;
      const commit = (await new PartitionCommits(store).get(CURATED, '2026-11-20'))!;
      expect(curatedCreate.PartitionInputList![0]!.StorageDescriptor!.Location).toBe(`s3://lake-bucket/prod/${commit.location}`);
      const update = glue.commandCalls(BatchUpdatePartitionCommand)[0]!.args[0].input;
      expect(update.Entries!.map((e) => [e.PartitionValueList, e.PartitionInput!.StorageDescriptor!.Location])).toEqual([
        [['2026-11-20'], `s3://lake-bucket/prod/${commit.location}`],
      ]);
    } finally {
      glue.restore();
    }
  });
});
