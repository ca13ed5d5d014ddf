/**
 * The scheduled bill import (functions/import-bill/handler.ts, jobs/import-bill-sources.ts) wired
 * as on Lambda: the config from CCLAKE_CONFIG, the lake and the billing exports bucket on S3
 * (s3rver over HTTP, every request checked against the published S3 model), Glue through its real
 * client with `send` mocked and checked against the Glue model. The exports bucket holds a CUR 2.0
 * export laid out as AWS Data Exports delivers it (data/BILLING_PERIOD=2026-10/ Parquet, then the
 * metadata/ Manifest.json listing it) and an Anthropic cost report object.
 *
 * 1. First run: both bills imported, revision 1, the Glue partition points at the new generation.
 * 2. Second run, same delivery: nothing changes, and the data files are not read again (they are
 *    deleted from the bucket before the run: reading them would fail the run).
 * 3. A replaced delivery (overwrite mode: new files, rewritten manifest): CUR revision 2.
 * 4. A bad file in a new delivery: the run fails naming the object, nothing of that delivery is
 *    imported (the CUR bill stays at revision 2), while the revised Anthropic report in the same
 *    run is imported (revision 2). The bad delivery is tried again by the next run.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetTableCommand,
  GlueClient,
  type BatchCreatePartitionCommandInput,
  type BatchUpdatePartitionCommandInput,
  type Partition,
  type Table,
} from '@aws-sdk/client-glue';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { handler, parseImportBillEvent } from '../functions/import-bill/handler';
import type { BillLineRow } from '../functions/lib/bills/line';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { parseConfig } from '../functions/lib/config/load';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { billSourceStateKey, deliveriesOf, importBillSources } from '../functions/lib/jobs/import-bill-sources';
import { takeLakeLock } from '../functions/lib/lock/lease';
import { LocalObjectStore } from '../functions/lib/store/local';
import { readRows } from '../functions/lib/parquet/io';
import { listAll } from '../functions/lib/store/port';
import { S3ObjectStore } from '../functions/lib/store/s3';
import { modelCheckedMock } from './helpers/aws-model';
import { startS3rver, type S3rverHandle } from './helpers/s3rver';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'bills');
const CUR = readFileSync(path.join(FIXTURES, 'cur2-2026-10.parquet'));
const ANTHROPIC = readFileSync(path.join(FIXTURES, 'anthropic-cost-report-2026-10.json'));
const LAKE = 'cclake-bills-lake';
const EXPORTS = 'acme-billing-exports';
const CUR_BILL = 'bedrock:123456789012:2026-10';
const ANTHROPIC_BILL = 'anthropic:org-acme:2026-10';
const DATA = 'cur/cclake-cur/data/BILLING_PERIOD=2026-10/';
const MANIFEST = 'cur/cclake-cur/metadata/BILLING_PERIOD=2026-10/cclake-cur-Manifest.json';
const REPORT = 'anthropic/2026-10/cost-report.json';

/** A CUR 2.0 CSV chunk (gzip) with one more Bedrock Claude line, on 2026-10-29. */
const EXTRA_CHUNK = gzipSync(
  [
    'bill_billing_period_start_date,line_item_usage_account_id,line_item_usage_start_date,line_item_product_code,line_item_usage_type,line_item_line_item_description,line_item_line_item_type,line_item_usage_amount,line_item_unblended_cost,line_item_net_unblended_cost,line_item_currency_code',
    '2026-10-01T00:00:00Z,123456789012,2026-10-29T00:00:00Z,AmazonBedrock,USE1-Claude4.5Sonnet-input-tokens,Claude Sonnet 4.5 input tokens,Usage,1000000,3,2.85,USD',
  ].join('\n'),
);

/** A Data Exports Manifest.json (the fields of the manifest file reference) listing `files`. */
const manifest = (executionId: string, files: string[]) =>
  JSON.stringify({
    executionId,
    exportArn: 'arn:aws:bcm-data-exports:us-east-1:123456789012:export/cclake-cur-00000000-0000-0000-0000-000000000000',
    columns: [{ name: 'line_item_usage_account_id', type: 'string' }],
    dataFiles: files.map((f) => `s3://${EXPORTS}/${DATA}${f}`),
    additionalOutputFiles: [],
    billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
  });

