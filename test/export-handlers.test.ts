/**
 * The chargeback and evidence functions' modules (functions/{chargeback,evidence}/handler.ts; the
 * bundles are test/serverless.test.ts's): their events, validated before anything else, and one
 * chargeback run wired as on Lambda: the config from CCLAKE_CONFIG, the lake on S3 (s3rver on
 * loopback), Athena's real client with `send` mocked to answer the three export queries. The
 * queries run in the workgroup with the month bound as parameters, the revision lands on S3 whole
 * (the manifest last), and the log line carries the summary.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { modelCheckedMock } from './helpers/aws-model';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as chargebackHandler, parseChargebackEvent } from '../functions/chargeback/handler';
import { handler as evidenceHandler, parseEvidenceEvent } from '../functions/evidence/handler';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { currentModels, readSqlTree } from '../functions/lib/sql/files';
import { listAll } from '../functions/lib/store/port';
import { S3ObjectStore } from '../functions/lib/store/s3';
import { startS3rver, type S3rverHandle } from './helpers/s3rver';

describe('chargeback and evidence events', () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [{ month: '2026-10' }, { month: '2026-10' }],
  ])('the chargeback function accepts %j', (event, parsed) => expect(parseChargebackEvent(event)).toEqual(parsed));

  it.each([
    ['a string', '2026-10', /the chargeback event must be an object such as \{\} or \{ "month": "2026-10" \}/],
    ['unknown keys', { month: '2026-10', force: true }, /accepts only "month", got "force"/],
    ['a bad month', { month: '2026-13' }, /event\.month must be a month YYYY-MM, got "2026-13"/],
    ['a day', { month: '2026-10-01' }, /event\.month must be a month YYYY-MM/],
  ])('the chargeback function rejects %s', (_what, event, message) => expect(() => parseChargebackEvent(event)).toThrow(message));

  it.each([
    [undefined, {}],
    [{}, {}],
    [
      { from: '2026-11-16', to: '2026-11-22' },
      { from: '2026-11-16', to: '2026-11-22' },
    ],
  ])('the evidence function accepts %j', (event, parsed) => expect(parseEvidenceEvent(event)).toEqual(parsed));

  it.each([
    ['an array', [], /the evidence event must be an object/],
    ['unknown keys', { from: '2026-11-16', to: '2026-11-22', seq: 3 }, /accepts only "from" and "to", got "seq"/],
    ['from alone', { from: '2026-11-16' }, /event\.to must be a date YYYY-MM-DD \(give both from and to\), got undefined/],
    ['a bad date', { from: '2026-02-30', to: '2026-03-01' }, /event\.from must be a date YYYY-MM-DD/],
    ['a reversed period', { from: '2026-11-22', to: '2026-11-16' }, /event\.to 2026-11-16 is before event\.from 2026-11-22/],
  ])('the evidence function rejects %s', (_what, event, message) => expect(() => parseEvidenceEvent(event)).toThrow(message));

  it('fails an invocation with a bad event before reading the config', async () => {
    const saved = process.env.CCLAKE_CONFIG;
    delete process.env.CCLAKE_CONFIG;
    try {
      await expect(chargebackHandler({ month: 'last' })).rejects.toThrow(/event\.month must be a month/);
      await expect(evidenceHandler({ from: 'monday', to: 'friday' })).rejects.toThrow(/event\.from must be a date/);
      await expect(chargebackHandler({})).rejects.toThrow(/CCLAKE_CONFIG is not set/);
    } finally {
      if (saved !== undefined) process.env.CCLAKE_CONFIG = saved;
    }
  });
});

describe('chargeback function on S3 + Athena (mocked)', () => {
  const BUCKET = 'cclake-chargeback-lake';
  const WORKGROUP = 'cclake-wg';
  let server: S3rverHandle;
  const savedEnv = { ...process.env };
  const athena = modelCheckedMock(AthenaClient);

  beforeAll(async () => {
    server = await startS3rver({ bucket: BUCKET });
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      CCLAKE_CONFIG: JSON.stringify({
        lake: { s3: { bucket: BUCKET, prefix: 'lake/' } },
        aws: { athena: { workgroup: WORKGROUP } },
        chargeback: { billingAccountId: '123456789012' },
      }),
    });
  });

  afterAll(async () => {
    athena.restore();
    process.env = savedEnv;
    await server?.close();
  });

  it('exports a closed month: the three queries in the workgroup with the month bound, the revision on S3 with its manifest last, one log line', async () => {
    const store = new S3ObjectStore({ client: server.client, bucket: BUCKET, prefix: 'lake/' });
    // The lake's commits for the month's one day: curated generation 2, both rollups computed from it.
    const model = currentModels(readSqlTree()).get('chargeback_daily')!;
    const commits = new PartitionCommits(store);
    const base = { dt: '2026-10-05', files: [], rows: null, committedAt: '2026-10-06T01:45:00.000Z', runId: 'r' };
    await commits.put({ ...base, table: 'events_curated', location: 'curated/events/dt=2026-10-05/gen=000002-r/', generation: 2 });
    for (const table of ['chargeback_daily', 'token_burn_daily']) {
      await commits.put({
        ...base,
        table,
        location: `rollups/${table}/dt=2026-10-05/gen=000001-r/`,
        generation: 1,
        source: { table: 'events_curated', generation: 2 },
        model: { file: model.file, version: model.version, checksum: model.checksum },
      });
    }

    const started: (StartQueryExecutionCommandInput & { id: string })[] = [];
    const col = (Name: string, Type: string) => ({ Name, Type });
    const results: Record<string, { columns: { Name: string; Type: string }[]; rows: (string | undefined)[][] }> = {
      chargeback_detail: {
        columns: [
          col('user_key', 'varchar'),
          col('team', 'varchar'),
          col('cost_center', 'varchar'),
          col('model', 'varchar'),
          col('price_version', 'varchar'),
          col('price_model_pattern', 'varchar'),
          col('price_valid_from', 'varchar'),
          col('price_valid_to', 'varchar'),
          col('price_input', 'varchar'),
          col('price_output', 'varchar'),
          col('price_cache_read', 'varchar'),
          col('price_cache_creation', 'varchar'),
          col('input_tokens', 'bigint'),
          col('output_tokens', 'bigint'),
          col('cache_read_tokens', 'bigint'),
          col('cache_creation_tokens', 'bigint'),
          col('reported_cost_usd', 'varchar'),
          col('source_rows', 'bigint'),
        ],
        rows: ['u1', 'u2', 'u3'].map((u, i) => [
          `${u}@example.com`,
          'alpha',
          `CC-${i}`,
          'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          'p1',
          '*claude-sonnet-4*',
          '2026-01-01',
          undefined,
          '5.000000000',
          '1.000000000',
          '0.300000000',
          '3.750000000',
          '1000',
          '0',
          '0',
          '0',
          '0.010000000000',
          '1',
        ]),
      },
      chargeback_total: {
        columns: [col('priced_cost_usd_e6', 'varchar'), col('priced_rows', 'bigint'), col('priced_tokens', 'bigint')],
        rows: [['15000.000000000', '3', '3000']],
      },
      chargeback_crosscheck: { columns: [col('tokens', 'bigint'), col('priced_cost_usd', 'varchar')], rows: [['3000', '0.015000000000']] },
    };
    // Which export query a statement is, by what only it reads or computes.
    const nameOf = (sql: string) =>
      sql.includes('FROM bill_lines')
        ? 'chargeback_billed'
        : sql.includes('priced_cost_usd_e6')
          ? 'chargeback_total'
          : sql.includes('FROM token_burn_daily')
            ? 'chargeback_crosscheck'
            : 'chargeback_detail';
    // No bill was ever imported: Glue has no bill_lines table, and Athena says so as it does.
    const missingBills = "TABLE_NOT_FOUND: line 18:6: Table 'awsdatacatalog.cclake.bill_lines' does not exist";
    let n = 0;
    athena.on(StartQueryExecutionCommand).callsFake(async (input: StartQueryExecutionCommandInput) => {
      const id = `q-${++n}`;
      started.push({ ...input, id });
      return { QueryExecutionId: id };
    });
    athena.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => ({
      QueryExecution: {
        QueryExecutionId,
        StatementType: 'DML',
        Status:
          nameOf(started.find((q) => q.id === QueryExecutionId)!.QueryString!) === 'chargeback_billed'
            ? { State: 'FAILED', StateChangeReason: missingBills, AthenaError: { ErrorCategory: 2, ErrorMessage: missingBills } }
            : { State: 'SUCCEEDED' },
        Statistics: { DataScannedInBytes: 2048, TotalExecutionTimeInMillis: 40 },
      },
    }));
    athena.on(GetQueryResultsCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => {
      const r = results[nameOf(started.find((q) => q.id === QueryExecutionId)!.QueryString!)]!;
      const row = (values: (string | undefined)[]) => ({ Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) });
      return { ResultSet: { ResultSetMetadata: { ColumnInfo: r.columns }, Rows: [row(r.columns.map((c) => c.Name)), ...r.rows.map(row)] } };
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const run = await chargebackHandler({ month: '2026-10' });
      expect(run.failed).toEqual([]);
      expect(run.months).toEqual([
        expect.objectContaining({
          month: '2026-10',
          status: 'written',
          revision: 1,
          location: 'exports/chargeback/month=2026-10/rev=001/',
          rows: 3,
          totals: expect.objectContaining({ cumulativeBilledCost: '0.02', lakePricedCost: '0.02', lakePricedCostExact: '0.015', difference: '0.00' }),
        }),
      ]);
      // Three queries, in the workgroup, the month's first and last day as SQL literals; then the
      // month's bills, whose missing table reads as no bill (the priced cost is billed).
      expect(started.map((q) => nameOf(q.QueryString!))).toEqual(['chargeback_detail', 'chargeback_total', 'chargeback_crosscheck', 'chargeback_billed']);
      for (const q of started.slice(0, 3)) expect(q).toMatchObject({ WorkGroup: WORKGROUP, ExecutionParameters: ["'2026-10-01'", "'2026-10-31'"] });
      expect(started[3]).toMatchObject({ WorkGroup: WORKGROUP, ExecutionParameters: ["'2026-10'", "'2026-10'"] });
      expect(run.months[0]!.trueUp).toBeNull();
      // The revision on S3: three data files and the manifest naming their digests.
      const keys = (await listAll(store, 'exports/')).map((o) => o.key);
      expect(keys).toEqual(['focus.csv', 'focus.parquet', 'manifest.json', 'summary.csv'].map((f) => `exports/chargeback/month=2026-10/rev=001/${f}`));
      const manifest = JSON.parse(new TextDecoder().decode(await store.get('exports/chargeback/month=2026-10/rev=001/manifest.json')));
      expect(manifest).toMatchObject({
        month: '2026-10',
        revision: 1,
        totals: { cumulative_billed_cost: '0.02', lake_priced_cost_exact: '0.015' },
        source: { days: 1, curated_generations: { '2026-10-05': 2 } },
      });
      const csv = new TextDecoder().decode(await store.get('exports/chargeback/month=2026-10/rev=001/focus.csv'));
      expect(
        csv
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[0]),
      ).toEqual(['0.01', '0.01', '0.00']);
      // The lock was released.
      expect(await listAll(store, '_cclake/locks/')).toEqual([]);
      const line = stdout.mock.calls
        .map(([c]) => String(c))
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === 'chargeback run');
      expect(line).toMatchObject({ service: 'cclake-chargeback', failed: [], months: [expect.objectContaining({ month: '2026-10', status: 'written' })] });
      expect(stdout.mock.calls.some(([c]) => /"message":"athena query".*"queryId":"q-1"/.test(String(c)))).toBe(true);
    } finally {
      stdout.mockRestore();
    }
  }, 60_000);
});
