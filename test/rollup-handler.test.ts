/**
 * The rollup function's module (functions/rollup/handler.ts, not the bundle: test/serverless.test.ts
 * checks that) wired as on Lambda: the config from CCLAKE_CONFIG, the lake on S3 (s3rver on
 * loopback, reached through the SDK's AWS_ENDPOINT_URL_S3), Glue and Athena through their real
 * clients with `send` mocked (aws-sdk-client-mock): Glue as a small in-memory catalog, Athena as a
 * query service that succeeds at once and, for an UNLOAD, writes a Parquet file to the target as
 * Athena would. A single requested day runs end to end: seeds, the ledger, one UNLOAD per rollup
 * table, the commits, the Glue partitions, the log line. Event validation is covered here too.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
  type BatchCreatePartitionCommandInput,
  type Partition,
  type Table,
} from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { modelCheckedMock } from './helpers/aws-model';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { INTRADAY_TABLES, ROLLUP_TABLES } from '../schemas/rollups';
import { ConfigSchema } from '../functions/lib/config/schema';
import { lintSql } from '../functions/lib/sql/dialect';
import { SEED_TABLES } from '../schemas/seeds';
import { PartitionCommits, type PartitionCommit } from '../functions/lib/catalog/commits';
import { readRows, writeRows } from '../functions/lib/parquet/io';
import { currentModels, readSqlTree } from '../functions/lib/sql/files';
import { listAll } from '../functions/lib/store/port';
import { S3ObjectStore } from '../functions/lib/store/s3';
import { BUNDLED_SQL_DIR, handler, parseRollupEvent } from '../functions/rollup/handler';
import { startS3rver, type S3rverHandle } from './helpers/s3rver';

const BUCKET = 'cclake-rollup-lake';
const WORKGROUP = 'cclake-wg';
const DATABASE = 'cclake';
const DT = '2026-11-20';
const ROLLUPS = ROLLUP_TABLES.map((t) => t.name);
const SQL = readSqlTree(BUNDLED_SQL_DIR);

describe('parseRollupEvent', () => {
  it.each([
    [undefined, {}],
    [null, {}],
    [{}, {}],
    [{ dt: DT }, { dt: DT }],
    [
      { from: '2026-11-01', to: DT },
      { from: '2026-11-01', to: DT },
    ],
    [{ from: DT }, { from: DT }],
  ])('accepts %j', (event, parsed) => {
    expect(parseRollupEvent(event)).toEqual(parsed);
  });

  it.each([
    ['a string', '2026-11-20', /the rollup event must be an object such as \{\}, \{ "dt": "2026-11-20" \}/],
    ['an array', [DT], /must be an object/],
    ['unknown keys', { dt: DT, dryRun: true, table: 'x' }, /accepts only "dt", "from", "to" and "intraday", got "dryRun", "table"/],
    ['a bad date', { dt: '2026-02-30' }, /event\.dt must be a date YYYY-MM-DD, got "2026-02-30"/],
    ['a non-string date', { from: 20261120 }, /event\.from must be a date YYYY-MM-DD, got 20261120/],
    ['dt with a range', { dt: DT, from: DT }, /give event\.dt or event\.from\/event\.to, not both/],
    ['to alone', { to: DT }, /event\.to needs event\.from/],
    ['a reversed range', { from: DT, to: '2026-11-19' }, /event\.to 2026-11-19 is before event\.from 2026-11-20/],
    ['intraday with a range', { intraday: true, from: DT, to: DT }, /event\.intraday computes one day: give dt or nothing, not from\/to/],
    ['intraday not a boolean', { intraday: 'yes' }, /intraday/],
  ])('rejects %s', (_what, event, message) => {
    expect(() => parseRollupEvent(event)).toThrow(message);
  });

  it('fails the invocation before reading the config', async () => {
    const saved = process.env.CCLAKE_CONFIG;
    delete process.env.CCLAKE_CONFIG;
    try {
      await expect(handler({ dt: 'yesterday' }, { awsRequestId: 'x' })).rejects.toThrow(/event\.dt must be a date/);
    } finally {
      if (saved !== undefined) process.env.CCLAKE_CONFIG = saved;
    }
  });
});

describe('rollup handler on S3 + Glue + Athena (mocked)', () => {
  let server: S3rverHandle;
  const savedEnv = { ...process.env };
  const athena = modelCheckedMock(AthenaClient);
  const glue = modelCheckedMock(GlueClient);
  /** The in-memory Glue catalog: tables and partitions by name. */
  const tables = new Map<string, Table>();
  const partitions = new Map<string, Partition>();
  /** Athena queries as started, with their ids. */
  let started: (StartQueryExecutionCommandInput & { id: string })[];
  /** Powertools writes INFO to stdout, WARN and ERROR to stderr. */
  let stdout: MockInstance;
  let stderr: MockInstance;
  let prefixNo = 0;

  const notFound = (what: string) => new EntityNotFoundException({ $metadata: { httpStatusCode: 400 }, message: `${what} not found` });

  beforeAll(async () => {
    server = await startS3rver({ bucket: BUCKET });
    // The SDK's own settings, as on Lambda (credentials, region) plus the loopback endpoint for S3.
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: server.endpoint,
      // s3rver predates flexible checksums (see test/helpers/s3rver.ts).
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    athena.restore();
    glue.restore();
    process.env = savedEnv;
    await server?.close();
  });

  beforeEach(() => {
    athena.reset();
    glue.reset();
    tables.clear();
    partitions.clear();
    started = [];
    stdout?.mockRestore();
    stderr?.mockRestore();
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    let n = 0;
    athena.on(StartQueryExecutionCommand).callsFake(async (input: StartQueryExecutionCommandInput) => {
      const id = `q-${++n}`;
      started.push({ ...input, id });
      // Athena's UNLOAD writes its files into the (empty) target.
      const target = /^UNLOAD \(.*\) TO 's3:\/\/([^/]+)\/(.*)' WITH \(/s.exec(input.QueryString ?? '');
      if (target) {
        // A Parquet file of the table's columns, as UNLOAD writes (no rows: the rollup's table tests read it back).
        const def = [...ROLLUP_TABLES, ...INTRADAY_TABLES].find((t) => target[2]!.includes(`rollups/${t.name}/`));
        const body = def ? writeRows(def, []) : 'PAR1 (an UNLOAD file) PAR1';
        await server.client.send(new PutObjectCommand({ Bucket: target[1], Key: `${target[2]}20261120_000000_00001_${id}`, Body: body }));
      }
      return { QueryExecutionId: id };
    });
    athena.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => {
      const sql = started.find((q) => q.id === QueryExecutionId)?.QueryString ?? '';
      return {
        QueryExecution: {
          QueryExecutionId,
          StatementType: /^\s*(--[^\n]*\n\s*)*CREATE\b/i.test(sql) ? 'DDL' : 'DML',
          Status: { State: 'SUCCEEDED' },
          Statistics: { DataScannedInBytes: 1024, TotalExecutionTimeInMillis: 50 },
        },
      };
    });
    // The models' column check (SELECT ... LIMIT 0): no rows. On Athena only the names are read.
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { Rows: [], ResultSetMetadata: { ColumnInfo: [] } } });

    glue.on(GetTableCommand).callsFake(async ({ Name }: { Name: string }) => {
      const table = tables.get(Name);
      if (!table) throw notFound(`table ${Name}`);
      return { Table: table };
    });
    glue.on(CreateTableCommand).callsFake(async ({ TableInput }: { TableInput: Table }) => void tables.set(TableInput.Name!, TableInput));
    glue.on(UpdateTableCommand).callsFake(async ({ TableInput }: { TableInput: Table }) => void tables.set(TableInput.Name!, TableInput));
    glue.on(GetPartitionCommand).callsFake(async ({ TableName, PartitionValues }: { TableName: string; PartitionValues: string[] }) => {
      const p = partitions.get(`${TableName}/${PartitionValues.join('/')}`);
      if (!p) throw notFound(`partition ${TableName} ${PartitionValues.join('/')}`);
      return { Partition: p };
    });
    glue.on(GetPartitionsCommand).callsFake(async ({ TableName }: { TableName: string }) => ({
      Partitions: [...partitions.values()].filter((p) => p.TableName === TableName),
    }));
    glue.on(BatchCreatePartitionCommand).callsFake(async ({ TableName, PartitionInputList }: BatchCreatePartitionCommandInput) => {
      for (const p of PartitionInputList ?? []) partitions.set(`${TableName}/${p.Values!.join('/')}`, { ...p, TableName });
      return { Errors: [] };
    });
    glue.on(BatchUpdatePartitionCommand).resolves({ Errors: [] });
  });

  /** A fresh lake prefix in the bucket, configured as the function's CCLAKE_CONFIG; its store. */
  function freshLake(): S3ObjectStore {
    const prefix = `lake${++prefixNo}/`;
    process.env.CCLAKE_CONFIG = JSON.stringify({ lake: { s3: { bucket: BUCKET, prefix } }, aws: { glueDatabase: DATABASE, athena: { workgroup: WORKGROUP } } });
    return new S3ObjectStore({ client: server.client, bucket: BUCKET, prefix, multipartThresholdBytes: 64 * 1024 * 1024 });
  }

  /** The curated day as compaction committed it (generation 3). */
  async function commitCuratedDay(store: S3ObjectStore): Promise<void> {
    await new PartitionCommits(store).put({
      table: 'events_curated',
      dt: DT,
      location: `curated/events/dt=${DT}/gen=000003-cafe0001/`,
      generation: 3,
      files: [{ key: `curated/events/dt=${DT}/gen=000003-cafe0001/part-0.parquet`, bytes: 1000, rows: 10 }],
      rows: 10,
      committedAt: '2026-11-21T01:05:00.000Z',
      runId: 'cafe0001',
    });
  }

  /** The powertools line with this message, from the captured output. */
  function logLine(message: string): Record<string, unknown> | undefined {
    return [...stdout.mock.calls, ...stderr.mock.calls]
      .map(([chunk]) => String(chunk))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === message);
  }

  it('computes a requested day: seeds, ledger, one UNLOAD per rollup table into a new generation, commits, Glue partitions', async () => {
    const store = freshLake();
    await commitCuratedDay(store);

    const summary = await handler({ dt: DT }, { awsRequestId: 'abcd1234-ef56-7890' });
    const runId = 'abcd1234';
    expect(summary).toMatchObject({ runId, status: 'completed', generationsDeleted: 0, catalogErrors: [] });
    expect(summary.seeds.map((s) => [s.table, s.action])).toEqual(SEED_TABLES.map((t) => [t.name, 'written']));
    expect(summary.modelsApplied).toEqual(SQL.models.map((m) => m.file));
    // events_tail first (the events view reads it), re-created from compaction's state on every run.
    expect(summary.viewsApplied).toEqual(['events_tail', ...SQL.views.map((v) => v.file)]);
    expect(started[0]!.QueryString).toMatch(/^-- Generated by functions\/lib\/sql\/events-tail\.ts[^\n]*\nCREATE OR REPLACE VIEW events_tail AS\n/);
    expect(summary.days.map((d) => [d.table, d.dt, d.reason, d.generation])).toEqual(ROLLUPS.map((t) => [t, DT, 'requested', 1]));

    // Every statement ran in the configured workgroup and database, with no result location of
    // its own (the workgroup enforces one).
    for (const q of started) {
      expect(q).toMatchObject({ WorkGroup: WORKGROUP, QueryExecutionContext: { Database: DATABASE } });
      expect(q.ResultConfiguration).toBeUndefined();
    }

    // The UNLOAD of user_daily: the model's SELECT, into the new generation under the lake prefix,
    // Parquet with ZSTD; the day bound to every `?` as a SQL string literal.
    // A location of this attempt's own (a retry keeps the awsRequestId): generation 1, the run, a nonce.
    const location = summary.days.find((d) => d.table === 'user_daily')!.location;
    expect(location).toMatch(new RegExp(`^rollups/user_daily/dt=${DT}/gen=000001-${runId}-[0-9a-f]{6}/$`));
    const model = currentModels(SQL).get('user_daily')!;
    const unloads = started.filter((q) => q.QueryString!.startsWith('UNLOAD ('));
    expect(unloads.length).toBe(ROLLUPS.length);
    const unload = unloads.find((q) => q.QueryString!.includes('/rollups/user_daily/'))!;
    expect(unload.QueryString!.endsWith(`) TO 's3://${BUCKET}/lake1/${location}' WITH (format = 'PARQUET', compression = 'ZSTD')`)).toBe(true);
    expect(unload.QueryString).toContain(model.sql.trim().replace(/;+\s*$/, ''));
    expect(model.placeholders).toBeGreaterThan(0);
    expect(unload.ExecutionParameters).toEqual(Array.from({ length: model.placeholders }, () => `'${DT}'`));

    // The commit: the files Athena wrote, the curated generation and the model it came from.
    const commit = (await new PartitionCommits(store).get('user_daily', DT)) as PartitionCommit;
    const files = await listAll(store, location);
    expect(files.length).toBe(1);
    expect(commit).toMatchObject({
      table: 'user_daily',
      dt: DT,
      location,
      generation: 1,
      rows: null,
      runId,
      files: files.map((f) => ({ key: f.key, bytes: f.size, rows: null })),
      source: { table: 'events_curated', generation: 3 },
      model: { file: model.file, version: model.version, checksum: model.checksum },
    });

    // Glue: the user_daily table created, then its partition pointed at the committed generation.
    expect(tables.get('user_daily')?.PartitionKeys).toEqual([expect.objectContaining({ Name: 'dt', Type: 'date' })]);
    const created = glue
      .commandCalls(BatchCreatePartitionCommand)
      .map((c) => c.args[0].input)
      .filter((i) => i.TableName === 'user_daily');
    expect(created).toEqual([
      expect.objectContaining({
        DatabaseName: DATABASE,
        TableName: 'user_daily',
        PartitionInputList: [
          expect.objectContaining({ Values: [DT], StorageDescriptor: expect.objectContaining({ Location: `s3://${BUCKET}/lake1/${location}` }) }),
        ],
      }),
    ]);
    for (const t of ROLLUPS) expect(partitions.has(`${t}/${DT}`), t).toBe(true);

    // The seeds: Parquet written by parquet-wasm, each catalog table pointed at its content folder.
    for (const s of summary.seeds) {
      const rows = readRows(await store.get(`${s.location}data.parquet`));
      expect(rows.length, s.table).toBe(s.rows);
      expect(tables.get(s.table)?.StorageDescriptor?.Location).toBe(`s3://${BUCKET}/lake1/${s.location}`);
    }
    expect(summary.seeds.find((s) => s.table === 'org_directory')?.rows).toBe(0); // no CSV in this lake
    expect(summary.seeds.find((s) => s.table === 'compliance_policy')?.rows).toBeGreaterThan(0);

    // The ledger, and the lock released.
    const ledger = JSON.parse(new TextDecoder().decode(await store.get('_cclake/sql/ledger-athena.json'))) as { entries: { file: string; engine: string }[] };
    expect(ledger.entries.map((e) => e.file)).toEqual([...SQL.models.map((m) => m.file), ...SQL.views.map((v) => v.file)]);
    expect(await listAll(store, '_cclake/locks/')).toEqual([]);

    // One log line: the run's totals and its days per table with their reasons.
    const line = logLine('rollup run');
    expect(line).toMatchObject({
      level: 'INFO',
      service: 'cclake-rollup',
      runId,
      status: 'completed',
      modelsApplied: summary.modelsApplied,
      viewsApplied: summary.viewsApplied,
      catalogErrors: [],
      generationsDeleted: 0,
      durationMs: summary.durationMs,
    });
    expect(line?.seeds).toEqual(summary.seeds.map(({ table, action, rows }) => ({ table, action, rows })));
    expect(line?.days).toEqual(
      Object.fromEntries(ROLLUPS.map((t) => [t, [expect.objectContaining({ dt: DT, reason: 'requested', rows: null, generation: 1 })]])),
    );
    // Every Athena query is logged with its id and the bytes it scanned.
    const queries = [...stdout.mock.calls, ...stderr.mock.calls]
      .map(([chunk]) => String(chunk))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'athena query');
    expect(queries.length).toBeGreaterThanOrEqual(ROLLUPS.length);
    for (const q of queries) expect(q).toMatchObject({ queryId: expect.any(String), state: 'SUCCEEDED' });
    expect(queries.every((q) => 'bytesScanned' in q)).toBe(true);
  });

  it('the hourly intraday run: events_tail re-created over the raw hours from the compaction window, without quarantined objects, then one UNLOAD of today so far', async () => {
    const store = freshLake();
    await commitCuratedDay(store);
    // Compaction's state: watermark 2026-11-21 05:00, one object of 04:00 quarantined.
    const watermark = Date.parse('2026-11-21T05:00:00Z');
    await store.put('_cclake/compaction/state.json', JSON.stringify({ version: 1, watermarkHourMs: watermark, finished: [], retired: [], updatedAt: '' }));
    const bad = 'raw/year=2026/month=11/day=21/hour=04/cclake-telemetry-1-2026-11-21-04-10-00-bad.parquet';
    await store.put(`quarantine/${bad}`, 'not parquet');
    await store.put(`quarantine/${bad}.reason.json`, '{}');
    const old = 'raw/year=2026/month=11/day=18/hour=04/cclake-telemetry-1-2026-11-18-04-10-00-old.parquet';
    await store.put(`quarantine/${old}`, 'not parquet');

    const summary = await handler({ intraday: true, dt: DT }, { awsRequestId: 'feed1234-ef56-7890' });
    expect(summary.status).toBe('completed');
    expect(summary.days.map((d) => [d.table, d.dt, d.reason])).toEqual([['intraday_user_daily', DT, 'intraday']]);
    const view = started[0]!.QueryString!;
    expect(view).toMatch(/CREATE OR REPLACE VIEW events_tail AS/);
    // The default lookback (compaction.lookbackHours) before the watermark, by partition columns only.
    const lookback = ConfigSchema.parse({}).compaction.lookbackHours;
    const from = new Date(watermark - lookback * 3_600_000).toISOString().slice(0, 13).replace(/[-T]/g, '');
    expect(view).toContain(`year || month || day || hour >= '${from}'`);
    expect(view).toContain(`"$path" NOT IN ('${store.location}${bad}')`);
    expect(view).not.toContain(old);
    expect(lintSql(view, 'events_tail')).toEqual([]);
    const unloads = started.filter((q) => q.QueryString!.startsWith('UNLOAD ('));
    expect(unloads.map((q) => /rollups\/([a-z_]+)\//.exec(q.QueryString!)![1])).toEqual(['intraday_user_daily']);
    expect(unloads[0]!.QueryString).toContain('FROM (SELECT * FROM events_curated UNION ALL SELECT * FROM events_tail) e');
    expect(partitions.has(`intraday_user_daily/${DT}`)).toBe(true);
    // No daily table was touched.
    for (const t of ROLLUPS) expect(partitions.has(`${t}/${DT}`), t).toBe(false);
  });

  it('logs catalog entries Glue refused as a warning and returns the summary (the partitions stage repairs them)', async () => {
    const store = freshLake();
    await commitCuratedDay(store);
    glue.on(BatchCreatePartitionCommand, { TableName: 'compliance_daily' }).resolves({
      Errors: [{ PartitionValues: [DT], ErrorDetail: { ErrorCode: 'ResourceNumberLimitExceededException', ErrorMessage: 'too many partitions' } }],
    });

    const summary = await handler({ from: DT, to: DT }, { awsRequestId: 'feed0000-0000' });
    expect(summary.status).toBe('completed');
    expect(summary.catalogErrors).toEqual([`compliance_daily dt=${DT}: ResourceNumberLimitExceededException: too many partitions`]);
    // The commit is the truth the partitions stage rebuilds the partition from.
    expect(await new PartitionCommits(store).get('compliance_daily', DT)).toMatchObject({ generation: 1 });
    expect(logLine('rollup run')).toMatchObject({ level: 'WARN', catalogErrors: summary.catalogErrors });
  });
});