describe('parseImportBillEvent', () => {
  it('accepts {} and { reimport }', () => {
    expect(parseImportBillEvent(undefined)).toEqual({});
    expect(parseImportBillEvent({ reimport: true })).toEqual({ reimport: true });
  });
  it.each([
    ['unknown keys', { month: '2026-10' }, /the import-bill event accepts only "reimport", got "month"/],
    ['a bad value', { reimport: 'yes' }, /event\.reimport must be true or false, got "yes"/],
  ])('rejects %s', (_what, event, message) => {
    expect(() => parseImportBillEvent(event)).toThrow(message);
  });
});

describe('bills.sources config', () => {
  it('takes S3 locations with a format, and refuses overlapping ones', () => {
    const config = parseConfig({ bills: { sources: [{ format: 'cur2', bucket: EXPORTS, prefix: 'cur/' }] } });
    expect(config.bills.sources).toEqual([{ format: 'cur2', bucket: EXPORTS, prefix: 'cur/' }]);
    expect(parseConfig({}).bills.sources).toEqual([]);
    expect(() =>
      parseConfig({
        bills: {
          sources: [
            { format: 'cur2', bucket: EXPORTS, prefix: 'exports/' },
            { format: 'focus', bucket: EXPORTS, prefix: 'exports/focus/' },
          ],
        },
      }),
    ).toThrow(/s3:\/\/acme-billing-exports\/exports\/focus\/ overlaps source 0/);
    expect(() => parseConfig({ bills: { sources: [{ format: 'csv', bucket: EXPORTS }] } })).toThrow(/format/);
    expect(() => parseConfig({ bills: { sources: [{ format: 'cur2', bucket: 'Bad_Bucket' }] } })).toThrow(/expected an S3 bucket name/);
  });
});

describe('deliveriesOf', () => {
  const at = (key: string, minute: number, etag = `"${minute}"`) => ({ key, size: 10, lastModified: new Date(Date.UTC(2026, 10, 2, 6, minute)), etag });
  it("takes each export partition's newest manifest (create-new deliveries each in a folder of their own), and ignores data files", () => {
    const got = deliveriesOf('cur2', [
      at('cur-a/data/BILLING_PERIOD=2026-10/cur-a-00001.snappy.parquet', 1),
      at('cur-a/metadata/BILLING_PERIOD=2026-10/exec-1/cur-a-Manifest.json', 2),
      at('cur-a/metadata/BILLING_PERIOD=2026-10/exec-2/cur-a-Manifest.json', 9),
      at('cur-a/metadata/BILLING_PERIOD=2026-10/exec-3/cur-a-Manifest.json', 5),
      at('cur-a/metadata/BILLING_PERIOD=2026-11/cur-a-Manifest.json', 3),
      at('metadata/BILLING_PERIOD=2026-09/cur-b-Manifest.json', 4),
    ]);
    expect(got).toEqual([
      { id: 'cur-a/metadata/BILLING_PERIOD=2026-10', key: 'cur-a/metadata/BILLING_PERIOD=2026-10/exec-2/cur-a-Manifest.json', version: '"9"' },
      { id: 'cur-a/metadata/BILLING_PERIOD=2026-11', key: 'cur-a/metadata/BILLING_PERIOD=2026-11/cur-a-Manifest.json', version: '"3"' },
      { id: 'metadata/BILLING_PERIOD=2026-09', key: 'metadata/BILLING_PERIOD=2026-09/cur-b-Manifest.json', version: '"4"' },
    ]);
    expect(deliveriesOf('anthropic', [at('2026-10/a.json', 1), at('2026-10/b.json.gz', 2), at('2026-10/notes.txt', 3)]).map((d) => d.id)).toEqual([
      '2026-10/a.json',
      '2026-10/b.json.gz',
    ]);
  });
});

