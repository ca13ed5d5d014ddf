/**
 * The QuickSight publisher request by request, against the real SDK v3 client with
 * aws-sdk-client-mock (no network) and a small in-memory QuickSight behind it, every request
 * validated against QuickSight's service model first (modelCheckedMock): the exact shapes of
 * the data source, dataset (SPICE, direct query, row-level security), dashboard and snapshot
 * requests; idempotency (a second publish makes no create or update call); a changed definition
 * updates the dashboard and publishes the new version; SPICE refreshes only after a rollup and within
 * the 24-hour quota; throttling retried; snapshot jobs polled with backoff and a failed one reported
 * with QuickSight's error.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CreateDashboardCommand,
  CreateDataSetCommand,
  CreateDataSourceCommand,
  CreateIngestionCommand,
  DescribeDashboardCommand,
  DescribeDashboardPermissionsCommand,
  DescribeDashboardSnapshotJobCommand,
  DescribeDashboardSnapshotJobResultCommand,
  DescribeDataSetCommand,
  DescribeDataSetPermissionsCommand,
  DescribeDataSourceCommand,
  DescribeIngestionCommand,
  LimitExceededException,
  ListTagsForResourceCommand,
  QuickSightClient,
  ResourceNotFoundException,
  StartDashboardSnapshotJobCommand,
  TagResourceCommand,
  ThrottlingException,
  UpdateDashboardCommand,
  UpdateDashboardPermissionsCommand,
  UpdateDashboardPublishedVersionCommand,
  UpdateDataSetCommand,
  UpdateDataSetPermissionsCommand,
  UpdateDataSourceCommand,
  UpdateDataSourcePermissionsCommand,
  DescribeDataSourcePermissionsCommand,
  type Tag,
} from '@aws-sdk/client-quicksight';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { accountOf, parsePublishEvent } from '../functions/publish/handler';
import { publish } from '../functions/lib/jobs/publish';
import { checksumOf, loadTemplates, TEMPLATES_DIR } from '../functions/lib/publish/definitions';
import { CHECKSUM_TAG, LEDGER_KEY, QuickSightPublisher } from '../functions/lib/publish/quicksight';
import { writeRowAccess } from '../functions/lib/publish/row-access';
import { LocalObjectStore } from '../functions/lib/store/local';
import { modelCheckedMock, QUICKSIGHT_LEGACY_DATA_PREP } from './helpers/aws-model';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-publish-qs-');
afterAll(() => tmp.cleanup());

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const PREFIX = 'cclake-test-';
const arnOf = (kind: string, id: string) => `arn:aws:quicksight:${REGION}:${ACCOUNT}:${kind}/${id}`;
const VIEWERS = [`arn:aws:quicksight:${REGION}:${ACCOUNT}:group/default/eng-leads`];
const OWNERS = [`arn:aws:quicksight:${REGION}:${ACCOUNT}:group/default/bi-admins`];
const NOW = Date.parse('2026-11-21T02:10:00Z');

const baseConfig = {
  lake: { s3: { bucket: 'acme-lake', prefix: 'cc/' } },
  publisher: 'quicksight' as const,
  aws: {
    region: REGION,
    athena: { workgroup: 'cclake-test' },
    quicksight: {
      accountId: ACCOUNT,
      principals: VIEWERS,
      owners: OWNERS,
      resourcePrefix: PREFIX,
      directQuery: ['anomalies'],
      spiceRefreshesPer24h: 2,
      rowLevelSecurity: { column: 'team' as const, rules: [{ group: 'eng-leads' }, { group: 'payments-leads', values: ['payments'] }] },
    },
  },
  publish: { snapshot: { pdf: ['executive'], csv: ['executive/roi-by-team-month', 'operations/tool-usage'] } },
};
const config = parseConfig(baseConfig);

const notFound = (what: string) => new ResourceNotFoundException({ $metadata: { httpStatusCode: 404 }, message: `${what} not found` });

// Every request is validated against QuickSight's published model (test/helpers/aws-model.ts),
// including its prose rules (a PDF snapshot file takes 1 sheet; RLS format and rules columns; UseAs).
// The dataset members the model marks deprecated since 2025-10-23 ("only used in the legacy data
// preparation experience") are allowed knowingly: the adapter uses that experience, which QuickSight
// still serves (the tag-based rules for the snapshot reader are one of them too); moving to
// DataPrepConfiguration/SemanticModelConfiguration is separate work.
const qs = modelCheckedMock(QuickSightClient, {
  allowDeprecated: [
    ...QUICKSIGHT_LEGACY_DATA_PREP,
    'CreateDataSetRequest.RowLevelPermissionTagConfiguration',
    'UpdateDataSetRequest.RowLevelPermissionTagConfiguration',
  ],
});

/** An in-memory QuickSight: resources, tags, dashboard versions, ingestions and snapshot jobs. */
class FakeQuickSight {
  tags = new Map<string, Tag[]>();
  dataSources = new Set<string>();
  dataSets = new Set<string>();
  dashboards = new Map<string, { versions: number; published: number }>();
  /** Polls each new dashboard version answers "in progress" before it is created. */
  versionPolls = new Map<string, number>();
  ingestionPolls = new Map<string, number>();
  snapshotStates: string[] = ['QUEUED', 'RUNNING', 'COMPLETED'];
  snapshotPolls = new Map<string, number>();
  snapshotFails = false;
  /** The data source's creation or update ends in *_FAILED while set. */
  dataSourceFails = false;
  dataSourceStatus = new Map<string, string>();
  /** Ingestions of these datasets end FAILED; of `slowIngestions`, stay RUNNING. */
  failIngestions = new Set<string>();
  slowIngestions = new Set<string>();
  /** New versions of these dashboards end CREATION_FAILED / UPDATE_FAILED. */
  failVersions = new Set<string>();
  versionFailed = new Set<string>();
  importCount = 0;

  install(): void {
    qs.on(DescribeDataSourceCommand).callsFake((input) => this.describeDataSource(input));
    qs.on(CreateDataSourceCommand).callsFake(({ DataSourceId, Tags }) => {
      this.dataSources.add(DataSourceId);
      this.dataSourceStatus.set(DataSourceId, 'CREATION_IN_PROGRESS');
      if (Tags) this.tags.set(arnOf('datasource', DataSourceId), Tags);
      return { Arn: arnOf('datasource', DataSourceId), DataSourceId, CreationStatus: 'CREATION_IN_PROGRESS' };
    });
    this.installRest();
  }

  /** DescribeDataSource: a creation or update in progress answers so once, then ends as `dataSourceFails` says. */
  describeDataSource({ DataSourceId }: { DataSourceId?: string }) {
    if (!DataSourceId || !this.dataSources.has(DataSourceId)) throw notFound(`data source ${DataSourceId}`);
    const status = this.dataSourceStatus.get(DataSourceId)!;
    if (status.endsWith('_IN_PROGRESS'))
      this.dataSourceStatus.set(DataSourceId, status.replace('_IN_PROGRESS', this.dataSourceFails ? '_FAILED' : '_SUCCESSFUL'));
    return {
      DataSource: {
        Arn: arnOf('datasource', DataSourceId),
        DataSourceId,
        Status: status,
        ...(status.endsWith('_FAILED') ? { ErrorInfo: { Type: 'ACCESS_DENIED', Message: 'QuickSight cannot use the workgroup' } } : {}),
      },
    };
  }

