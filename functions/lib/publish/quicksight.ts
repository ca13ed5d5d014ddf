/**
 * The QuickSight adapter of the BI publisher port. From the definitions, idempotently:
 *
 *  - the Athena data source bound to the configured workgroup;
 *  - one dataset per analyst view (RelationalTable over the Glue database; SPICE, or DIRECT_QUERY
 *    where `aws.quicksight.directQuery` says), with owner permissions and, where configured, row-level
 *    security from a rules dataset (`bi_row_access`, a seed table the job writes from the config);
 *  - the dashboards, created from the definition with the dataset ARNs filled in.
 *
 * Every resource is described first. It is created when absent; when present, the canonical checksum
 * of what we would send is compared with the one kept in its tag `cclake:definition-sha256`: equal
 * means no further call at all, different means update (a dashboard then gets a new version, waited
 * for, published, and the tag moves). A second publish with the same definitions makes no create or
 * update call.
 *
 * SPICE refreshes: a dataset created or updated is imported by QuickSight as part of that call; an
 * unchanged SPICE dataset gets CreateIngestion only when the lake's rollups changed since its last
 * refresh, and never beyond `aws.quicksight.spiceRefreshesPer24h` in the trailing 24 hours (QuickSight
 * allows 32 on Enterprise edition, 8 on Standard, measured over the 24 hours before now). The ledger
 * of refreshes is kept in the lake (`_cclake/publish/ingestions.json`). Started refreshes are polled
 * to completion (with backoff) before the snapshots, so a report shows the new data.
 *
 * Snapshots: StartDashboardSnapshotJob (one PDF of every sheet; CSVs of chosen table visuals, at most
 * 5 per job as the API allows) into the lake bucket, jobs run one at a time (QuickSight allows 12 at
 * once per account and 10 requests a second), polled with backoff to COMPLETED or FAILED; a failed
 * job is reported with QuickSight's error.
 *
 * Every call goes through the shared retry policy (throttling and transient errors, with backoff);
 * the client's own retries are off.
 */
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
  DescribeDataSourcePermissionsCommand,
  DescribeIngestionCommand,
  ListTagsForResourceCommand,
  QuickSightClient,
  StartDashboardSnapshotJobCommand,
  TagResourceCommand,
  UpdateDashboardCommand,
  UpdateDashboardPermissionsCommand,
  UpdateDashboardPublishedVersionCommand,
  UpdateDataSetCommand,
  UpdateDataSetPermissionsCommand,
  UpdateDataSourceCommand,
  UpdateDataSourcePermissionsCommand,
  type CreateDataSetCommandInput,
  type DashboardPublishOptions,
  type DashboardVersionDefinition,
  type ResourcePermission,
  type SnapshotFile,
} from '@aws-sdk/client-quicksight';
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema';
import { isTransient, retryPolicy, ServiceOperationError, withRetry, type RetryOptions, type RetryPolicy } from '../util/retry';
import { ROLLUP_TABLES } from '../../../schemas/rollups';
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { checksumOf, fillDefinition, type DashboardDef, type DataSetDef, type Templates } from './definitions';
import type { BiPublisher, DashboardResult, DataSetResult, PublishPlan, PublishSummary, SnapshotPlan, SnapshotResult } from './port';

export const CHECKSUM_TAG = 'cclake:definition-sha256';
export const LEDGER_KEY = '_cclake/publish/ingestions.json';
/** CSVs one snapshot job may produce (StartDashboardSnapshotJob: "5 CSVs from table or pivot table visuals"). */
export const CSVS_PER_SNAPSHOT_JOB = 5;
const DAY_MS = 86_400_000;