describe('importBillSources: deliveries that cannot be imported, and the lake lock', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const source = { format: 'focus' as const, bucket: EXPORTS, prefix: 'focus/' };
  const other = { format: 'cur2' as const, bucket: EXPORTS, prefix: 'cur/' };

  /** A local lake and one local folder per source (the job reaches sources through the ObjectStore port). */
  async function setup() {
    const root = await mkdtemp(path.join(tmpdir(), 'cclake-bill-sources-'));
    dirs.push(root);
    const lake = new LocalObjectStore(path.join(root, 'lake'));
    const folders = new Map([source, other].map((s) => [s.prefix, new LocalObjectStore(path.join(root, 'exports', s.prefix))]));
    const config = parseConfig({ lake: { local: { path: path.join(root, 'lake') } }, bills: { sources: [source, other] } });
    const run = (runId: string) =>
      importBillSources(lake, new LocalCatalog(lake, config.aws.glueDatabase), config, {
        openSource: (s) => folders.get(s.prefix)!,
        runId,
        now: Date.parse('2026-11-02T06:00:00Z'),
      });
    return { lake, focus: folders.get('focus/')!, cur: folders.get('cur/')!, run };
  }
  const focusManifest = (files: string[]) => JSON.stringify({ executionId: 'e', dataFiles: files.map((f) => `s3://${EXPORTS}/focus/${f}`) });
  const curManifest = (files: string[]) => JSON.stringify({ executionId: 'e', dataFiles: files.map((f) => `s3://${EXPORTS}/cur/${f}`) });

  it('refuses a file of another format than the source, a manifest naming a missing file or one outside the source, and imports the other source', async () => {
    const { lake, focus, cur, run } = await setup();
    // The focus source's export delivered a CUR file; the cur source's delivery is good.
    await focus.put('exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet', CUR);
    await focus.put('exp/metadata/BILLING_PERIOD=2026-10/exp-Manifest.json', focusManifest(['exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet']));
    await focus.put('exp/metadata/BILLING_PERIOD=2026-09/exp-Manifest.json', focusManifest(['exp/data/BILLING_PERIOD=2026-09/exp-00001.snappy.parquet']));
    await focus.put('exp/metadata/BILLING_PERIOD=2026-08/exp-Manifest.json', JSON.stringify({ dataFiles: [`s3://${EXPORTS}/elsewhere/x.parquet`] }));
    await focus.put('exp/metadata/BILLING_PERIOD=2026-07/exp-Manifest.json', '{"dataFiles": "exp-00001.parquet"}');
    await cur.put('exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet', CUR);
    await cur.put('exp/metadata/BILLING_PERIOD=2026-10/exp-Manifest.json', curManifest(['exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet']));

    const got = await run('r1');
    const manifestUri = (period: string) => `${focus.location}exp/metadata/BILLING_PERIOD=${period}/exp-Manifest.json`;
    expect(got.failed).toEqual([
      {
        source: `s3://${EXPORTS}/focus/`,
        delivery: manifestUri('2026-07'),
        error: `${manifestUri('2026-07')}: no dataFiles list of S3 URIs (a Data Exports Manifest.json lists its delivery's data files there)`,
      },
      {
        source: `s3://${EXPORTS}/focus/`,
        delivery: manifestUri('2026-08'),
        error: `${manifestUri('2026-08')}: lists data file "s3://${EXPORTS}/elsewhere/x.parquet", which is not under the source s3://${EXPORTS}/focus/`,
      },
      {
        source: `s3://${EXPORTS}/focus/`,
        delivery: manifestUri('2026-09'),
        error: `data file ${focus.location}exp/data/BILLING_PERIOD=2026-09/exp-00001.snappy.parquet is not there (the export may be mid-delivery: the next run tries again)`,
      },
      {
        source: `s3://${EXPORTS}/focus/`,
        delivery: manifestUri('2026-10'),
        error: `${focus.location}exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet: a cur2 file where the source holds focus files; nothing was imported`,
      },
    ]);
    expect(got.imported).toBe(1);
    expect(got.sources[1]!.deliveries.map((d) => [d.status, d.bills.map((b) => `${b.billId} ${b.status}`)])).toEqual([['imported', [`${CUR_BILL} new`]]]);
    // Only the cur source's delivery is in the lake, and only it is remembered.
    const commit = await new PartitionCommits(lake).get('bill_lines', '2026-10-01');
    const rows = readRows<BillLineRow>(await lake.get(commit!.files[0]!.key));
    expect(new Set(rows.map((r) => r.source_file))).toEqual(new Set([`${cur.location}exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet`]));
    expect(await lake.head(billSourceStateKey(source))).toBeNull();
    expect(await lake.head(billSourceStateKey(other))).not.toBeNull();
  });

  it('leaves the deliveries for the next run when another job holds the lake lock (those after the first without reading their files)', async () => {
    const { lake, cur, run } = await setup();
    await cur.put('exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet', CUR);
    await cur.put('exp/metadata/BILLING_PERIOD=2026-10/exp-Manifest.json', curManifest(['exp/data/BILLING_PERIOD=2026-10/exp-00001.snappy.parquet']));
    await cur.put('exp/metadata/BILLING_PERIOD=2026-11/exp-Manifest.json', curManifest(['exp/data/BILLING_PERIOD=2026-11/not-read.parquet']));
    const held = await takeLakeLock(lake, 'compact test', 15);
    if (!('lock' in held)) throw new Error('the lock should be free');
    const locked = await run('r2');
    expect(locked).toMatchObject({ imported: 0, locked: 2, failed: [] });
    expect(locked.sources[1]!.deliveries.map((d) => [d.status, d.error])).toEqual([
      ['locked', expect.stringMatching(/^the lake lock is held by compact test on /)],
      ['locked', expect.stringMatching(/^the lake lock is held by compact test on /)],
    ]);
    expect(await lake.head(billSourceStateKey(other))).toBeNull();
    await held.lock.release();
    const next = await run('r3');
    expect(next.imported).toBe(1);
    expect(next.failed.map((f) => f.error)).toEqual([expect.stringMatching(/not-read\.parquet is not there/)]);
  });
});

