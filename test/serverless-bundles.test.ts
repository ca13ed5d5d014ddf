/**
 * The packaged bundles (osls + serverless-esbuild, packaged once per content by
 * test/helpers/packaged-stack.ts), smoke-tested as Lambda runs them: each zip is unpacked outside the
 * repo and its handler run in a fresh Node process with the function's configured environment. The
 * transform against a Firehose transformation event; the compaction (with DuckDB's linux-x64 binding)
 * over a small generated local lake; the partitions function over a generated and compacted lake;
 * the rollup, publish, chargeback, evidence and anomalies functions (Athena/QuickSight only, so no
 * lake run here: their modules' tests run them) against bad events, with their SQL, definitions and
 * parquet-wasm found from the unpacked zip; the bill import over a local lake from a CUR 2.0 export
 * delivery on s3rver. The template is test/serverless-template.test.ts's.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { readSqlTree } from '../functions/lib/sql/files';
import { readDetectorSql } from '../functions/lib/anomalies/queries';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3rver } from './helpers/s3rver';
import {
  ANOMALIES_TABLE,
  DETECTOR_FILES,
  EXPORT_SQL,
  type FunctionResource,
  GLUE_DATABASE,
  type Json,
  type JsonObject,
  ROLLUPS,
  ROOT,
  SQL_FILES,
  apiRequestLogs,
  envOf,
  generateLake,
  invokeBundle,
  listFiles,
  loadStack,
  logLine,
  packagesIn,
  run,
  snapshot,
  sqlFilesIn,
  unzip,
} from './helpers/serverless-stack';

describe('serverless package: the bundles', () => {
  let pkgDir = '';
  let fn: FunctionResource;
  let compactFn: FunctionResource;
  let partitionsFn: FunctionResource;
  let rollupFn: FunctionResource;
  let publishFn: FunctionResource;
  let chargebackFn: FunctionResource;
  let evidenceFn: FunctionResource;
  let anomaliesFn: FunctionResource;
  let importBillFn: FunctionResource;
  let dir = '';
  const unpacked = new Map<string, Promise<string>>();

  beforeAll(async () => {
    const stack = await loadStack();
    pkgDir = stack.dir;
    ({ fn, compactFn, partitionsFn, rollupFn, publishFn, chargebackFn, evidenceFn, anomaliesFn, importBillFn } = stack.functions);
    dir = mkdtempSync(join(tmpdir(), 'cclake-sls-'));
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The function's zip, unpacked once into its own folder (tests share it). */
  function unpackFunction(f: FunctionResource, expectedZip: string): Promise<string> {
    const zipName = String((f.Properties.Code as JsonObject).S3Key)
      .split('/')
      .pop()!;
    expect(zipName).toBe(expectedZip);
    let done = unpacked.get(zipName);
    if (!done) {
      const dest = join(dir, `unpacked-${zipName.replace(/\.zip$/, '')}`);
      done = unzip(join(pkgDir, zipName), dest).then(() => dest);
      unpacked.set(zipName, done);
    }
    return done;
  }

  it('ships a self-contained ESM bundle that answers a Firehose transformation event', async () => {
    const dest = await unpackFunction(fn, 'transform.zip');
    const files = listFiles(dest).sort();
    expect(files).toEqual(['functions/transform/handler.mjs', 'functions/transform/handler.mjs.map']);
    // DuckDB is external for every function, but only the bundles that import it get its packages.
    expect(files.filter((f) => f.startsWith('node_modules/'))).toEqual([]);
    const handlerFile = join(dest, 'functions/transform/handler.mjs');
    expect(existsSync(handlerFile)).toBe(true);

    const event: FirehoseTransformationEvent = {
      invocationId: 'inv-package-test',
      deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cclake-telemetry',
      region: 'us-east-1',
      records: [
        { recordId: 'rec-otlp', approximateArrivalTimestamp: 1773151400000, data: apiRequestLogs().toString('base64') },
        { recordId: 'rec-garbage', approximateArrivalTimestamp: 1773151400001, data: Buffer.from('\u0000not telemetry {').toString('base64') },
      ],
    };
    const { result: res, stdout } = await invokeBundle<FirehoseTransformationResult>({
      unpacked: dest,
      handlerFile,
      event,
      requestId: 'transform-1',
      env: envOf(fn),
      workDir: dir,
    });
    expect(res.records.map((r) => r.recordId)).toEqual(['rec-otlp', 'rec-garbage']);

    const [ok, failed] = res.records;
    expect(ok?.result).toBe('Ok');
    const rows = Buffer.from(ok!.data!, 'base64')
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.length).toBe(2);
    for (const row of rows) expect(row.name).toBe('claude_code.api_request');

    expect(failed).toEqual({ recordId: 'rec-garbage', result: 'ProcessingFailed', data: event.records[1]!.data });

    // The powertools summary line, with the service name from the function's environment.
    expect(logLine(stdout, 'firehose transform')).toMatchObject({ service: 'cclake-transform', recordsIn: 2, ok: 1, processingFailed: 1, rowsOut: 2 });
  });

  /** Runs the bundled compact handler over a local lake, with the function's environment. */
  async function invokeCompact(lake: string, staging: string, requestId: string) {
    const dest = await unpackFunction(compactFn, 'compact.zip');
    return invokeBundle<Record<string, Json>>({
      unpacked: dest,
      handlerFile: join(dest, 'functions/compact/handler.mjs'),
      event: {},
      requestId,
      env: { ...envOf(compactFn), CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } } }), CCLAKE_TMP_DIR: staging /* Lambda: /tmp */ },
      workDir: dir,
    });
  }

  it('ships the compaction bundle with DuckDB linux-x64; it compacts a lake once, and a retry adds nothing', async () => {
    const dest = await unpackFunction(compactFn, 'compact.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/compact/handler.mjs', 'functions/compact/handler.mjs.map']);
    // DuckDB (and its libc probe) beside the bundle, the x64 glibc binding and no other platform's, and
    // parquet-wasm (privacy mode's re-identification rows are written with it).
    expect(packagesIn(files)).toEqual(['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64', 'detect-libc', 'parquet-wasm']);
    const binding = join(dest, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node');
    expect(existsSync(binding)).toBe(true);
    expect(existsSync(join(dest, 'node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so'))).toBe(true);
    const elf = readFileSync(binding).subarray(0, 20);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(62); // e_machine EM_X86_64
    // The bundle imports DuckDB rather than inlining it.
    expect(readFileSync(join(dest, 'functions/compact/handler.mjs'), 'utf8')).toMatch(/from ["']@duckdb\/node-api["']/);
    const unzippedBytes = files.reduce((n, f) => n + statSync(join(dest, f)).size, 0);
    console.info(`compact.zip ${statSync(join(pkgDir, 'compact.zip')).size} bytes (${unzippedBytes} unzipped; Lambda allows 262144000)`);
    expect(unzippedBytes).toBeLessThan(250 * 1024 * 1024);

    const lake = join(dir, 'lake');
    await generateLake(lake, '2026-11-20', 1, 's');
    const staging = join(dir, 'staging');
    mkdirSync(staging);

    const first = await invokeCompact(lake, staging, 'aaaabbbb-cccc');
    expect(first.result).toMatchObject({ runId: 'aaaabbbb', status: 'completed', quarantined: [], deferredDts: [], catalogPublished: 1, catalogErrors: [] });
    expect(first.result.rowsOut as number).toBeGreaterThan(0);
    expect(first.result.dts).toEqual([expect.objectContaining({ dt: '2026-11-20', generation: 1, newRows: first.result.rowsOut })]);
    expect(logLine(first.stdout, 'compaction run')).toMatchObject({ service: 'cclake-compact', status: 'completed', rowsOut: first.result.rowsOut });

    // The commit point of the date, and (a local lake) the local catalog pointed at it.
    const commits = snapshot(join(lake, '_cclake/commits'));
    const catalog = snapshot(join(lake, '_cclake/catalog'));
    const curated = snapshot(join(lake, 'curated'));
    expect(Object.keys(commits)).toEqual(['events_curated/dt=2026-11-20.json']);
    expect(Object.keys(catalog).sort()).toEqual(['cclake/events_curated/_table.json', 'cclake/events_curated/partitions/dt=2026-11-20.json']);
    expect(Object.keys(curated).length).toBeGreaterThan(0);

    // Lambda retries a failed asynchronous invocation with the same request id: nothing is redone.
    const retry = await invokeCompact(lake, staging, 'aaaabbbb-cccc');
    expect(retry.result).toMatchObject({ runId: 'aaaabbbb', status: 'completed', rowsOut: 0, dts: [] });
    expect(snapshot(join(lake, '_cclake/commits'))).toEqual(commits);
    expect(snapshot(join(lake, '_cclake/catalog'))).toEqual(catalog);
    expect(snapshot(join(lake, 'curated'))).toEqual(curated);
    // The lock was released and the staging folder cleaned up.
    expect(listFiles(join(lake, '_cclake')).filter((f) => f.startsWith('locks/'))).toEqual([]);
    expect(readdirSync(staging)).toEqual([]);
  }, 120_000);

  it('ships the partitions bundle without DuckDB; it rebuilds a lost local catalog from the lake, and a second run sends nothing', async () => {
    const dest = await unpackFunction(partitionsFn, 'partitions.zip');
    const files = listFiles(dest).sort();
    // Nothing beside the bundle: no DuckDB (or any other node_modules), so arm64 is fine.
    expect(files).toEqual(['functions/partitions/handler.mjs', 'functions/partitions/handler.mjs.map']);
    const handlerFile = join(dest, 'functions/partitions/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).not.toMatch(/@duckdb\//);
    expect(bundle).not.toMatch(/\bduckdb\.node\b/);
    console.info(`partitions.zip ${statSync(join(pkgDir, 'partitions.zip')).size} bytes`);

    // A lake compacted by the bundled compactor: the four days up to two days back (inside every
    // default retention; four days hold at least two weekdays, when the generated developers work).
    const end = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const lake = join(dir, 'lake-partitions');
    await generateLake(lake, end, 4, 'p');
    const staging = join(dir, 'staging-partitions');
    mkdirSync(staging);
    const compacted = await invokeCompact(lake, staging, 'cccc0000-1111');
    expect(compacted.result).toMatchObject({ status: 'completed', catalogErrors: [] });
    const dts = (compacted.result.dts as { dt: string }[]).map((d) => d.dt).sort();
    expect(dts.length).toBeGreaterThan(0);
    const commitOf = (dt: string) =>
      JSON.parse(readFileSync(join(lake, `_cclake/commits/events_curated/dt=${dt}.json`), 'utf8')) as { location: string; generation: number };
    // The catalog is lost (a new Glue database, a deleted folder): the lake alone must rebuild it.
    rmSync(join(lake, '_cclake/catalog'), { recursive: true, force: true });

    const env = { ...envOf(partitionsFn), CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } } }) };
    const invoke = (event: unknown, requestId: string) =>
      invokeBundle<{
        status: string;
        runId: string;
        tables: Record<string, Json>[];
        requests: { operation: string }[];
        objectsDeleted: number;
        failures: Json[];
        warnings: string[];
      }>({
        unpacked: dest,
        handlerFile,
        event,
        requestId,
        env,
        workDir: dir,
      });

    // A malformed event fails with a clear message, before touching anything.
    await expect(invoke({ dryRun: 'yes' }, 'bad00000-0000')).rejects.toThrow(/event\.dryRun must be true or false, got "yes"/);

    // A dry run: the requests it would send, and no change.
    const dry = await invoke({ dryRun: true }, 'dddd0000-0000');
    expect(dry.result.status).toBe('dry-run');
    // events_raw and events_curated with their partitions, then every rollup table (no commits yet).
    expect(dry.result.requests.map((r) => r.operation)).toEqual([
      'CreateTable',
      'BatchCreatePartition',
      'CreateTable',
      'BatchCreatePartition',
      ...[...ROLLUPS, ANOMALIES_TABLE, 'bill_lines', 'intraday_user_daily'].map(() => 'CreateTable'),
    ]);
    expect(existsSync(join(lake, '_cclake/catalog'))).toBe(false);

    const first = await invoke({}, 'eeeeffff-0000');
    expect(first.result).toMatchObject({ runId: 'eeeeffff', status: 'completed', objectsDeleted: 0, failures: [], warnings: [] });
    const [raw, curatedTable] = first.result.tables;
    expect(raw).toMatchObject({ table: 'events_raw', tableAction: 'create', updated: 0, deleted: 0, unchanged: 0 });
    expect(raw!.created as number).toBeGreaterThan(0);
    expect(curatedTable).toMatchObject({ table: 'events_curated', tableAction: 'create', created: dts.length, updated: 0, deleted: 0, unchanged: 0 });
    expect(logLine(first.stdout, 'partitions run')).toMatchObject({
      service: 'cclake-partitions',
      status: 'completed',
      requests: first.result.requests.length,
      objectsDeleted: 0,
      failures: [],
      tables: first.result.tables,
    });

    // The local catalog lists the curated dates, each pointed at its committed generation, and one
    // raw partition per arrival hour.
    const root = join(lake, '_cclake/catalog', GLUE_DATABASE);
    expect(listFiles(join(root, 'events_curated')).sort()).toEqual(['_table.json', ...dts.map((dt) => `partitions/dt=${dt}.json`)]);
    for (const dt of dts) {
      const partition = JSON.parse(readFileSync(join(root, `events_curated/partitions/dt=${dt}.json`), 'utf8')) as Record<string, Json>;
      const commit = commitOf(dt);
      expect(partition).toMatchObject({ values: [dt], location: commit.location, parameters: { 'cclake.generation': String(commit.generation) } });
    }
    const rawPartitions = listFiles(join(root, 'events_raw/partitions'));
    expect(rawPartitions.length).toBe(raw!.created);
    for (const p of rawPartitions) expect(p).toMatch(/^year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\.json$/);

    // Nothing changed in the lake since: the next run sends no request and writes nothing.
    const catalog = snapshot(join(lake, '_cclake/catalog'));
    const second = await invoke({}, 'eeeeffff-1111');
    expect(second.result).toMatchObject({ status: 'completed', requests: [], objectsDeleted: 0, failures: [] });
    expect(second.result.tables.map((t) => [t.table, t.tableAction, t.created, t.updated, t.deleted])).toEqual(
      ['events_raw', 'events_curated', ...ROLLUPS, ANOMALIES_TABLE, 'bill_lines', 'intraday_user_daily'].map((table) => [table, 'unchanged', 0, 0, 0]),
    );
    expect(snapshot(join(lake, '_cclake/catalog'))).toEqual(catalog);
    expect(listFiles(join(lake, '_cclake')).filter((f) => f.startsWith('locks/'))).toEqual([]);
  }, 180_000);

  it('ships the rollup bundle with the SQL files and parquet-wasm where the bundled code finds them, and no DuckDB; it rejects a bad event', async () => {
    const dest = await unpackFunction(rollupFn, 'rollup.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(
      ['functions/rollup/handler.mjs', 'functions/rollup/handler.mjs.map', 'data/prices/list-prices.csv', ...SQL_FILES].sort(),
    );
    // parquet-wasm alone beside the bundle (external: its Node entry loads the .wasm from its own folder).
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    expect(existsSync(join(dest, 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm'))).toBe(true);
    const handlerFile = join(dest, 'functions/rollup/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).toMatch(/from ["']parquet-wasm["']/);
    expect(bundle).not.toMatch(/@duckdb\//);
    expect(bundle).not.toMatch(/\bduckdb\.node\b/);
    // The shipped tree reads as the repository's: the same models and views, in the same order.
    const shipped = readSqlTree(join(dest, 'sql'));
    const repo = readSqlTree(join(ROOT, 'sql'));
    expect(shipped.models.map((m) => [m.file, m.table, m.version])).toEqual(repo.models.map((m) => [m.file, m.table, m.version]));
    expect(shipped.views.map((v) => v.file)).toEqual(repo.views.map((v) => v.file));
    console.info(`rollup.zip ${statSync(join(pkgDir, 'rollup.zip')).size} bytes`);

    // Loaded like Lambda loads it (parquet-wasm's entry instantiates its .wasm as it loads), the
    // bundle resolves sql/ to the one in the zip; the parquet-wasm it resolves (from the unpacked
    // zip, as its own import does) encodes a table as Parquet and decodes it again.
    const ipc = join(dir, 'rollup-probe.arrows');
    writeFileSync(ipc, tableToIPC(tableFromArrays({ team: ['payments', 'search'] }), 'stream'));
    const handlerUrl = JSON.stringify(pathToFileURL(handlerFile).href);
    const probe = [
      `const mod = await import(${handlerUrl});`,
      `const { createRequire } = await import('node:module');`,
      `const { readFileSync } = await import('node:fs');`,
      `const pq = createRequire(${handlerUrl})('parquet-wasm');`,
      `const bytes = pq.writeParquet(pq.Table.fromIPCStream(readFileSync(${JSON.stringify(ipc)})));`,
      `const rows = pq.readParquet(bytes).recordBatches().reduce((n, b) => n + b.numRows, 0);`,
      `console.log(JSON.stringify({ sqlDir: mod.BUNDLED_SQL_DIR, entry: createRequire(${handlerUrl}).resolve('parquet-wasm'), magic: Buffer.from(bytes.subarray(0, 4)).toString('latin1'), rows }));`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: dest,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(rollupFn) },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      sqlDir: join(dest, 'sql/'),
      entry: join(dest, 'node_modules/parquet-wasm/node/parquet_wasm.js'),
      magic: 'PAR1',
      rows: 2,
    });

    const invoke = (event: unknown) =>
      invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'rollup00-0000', env: envOf(rollupFn), workDir: dir });
    // Malformed events fail with a clear message, before the config or AWS is touched.
    await expect(invoke({ dt: '2026-13-01' })).rejects.toThrow(/event\.dt must be a date YYYY-MM-DD, got "2026-13-01"/);
    await expect(invoke({ day: '2026-11-20' })).rejects.toThrow(/the rollup event accepts only "dt", "from", "to" and "intraday", got "day"/);
    await expect(invoke({ from: '2026-11-20', to: '2026-11-01' })).rejects.toThrow(/event\.to 2026-11-01 is before event\.from 2026-11-20/);
  }, 120_000);
  it('ships the publish bundle with the definitions and parquet-wasm, no DuckDB, vega or browser; it rejects a bad event', async () => {
    const dest = await unpackFunction(publishFn, 'publish.zip');
    const files = listFiles(dest).sort();
    const templates = listFiles(join(ROOT, 'quicksight-templates'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => `quicksight-templates/${f}`);
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(
      ['functions/publish/handler.mjs', 'functions/publish/handler.mjs.map', ...templates].sort(),
    );
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    const handlerFile = join(dest, 'functions/publish/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    for (const absent of [/@duckdb\//, /playwright/, /vega-lite/]) expect(bundle).not.toMatch(absent);
    console.info(`publish.zip ${statSync(join(pkgDir, 'publish.zip')).size} bytes`);
    // The bundle finds and checks the definitions shipped beside it.
    const probe = `const m = await import(${JSON.stringify(pathToFileURL(handlerFile).href)}); console.log(JSON.stringify({ dir: m.BUNDLED_TEMPLATES_DIR }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: dest,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(publishFn) },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ dir: join(dest, 'quicksight-templates/') });
    const invoke = (event: unknown) =>
      invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'publish0-0000', env: envOf(publishFn), workDir: dir });
    await expect(invoke({ dt: '2026-11-20' })).rejects.toThrow(/the publish event takes no fields, got "dt"/);
  });

  it.each([
    {
      job: 'chargeback',
      sql: ['models', 'exports'],
      packages: ['parquet-wasm'],
      bad: [{ month: '2026-13' }, /event\.month must be a month YYYY-MM, got "2026-13"/],
      unknown: [{ dt: '2026-11-01' }, /the chargeback event accepts only "month", got "dt"/],
    },
    {
      job: 'evidence',
      sql: ['models', 'views', 'exports'],
      packages: [],
      bad: [{ from: '2026-11-01' }, /event\.to must be a date YYYY-MM-DD \(give both from and to\), got undefined/],
      unknown: [{ month: '2026-11' }, /the evidence event accepts only "from" and "to", got "month"/],
    },
  ])('ships the $job bundle with its SQL and no DuckDB; it rejects bad events before touching AWS', async ({ job, sql, packages, bad, unknown }) => {
    const f = job === 'chargeback' ? chargebackFn : evidenceFn;
    const dest = await unpackFunction(f, `${job}.zip`);
    const files = listFiles(dest).sort();
    const expected = sql.flatMap((d) => (d === 'exports' ? EXPORT_SQL : sqlFilesIn(d)));
    expect(files.filter((x) => !x.startsWith('node_modules/'))).toEqual(
      [`functions/${job}/handler.mjs`, `functions/${job}/handler.mjs.map`, ...expected].sort(),
    );
    expect(packagesIn(files)).toEqual(packages);
    const handlerFile = join(dest, `functions/${job}/handler.mjs`);
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).not.toMatch(/@duckdb\//);
    console.info(`${job}.zip ${statSync(join(pkgDir, `${job}.zip`)).size} bytes`);
    // Loaded as Lambda loads it, the bundle finds sql/ in the zip.
    const handlerUrl = JSON.stringify(pathToFileURL(handlerFile).href);
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${handlerUrl}); console.log(JSON.stringify({ sqlDir: m.BUNDLED_SQL_DIR }));`],
      {
        cwd: dest,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...envOf(f) },
        timeout: 60_000,
      },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ sqlDir: join(dest, 'sql/') });
    const invoke = (event: unknown) => invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: `${job}00-0000`, env: envOf(f), workDir: dir });
    await expect(invoke(bad[0])).rejects.toThrow(bad[1] as RegExp);
    await expect(invoke(unknown[0])).rejects.toThrow(unknown[1] as RegExp);
  });

  it('ships the anomalies bundle with the detector queries and parquet-wasm, and no DuckDB; it rejects a bad event and a missing topic', async () => {
    const dest = await unpackFunction(anomaliesFn, 'anomalies.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(
      ['functions/anomalies/handler.mjs', 'functions/anomalies/handler.mjs.map', ...DETECTOR_FILES].sort(),
    );
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    const handlerFile = join(dest, 'functions/anomalies/handler.mjs');
    const bundle = readFileSync(handlerFile, 'utf8');
    expect(bundle).toMatch(/from ["']parquet-wasm["']/);
    expect(bundle).not.toMatch(/@duckdb\//);
    // The queries read back from the zip as the repository has them.
    expect(readDetectorSql(join(dest, 'sql'))).toEqual(readDetectorSql(join(ROOT, 'sql')));
    console.info(`anomalies.zip ${statSync(join(pkgDir, 'anomalies.zip')).size} bytes`);

    const env = { ...Object.fromEntries(Object.entries(envOf(anomaliesFn)).filter(([, v]) => typeof v === 'string')), AWS_REGION: 'us-east-1' };
    const invoke = (event: unknown, extra: Record<string, string> = {}) =>
      invokeBundle<Json>({ unpacked: dest, handlerFile, event, requestId: 'anomal00-0000', env: { ...env, ...extra }, workDir: dir });
    await expect(invoke({ dt: '2026-13-01' })).rejects.toThrow(/event\.dt must be a date YYYY-MM-DD, got "2026-13-01"/);
    await expect(invoke({ day: '2026-11-20' })).rejects.toThrow(/the anomalies event accepts only "dt", "from" and "to", got "day"/);
    // Deployed, the stack always sets the topic; without it the function refuses to run rather than drop alerts.
    await expect(invoke({})).rejects.toThrow(/no SNS topic for alerts/);
  }, 120_000);

  it('ships the bill import bundle with parquet-wasm and no DuckDB; it imports a CUR 2.0 delivery from S3 (s3rver) into a local lake once', async () => {
    const dest = await unpackFunction(importBillFn, 'importBill.zip');
    const files = listFiles(dest).sort();
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual(['functions/import-bill/handler.mjs', 'functions/import-bill/handler.mjs.map']);
    expect(packagesIn(files)).toEqual(['parquet-wasm']);
    const handlerFile = join(dest, 'functions/import-bill/handler.mjs');
    expect(readFileSync(handlerFile, 'utf8')).not.toMatch(/@duckdb\//);
    console.info(`importBill.zip ${statSync(join(pkgDir, 'importBill.zip')).size} bytes`);

    const server = await startS3rver({ bucket: 'cclake-bundle-bills' });
    try {
      const exports = 'acme-billing-exports';
      await server.client.send(new CreateBucketCommand({ Bucket: exports }));
      const data = 'cur/cclake-cur/data/BILLING_PERIOD=2026-10/cclake-cur-00001.snappy.parquet';
      await server.client.send(new PutObjectCommand({ Bucket: exports, Key: data, Body: readFileSync(join(ROOT, 'fixtures/bills/cur2-2026-10.parquet')) }));
      await server.client.send(
        new PutObjectCommand({
          Bucket: exports,
          Key: 'cur/cclake-cur/metadata/BILLING_PERIOD=2026-10/cclake-cur-Manifest.json',
          Body: JSON.stringify({ executionId: 'exec-1', dataFiles: [`s3://${exports}/${data}`] }),
        }),
      );
      const lake = join(dir, 'lake-bills');
      const env = {
        ...Object.fromEntries(Object.entries(envOf(importBillFn)).filter(([, v]) => typeof v === 'string')),
        CCLAKE_CONFIG: JSON.stringify({ lake: { local: { path: lake } }, bills: { sources: [{ format: 'cur2', bucket: exports, prefix: 'cur/' }] } }),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_S3: server.endpoint,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      };
      type Run = {
        imported: number;
        alreadyImported: number;
        failed: Json[];
        sources: { deliveries: { status: string; bills: { status: string; revision: number }[] }[] }[];
      };
      const invoke = (event: unknown, requestId: string) => invokeBundle<Run>({ unpacked: dest, handlerFile, event, requestId, env, workDir: dir });
      await expect(invoke({ month: '2026-10' }, 'b1110000-0000')).rejects.toThrow(/the import-bill event accepts only "reimport", got "month"/);
      const first = await invoke({}, 'b1110001-0000');
      expect(first.result).toMatchObject({ imported: 1, alreadyImported: 0, failed: [] });
      expect(first.result.sources[0]!.deliveries[0]!.bills).toEqual([expect.objectContaining({ status: 'new', revision: 1 })]);
      expect(logLine(first.stdout, 'import bill run')).toMatchObject({ service: 'cclake-import-bill', imported: 1 });
      expect(existsSync(join(lake, '_cclake/commits/bill_lines/dt=2026-10-01.json'))).toBe(true);
      const second = await invoke({}, 'b1110002-0000');
      expect(second.result).toMatchObject({ imported: 0, alreadyImported: 1, failed: [] });
    } finally {
      await server.close();
    }
  }, 120_000);
});