/** Permissions by role (QuickSight's documented action sets for owners and viewers). */
const ACTIONS = {
  dataSourceOwner: ['quicksight:DescribeDataSource', 'quicksight:DescribeDataSourcePermissions', 'quicksight:PassDataSource', 'quicksight:UpdateDataSource', 'quicksight:DeleteDataSource', 'quicksight:UpdateDataSourcePermissions'],
  dataSetOwner: [
    'quicksight:DescribeDataSet',
    'quicksight:DescribeDataSetPermissions',
    'quicksight:PassDataSet',
    'quicksight:DescribeIngestion',
    'quicksight:ListIngestions',
    'quicksight:UpdateDataSet',
    'quicksight:DeleteDataSet',
    'quicksight:CreateIngestion',
    'quicksight:CancelIngestion',
    'quicksight:UpdateDataSetPermissions',
  ],
  dashboardViewer: ['quicksight:DescribeDashboard', 'quicksight:ListDashboardVersions', 'quicksight:QueryDashboard'],
  dashboardOwner: [
    'quicksight:DescribeDashboard',
    'quicksight:ListDashboardVersions',
    'quicksight:UpdateDashboardPermissions',
    'quicksight:QueryDashboard',
    'quicksight:UpdateDashboard',
    'quicksight:DeleteDashboard',
    'quicksight:DescribeDashboardPermissions',
    'quicksight:UpdateDashboardPublishedVersion',
  ],
};

export interface QuickSightPublisherOptions {
  client?: QuickSightClient;
  /** The account when the config names none (the function's own, from its ARN). */
  accountId?: string;
  region?: string;
  /** The lake (for the ingestion ledger and the rollup commits that say whether data changed). */
  store: ObjectStore;
  /** Snapshot destination: the lake bucket and prefix. */
  bucket: string;
  bucketPrefix: string;
  /** Writes the row-level security rules as a seed table; returns its Glue table name. */
  writeRowAccess?: () => Promise<string>;
  retry?: RetryOptions;
  /** Backoff between polls (ingestions, dashboard versions, snapshot jobs): first delay, cap. */
  pollMs?: { first: number; max: number };
  /** How long to wait for one ingestion, version or snapshot job. Default 10 minutes. */
  waitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface Ledger {
  version: 1;
  /** Per dataset, the lake state its last refresh read. */
  refreshedFrom: Record<string, string>;
  /** Refreshes started in the trailing 24 hours. */
  ingestions: { dataSetId: string; ingestionId: string; startedAt: string }[];
}

type Action = 'created' | 'updated' | 'unchanged';

export class QuickSightPublisher implements BiPublisher {
  readonly kind = 'quicksight' as const;
  readonly location: string;
  private readonly client: QuickSightClient;
  private readonly retry: RetryPolicy;
  private readonly account: string;
  private readonly q: Config['aws']['quicksight'];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly poll: { first: number; max: number };
  private readonly waitMs: number;

  constructor(
    private readonly config: Config,
    private readonly options: QuickSightPublisherOptions,
  ) {
    const account = config.aws.quicksight.accountId ?? options.accountId;
    if (!account) throw new Error('the QuickSight publisher needs aws.quicksight.accountId in the config');
    this.account = account;
    this.q = config.aws.quicksight;
    const region = options.region ?? config.aws.region;
    this.client = options.client ?? new QuickSightClient({ ...(region ? { region } : {}), maxAttempts: 1 });
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.retry = retryPolicy({ ...options.retry, sleep: options.retry?.sleep ?? this.sleep });
    this.now = options.now ?? Date.now;
    this.poll = options.pollMs ?? { first: 2_000, max: 30_000 };
    this.waitMs = options.waitMs ?? 10 * 60_000;
    this.location = `quicksight:${region ?? '(default region)'}:${account}`;
  }

  private id(suffix: string): string {
    return `${this.q.resourcePrefix}${suffix}`;
  }

  /** One API call under the retry policy; a call that fails for good names the operation and target. */
  private call<T>(operation: string, target: string, send: () => Promise<T>): Promise<T> {
    return withRetry(this.retry, send, {
      retryable: (err) => isTransient(err),
      giveUp: (err, attempts) => new ServiceOperationError(`QuickSight ${operation}`, target, attempts, err),
    });
  }

  /** A describe call, or null when the resource does not exist. */
  private async describe<T>(operation: string, target: string, send: () => Promise<T>): Promise<T | null> {
    try {
      return await this.call(operation, target, send);
    } catch (err) {
      if (err instanceof ServiceOperationError && err.code === 'ResourceNotFoundException') return null;
      throw err;
    }
  }