  installRest(): void {
    qs.on(UpdateDataSourceCommand).callsFake(({ DataSourceId }) => {
      this.dataSourceStatus.set(DataSourceId, 'UPDATE_IN_PROGRESS');
      return { Arn: arnOf('datasource', DataSourceId), DataSourceId, UpdateStatus: 'UPDATE_IN_PROGRESS' };
    });
    qs.on(DescribeDataSourcePermissionsCommand).resolves({ Permissions: [] });
    qs.on(UpdateDataSourcePermissionsCommand).resolves({});
    qs.on(DescribeDataSetCommand).callsFake(({ DataSetId }) => {
      if (!this.dataSets.has(DataSetId)) throw notFound(`data set ${DataSetId}`);
      return { DataSet: { Arn: arnOf('dataset', DataSetId), DataSetId } };
    });
    // A SPICE dataset created or updated is imported by QuickSight: the response names that ingestion.
    const imported = (DataSetId: string, ImportMode: string) => {
      const id = `import-${++this.importCount}`;
      return {
        Arn: arnOf('dataset', DataSetId),
        DataSetId,
        ...(ImportMode === 'SPICE' ? { IngestionArn: `${arnOf('dataset', DataSetId)}/ingestion/${id}`, IngestionId: id } : {}),
      };
    };
    qs.on(CreateDataSetCommand).callsFake(({ DataSetId, Tags, ImportMode }) => {
      this.dataSets.add(DataSetId);
      if (Tags) this.tags.set(arnOf('dataset', DataSetId), Tags);
      return imported(DataSetId, ImportMode);
    });
    qs.on(UpdateDataSetCommand).callsFake(({ DataSetId, ImportMode }) => imported(DataSetId, ImportMode));
    qs.on(UpdateDataSetPermissionsCommand).resolves({});
    qs.on(DescribeDashboardCommand).callsFake(({ DashboardId, VersionNumber }) => {
      const d = this.dashboards.get(DashboardId);
      if (!d) throw notFound(`dashboard ${DashboardId}`);
      const version = VersionNumber ?? d.published;
      const key = `${DashboardId}/${version}`;
      const polls = (this.versionPolls.get(key) ?? 0) + 1;
      this.versionPolls.set(key, polls);
      const outcome = this.versionFailed.has(key) ? '_FAILED' : '_SUCCESSFUL';
      const status =
        VersionNumber !== undefined && polls === 1
          ? version === 1
            ? 'CREATION_IN_PROGRESS'
            : 'UPDATE_IN_PROGRESS'
          : version === 1
            ? `CREATION${outcome}`
            : `UPDATE${outcome}`;
      const errors =
        outcome === '_FAILED' && !status.endsWith('_IN_PROGRESS') ? { Errors: [{ Type: 'COLUMN_TYPE_MISMATCH', Message: 'column dt is not a date' }] } : {};
      return { Dashboard: { Arn: arnOf('dashboard', DashboardId), DashboardId, Version: { VersionNumber: version, Status: status, ...errors } } };
    });
    qs.on(CreateDashboardCommand).callsFake(({ DashboardId, Tags }) => {
      this.dashboards.set(DashboardId, { versions: 1, published: 1 });
      if (this.failVersions.has(DashboardId)) this.versionFailed.add(`${DashboardId}/1`);
      if (Tags) this.tags.set(arnOf('dashboard', DashboardId), Tags);
      return { Arn: arnOf('dashboard', DashboardId), VersionArn: `${arnOf('dashboard', DashboardId)}/version/1`, CreationStatus: 'CREATION_IN_PROGRESS' };
    });
    qs.on(UpdateDashboardCommand).callsFake(({ DashboardId }) => {
      const d = this.dashboards.get(DashboardId)!;
      d.versions++;
      if (this.failVersions.has(DashboardId)) this.versionFailed.add(`${DashboardId}/${d.versions}`);
      return {
        Arn: arnOf('dashboard', DashboardId),
        VersionArn: `${arnOf('dashboard', DashboardId)}/version/${d.versions}`,
        CreationStatus: 'CREATION_IN_PROGRESS',
      };
    });
    qs.on(UpdateDashboardPublishedVersionCommand).callsFake(({ DashboardId, VersionNumber }) => {
      this.dashboards.get(DashboardId)!.published = VersionNumber;
      return { DashboardId };
    });
    qs.on(DescribeDashboardPermissionsCommand).resolves({
      Permissions: [...OWNERS, 'arn:aws:quicksight:us-east-1:123456789012:user/default/someone-who-left'].map((p) => ({
        Principal: p,
        Actions: ['quicksight:DescribeDashboard'],
      })),
    });
    qs.on(UpdateDashboardPermissionsCommand).resolves({});
    qs.on(DescribeDataSetPermissionsCommand).resolves({ Permissions: [] });
    qs.on(ListTagsForResourceCommand).callsFake(({ ResourceArn }) => ({ Tags: this.tags.get(ResourceArn) ?? [] }));
    qs.on(TagResourceCommand).callsFake(({ ResourceArn, Tags }) => {
      const merged = new Map((this.tags.get(ResourceArn) ?? []).map((t) => [t.Key, t]));
      for (const t of Tags) merged.set(t.Key, t);
      this.tags.set(ResourceArn, [...merged.values()]);
      return {};
    });
    qs.on(CreateIngestionCommand).callsFake(({ DataSetId, IngestionId }) => ({
      Arn: `${arnOf('dataset', DataSetId)}/ingestion/${IngestionId}`,
      IngestionId,
      IngestionStatus: 'INITIALIZED',
    }));
    qs.on(DescribeIngestionCommand).callsFake(({ DataSetId, IngestionId }) => {
      const key = `${DataSetId}/${IngestionId}`;
      const polls = (this.ingestionPolls.get(key) ?? 0) + 1;
      this.ingestionPolls.set(key, polls);
      const end = this.failIngestions.has(DataSetId) ? 'FAILED' : 'COMPLETED';
      const status = polls < 2 || this.slowIngestions.has(DataSetId) ? 'RUNNING' : end;
      return {
        Ingestion: {
          Arn: `${arnOf('dataset', DataSetId)}/ingestion/${IngestionId}`,
          IngestionId,
          IngestionStatus: status,
          CreatedTime: new Date(NOW),
          ...(status === 'FAILED' ? { ErrorInfo: { Type: 'PERMISSION_DENIED', Message: 'QuickSight cannot read the view' } } : {}),
        },
      };
    });
    qs.on(StartDashboardSnapshotJobCommand).callsFake(({ SnapshotJobId }) => ({ SnapshotJobId, Arn: `arn:job/${SnapshotJobId}`, Status: 202 }));
    qs.on(DescribeDashboardSnapshotJobCommand).callsFake(({ SnapshotJobId }) => {
      const polls = (this.snapshotPolls.get(SnapshotJobId) ?? 0) + 1;
      this.snapshotPolls.set(SnapshotJobId, polls);
      const state = this.snapshotStates[Math.min(polls, this.snapshotStates.length) - 1]!;
      return { SnapshotJobId, JobStatus: this.snapshotFails && state === 'COMPLETED' ? 'FAILED' : state };
    });
    qs.on(DescribeDashboardSnapshotJobResultCommand).callsFake(({ SnapshotJobId }) =>
      this.snapshotFails
        ? { JobStatus: 'FAILED', ErrorInfo: { ErrorType: 'SNAPSHOT_ERROR', ErrorMessage: 'The dashboard has no published version the snapshot user can see' } }
        : {
            JobStatus: 'COMPLETED',
            Result: { AnonymousUsers: [{ FileGroups: [{ S3Results: [{ S3Uri: `s3://acme-lake/cc/reports/snapshots/2026-11-21/${SnapshotJobId}.pdf` }] }] }] },
          },
    );
  }
}