describe('import-bill handler on S3 (s3rver) + Glue (mocked)', () => {
  let server: S3rverHandle;
  let lake: S3ObjectStore;
  const savedEnv = { ...process.env };
  const glue = modelCheckedMock(GlueClient);
  const tables = new Map<string, Table>();
  const partitions = new Map<string, Partition>();
  let stdout: MockInstance;
  let stderr: MockInstance;
  const notFound = (what: string) => new EntityNotFoundException({ $metadata: { httpStatusCode: 400 }, message: `${what} not found` });
  const put = (key: string, body: Uint8Array | string) => server.client.send(new PutObjectCommand({ Bucket: EXPORTS, Key: key, Body: body }));
  const config = {
    lake: { s3: { bucket: LAKE, prefix: 'lake/' } },
    aws: { glueDatabase: 'cclake' },
    bills: {
      anthropicAccount: 'org-acme',
      sources: [
        { format: 'cur2', bucket: EXPORTS, prefix: 'cur/' },
        { format: 'anthropic', bucket: EXPORTS, prefix: 'anthropic/' },
      ],
    },
  };

  beforeAll(async () => {
    server = await startS3rver({ bucket: LAKE });
    await server.client.send(new CreateBucketCommand({ Bucket: EXPORTS }));
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      CCLAKE_CONFIG: JSON.stringify(config),
    });
    lake = new S3ObjectStore({ client: server.client, bucket: LAKE, prefix: 'lake/' });
    glue.on(GetTableCommand).callsFake(async ({ Name }: { Name: string }) => {
      const table = tables.get(Name);
      if (!table) throw notFound(`table ${Name}`);
      return { Table: table };
    });
    glue.on(CreateTableCommand).callsFake(async ({ TableInput }: { TableInput: Table }) => void tables.set(TableInput.Name!, TableInput));
    glue.on(GetPartitionCommand).callsFake(async ({ TableName, PartitionValues }: { TableName: string; PartitionValues: string[] }) => {
      const p = partitions.get(`${TableName}/${PartitionValues.join('/')}`);
      if (!p) throw notFound(`partition ${TableName}`);
      return { Partition: p };
    });
    glue.on(BatchCreatePartitionCommand).callsFake(async ({ TableName, PartitionInputList }: BatchCreatePartitionCommandInput) => {
      for (const p of PartitionInputList ?? []) partitions.set(`${TableName}/${p.Values!.join('/')}`, { ...p, TableName });
      return { Errors: [] };
    });
    glue.on(BatchUpdatePartitionCommand).callsFake(async ({ TableName, Entries }: BatchUpdatePartitionCommandInput) => {
      for (const e of Entries ?? []) partitions.set(`${TableName}/${e.PartitionValueList!.join('/')}`, { ...e.PartitionInput, TableName });
      return { Errors: [] };
    });
  });

  afterAll(async () => {
    glue.restore();
    process.env = savedEnv;
    await server?.close();
  });

  beforeEach(() => {
    stdout?.mockRestore();
    stderr?.mockRestore();
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  /** The month's live bill lines: the commit's location and rows per bill (revision, count). */
  async function billLines() {
    const commit = await new PartitionCommits(lake).get('bill_lines', '2026-10-01');
    const rows: BillLineRow[] = [];
    for (const f of commit?.files ?? []) rows.push(...readRows<BillLineRow>(await lake.get(f.key)));
    const bills: Record<string, { revision: number; lines: number }> = {};
    for (const r of rows) bills[r.bill_id!] = { revision: r.bill_revision!, lines: (bills[r.bill_id!]?.lines ?? 0) + 1 };
    return { location: commit?.location, rows, bills };
  }
  const statusOf = (s: Awaited<ReturnType<typeof handler>>) =>
    s.sources.map((x) => x.deliveries.map((d) => [d.status, ...d.bills.map((b) => `${b.billId} ${b.status} ${b.revision}`)]));

  it('imports each delivery once, revises a replaced one, and keeps a bad one out while importing the rest', async () => {
    // 1. The export's first delivery (data files first, the manifest last, as Data Exports writes) and a report.
    await put(`${DATA}cclake-cur-00001.snappy.parquet`, CUR);
    await put(MANIFEST, manifest('exec-1', ['cclake-cur-00001.snappy.parquet']));
    await put(REPORT, ANTHROPIC);
    const first = await handler({}, { awsRequestId: 'a1000001-0000' });
    expect(first).toMatchObject({ runId: 'a1000001', imported: 2, alreadyImported: 0, failed: [], locked: 0, catalogErrors: [] });
    expect(statusOf(first)).toEqual([[['imported', `${CUR_BILL} new 1`]], [['imported', `${ANTHROPIC_BILL} new 1`]]]);
    expect(first.sources[0]!.deliveries[0]).toMatchObject({
      delivery: `s3://${EXPORTS}/${MANIFEST}`,
      files: [`s3://${EXPORTS}/${DATA}cclake-cur-00001.snappy.parquet`],
    });
    const one = await billLines();
    expect(one.bills).toEqual({ [CUR_BILL]: { revision: 1, lines: expect.any(Number) }, [ANTHROPIC_BILL]: { revision: 1, lines: expect.any(Number) } });
    expect(new Set(one.rows.filter((r) => r.bill_id === CUR_BILL).map((r) => r.source_file))).toEqual(
      new Set([`s3://${EXPORTS}/${DATA}cclake-cur-00001.snappy.parquet`]),
    );
    expect(partitions.get('bill_lines/2026-10-01')?.StorageDescriptor?.Location).toBe(`s3://${LAKE}/lake/${one.location}`);
    // What was imported is remembered per source, by manifest key and ETag.
    const state = JSON.parse(new TextDecoder().decode(await lake.get(billSourceStateKey(config.bills.sources[0] as never))));
    expect(state).toMatchObject({
      source: `s3://${EXPORTS}/cur/`,
      deliveries: {
        'cclake-cur/metadata/BILLING_PERIOD=2026-10': {
          key: 'cclake-cur/metadata/BILLING_PERIOD=2026-10/cclake-cur-Manifest.json',
          version: expect.stringMatching(/^"[0-9a-f]{32}"$/),
        },
      },
    });

    // 2. The same delivery again, with its data file gone: reading it would fail; nothing is read, nothing changes.
    await server.client.send(new DeleteObjectCommand({ Bucket: EXPORTS, Key: `${DATA}cclake-cur-00001.snappy.parquet` }));
    const second = await handler({}, { awsRequestId: 'a2000002-0000' });
    expect(second).toMatchObject({ imported: 0, alreadyImported: 2, failed: [] });
    expect(statusOf(second)).toEqual([[['already-imported']], [['already-imported']]]);
    expect((await billLines()).location).toBe(one.location);

    // 3. The period's delivery replaced (overwrite mode): the same file name again plus a second chunk, a new manifest.
    await put(`${DATA}cclake-cur-00001.snappy.parquet`, CUR);
    await put(`${DATA}cclake-cur-00002.csv.gz`, EXTRA_CHUNK);
    await put(MANIFEST, manifest('exec-2', ['cclake-cur-00001.snappy.parquet', 'cclake-cur-00002.csv.gz']));
    const third = await handler({}, { awsRequestId: 'a3000003-0000' });
    expect(third).toMatchObject({ imported: 1, alreadyImported: 1, failed: [] });
    expect(statusOf(third)).toEqual([[['imported', `${CUR_BILL} revised 2`]], [['already-imported']]]);
    const two = await billLines();
    expect(two.bills[CUR_BILL]).toEqual({ revision: 2, lines: one.bills[CUR_BILL]!.lines + 1 });
    expect(two.bills[ANTHROPIC_BILL]).toEqual({ revision: 1, lines: one.bills[ANTHROPIC_BILL]!.lines });
    expect(two.rows.filter((r) => r.source_file === `s3://${EXPORTS}/${DATA}cclake-cur-00002.csv.gz`)).toEqual([
      expect.objectContaining({ usage_date: '2026-10-29', billed_usd_exact: '2.85', bill_revision: 2 }),
    ]);

    // 4. A new delivery with a file that is not Parquet; in the same run a revised Anthropic report.
    await put(`${DATA}cclake-cur-00002.snappy.parquet`, 'PAR1 this is not a Parquet file PAR1');
    await put(MANIFEST, manifest('exec-3', ['cclake-cur-00001.snappy.parquet', 'cclake-cur-00002.snappy.parquet']));
    const report = JSON.parse(ANTHROPIC.toString('utf8'));
    report.data[0].results[0].amount = '500';
    await put(REPORT, JSON.stringify(report));
    const bad = handler({}, { awsRequestId: 'a4000004-0000' });
    await expect(bad).rejects.toThrow(`s3://${EXPORTS}/${DATA}cclake-cur-00002.snappy.parquet: not a readable Parquet file`);
    const after = await billLines();
    expect(after.bills).toEqual({
      [CUR_BILL]: { revision: 2, lines: two.bills[CUR_BILL]!.lines },
      [ANTHROPIC_BILL]: { revision: 2, lines: one.bills[ANTHROPIC_BILL]!.lines },
    });
    expect(after.rows.filter((r) => r.bill_id === CUR_BILL).map((r) => r.source_file)).toEqual(
      two.rows.filter((r) => r.bill_id === CUR_BILL).map((r) => r.source_file),
    );
    const logged = [...stdout.mock.calls, ...stderr.mock.calls]
      .map(([c]) => String(c))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'import bill run' && l.runId === 'a4000004');
    expect(logged).toMatchObject({ level: 'ERROR', service: 'cclake-import-bill', imported: 1, failed: [{ delivery: `s3://${EXPORTS}/${MANIFEST}` }] });

    // The bad delivery is not remembered: the next run tries it again (and fails again, naming it).
    await expect(handler({}, { awsRequestId: 'a5000005-0000' })).rejects.toThrow(/cclake-cur-00002\.snappy\.parquet: not a readable Parquet file/);
    // Fixed: the export's next refresh lists good files; imported, and the bill is unchanged content-wise from revision 2.
    await put(MANIFEST, manifest('exec-4', ['cclake-cur-00001.snappy.parquet', 'cclake-cur-00002.csv.gz']));
    const fixed = await handler({}, { awsRequestId: 'a6000006-0000' });
    expect(statusOf(fixed)).toEqual([[['imported', `${CUR_BILL} unchanged 2`]], [['already-imported']]]);
    expect(await listAll(lake, '_cclake/locks/')).toEqual([]);
  }, 120_000);
});