  private async storedChecksum(arn: string): Promise<string | undefined> {
    const out = await this.call('ListTagsForResource', arn, () => this.client.send(new ListTagsForResourceCommand({ ResourceArn: arn })));
    return out.Tags?.find((t) => t.Key === CHECKSUM_TAG)?.Value;
  }

  private tag(arn: string, checksum: string): Promise<unknown> {
    return this.call('TagResource', arn, () => this.client.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: CHECKSUM_TAG, Value: checksum }] })));
  }

  private permissions(owner: string[], viewer?: { principals: string[]; actions: string[] }): ResourcePermission[] {
    const out: ResourcePermission[] = this.q.owners.map((p) => ({ Principal: p, Actions: [...owner].sort() }));
    for (const p of viewer?.principals ?? []) if (!this.q.owners.includes(p)) out.push({ Principal: p, Actions: [...viewer!.actions].sort() });
    return out;
  }

  /** Grants the desired permissions and revokes those of principals no longer configured. */
  private async syncPermissions(
    target: string,
    desired: ResourcePermission[],
    read: () => Promise<ResourcePermission[] | undefined>,
    update: (grant: ResourcePermission[] | undefined, revoke: ResourcePermission[] | undefined) => Promise<unknown>,
  ): Promise<void> {
    const current = (await read()) ?? [];
    const wanted = new Set(desired.map((p) => p.Principal));
    const revoke = current.filter((p) => !wanted.has(p.Principal!));
    if (!desired.length && !revoke.length) return;
    await this.call('UpdatePermissions', target, () => update(desired.length ? desired : undefined, revoke.length ? revoke : undefined));
  }

  async publish(plan: PublishPlan): Promise<Omit<PublishSummary, 'runId' | 'status' | 'durationMs'>> {
    const notes: string[] = [];
    const dataSource = await this.ensureDataSource(plan.templates);
    const rlsArn = this.q.rowLevelSecurity ? await this.ensureRowAccessDataSet(dataSource.arn) : null;
    const lakeState = await this.lakeState();
    const ledger = await this.loadLedger();
    const dataSets: DataSetResult[] = [];
    const arns = new Map<string, string>();
    const started: { def: DataSetDef; result: DataSetResult }[] = [];
    for (const def of plan.templates.dataSets) {
      const mode = this.q.directQuery.includes(def.DataSetId) ? 'DIRECT_QUERY' : def.ImportMode;
      const { arn, action } = await this.ensureDataSet(def, mode, dataSource.arn, rlsArn);
      arns.set(def.DataSetId, arn);
      const result: DataSetResult = { id: this.id(def.DataSetId), action, importMode: mode };
      if (mode === 'SPICE') {
        result.ingestion = await this.refresh(def, action, lakeState, ledger, plan);
        if (result.ingestion.id) started.push({ def, result });
      }
      dataSets.push(result);
    }
    await this.saveLedger(ledger);
    // One wait budget for all the refreshes together (they run in parallel in QuickSight).
    const refreshDeadline = this.now() + this.waitMs;
    for (const s of started) s.result.ingestion = await this.waitForIngestion(s.def, s.result.ingestion!, refreshDeadline);

    const dashboards: DashboardResult[] = [];
    for (const d of plan.templates.dashboards) {
      const r = await this.ensureDashboard(d, (id) => {
        const arn = arns.get(id);
        if (!arn) throw new Error(`dashboard ${d.DashboardId} reads dataset ${id}, which was not published`);
        return arn;
      });
      dashboards.push(r);
    }

    const snapshots: SnapshotResult[] = [];
    for (const s of plan.snapshots) snapshots.push(...(await this.snapshot(s, plan)));
    if (rlsArn) notes.push(`row-level security by ${this.q.rowLevelSecurity!.column} from ${rlsArn}`);
    return { publisher: 'quicksight', dataSource: { id: dataSource.id, action: dataSource.action }, dataSets, dashboards, snapshots, notes };
  }

  // ---- data source ---------------------------------------------------------------------------

  private async ensureDataSource(t: Templates): Promise<{ id: string; arn: string; action: Action }> {
    const id = this.id(t.dataSource.DataSourceId);
    const desired = {
      Name: t.dataSource.Name,
      Type: t.dataSource.Type,
      DataSourceParameters: { AthenaParameters: { WorkGroup: t.dataSource.WorkGroup.replace('${athena:workgroup}', this.config.aws.athena.workgroup) } },
      Permissions: this.permissions(ACTIONS.dataSourceOwner),
    };
    const checksum = checksumOf(desired);
    const found = await this.describe('DescribeDataSource', id, () => this.client.send(new DescribeDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id })));
    if (!found?.DataSource?.Arn) {
      const out = await this.call('CreateDataSource', id, () =>
        this.client.send(new CreateDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id, ...desired, Permissions: desired.Permissions.length ? desired.Permissions : undefined, Tags: [{ Key: CHECKSUM_TAG, Value: checksum }] })),
      );
      return { id, arn: out.Arn!, action: 'created' };
    }
    const arn = found.DataSource.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { id, arn, action: 'unchanged' };
    await this.call('UpdateDataSource', id, () => this.client.send(new UpdateDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id, Name: desired.Name, DataSourceParameters: desired.DataSourceParameters })));
    await this.syncPermissions(
      id,
      desired.Permissions,
      async () => (await this.call('DescribeDataSourcePermissions', id, () => this.client.send(new DescribeDataSourcePermissionsCommand({ AwsAccountId: this.account, DataSourceId: id })))).Permissions,
      (grant, revoke) => this.client.send(new UpdateDataSourcePermissionsCommand({ AwsAccountId: this.account, DataSourceId: id, GrantPermissions: grant, RevokePermissions: revoke })),
    );
    await this.tag(arn, checksum);
    return { id, arn, action: 'updated' };
  }

  // ---- datasets ------------------------------------------------------------------------------

  /** The CreateDataSet input for a view (without the account and tags). */
  dataSetInput(def: DataSetDef, mode: 'SPICE' | 'DIRECT_QUERY', dataSourceArn: string, rlsArn: string | null): Omit<CreateDataSetCommandInput, 'AwsAccountId' | 'Tags'> {
    const rls = this.q.rowLevelSecurity;
    const secured = rls && rlsArn && def.Columns.some((c) => c.Name === rls.column);
    const permissions = this.permissions(ACTIONS.dataSetOwner);
    return {
      DataSetId: this.id(def.DataSetId),
      Name: def.Name,
      PhysicalTableMap: {
        view: {
          RelationalTable: {
            DataSourceArn: dataSourceArn,
            Catalog: 'AwsDataCatalog',
            Schema: this.config.aws.glueDatabase,
            Name: def.View,
            InputColumns: def.Columns.map((c) => ({ Name: c.Name, Type: c.Type })),
          },
        },
      },
      LogicalTableMap: { view: { Alias: def.View, Source: { PhysicalTableId: 'view' } } },
      ImportMode: mode,
      ...(permissions.length ? { Permissions: permissions } : {}),
      ...(secured ? { RowLevelPermissionDataSet: { Namespace: this.q.namespace, Arn: rlsArn, PermissionPolicy: 'GRANT_ACCESS', FormatVersion: 'VERSION_2', Status: 'ENABLED' } } : {}),
    };
  }

  private async ensureDataSet(def: DataSetDef, mode: 'SPICE' | 'DIRECT_QUERY', dataSourceArn: string, rlsArn: string | null): Promise<{ arn: string; action: Action }> {
    return this.ensureDataSetInput(this.dataSetInput(def, mode, dataSourceArn, rlsArn));
  }

  private async ensureDataSetInput(input: Omit<CreateDataSetCommandInput, 'AwsAccountId' | 'Tags'>): Promise<{ arn: string; action: Action }> {
    const id = input.DataSetId!;
    const checksum = checksumOf(input);
    const found = await this.describe('DescribeDataSet', id, () => this.client.send(new DescribeDataSetCommand({ AwsAccountId: this.account, DataSetId: id })));
    if (!found?.DataSet?.Arn) {
      const out = await this.call('CreateDataSet', id, () => this.client.send(new CreateDataSetCommand({ AwsAccountId: this.account, ...input, Tags: [{ Key: CHECKSUM_TAG, Value: checksum }] })));
      return { arn: out.Arn!, action: 'created' };
    }
    const arn = found.DataSet.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { arn, action: 'unchanged' };
    const { Permissions: permissions = [], ...rest } = input;
    await this.call('UpdateDataSet', id, () => this.client.send(new UpdateDataSetCommand({ AwsAccountId: this.account, ...rest, DataSetId: id, Name: input.Name, PhysicalTableMap: input.PhysicalTableMap, ImportMode: input.ImportMode })));
    await this.syncPermissions(
      id,
      permissions,
      async () => (await this.call('DescribeDataSetPermissions', id, () => this.client.send(new DescribeDataSetPermissionsCommand({ AwsAccountId: this.account, DataSetId: id })))).Permissions,
      (grant, revoke) => this.client.send(new UpdateDataSetPermissionsCommand({ AwsAccountId: this.account, DataSetId: id, GrantPermissions: grant, RevokePermissions: revoke })),
    );
    await this.tag(arn, checksum);
    return { arn, action: 'updated' };
  }

  /** The rules dataset of row-level security: GroupName/UserName and the secured column, from the seed table. */
  private async ensureRowAccessDataSet(dataSourceArn: string): Promise<string> {
    if (!this.options.writeRowAccess) throw new Error('row-level security is configured but the publisher cannot write its rules table');
    const table = await this.options.writeRowAccess();
    const column = this.q.rowLevelSecurity!.column;
    const permissions = this.permissions(ACTIONS.dataSetOwner);
    const { arn } = await this.ensureDataSetInput({
      DataSetId: this.id('row-access'),
      Name: `cclake row access by ${column}`,
      PhysicalTableMap: {
        rules: {
          RelationalTable: {
            DataSourceArn: dataSourceArn,
            Catalog: 'AwsDataCatalog',
            Schema: this.config.aws.glueDatabase,
            Name: table,
            InputColumns: [
              { Name: 'group_name', Type: 'STRING' },
              { Name: 'user_name', Type: 'STRING' },
              { Name: column, Type: 'STRING' },
            ],
          },
        },
      },
      LogicalTableMap: {
        rules: {
          Alias: table,
          Source: { PhysicalTableId: 'rules' },
          DataTransforms: [{ RenameColumnOperation: { ColumnName: 'group_name', NewColumnName: 'GroupName' } }, { RenameColumnOperation: { ColumnName: 'user_name', NewColumnName: 'UserName' } }],
        },
      },
      ImportMode: 'SPICE',
      ...(permissions.length ? { Permissions: permissions } : {}),
    });
    return arn;
  }

  // ---- SPICE refreshes -----------------------------------------------------------------------

  /** A fingerprint of the rollups and seeds in the lake: it changes whenever a rollup commits. */
  private async lakeState(): Promise<string> {
    const h = createHash('sha256');
    for (const prefix of [...ROLLUP_TABLES.map((t) => `_cclake/commits/${t.name}/`), 'seeds/']) {
      for (const o of await listAll(this.options.store, prefix)) h.update(`${o.key}\t${o.size}\t${o.lastModified.getTime()}\n`);
    }
    return h.digest('hex').slice(0, 16);
  }

  private async loadLedger(): Promise<Ledger> {
    try {
      const ledger = JSON.parse(new TextDecoder().decode(await this.options.store.get(LEDGER_KEY))) as Ledger;
      const since = this.now() - DAY_MS;
      ledger.ingestions = ledger.ingestions.filter((i) => Date.parse(i.startedAt) > since);
      return ledger;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { version: 1, refreshedFrom: {}, ingestions: [] };
      throw err;
    }
  }

  private saveLedger(ledger: Ledger): Promise<void> {
    return this.options.store.put(LEDGER_KEY, JSON.stringify(ledger, null, 1));
  }

  private async refresh(def: DataSetDef, action: Action, lakeState: string, ledger: Ledger, plan: PublishPlan): Promise<NonNullable<DataSetResult['ingestion']>> {
    const id = this.id(def.DataSetId);
    const at = new Date(this.now()).toISOString();
    if (action !== 'unchanged') {
      // QuickSight imports a SPICE dataset as part of CreateDataSet / UpdateDataSet.
      ledger.refreshedFrom[id] = lakeState;
      ledger.ingestions.push({ dataSetId: id, ingestionId: `${action} by ${action === 'created' ? 'CreateDataSet' : 'UpdateDataSet'}`, startedAt: at });
      return { status: 'IMPORTED_BY_QUICKSIGHT', reason: `the ${action === 'created' ? 'new' : 'updated'} dataset is imported by QuickSight` };
    }
    if (ledger.refreshedFrom[id] === lakeState) return { status: 'UP_TO_DATE', reason: 'no rollup changed since the last refresh' };
    const recent = ledger.ingestions.filter((i) => i.dataSetId === id).length;
    if (recent >= this.q.spiceRefreshesPer24h) {
      return { status: 'SKIPPED', reason: `${recent} refreshes in the last 24 h reach the quota of ${this.q.spiceRefreshesPer24h}; the next run refreshes it` };
    }
    const ingestionId = `${plan.runDate}-${plan.runId}`;
    try {
      await this.call('CreateIngestion', id, () => this.client.send(new CreateIngestionCommand({ AwsAccountId: this.account, DataSetId: id, IngestionId: ingestionId, IngestionType: 'FULL_REFRESH' })));
    } catch (err) {
      if (err instanceof ServiceOperationError && err.code === 'LimitExceededException') {
        return { status: 'SKIPPED', reason: `QuickSight refused the refresh (LimitExceededException: ${(err.cause as Error)?.message ?? ''}); the next run refreshes it` };
      }
      throw err;
    }
    ledger.refreshedFrom[id] = lakeState;
    ledger.ingestions.push({ dataSetId: id, ingestionId, startedAt: at });
    return { status: 'STARTED', id: ingestionId };
  }

  /** Polls one ingestion to its end, with backoff; reports its final status and error. */
  private async waitForIngestion(def: DataSetDef, ingestion: NonNullable<DataSetResult['ingestion']>, deadline: number): Promise<NonNullable<DataSetResult['ingestion']>> {
    const id = this.id(def.DataSetId);
    const last = await this.pollUntil(
      () => this.call('DescribeIngestion', `${id}/${ingestion.id}`, () => this.client.send(new DescribeIngestionCommand({ AwsAccountId: this.account, DataSetId: id, IngestionId: ingestion.id }))),
      (out) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(out.Ingestion?.IngestionStatus ?? ''),
      deadline,
    );
    const status = last.done ? last.value.Ingestion!.IngestionStatus! : 'RUNNING';
    const error = last.value.Ingestion?.ErrorInfo;
    return { status, id: ingestion.id, ...(error ? { reason: `${error.Type}: ${error.Message}` } : !last.done ? { reason: `still running when the ${Math.round(this.waitMs / 1000)} s wait ended; the snapshots may show the previous data` } : {}) };
  }

  /** Calls `get` until `done`, waiting first, doubling up to the cap, until the deadline (default: the wait budget from now). */
  private async pollUntil<T>(get: () => Promise<T>, done: (value: T) => boolean, deadline = this.now() + this.waitMs): Promise<{ value: T; done: boolean }> {
    let wait = this.poll.first;
    for (;;) {
      const value = await get();
      if (done(value)) return { value, done: true };
      if (this.now() + wait > deadline) return { value, done: false };
      await this.sleep(wait);
      wait = Math.min(wait * 2, this.poll.max);
    }
  }

  // ---- dashboards ----------------------------------------------------------------------------

  static readonly PUBLISH_OPTIONS: DashboardPublishOptions = {
    AdHocFilteringOption: { AvailabilityStatus: 'ENABLED' },
    ExportToCSVOption: { AvailabilityStatus: 'ENABLED' },
    SheetControlsOption: { VisibilityState: 'EXPANDED' },
  };

  private async ensureDashboard(d: DashboardDef, arnOf: (dataSetId: string) => string): Promise<DashboardResult> {
    const id = this.id(d.DashboardId);
    // Our definition is a checked subset of QuickSight's: it is the SDK's type as it stands.
    const definition: DashboardVersionDefinition = fillDefinition(d, arnOf);
    const permissions = this.permissions(ACTIONS.dashboardOwner, { principals: this.q.principals, actions: ACTIONS.dashboardViewer });
    const content = { Name: d.Name, Definition: definition, DashboardPublishOptions: QuickSightPublisher.PUBLISH_OPTIONS, Permissions: permissions };
    const checksum = checksumOf(content);
    const description = `cclake ${checksum.slice(0, 12)}`;
    const found = await this.describe('DescribeDashboard', id, () => this.client.send(new DescribeDashboardCommand({ AwsAccountId: this.account, DashboardId: id })));
    if (!found?.Dashboard?.Arn) {
      const out = await this.call('CreateDashboard', id, () =>
        this.client.send(
          new CreateDashboardCommand({
            AwsAccountId: this.account,
            DashboardId: id,
            Name: d.Name,
            Definition: definition,
            DashboardPublishOptions: QuickSightPublisher.PUBLISH_OPTIONS,
            ...(permissions.length ? { Permissions: permissions } : {}),
            VersionDescription: description,
            Tags: [{ Key: CHECKSUM_TAG, Value: checksum }],
          }),
        ),
      );
      const version = versionOf(out.VersionArn) ?? 1;
      await this.waitForVersion(id, version);
      return { id, action: 'created', version, location: out.Arn! };
    }
    const arn = found.Dashboard.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { id, action: 'unchanged', version: found.Dashboard.Version?.VersionNumber, location: arn };
    const out = await this.call('UpdateDashboard', id, () =>
      this.client.send(new UpdateDashboardCommand({ AwsAccountId: this.account, DashboardId: id, Name: d.Name, Definition: definition, DashboardPublishOptions: QuickSightPublisher.PUBLISH_OPTIONS, VersionDescription: description })),
    );
    const version = versionOf(out.VersionArn);
    if (version === undefined) throw new Error(`QuickSight UpdateDashboard ${id} returned no version (VersionArn ${out.VersionArn})`);
    await this.waitForVersion(id, version);
    await this.call('UpdateDashboardPublishedVersion', id, () => this.client.send(new UpdateDashboardPublishedVersionCommand({ AwsAccountId: this.account, DashboardId: id, VersionNumber: version })));
    await this.syncPermissions(
      id,
      permissions,
      async () => (await this.call('DescribeDashboardPermissions', id, () => this.client.send(new DescribeDashboardPermissionsCommand({ AwsAccountId: this.account, DashboardId: id })))).Permissions,
      (grant, revoke) => this.client.send(new UpdateDashboardPermissionsCommand({ AwsAccountId: this.account, DashboardId: id, GrantPermissions: grant, RevokePermissions: revoke })),
    );
    await this.tag(arn, checksum);
    return { id, action: 'updated', version, location: arn };
  }

  /** Waits until a dashboard version is created; a failed version fails the run with QuickSight's errors. */
  private async waitForVersion(id: string, version: number): Promise<void> {
    const last = await this.pollUntil(
      () => this.call('DescribeDashboard', `${id} version ${version}`, () => this.client.send(new DescribeDashboardCommand({ AwsAccountId: this.account, DashboardId: id, VersionNumber: version }))),
      (out) => !String(out.Dashboard?.Version?.Status ?? '').endsWith('_IN_PROGRESS'),
    );
    const status = last.value.Dashboard?.Version?.Status;
    if (!last.done) throw new Error(`QuickSight dashboard ${id} version ${version} is still ${status} after ${Math.round(this.waitMs / 1000)} s`);
    if (status !== 'CREATION_SUCCESSFUL' && status !== 'UPDATE_SUCCESSFUL') {
      const errors = (last.value.Dashboard?.Version?.Errors ?? []).map((e) => `${e.Type}: ${e.Message}`).join('; ');
      throw new Error(`QuickSight dashboard ${id} version ${version} is ${status}${errors ? `: ${errors}` : ''}`);
    }
  }

  // ---- snapshots -----------------------------------------------------------------------------

  private async snapshot(s: SnapshotPlan, plan: PublishPlan): Promise<SnapshotResult[]> {
    const d = plan.templates.dashboards.find((x) => x.DashboardId === s.dashboardId)!;
    const id = this.id(s.dashboardId);
    const jobs: SnapshotFile[][] = [];
    const pdf: SnapshotFile[] = s.pdf ? [{ FormatType: 'PDF', SheetSelections: d.Definition.Sheets.map((sh) => ({ SheetId: sh.SheetId, SelectionScope: 'ALL_VISUALS' })) }] : [];
    const csvs: SnapshotFile[] = s.csv.map((c) => ({ FormatType: 'CSV', SheetSelections: [{ SheetId: c.sheetId, SelectionScope: 'SELECTED_VISUALS', VisualIds: [c.visualId] }] }));
    for (let i = 0; i < Math.max(csvs.length, 1); i += CSVS_PER_SNAPSHOT_JOB) jobs.push([...(i === 0 ? pdf : []), ...csvs.slice(i, i + CSVS_PER_SNAPSHOT_JOB)]);
    const out: SnapshotResult[] = [];
    for (const [n, files] of jobs.entries()) {
      if (!files.length) continue;
      const jobId = `${id}-${plan.runDate}-${plan.runId}${jobs.length > 1 ? `-${n + 1}` : ''}`;
      out.push(await this.runSnapshotJob(id, s.dashboardId, jobId, files, plan.runDate));
    }
    return out;
  }

  private async runSnapshotJob(id: string, dashboardId: string, jobId: string, files: SnapshotFile[], runDate: string): Promise<SnapshotResult> {
    const region = this.options.region ?? this.config.aws.region ?? ('s3' in this.config.lake ? this.config.lake.s3.region : undefined);
    await this.call('StartDashboardSnapshotJob', jobId, () =>
      this.client.send(
        new StartDashboardSnapshotJobCommand({
          AwsAccountId: this.account,
          DashboardId: id,
          SnapshotJobId: jobId,
          // One anonymous reader: row-level security by user or group does not narrow a report.
          UserConfiguration: { AnonymousUsers: [{}] },
          SnapshotConfiguration: {
            FileGroups: files.map((f) => ({ Files: [f] })),
            DestinationConfiguration: {
              S3Destinations: [{ BucketConfiguration: { BucketName: this.options.bucket, BucketPrefix: `${this.options.bucketPrefix}${this.config.publish.snapshot.prefix}${runDate}/`, BucketRegion: region } }],
            },
          },
        }),
      ),
    );
    const last = await this.pollUntil(
      () => this.call('DescribeDashboardSnapshotJob', jobId, () => this.client.send(new DescribeDashboardSnapshotJobCommand({ AwsAccountId: this.account, DashboardId: id, SnapshotJobId: jobId }))),
      (o) => o.JobStatus === 'COMPLETED' || o.JobStatus === 'FAILED',
    );
    if (!last.done) return { dashboardId, jobId, status: 'FAILED', outputs: [], error: `still ${last.value.JobStatus} after ${Math.round(this.waitMs / 1000)} s` };
    const result = await this.call('DescribeDashboardSnapshotJobResult', jobId, () =>
      this.client.send(new DescribeDashboardSnapshotJobResultCommand({ AwsAccountId: this.account, DashboardId: id, SnapshotJobId: jobId })),
    );
    const groups = result.Result?.AnonymousUsers?.flatMap((u) => u.FileGroups ?? []) ?? [];
    const outputs = groups.flatMap((g) => (g.S3Results ?? []).map((r) => r.S3Uri).filter((u): u is string => !!u));
    const fileErrors = groups.flatMap((g) => (g.S3Results ?? []).flatMap((r) => r.ErrorInfo ?? [])).map((e) => `${e.ErrorType}: ${e.ErrorMessage}`);
    if (last.value.JobStatus === 'FAILED' || fileErrors.length) {
      const error = result.ErrorInfo ? `${result.ErrorInfo.ErrorType}: ${result.ErrorInfo.ErrorMessage}` : fileErrors.join('; ') || 'the job failed without an error message';
      return { dashboardId, jobId, status: 'FAILED', outputs, error };
    }
    return { dashboardId, jobId, status: 'COMPLETED', outputs };
  }
}

/** The version number at the end of a dashboard version ARN (`…/dashboard/<id>/version/<n>`). */
function versionOf(versionArn: string | undefined): number | undefined {
  const m = /\/version\/(\d+)$/.exec(versionArn ?? '');
  return m ? Number(m[1]) : undefined;
}