let fake: FakeQuickSight;
let store: LocalObjectStore;
let sleeps: number[];
let retrySleeps: number[];
/** The publisher's clock: each backoff sleep moves it on. */
let clock: number;

beforeEach(() => {
  qs.reset();
  fake = new FakeQuickSight();
  fake.install();
  store = new LocalObjectStore(tmp.make());
  sleeps = [];
  retrySleeps = [];
  clock = NOW;
});

/** A rollup commit in the lake: what tells the publisher the data changed. */
const commitRollup = (dt: string) => store.put(`_cclake/commits/user_daily/dt=${dt}.json`, JSON.stringify({ table: 'user_daily', dt }));

function publisher(cfg = config, extra: { now?: number; deadline?: number } = {}) {
  const catalog = new LocalCatalog(store, cfg.aws.glueDatabase);
  clock = extra.now ?? NOW;
  return new QuickSightPublisher(cfg, {
    client: new QuickSightClient({ region: REGION, maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    store,
    bucket: 'acme-lake',
    bucketPrefix: 'cc/',
    writeRowAccess: () => writeRowAccess(store, catalog, cfg),
    retry: { sleep: async (ms) => void retrySleeps.push(ms) },
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    ...(extra.deadline !== undefined ? { deadline: extra.deadline } : {}),
  });
}

/** One publish attempt; `attempt` defaults to one derived from the run id (tests of retries give their own). */
const run = (cfg = config, templates = loadTemplates(), runId = 'run00001', now = NOW, attempt = `a${runId.slice(-4)}`) =>
  publish(publisher(cfg, { now }), cfg, { runId, attempt, now, templates });

const CHANGES = [
  CreateDataSourceCommand,
  UpdateDataSourceCommand,
  CreateDataSetCommand,
  UpdateDataSetCommand,
  CreateDashboardCommand,
  UpdateDashboardCommand,
  UpdateDashboardPublishedVersionCommand,
  UpdateDashboardPermissionsCommand,
  TagResourceCommand,
];
const calls = (cmd: Parameters<typeof qs.commandCalls>[0]) => qs.commandCalls(cmd).map((c) => c.args[0].input as Record<string, unknown>);
const changeCalls = () => CHANGES.flatMap((c) => calls(c).map(() => c.name));

describe('QuickSight publisher: first publish', () => {
  it('creates the Athena data source bound to the workgroup, with owner permissions, and tags it once its creation succeeded', async () => {
    await commitRollup('2026-11-20');
    const summary = await run();
    expect(summary.dataSource).toEqual({ id: `${PREFIX}athena`, action: 'created' });
    const [input] = calls(CreateDataSourceCommand);
    expect(input).toEqual({
      AwsAccountId: ACCOUNT,
      DataSourceId: `${PREFIX}athena`,
      Name: 'cclake lake (Athena)',
      Type: 'ATHENA',
      DataSourceParameters: { AthenaParameters: { WorkGroup: 'cclake-test' } },
      Permissions: [{ Principal: OWNERS[0], Actions: expect.arrayContaining(['quicksight:PassDataSource', 'quicksight:DescribeDataSource']) }],
    });
    // CREATION_IN_PROGRESS, polled to CREATION_SUCCESSFUL, then the checksum tag.
    expect(calls(DescribeDataSourceCommand).length).toBe(3);
    expect(calls(TagResourceCommand)[0]).toEqual({
      ResourceArn: arnOf('datasource', `${PREFIX}athena`),
      Tags: [{ Key: CHECKSUM_TAG, Value: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    });
  });

  it('creates one dataset per view: RelationalTable over the Glue database, SPICE or direct query, RLS where the view has the column', async () => {
    await commitRollup('2026-11-20');
    const summary = await run();
    const created = calls(CreateDataSetCommand);
    const templates = loadTemplates();
    // The row-access rules dataset first, then one per view.
    expect(created.map((c) => c.DataSetId)).toEqual([`${PREFIX}row-access`, ...templates.dataSets.map((d) => `${PREFIX}${d.DataSetId}`)]);
    const tokenBurn = created.find((c) => c.DataSetId === `${PREFIX}token_burn_daily`)!;
    const { Permissions, ...shape } = tokenBurn as { Permissions: unknown };
    expect(shape).toEqual({
      AwsAccountId: ACCOUNT,
      DataSetId: `${PREFIX}token_burn_daily`,
      Name: 'Token burn daily',
      PhysicalTableMap: {
        view: {
          RelationalTable: {
            DataSourceArn: arnOf('datasource', `${PREFIX}athena`),
            Catalog: 'AwsDataCatalog',
            Schema: 'cclake',
            // The leadership view: teams of fewer than privacy.minGroupSize people merged (issue 21).
            Name: 'leadership_token_burn_daily',
            InputColumns: [
              { Name: 'dt', Type: 'DATETIME' },
              { Name: 'team', Type: 'STRING' },
              { Name: 'model', Type: 'STRING' },
              { Name: 'token_type', Type: 'STRING' },
              { Name: 'tokens', Type: 'INTEGER' },
              { Name: 'priced_cost_usd', Type: 'DECIMAL' },
            ],
          },
        },
      },
      LogicalTableMap: { view: { Alias: 'leadership_token_burn_daily', Source: { PhysicalTableId: 'view' } } },
      ImportMode: 'SPICE',
      // Rules by group and user name in the namespace: VERSION_1 (VERSION_2 takes ARNs and no Namespace).
      RowLevelPermissionDataSet: {
        Namespace: 'default',
        Arn: arnOf('dataset', `${PREFIX}row-access`),
        PermissionPolicy: 'GRANT_ACCESS',
        FormatVersion: 'VERSION_1',
        Status: 'ENABLED',
      },
      // For the anonymous snapshot reader: a tag rule on the same column whose match-all value it is given.
      RowLevelPermissionTagConfiguration: { Status: 'ENABLED', TagRules: [{ TagKey: 'cclake_team', ColumnName: 'team', MatchAllValue: '*' }] },
    });
    expect(Permissions).toEqual([{ Principal: OWNERS[0], Actions: expect.arrayContaining(['quicksight:PassDataSet', 'quicksight:CreateIngestion']) }]);
    // No team column: no row-level security. Configured as direct query: DIRECT_QUERY, no refresh.
    expect(created.find((c) => c.DataSetId === `${PREFIX}active_users_daily`)!.RowLevelPermissionDataSet).toBeUndefined();
    expect(created.find((c) => c.DataSetId === `${PREFIX}active_users_daily`)!.RowLevelPermissionTagConfiguration).toBeUndefined();
    expect(created.find((c) => c.DataSetId === `${PREFIX}anomalies`)!.ImportMode).toBe('DIRECT_QUERY');
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}anomalies`)).toEqual({ id: `${PREFIX}anomalies`, action: 'created', importMode: 'DIRECT_QUERY' });
    // The rules dataset reads the seed table the job wrote, renamed to VERSION_1's rule columns, used as RLS rules.
    expect(created[0]).toMatchObject({
      UseAs: 'RLS_RULES',
      PhysicalTableMap: {
        rules: {
          RelationalTable: {
            Name: 'bi_row_access',
            InputColumns: [
              { Name: 'group_name', Type: 'STRING' },
              { Name: 'user_name', Type: 'STRING' },
              { Name: 'team', Type: 'STRING' },
            ],
          },
        },
      },
      LogicalTableMap: {
        rules: {
          DataTransforms: [
            { RenameColumnOperation: { ColumnName: 'group_name', NewColumnName: 'GroupName' } },
            { RenameColumnOperation: { ColumnName: 'user_name', NewColumnName: 'UserName' } },
          ],
        },
      },
    });
    // New SPICE datasets are imported by CreateDataSet itself: no CreateIngestion, but that import is awaited.
    expect(calls(CreateIngestionCommand)).toEqual([]);
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({ status: 'COMPLETED', id: expect.stringMatching(/^import-\d+$/) });
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}row-access`)).toMatchObject({
      action: 'created',
      importMode: 'SPICE',
      ingestion: { status: 'COMPLETED' },
    });
    // No create carries the checksum: each dataset is tagged after its import completed (direct query at once).
    for (const c of created) expect(c).not.toHaveProperty('Tags');
    expect(calls(TagResourceCommand).filter((t) => String(t.ResourceArn).includes(':dataset/')).length).toBe(created.length);
  });

  it('creates the dashboards from the definitions with the dataset ARNs filled in, waits for the version, and snapshots the executive one', async () => {
    await commitRollup('2026-11-20');
    const summary = await run();
    const templates = loadTemplates();
    const executive = templates.dashboards.find((d) => d.DashboardId === 'executive')!;
    const [create] = calls(CreateDashboardCommand).filter((c) => c.DashboardId === `${PREFIX}executive`);
    expect(create).toEqual({
      AwsAccountId: ACCOUNT,
      DashboardId: `${PREFIX}executive`,
      Name: executive.Name,
      Definition: {
        ...executive.Definition,
        DataSetIdentifierDeclarations: executive.Definition.DataSetIdentifierDeclarations.map((d) => ({
          Identifier: d.Identifier,
          DataSetArn: arnOf('dataset', `${PREFIX}${d.Identifier}`),
        })),
      },
      DashboardPublishOptions: {
        AdHocFilteringOption: { AvailabilityStatus: 'ENABLED' },
        ExportToCSVOption: { AvailabilityStatus: 'ENABLED' },
        SheetControlsOption: { VisibilityState: 'EXPANDED' },
      },
      Permissions: [
        { Principal: OWNERS[0], Actions: expect.arrayContaining(['quicksight:UpdateDashboardPublishedVersion']) },
        { Principal: VIEWERS[0], Actions: ['quicksight:DescribeDashboard', 'quicksight:ListDashboardVersions', 'quicksight:QueryDashboard'] },
      ],
      VersionDescription: expect.stringMatching(/^cclake [0-9a-f]{12}$/),
    });
    expect(JSON.stringify(create)).not.toContain('${dataset:');
    expect(summary.dashboards.map((d) => [d.id, d.action, d.version])).toEqual(
      ['compliance', 'executive', 'operations'].map((id) => [`${PREFIX}${id}`, 'created', 1]),
    );
    // Tagged once version 1 is CREATION_SUCCESSFUL.
    expect(
      calls(TagResourceCommand)
        .filter((t) => String(t.ResourceArn).includes(':dashboard/'))
        .map((t) => t.ResourceArn),
    ).toEqual(['compliance', 'executive', 'operations'].map((id) => arnOf('dashboard', `${PREFIX}${id}`)));

    // Snapshots: one PDF per sheet, each in its own job (a job makes 1 PDF, a PDF shows 1 sheet); the
    // executive CSV rides with the first PDF; the operations CSV has a job of its own.
    const jobs = calls(StartDashboardSnapshotJobCommand);
    const destination = {
      S3Destinations: [{ BucketConfiguration: { BucketName: 'acme-lake', BucketPrefix: 'cc/reports/snapshots/2026-11-21/', BucketRegion: REGION } }],
    };
    // The anonymous snapshot reader carries the match-all tag of the tag-based rules (row-level security is on).
    const user = { AnonymousUsers: [{ RowLevelPermissionTags: [{ Key: 'cclake_team', Value: '*' }] }] };
    expect(jobs).toEqual([
      {
        AwsAccountId: ACCOUNT,
        DashboardId: `${PREFIX}executive`,
        SnapshotJobId: `${PREFIX}executive-2026-11-21-a0001-1`,
        UserConfiguration: user,
        SnapshotConfiguration: {
          FileGroups: [
            { Files: [{ FormatType: 'PDF', SheetSelections: [{ SheetId: 'adoption-and-cost', SelectionScope: 'ALL_VISUALS' }] }] },
            {
              Files: [
                {
                  FormatType: 'CSV',
                  SheetSelections: [{ SheetId: 'savings-and-value', SelectionScope: 'SELECTED_VISUALS', VisualIds: ['roi-by-team-month'] }],
                },
              ],
            },
          ],
          DestinationConfiguration: destination,
        },
      },
      {
        AwsAccountId: ACCOUNT,
        DashboardId: `${PREFIX}executive`,
        SnapshotJobId: `${PREFIX}executive-2026-11-21-a0001-2`,
        UserConfiguration: user,
        SnapshotConfiguration: {
          FileGroups: [{ Files: [{ FormatType: 'PDF', SheetSelections: [{ SheetId: 'savings-and-value', SelectionScope: 'ALL_VISUALS' }] }] }],
          DestinationConfiguration: destination,
        },
      },
      expect.objectContaining({ DashboardId: `${PREFIX}operations`, SnapshotJobId: `${PREFIX}operations-2026-11-21-a0001-1`, UserConfiguration: user }),
    ]);
    // The files by the names the local publisher gives them.
    expect(summary.snapshots.map((s) => s.files)).toEqual([
      ['executive-adoption-and-cost.pdf', 'executive-roi-by-team-month.csv'],
      ['executive-savings-and-value.pdf'],
      ['operations-tool-usage.csv'],
    ]);
    expect(summary.snapshots[0]).toMatchObject({
      dashboardId: 'executive',
      jobId: `${PREFIX}executive-2026-11-21-a0001-1`,
      status: 'COMPLETED',
      outputs: [`s3://acme-lake/cc/reports/snapshots/2026-11-21/${PREFIX}executive-2026-11-21-a0001-1.pdf`],
    });
    expect(summary.status).toBe('completed');
  });
});

describe('QuickSight publisher: idempotency and changes', () => {
  it('a second publish with the same definitions and no new rollup makes no create, update, tag or refresh call', async () => {
    await commitRollup('2026-11-20');
    await run();
    qs.resetHistory();
    const second = await run(config, loadTemplates(), 'run00002');
    expect(changeCalls()).toEqual([]);
    expect(calls(CreateIngestionCommand)).toEqual([]);
    expect(second.dataSource!.action).toBe('unchanged');
    expect(second.dataSets.every((d) => d.action === 'unchanged')).toBe(true);
    expect(second.dashboards.every((d) => d.action === 'unchanged')).toBe(true);
    expect(second.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({
      status: 'UP_TO_DATE',
      reason: 'no rollup changed since the last refresh',
    });
    // Only reads: a describe and a tag lookup per resource.
    expect(calls(DescribeDashboardCommand).length).toBe(3);
    expect(calls(ListTagsForResourceCommand).length).toBe(1 + 1 + loadTemplates().dataSets.length + 3);
  });

  it('a changed dashboard definition is updated, its new version waited for and published, and tagged; nothing else changes', async () => {
    await commitRollup('2026-11-20');
    await run();
    qs.resetHistory();
    const dir = path.join(tmp.make(), 'templates');
    cpSync(TEMPLATES_DIR, dir, { recursive: true });
    const file = path.join(dir, 'dashboards', 'operations.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"p95 latency by model"', '"Latency (p95) by model"'));
    const summary = await run(config, loadTemplates(dir), 'run00003');
    expect(changeCalls()).toEqual([
      'UpdateDashboardCommand',
      'UpdateDashboardPublishedVersionCommand',
      'UpdateDashboardPermissionsCommand',
      'TagResourceCommand',
    ]);
    const [update] = calls(UpdateDashboardCommand);
    expect(update).toMatchObject({ AwsAccountId: ACCOUNT, DashboardId: `${PREFIX}operations`, Name: 'Claude Code: operations' });
    expect(JSON.stringify(update!.Definition)).toContain('Latency (p95) by model');
    expect(update).not.toHaveProperty('Permissions');
    // Published only once version 2 had been created (one "in progress" answer, then success).
    expect(calls(DescribeDashboardCommand).filter((c) => c.VersionNumber === 2).length).toBe(2);
    expect(calls(UpdateDashboardPublishedVersionCommand)).toEqual([{ AwsAccountId: ACCOUNT, DashboardId: `${PREFIX}operations`, VersionNumber: 2 }]);
    // Permissions brought back to the config: the viewers granted, a principal no longer configured revoked.
    expect(calls(UpdateDashboardPermissionsCommand)).toEqual([
      {
        AwsAccountId: ACCOUNT,
        DashboardId: `${PREFIX}operations`,
        GrantPermissions: [expect.objectContaining({ Principal: OWNERS[0] }), expect.objectContaining({ Principal: VIEWERS[0] })],
        RevokePermissions: [
          { Principal: 'arn:aws:quicksight:us-east-1:123456789012:user/default/someone-who-left', Actions: ['quicksight:DescribeDashboard'] },
        ],
      },
    ]);
    const [tag] = calls(TagResourceCommand);
    expect(tag).toEqual({
      ResourceArn: arnOf('dashboard', `${PREFIX}operations`),
      Tags: [{ Key: CHECKSUM_TAG, Value: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    });
    expect(summary.dashboards.find((d) => d.id === `${PREFIX}operations`)).toMatchObject({ action: 'updated', version: 2 });
    // The tag now holds the new checksum: a third run changes nothing.
    qs.resetHistory();
    await run(config, loadTemplates(dir), 'run00004');
    expect(changeCalls()).toEqual([]);
  });

  it('a changed view definition updates its dataset (PhysicalTableMap, import mode) and re-tags it', async () => {
    await commitRollup('2026-11-20');
    await run();
    qs.resetHistory();
    await run(
      parseConfig({ ...baseConfig, aws: { ...baseConfig.aws, quicksight: { ...baseConfig.aws.quicksight, directQuery: [] } } }),
      loadTemplates(),
      'run00005',
    );
    expect(calls(UpdateDataSetCommand).map((c) => [c.DataSetId, c.ImportMode])).toEqual([[`${PREFIX}anomalies`, 'SPICE']]);
    expect(calls(TagResourceCommand).map((c) => c.ResourceArn)).toEqual([arnOf('dataset', `${PREFIX}anomalies`)]);
    expect(calls(DescribeDataSetPermissionsCommand).length).toBe(1);
  });
});

describe('QuickSight publisher: SPICE refreshes', () => {
  it('refreshes the unchanged SPICE datasets after a new rollup, polls each to completion with backoff, and keeps the ledger', async () => {
    await commitRollup('2026-11-20');
    await run();
    await commitRollup('2026-11-21');
    qs.resetHistory();
    sleeps = [];
    const summary = await run(config, loadTemplates(), 'run00006');
    const spice = loadTemplates().dataSets.filter((d) => d.ImportMode === 'SPICE' && d.DataSetId !== 'anomalies');
    expect(calls(CreateIngestionCommand)).toEqual(
      spice.map((d) => ({ AwsAccountId: ACCOUNT, DataSetId: `${PREFIX}${d.DataSetId}`, IngestionId: '2026-11-21-a0006', IngestionType: 'FULL_REFRESH' })),
    );
    for (const d of spice)
      expect(summary.dataSets.find((x) => x.id === `${PREFIX}${d.DataSetId}`)!.ingestion).toEqual({ status: 'COMPLETED', id: '2026-11-21-a0006' });
    // The rules did not change: their dataset is not refreshed.
    expect(summary.dataSets.find((x) => x.id === `${PREFIX}row-access`)!.ingestion).toEqual({
      status: 'UP_TO_DATE',
      reason: 'no rollup changed since the last refresh',
    });
    // Each polled twice (RUNNING, then COMPLETED) with the first backoff between.
    expect(calls(DescribeIngestionCommand).length).toBe(2 * spice.length);
    expect(sleeps.filter((ms) => ms === 2000).length).toBeGreaterThanOrEqual(spice.length);
    const ledger = JSON.parse(new TextDecoder().decode(await store.get(LEDGER_KEY)));
    expect(
      ledger.ingestions.filter((i: { dataSetId: string }) => i.dataSetId === `${PREFIX}user_daily`).map((i: { ingestionId: string }) => i.ingestionId),
    ).toEqual([expect.stringMatching(/^import-\d+$/), '2026-11-21-a0006']);
  });

  it('never starts more refreshes than the 24-hour quota allows; older ones no longer count', async () => {
    await commitRollup('2026-11-20');
    await run(); // the import at creation counts as one of the 2 allowed
    await commitRollup('2026-11-21');
    await run(config, loadTemplates(), 'run00007', NOW + 3_600_000); // the second
    await commitRollup('2026-11-22');
    qs.resetHistory();
    const third = await run(config, loadTemplates(), 'run00008', NOW + 7_200_000);
    expect(calls(CreateIngestionCommand)).toEqual([]);
    expect(third.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({
      status: 'SKIPPED',
      reason: '2 refreshes in the last 24 h reach the quota of 2; the next run refreshes it',
    });
    expect(third.status).toBe('completed');
    // A day after the first, one slot is free again.
    qs.resetHistory();
    await run(config, loadTemplates(), 'run00009', NOW + 24 * 3_600_000 + 60_000);
    expect(calls(CreateIngestionCommand).map((c) => c.IngestionId)).toContain('2026-11-22-a0009');
  });

  it('a refresh QuickSight refuses for its own limit is skipped with the reason, not failed', async () => {
    await commitRollup('2026-11-20');
    await run();
    await commitRollup('2026-11-21');
    qs.on(CreateIngestionCommand).rejects(
      new LimitExceededException({ $metadata: { httpStatusCode: 409 }, message: 'Ingestion limit reached for the dataset', ResourceType: 'INGESTION' }),
    );
    const summary = await run(config, loadTemplates(), 'run00010');
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({
      status: 'SKIPPED',
      reason: expect.stringContaining('LimitExceededException: Ingestion limit reached for the dataset'),
    });
    expect(summary.status).toBe('completed');
  });
});

describe('QuickSight publisher: throttling and snapshot jobs', () => {
  it('retries throttled calls with backoff and goes on', async () => {
    await commitRollup('2026-11-20');
    const throttled = () => new ThrottlingException({ $metadata: { httpStatusCode: 429 }, message: 'Rate exceeded' });
    let n = 0;
    qs.on(DescribeDataSourceCommand).callsFake((input) => {
      n++;
      if (n <= 2) throw throttled();
      return fake.describeDataSource(input);
    });
    const summary = await run();
    // Two throttled, the describe that finds nothing, two polls of the creation.
    expect(n).toBe(5);
    expect(retrySleeps.length).toBeGreaterThanOrEqual(2);
    expect(summary.dataSource!.action).toBe('created');
  });

  it('gives up after the retry budget with the operation named', async () => {
    qs.on(DescribeDataSourceCommand).rejects(new ThrottlingException({ $metadata: { httpStatusCode: 429 }, message: 'Rate exceeded' }));
    await expect(run()).rejects.toThrow(`QuickSight DescribeDataSource ${PREFIX}athena failed after 6 attempts: ThrottlingException: Rate exceeded`);
  });

  it('polls a snapshot job with growing waits and reports a FAILED job with its error', async () => {
    await commitRollup('2026-11-20');
    fake.snapshotFails = true;
    fake.snapshotStates = ['QUEUED', 'QUEUED', 'RUNNING', 'RUNNING', 'COMPLETED'];
    const summary = await run();
    expect(summary.status).toBe('failed');
    expect(summary.snapshots[0]).toEqual({
      dashboardId: 'executive',
      jobId: `${PREFIX}executive-2026-11-21-a0001-1`,
      status: 'FAILED',
      files: ['executive-adoption-and-cost.pdf', 'executive-roi-by-team-month.csv'],
      outputs: [],
      error: 'SNAPSHOT_ERROR: The dashboard has no published version the snapshot user can see',
    });
    // Five polls of the first job, waiting 2 s, 4 s, 8 s, 16 s between them (one job at a time).
    expect(calls(DescribeDashboardSnapshotJobCommand).filter((c) => c.SnapshotJobId === `${PREFIX}executive-2026-11-21-a0001-1`).length).toBe(5);
    expect(sleeps.slice(-8)).toEqual([2000, 4000, 8000, 16000, 2000, 4000, 8000, 16000]);
  });

  it('cuts more than 5 CSVs of one dashboard into several snapshot jobs', async () => {
    await commitRollup('2026-11-20');
    const cfg = parseConfig({
      ...baseConfig,
      publish: {
        snapshot: {
          pdf: ['compliance'],
          csv: [
            'compliance/controls-by-team',
            'compliance/failing-controls',
            'executive/roi-by-team-month',
            'executive/team-activity',
            'executive/executive-anomalies',
            'operations/tool-usage',
          ],
        },
      },
    });
    await run(cfg);
    const jobs = calls(StartDashboardSnapshotJobCommand) as {
      DashboardId: string;
      SnapshotConfiguration: { FileGroups: { Files: { FormatType: string }[] }[] };
    }[];
    expect(jobs.map((j) => [j.DashboardId, j.SnapshotConfiguration.FileGroups.map((g) => g.Files[0]!.FormatType)])).toEqual([
      [`${PREFIX}compliance`, ['PDF', 'CSV', 'CSV']],
      [`${PREFIX}executive`, ['CSV', 'CSV', 'CSV']],
      [`${PREFIX}operations`, ['CSV']],
    ]);
  });
});

describe('QuickSight publisher: failures, retries and scope (issue 16)', () => {
  const snapshotFiles = () =>
    (
      calls(StartDashboardSnapshotJobCommand) as {
        SnapshotJobId: string;
        SnapshotConfiguration: { FileGroups: { Files: { FormatType: string; SheetSelections: { SheetId: string }[] }[] }[] };
      }[]
    ).map((j) => ({
      job: j.SnapshotJobId,
      files: j.SnapshotConfiguration.FileGroups.flatMap((g) => g.Files),
    }));

  it('defect 1: makes one PDF per sheet, each PDF file with one sheet selection and each job with one PDF', async () => {
    await commitRollup('2026-11-20');
    const cfg = parseConfig({ ...baseConfig, publish: { snapshot: { pdf: ['executive', 'operations', 'compliance'], csv: [] } } });
    const summary = await run(cfg);
    const jobs = snapshotFiles();
    for (const j of jobs) {
      expect(j.files.filter((f) => f.FormatType === 'PDF').length).toBeLessThanOrEqual(1);
      for (const f of j.files.filter((x) => x.FormatType === 'PDF')) expect(f.SheetSelections.length).toBe(1);
    }
    const sheets = loadTemplates().dashboards.flatMap((d) => d.Definition.Sheets.map((sh) => `${d.DashboardId}-${sh.SheetId}.pdf`));
    expect(jobs.flatMap((j) => j.files.map((f) => f.SheetSelections[0]!.SheetId)).sort()).toEqual(
      loadTemplates()
        .dashboards.flatMap((d) => d.Definition.Sheets.map((sh) => sh.SheetId))
        .sort(),
    );
    expect(summary.snapshots.flatMap((x) => x.files ?? []).sort()).toEqual(sheets.sort());
    expect(summary.snapshots.every((x) => x.status === 'COMPLETED')).toBe(true);
  });

  it('defect 3: a changed rules seed refreshes the rules dataset (and only it), awaited; unchanged rules do not', async () => {
    await commitRollup('2026-11-20');
    await run();
    qs.resetHistory();
    const revoked = parseConfig({
      ...baseConfig,
      aws: {
        ...baseConfig.aws,
        quicksight: { ...baseConfig.aws.quicksight, rowLevelSecurity: { column: 'team' as const, rules: [{ group: 'payments-leads', values: ['payments'] }] } },
      },
    });
    const summary = await run(revoked, loadTemplates(), 'run00020');
    expect(calls(CreateIngestionCommand)).toEqual([
      { AwsAccountId: ACCOUNT, DataSetId: `${PREFIX}row-access`, IngestionId: '2026-11-21-a0020', IngestionType: 'FULL_REFRESH' },
    ]);
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}row-access`)).toEqual({
      id: `${PREFIX}row-access`,
      action: 'unchanged',
      importMode: 'SPICE',
      ingestion: { status: 'COMPLETED', id: '2026-11-21-a0020' },
    });
    expect(calls(DescribeIngestionCommand).filter((c) => c.DataSetId === `${PREFIX}row-access`).length).toBe(2);
    // The views' data did not change: no refresh of theirs.
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion!.status).toBe('UP_TO_DATE');
    qs.resetHistory();
    await run(revoked, loadTemplates(), 'run00021');
    expect(calls(CreateIngestionCommand)).toEqual([]);
  });

  it('defect 4: a data source whose creation failed is reported, left untagged, and updated by the next run', async () => {
    await commitRollup('2026-11-20');
    fake.dataSourceFails = true;
    await expect(run()).rejects.toThrow(
      `QuickSight data source ${PREFIX}athena is CREATION_FAILED: ACCESS_DENIED: QuickSight cannot use the workgroup; the next run retries it`,
    );
    expect(calls(TagResourceCommand)).toEqual([]);
    fake.dataSourceFails = false;
    qs.resetHistory();
    const summary = await run(config, loadTemplates(), 'run00022');
    expect(summary.dataSource).toEqual({ id: `${PREFIX}athena`, action: 'updated' });
    expect(calls(UpdateDataSourceCommand).length).toBe(1);
    expect(calls(TagResourceCommand)[0]!.ResourceArn).toBe(arnOf('datasource', `${PREFIX}athena`));
  });

  it('defect 4: a dashboard version that failed is reported, not tagged, and the next run makes and publishes a new one', async () => {
    await commitRollup('2026-11-20');
    fake.failVersions.add(`${PREFIX}executive`);
    const first = await run();
    expect(first.status).toBe('failed');
    expect(first.dashboards.find((d) => d.id === `${PREFIX}executive`)).toEqual({
      id: `${PREFIX}executive`,
      action: 'failed',
      version: 1,
      location: arnOf('dashboard', `${PREFIX}executive`),
      error: 'version 1 is CREATION_FAILED: COLUMN_TYPE_MISMATCH: column dt is not a date',
    });
    expect(calls(TagResourceCommand).map((t) => t.ResourceArn)).not.toContain(arnOf('dashboard', `${PREFIX}executive`));
    // No snapshot of a dashboard without a good version.
    expect(first.snapshots.find((x) => x.dashboardId === 'executive')).toMatchObject({ status: 'SKIPPED', error: expect.stringContaining('CREATION_FAILED') });
    fake.failVersions.clear();
    qs.resetHistory();
    const second = await run(config, loadTemplates(), 'run00023');
    expect(second.dashboards.find((d) => d.id === `${PREFIX}executive`)).toMatchObject({ action: 'updated', version: 2 });
    expect(calls(UpdateDashboardPublishedVersionCommand)).toEqual([{ AwsAccountId: ACCOUNT, DashboardId: `${PREFIX}executive`, VersionNumber: 2 }]);
    expect(calls(TagResourceCommand).map((t) => t.ResourceArn)).toContain(arnOf('dashboard', `${PREFIX}executive`));
    expect(second.status).toBe('completed');
  });

  it('defect 4 and 5: a failed import of a new dataset is awaited and reported; the dataset stays untagged and is updated next run', async () => {
    await commitRollup('2026-11-20');
    fake.failIngestions.add(`${PREFIX}user_daily`);
    const first = await run();
    expect(first.status).toBe('failed');
    expect(first.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({
      status: 'FAILED',
      id: expect.stringMatching(/^import-/),
      reason: 'PERMISSION_DENIED: QuickSight cannot read the view',
    });
    expect(calls(TagResourceCommand).map((t) => t.ResourceArn)).not.toContain(arnOf('dataset', `${PREFIX}user_daily`));
    fake.failIngestions.clear();
    qs.resetHistory();
    const second = await run(config, loadTemplates(), 'run00024');
    expect(calls(UpdateDataSetCommand).map((c) => c.DataSetId)).toEqual([`${PREFIX}user_daily`]);
    expect(second.dataSets.find((d) => d.id === `${PREFIX}user_daily`)).toMatchObject({ action: 'updated', ingestion: { status: 'COMPLETED' } });
    expect(calls(TagResourceCommand).map((t) => t.ResourceArn)).toEqual([arnOf('dataset', `${PREFIX}user_daily`)]);
    expect(second.status).toBe('completed');
  });

  it("defect 5: imports still running at the run's deadline are reported, not waited past it, and not counted as done", async () => {
    await commitRollup('2026-11-20');
    fake.slowIngestions.add(`${PREFIX}user_daily`);
    const deadline = NOW + 60_000;
    const summary = await publish(publisher(config, { deadline }), config, { runId: 'run00025', attempt: 'a0025', now: NOW, templates: loadTemplates() });
    expect(summary.dataSets.find((d) => d.id === `${PREFIX}user_daily`)!.ingestion).toEqual({
      status: 'RUNNING',
      id: expect.stringMatching(/^import-/),
      reason: expect.stringContaining('still running when the wait ended'),
    });
    // Backoff 2, 4, 8, 16 s then 30 s would pass the deadline: no sleep ends after it.
    expect(clock).toBeLessThanOrEqual(deadline);
    expect(calls(TagResourceCommand).map((t) => t.ResourceArn)).not.toContain(arnOf('dataset', `${PREFIX}user_daily`));
    // The snapshot job under way at the deadline is reported unfinished; none is started past it (the next run makes them).
    // (How many jobs start before the deadline depends on how many datasets the waits went through.)
    expect(summary.snapshots).toHaveLength(3);
    for (const x of summary.snapshots) {
      // A dashboard whose new version was still being created at the deadline is not snapshotted either.
      const unversioned = /^dashboard \S+ has no new version this run: version \d+ is still CREATION_IN_PROGRESS after the wait; the next run retries it$/;
      if (x.status === 'SKIPPED' && unversioned.test(x.error ?? '')) continue;
      expect([
        ['FAILED', 'still RUNNING when the wait ended'],
        ['SKIPPED', 'the run reached its deadline before this snapshot; the next run makes it'],
      ]).toContainEqual([x.status, x.error]);
    }
    expect(summary.snapshots.at(-1)!.status).toBe('SKIPPED');
    // A job left unfinished fails the run; work merely deferred to the next run does not.
    // (A dashboard version still being created at the deadline fails the run too, as publish() says.)
    expect(summary.status).toBe(
      summary.snapshots.some((x) => x.status === 'FAILED') || summary.dashboards.some((d) => d.action === 'failed') ? 'failed' : 'completed',
    );
  });

  it('defect 6: a retried attempt (same run id) uses new ingestion and snapshot job ids, and does not redo snapshots the ledger has', async () => {
    await commitRollup('2026-11-20');
    await run();
    await commitRollup('2026-11-21');
    fake.snapshotFails = true;
    qs.resetHistory();
    const first = await publish(publisher(), config, { runId: 'samerun1', attempt: 'first001', now: NOW, templates: loadTemplates() });
    expect(first.status).toBe('failed');
    const firstIngestions = calls(CreateIngestionCommand).map((c) => c.IngestionId);
    expect(new Set(firstIngestions)).toEqual(new Set(['2026-11-21-first001']));
    // Lambda retries the invocation with the same request id: a new attempt.
    fake.snapshotFails = false;
    qs.resetHistory();
    const retry = await publish(publisher(), config, { runId: 'samerun1', attempt: 'second02', now: NOW, templates: loadTemplates() });
    // The refreshes completed the first time: the ledger says so, none is started again.
    expect(calls(CreateIngestionCommand)).toEqual([]);
    const jobIds = calls(StartDashboardSnapshotJobCommand).map((c) => c.SnapshotJobId);
    expect(jobIds).toEqual([
      `${PREFIX}executive-2026-11-21-second02-1`,
      `${PREFIX}executive-2026-11-21-second02-2`,
      `${PREFIX}operations-2026-11-21-second02-1`,
    ]);
    expect(retry.status).toBe('completed');
    // A third attempt the same day finds every snapshot in the ledger: no job at all.
    qs.resetHistory();
    const third = await publish(publisher(), config, { runId: 'samerun1', attempt: 'third003', now: NOW, templates: loadTemplates() });
    expect(calls(StartDashboardSnapshotJobCommand)).toEqual([]);
    expect(third.snapshots.map((x) => [x.status, x.jobId])).toEqual(retry.snapshots.map((x) => ['COMPLETED', x.jobId]));
  });

  it('defect 11: without row-level security the snapshot reader is a plain anonymous user and no dataset has tag rules', async () => {
    await commitRollup('2026-11-20');
    const { rowLevelSecurity: _rls, ...quicksight } = baseConfig.aws.quicksight;
    const open = parseConfig({ ...baseConfig, aws: { ...baseConfig.aws, quicksight } });
    await run(open);
    for (const c of calls(CreateDataSetCommand)) {
      expect(c).not.toHaveProperty('RowLevelPermissionDataSet');
      expect(c).not.toHaveProperty('RowLevelPermissionTagConfiguration');
    }
    for (const j of calls(StartDashboardSnapshotJobCommand)) expect(j.UserConfiguration).toEqual({ AnonymousUsers: [{}] });
  });

  it("defect 11: with row-level security every secured dataset has the tag rule the snapshot reader's tag matches in full", async () => {
    await commitRollup('2026-11-20');
    const summary = await run();
    const tags = (
      calls(StartDashboardSnapshotJobCommand) as { UserConfiguration: { AnonymousUsers: { RowLevelPermissionTags: { Key: string; Value: string }[] }[] } }[]
    ).map((j) => j.UserConfiguration.AnonymousUsers[0]!.RowLevelPermissionTags);
    expect(new Set(tags.map((t) => JSON.stringify(t)))).toEqual(new Set([JSON.stringify([{ Key: 'cclake_team', Value: '*' }])]));
    const secured = calls(CreateDataSetCommand).filter((c) => c.RowLevelPermissionDataSet);
    expect(secured.length).toBeGreaterThan(0);
    for (const c of secured)
      expect(c.RowLevelPermissionTagConfiguration).toEqual({
        Status: 'ENABLED',
        TagRules: [{ TagKey: 'cclake_team', ColumnName: 'team', MatchAllValue: '*' }],
      });
    expect(summary.notes.join('\n')).toContain('anonymous reader whose tag cclake_team=* sees every team');
  });
});

describe('publish definitions and the function event', () => {
  it('the checksum is canonical: key order does not matter, content does', () => {
    expect(checksumOf({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(checksumOf({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(checksumOf({ a: 1 })).not.toBe(checksumOf({ a: 2 }));
  });

  it('sheet, visual and filter ids are QuickSight ids (letters, digits, _ and -): a dot fails naming the field', () => {
    const dir = path.join(tmp.make(), 'templates');
    cpSync(TEMPLATES_DIR, dir, { recursive: true });
    const file = path.join(dir, 'dashboards', 'compliance.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"FilterId": "per-team-filter"', '"FilterId": "per-team.filter"'));
    expect(() => loadTemplates(dir)).toThrow(
      /compliance\.json: Definition\.FilterGroups\[1\]\.Filters\[0\]\.CategoryFilter\.FilterId: expected an id of letters, digits, _ - \(QuickSight takes no other character here\)/,
    );
  });

  it('the snapshot config must name dashboards and table visuals that exist', async () => {
    const bad = (csv: string[], pdf: string[] = []) => run(parseConfig({ ...baseConfig, publish: { snapshot: { pdf, csv } } }));
    await expect(bad([], ['board'])).rejects.toThrow(
      'config publish.snapshot.pdf: no dashboard "board" in quicksight-templates/dashboards/ (known: compliance, executive, operations)',
    );
    await expect(bad(['executive/nope'])).rejects.toThrow('config publish.snapshot.csv: dashboard executive has no visual "nope"');
    await expect(bad(['executive/dau'])).rejects.toThrow('config publish.snapshot.csv: executive/dau is a kpi visual; only table visuals export as CSV');
  });

  it('the function takes {} only, and finds its account in its ARN', () => {
    expect(parsePublishEvent({})).toEqual({});
    expect(parsePublishEvent(undefined)).toEqual({});
    expect(() => parsePublishEvent({ dt: '2026-11-20' })).toThrow('the publish event takes no fields, got "dt"');
    expect(() => parsePublishEvent('now')).toThrow('the publish event must be {}, got "now"');
    expect(accountOf('arn:aws:lambda:us-east-1:123456789012:function:cclake-dev-publish')).toBe('123456789012');
    expect(accountOf(undefined)).toBeUndefined();
  });
});
