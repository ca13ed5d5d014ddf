/**
 * The QuickSight adapter of the BI publisher port. From the definitions, idempotently:
 *
 *  - the Athena data source bound to the configured workgroup;
 *  - one dataset per analyst view (RelationalTable over the Glue database; SPICE, or DIRECT_QUERY
 *    where `aws.quicksight.directQuery` says), with owner permissions and, where configured, row-level
 *    security from a rules dataset (`bi_row_access`, a seed table the job writes from the config;
 *    format VERSION_1, see dataSetInput) plus a match-all tag rule for the anonymous snapshot reader;
 *  - the dashboards, created from the definition with the dataset ARNs filled in.
 *
 * Every resource is described first. It is created when absent; when present, the canonical checksum
 * of what we would send is compared with the one kept in its tag `cclake:definition-sha256`: equal
 * means no further call at all, different means update (a dashboard then gets a new version, waited
 * for, published, and the tag moves). A second publish with the same definitions makes no create or
 * update call. The tag is written only after QuickSight reports success (data source status, the
 * SPICE import, the dashboard version), so a failed creation or update is retried by the next run.
 *
 * SPICE refreshes: a dataset created or updated is imported by QuickSight as part of that call (the
 * ingestion it returns is awaited); an unchanged SPICE dataset gets CreateIngestion only when the
 * lake's rollups (for the rules dataset: its seed) changed since its last completed refresh, and
 * never beyond `aws.quicksight.spiceRefreshesPer24h` in the trailing 24 hours (QuickSight allows 32
 * on Enterprise edition, 8 on Standard, measured over the 24 hours before now). The ledger
 * of refreshes is kept in the lake (`_cclake/publish/ingestions.json`). Started imports and refreshes
 * are polled to completion (with backoff, within the run's deadline) before the snapshots, so a report
 * shows the new data.
 *
 * Snapshots: StartDashboardSnapshotJob (one PDF per sheet, a job each, as a PDF file takes one sheet
 * and a job one PDF; CSVs of chosen table visuals, at most 5 per job) into the lake bucket, with ids
 * unique per attempt and a ledger of the jobs completed today (`_cclake/publish/snapshots.json`);
 * jobs run one at a time (QuickSight allows 12 at once per account and 10 requests a second), polled
 * with backoff to COMPLETED or FAILED; a failed job is reported with QuickSight's error.
 *
 * Every call goes through the shared retry policy (throttling and transient errors, with backoff);
 * the client's own retries are off.
 */
import { progressCounter } from '../ops/progress';
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
import {
  snapshotFileNames,
  type Publisher,
  type DashboardResult,
  type DataSetResult,
  type PublishPlan,
  type PublishSummary,
  type SnapshotPlan,
  type SnapshotResult,
} from './port';
import { ROW_ACCESS_TABLE } from './row-access';

export const CHECKSUM_TAG = 'cclake:definition-sha256';
export const LEDGER_KEY = '_cclake/publish/ingestions.json';
/** The snapshot jobs completed today (so a retried invocation does not make them twice). */
export const SNAPSHOT_LEDGER_KEY = '_cclake/publish/snapshots.json';
/** The row-level security tag of the anonymous snapshot reader matches every value with this. */
export const MATCH_ALL = '*';
/** The RLS tag key (tag-based rules, anonymous readers) of a secured column. */
export const snapshotTagKey = (column: string): string => `cclake_${column}`;
/** CSVs one snapshot job may produce (StartDashboardSnapshotJob: "5 CSVs from table or pivot table visuals"). */
export const CSVS_PER_SNAPSHOT_JOB = 5;
const DAY_MS = 86_400_000;

/** Permissions by role (QuickSight's documented action sets for owners and viewers). */
const ACTIONS = {
  dataSourceOwner: [
    'quicksight:DescribeDataSource',
    'quicksight:DescribeDataSourcePermissions',
    'quicksight:PassDataSource',
    'quicksight:UpdateDataSource',
    'quicksight:DeleteDataSource',
    'quicksight:UpdateDataSourcePermissions',
  ],
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
  /** Writes the row-level security rules as a seed table; returns its Glue table name and its location (which changes with the rules). */
  writeRowAccess?: () => Promise<{ table: string; location: string }>;
  /** The run's deadline (epoch ms; the function's timeout less a margin): no wait goes past it. */
  deadline?: number;
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

type DataSetInput = Omit<CreateDataSetCommandInput, 'AwsAccountId' | 'Tags'>;

/** An import or refresh started this run: settled (awaited) before the dashboards and snapshots. */
interface Pending {
  result: DataSetResult;
  dataSetId: string;
  /** What the dataset holds once it completes (lake state, or the rules seed's location). */
  state: string;
  /** A created or updated dataset is tagged with its checksum only when its import completed. */
  tag?: { arn: string; checksum: string };
}

interface SnapshotLedger {
  version: 1;
  done: { day: string; dashboardId: string; state: string; files: string[]; jobId: string; outputs: string[] }[];
}

export class QuickSightPublisher implements Publisher {
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

  /** The latest a wait may end: the wait budget from now, and never past the run's deadline. */
  private waitUntil(): number {
    return Math.min(this.now() + this.waitMs, this.options.deadline ?? Infinity);
  }

  async publish(plan: PublishPlan): Promise<Omit<PublishSummary, 'runId' | 'status' | 'durationMs'>> {
    const notes: string[] = [];
    const dataSource = await this.ensureDataSource(plan.templates);
    const ledger = await this.loadLedger();
    const dataSets: DataSetResult[] = [];
    const pending: Pending[] = [];
    let rlsArn: string | null = null;
    if (this.q.rowLevelSecurity) {
      const rules = await this.ensureRowAccessDataSet(dataSource.arn, ledger, plan, pending);
      rlsArn = rules.arn;
      dataSets.push(rules.result);
    }
    const lakeState = await this.lakeState();
    const arns = new Map<string, string>();
    const step = progressCounter(plan.onProgress, 'outputs', plan.templates.dataSets.length + plan.templates.dashboards.length + plan.snapshots.length);
    for (const def of plan.templates.dataSets) {
      const mode = this.q.directQuery.includes(def.DataSetId) ? 'DIRECT_QUERY' : def.ImportMode;
      const { arn, result } = await this.publishDataSet(this.dataSetInput(def, mode, dataSource.arn, rlsArn), lakeState, ledger, plan, pending);
      arns.set(def.DataSetId, arn);
      dataSets.push(result);
      step(`dataset ${def.DataSetId}`);
    }
    // The refreshes started count against the quota even if this run dies while waiting.
    await this.saveLedger(ledger);
    // One wait for all the imports and refreshes together (they run in parallel in QuickSight).
    const until = this.waitUntil();
    for (const p of pending) await this.settleIngestion(p, ledger, until);
    await this.saveLedger(ledger);

    const dashboards: DashboardResult[] = [];
    for (const d of plan.templates.dashboards) {
      const r = await this.ensureDashboard(d, (id) => {
        const arn = arns.get(id);
        if (!arn) throw new Error(`dashboard ${d.DashboardId} reads dataset ${id}, which was not published`);
        return arn;
      });
      dashboards.push(r);
      step(`dashboard ${d.DashboardId}`);
    }

    const snapshots: SnapshotResult[] = [];
    const done = await this.loadSnapshotLedger(plan.runDate);
    for (const s of plan.snapshots) {
      const dashboard = dashboards.find((d) => d.id === this.id(s.dashboardId))!;
      if (dashboard.action === 'failed') {
        snapshots.push({
          dashboardId: s.dashboardId,
          status: 'SKIPPED',
          outputs: [],
          error: `dashboard ${dashboard.id} has no new version this run: ${dashboard.error}`,
        });
        step(`snapshot ${s.dashboardId} (skipped)`);
        continue;
      }
      snapshots.push(...(await this.snapshot(s, plan, `${lakeState}/v${dashboard.version ?? 0}`, done)));
      step(`snapshot ${s.dashboardId}`);
    }
    if (rlsArn) {
      notes.push(
        `row-level security by ${this.q.rowLevelSecurity!.column} from ${rlsArn}; the report snapshots are made for an anonymous reader whose tag ${snapshotTagKey(this.q.rowLevelSecurity!.column)}=${MATCH_ALL} sees every ${this.q.rowLevelSecurity!.column}`,
      );
    }
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
    const found = await this.describe('DescribeDataSource', id, () =>
      this.client.send(new DescribeDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id })),
    );
    if (!found?.DataSource?.Arn) {
      // No tag yet: the checksum is set once QuickSight says the creation succeeded, so a failed
      // creation stays untagged and the next run updates it.
      const out = await this.call('CreateDataSource', id, () =>
        this.client.send(
          new CreateDataSourceCommand({
            AwsAccountId: this.account,
            DataSourceId: id,
            ...desired,
            Permissions: desired.Permissions.length ? desired.Permissions : undefined,
          }),
        ),
      );
      await this.waitForDataSource(id, out.CreationStatus);
      await this.tag(out.Arn!, checksum);
      return { id, arn: out.Arn!, action: 'created' };
    }
    const arn = found.DataSource.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { id, arn, action: 'unchanged' };
    const out = await this.call('UpdateDataSource', id, () =>
      this.client.send(
        new UpdateDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id, Name: desired.Name, DataSourceParameters: desired.DataSourceParameters }),
      ),
    );
    await this.waitForDataSource(id, out.UpdateStatus);
    await this.syncPermissions(
      id,
      desired.Permissions,
      async () =>
        (
          await this.call('DescribeDataSourcePermissions', id, () =>
            this.client.send(new DescribeDataSourcePermissionsCommand({ AwsAccountId: this.account, DataSourceId: id })),
          )
        ).Permissions,
      (grant, revoke) =>
        this.client.send(
          new UpdateDataSourcePermissionsCommand({ AwsAccountId: this.account, DataSourceId: id, GrantPermissions: grant, RevokePermissions: revoke }),
        ),
    );
    await this.tag(arn, checksum);
    return { id, arn, action: 'updated' };
  }

  /** Waits until a data source's creation or update is over; a failed one fails the run with QuickSight's error (it stays untagged). */
  private async waitForDataSource(id: string, status: string | undefined): Promise<void> {
    let final = status;
    let error: string | undefined;
    if (!final || final.endsWith('_IN_PROGRESS')) {
      const last = await this.pollUntil(
        () => this.call('DescribeDataSource', id, () => this.client.send(new DescribeDataSourceCommand({ AwsAccountId: this.account, DataSourceId: id }))),
        (out) => !!out.DataSource?.Status && !out.DataSource.Status.endsWith('_IN_PROGRESS'),
      );
      final = last.value.DataSource?.Status;
      const e = last.value.DataSource?.ErrorInfo;
      if (e) error = `${e.Type}: ${e.Message}`;
      if (!last.done)
        throw new Error(
          `QuickSight data source ${id} is still ${final ?? 'in progress'} after ${Math.round(this.waitMs / 1000)} s; the next run checks it again`,
        );
    }
    if (final !== 'CREATION_SUCCESSFUL' && final !== 'UPDATE_SUCCESSFUL')
      throw new Error(`QuickSight data source ${id} is ${final}${error ? `: ${error}` : ''}; the next run retries it`);
  }

  // ---- datasets ------------------------------------------------------------------------------

  /** The CreateDataSet input for a view (without the account and tags). */
  dataSetInput(def: DataSetDef, mode: 'SPICE' | 'DIRECT_QUERY', dataSourceArn: string, rlsArn: string | null): DataSetInput {
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
      ...(secured
        ? {
            // User-based rules, format VERSION_1: the rules name QuickSight groups and users by name
            // (GroupName, UserName) in the configured namespace, as the config does. VERSION_2 would
            // need their ARNs, which carry QuickSight's identity region (not necessarily this one) and
            // must not be sent with a Namespace; a wrong ARN would silently match no reader.
            RowLevelPermissionDataSet: {
              Namespace: this.q.namespace,
              Arn: rlsArn,
              PermissionPolicy: 'GRANT_ACCESS',
              FormatVersion: 'VERSION_1',
              Status: 'ENABLED',
            },
            // Tag-based rules apply to anonymous readers only, and the report snapshots are made for
            // one anonymous reader (StartDashboardSnapshotJob): its tag matches every value, so the
            // reports show the whole organisation (user rules would match no one and leave them empty).
            RowLevelPermissionTagConfiguration: {
              Status: 'ENABLED',
              TagRules: [{ TagKey: snapshotTagKey(rls.column), ColumnName: rls.column, MatchAllValue: MATCH_ALL }],
            },
          }
        : {}),
    };
  }

  /**
   * Creates or updates a dataset when its checksum differs. The checksum tag is set once the dataset
   * is complete: at once for direct query, after the import QuickSight starts for SPICE has completed
   * (settleIngestion), so a failed import leaves it untagged and the next run updates it again.
   */
  private async ensureDataSetInput(input: DataSetInput): Promise<{ arn: string; action: Action; checksum: string; ingestionId?: string }> {
    const id = input.DataSetId!;
    const checksum = checksumOf(input);
    const found = await this.describe('DescribeDataSet', id, () => this.client.send(new DescribeDataSetCommand({ AwsAccountId: this.account, DataSetId: id })));
    const importId = (out: { IngestionId?: string; IngestionArn?: string }) =>
      input.ImportMode === 'SPICE' ? (out.IngestionId ?? /\/ingestion\/([^/]+)$/.exec(out.IngestionArn ?? '')?.[1]) : undefined;
    if (!found?.DataSet?.Arn) {
      const out = await this.call('CreateDataSet', id, () => this.client.send(new CreateDataSetCommand({ AwsAccountId: this.account, ...input })));
      const ingestionId = importId(out);
      if (!ingestionId) await this.tag(out.Arn!, checksum);
      return { arn: out.Arn!, action: 'created', checksum, ingestionId };
    }
    const arn = found.DataSet.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { arn, action: 'unchanged', checksum };
    // UpdateDataSet takes neither Permissions (synced below) nor UseAs (set at creation only).
    const { Permissions: permissions = [], UseAs: _useAs, ...rest } = input;
    const out = await this.call('UpdateDataSet', id, () =>
      this.client.send(
        new UpdateDataSetCommand({
          AwsAccountId: this.account,
          ...rest,
          DataSetId: id,
          Name: input.Name,
          PhysicalTableMap: input.PhysicalTableMap,
          ImportMode: input.ImportMode,
        }),
      ),
    );
    await this.syncPermissions(
      id,
      permissions,
      async () =>
        (
          await this.call('DescribeDataSetPermissions', id, () =>
            this.client.send(new DescribeDataSetPermissionsCommand({ AwsAccountId: this.account, DataSetId: id })),
          )
        ).Permissions,
      (grant, revoke) =>
        this.client.send(
          new UpdateDataSetPermissionsCommand({ AwsAccountId: this.account, DataSetId: id, GrantPermissions: grant, RevokePermissions: revoke }),
        ),
    );
    const ingestionId = importId(out);
    if (!ingestionId) await this.tag(arn, checksum);
    return { arn, action: 'updated', checksum, ingestionId };
  }

  /**
   * A dataset published and, for SPICE, its data brought up to `state`: the import started by a
   * create or update, or a refresh when the ledger says the dataset last read an older state.
   * Started ingestions go to `pending`, settled before the dashboards.
   */
  private async publishDataSet(
    input: DataSetInput,
    state: string,
    ledger: Ledger,
    plan: PublishPlan,
    pending: Pending[],
  ): Promise<{ arn: string; result: DataSetResult }> {
    const id = input.DataSetId!;
    const mode = input.ImportMode as 'SPICE' | 'DIRECT_QUERY';
    const r = await this.ensureDataSetInput(input);
    const result: DataSetResult = { id, action: r.action, importMode: mode };
    if (mode !== 'SPICE') return { arn: r.arn, result };
    if (r.action !== 'unchanged') {
      const by = r.action === 'created' ? 'CreateDataSet' : 'UpdateDataSet';
      if (r.ingestionId) {
        ledger.ingestions.push({ dataSetId: id, ingestionId: r.ingestionId, startedAt: new Date(this.now()).toISOString() });
        result.ingestion = { status: 'STARTED', id: r.ingestionId, reason: `imported by ${by}` };
        pending.push({ result, dataSetId: id, state, tag: { arn: r.arn, checksum: r.checksum } });
      } else {
        ledger.refreshedFrom[id] = state;
        result.ingestion = { status: 'IMPORTED_BY_QUICKSIGHT', reason: `${by} returned no ingestion to wait for` };
      }
      return { arn: r.arn, result };
    }
    result.ingestion = await this.refresh(id, state, ledger, plan);
    if (result.ingestion.status === 'STARTED') pending.push({ result, dataSetId: id, state });
    return { arn: r.arn, result };
  }

  /**
   * The rules dataset of row-level security (VERSION_1: GroupName, UserName and the secured column)
   * from the seed table. Its data is the seed: a new seed (its content hash, in the seed's location)
   * means a refresh, so granted or revoked access reaches SPICE.
   */
  private async ensureRowAccessDataSet(
    dataSourceArn: string,
    ledger: Ledger,
    plan: PublishPlan,
    pending: Pending[],
  ): Promise<{ arn: string; result: DataSetResult }> {
    if (!this.options.writeRowAccess) throw new Error('row-level security is configured but the publisher cannot write its rules table');
    const seed = await this.options.writeRowAccess();
    const column = this.q.rowLevelSecurity!.column;
    const permissions = this.permissions(ACTIONS.dataSetOwner);
    return this.publishDataSet(
      {
        DataSetId: this.id('row-access'),
        Name: `cclake row access by ${column}`,
        PhysicalTableMap: {
          rules: {
            RelationalTable: {
              DataSourceArn: dataSourceArn,
              Catalog: 'AwsDataCatalog',
              Schema: this.config.aws.glueDatabase,
              Name: seed.table,
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
            Alias: seed.table,
            Source: { PhysicalTableId: 'rules' },
            DataTransforms: [
              { RenameColumnOperation: { ColumnName: 'group_name', NewColumnName: 'GroupName' } },
              { RenameColumnOperation: { ColumnName: 'user_name', NewColumnName: 'UserName' } },
            ],
          },
        },
        ImportMode: 'SPICE',
        // "RLS_RULES must be specified for RLS permission datasets" (CreateDataSet.UseAs).
        UseAs: 'RLS_RULES',
        ...(permissions.length ? { Permissions: permissions } : {}),
      },
      seed.location,
      ledger,
      plan,
      pending,
    );
  }

  // ---- SPICE refreshes -----------------------------------------------------------------------

  /** A fingerprint of the rollups and seeds in the lake: it changes whenever a rollup commits. */
  private async lakeState(): Promise<string> {
    const h = createHash('sha256');
    for (const prefix of [...ROLLUP_TABLES.map((t) => `_cclake/commits/${t.name}/`), 'seeds/']) {
      for (const o of await listAll(this.options.store, prefix)) {
        // The row-access rules are the rules dataset's data alone (ensureRowAccessDataSet).
        if (o.key.startsWith(`seeds/${ROW_ACCESS_TABLE}/`)) continue;
        h.update(`${o.key}\t${o.size}\t${o.lastModified.getTime()}\n`);
      }
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

  /** Starts a refresh of an unchanged SPICE dataset whose last completed refresh read another state, within the 24-hour quota. */
  private async refresh(id: string, state: string, ledger: Ledger, plan: PublishPlan): Promise<NonNullable<DataSetResult['ingestion']>> {
    if (ledger.refreshedFrom[id] === state) return { status: 'UP_TO_DATE', reason: 'no rollup changed since the last refresh' };
    const recent = ledger.ingestions.filter((i) => i.dataSetId === id).length;
    if (recent >= this.q.spiceRefreshesPer24h) {
      return { status: 'SKIPPED', reason: `${recent} refreshes in the last 24 h reach the quota of ${this.q.spiceRefreshesPer24h}; the next run refreshes it` };
    }
    // Unique per attempt: an ingestion id is never taken twice by QuickSight.
    const ingestionId = `${plan.runDate}-${plan.attempt}`;
    try {
      await this.call('CreateIngestion', id, () =>
        this.client.send(new CreateIngestionCommand({ AwsAccountId: this.account, DataSetId: id, IngestionId: ingestionId, IngestionType: 'FULL_REFRESH' })),
      );
    } catch (err) {
      if (err instanceof ServiceOperationError && err.code === 'LimitExceededException') {
        return {
          status: 'SKIPPED',
          reason: `QuickSight refused the refresh (LimitExceededException: ${(err.cause as Error)?.message ?? ''}); the next run refreshes it`,
        };
      }
      throw err;
    }
    ledger.ingestions.push({ dataSetId: id, ingestionId, startedAt: new Date(this.now()).toISOString() });
    return { status: 'STARTED', id: ingestionId };
  }

  /**
   * Polls a started import or refresh to its end (backoff, until `until`). Only a COMPLETED one
   * counts: the ledger then records the state it read and a created or updated dataset gets its
   * checksum tag; a failed, cancelled or unfinished one changes neither, so the next run retries.
   */
  private async settleIngestion(p: Pending, ledger: Ledger, until: number): Promise<void> {
    const ingestionId = p.result.ingestion!.id!;
    const last = await this.pollUntil(
      () =>
        this.call('DescribeIngestion', `${p.dataSetId}/${ingestionId}`, () =>
          this.client.send(new DescribeIngestionCommand({ AwsAccountId: this.account, DataSetId: p.dataSetId, IngestionId: ingestionId })),
        ),
      (out) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(out.Ingestion?.IngestionStatus ?? ''),
      until,
    );
    const status = last.done ? last.value.Ingestion!.IngestionStatus! : 'RUNNING';
    const error = last.value.Ingestion?.ErrorInfo;
    p.result.ingestion = {
      status,
      id: ingestionId,
      ...(error
        ? { reason: `${error.Type}: ${error.Message}` }
        : !last.done
          ? {
              reason:
                "still running when the wait ended (the run's deadline or wait budget); the snapshots may show the previous data and the next run retries it",
            }
          : {}),
    };
    if (status !== 'COMPLETED') return;
    ledger.refreshedFrom[p.dataSetId] = p.state;
    if (p.tag) await this.tag(p.tag.arn, p.tag.checksum);
  }

  /** Calls `get` until `done`, waiting first, doubling up to the cap, until the deadline (default: the wait budget from now, within the run's deadline). */
  private async pollUntil<T>(get: () => Promise<T>, done: (value: T) => boolean, deadline = this.waitUntil()): Promise<{ value: T; done: boolean }> {
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

  /** Creates or updates a dashboard; the checksum tag is set only once its new version is *_SUCCESSFUL (and, on update, published). */
  private async ensureDashboard(d: DashboardDef, arnOf: (dataSetId: string) => string): Promise<DashboardResult> {
    const id = this.id(d.DashboardId);
    // Our definition is a checked subset of QuickSight's: it is the SDK's type as it stands.
    const definition: DashboardVersionDefinition = fillDefinition(d, arnOf);
    const permissions = this.permissions(ACTIONS.dashboardOwner, { principals: this.q.principals, actions: ACTIONS.dashboardViewer });
    const content = { Name: d.Name, Definition: definition, DashboardPublishOptions: QuickSightPublisher.PUBLISH_OPTIONS, Permissions: permissions };
    const checksum = checksumOf(content);
    const description = `cclake ${checksum.slice(0, 12)}`;
    const found = await this.describe('DescribeDashboard', id, () =>
      this.client.send(new DescribeDashboardCommand({ AwsAccountId: this.account, DashboardId: id })),
    );
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
          }),
        ),
      );
      const version = versionOf(out.VersionArn) ?? 1;
      const failure = await this.waitForVersion(id, version);
      if (failure) return { id, action: 'failed', version, location: out.Arn!, error: failure };
      await this.tag(out.Arn!, checksum);
      return { id, action: 'created', version, location: out.Arn! };
    }
    const arn = found.Dashboard.Arn;
    if ((await this.storedChecksum(arn)) === checksum) return { id, action: 'unchanged', version: found.Dashboard.Version?.VersionNumber, location: arn };
    const out = await this.call('UpdateDashboard', id, () =>
      this.client.send(
        new UpdateDashboardCommand({
          AwsAccountId: this.account,
          DashboardId: id,
          Name: d.Name,
          Definition: definition,
          DashboardPublishOptions: QuickSightPublisher.PUBLISH_OPTIONS,
          VersionDescription: description,
        }),
      ),
    );
    const version = versionOf(out.VersionArn);
    if (version === undefined) throw new Error(`QuickSight UpdateDashboard ${id} returned no version (VersionArn ${out.VersionArn})`);
    const failure = await this.waitForVersion(id, version);
    if (failure) return { id, action: 'failed', version, location: arn, error: failure };
    await this.call('UpdateDashboardPublishedVersion', id, () =>
      this.client.send(new UpdateDashboardPublishedVersionCommand({ AwsAccountId: this.account, DashboardId: id, VersionNumber: version })),
    );
    await this.syncPermissions(
      id,
      permissions,
      async () =>
        (
          await this.call('DescribeDashboardPermissions', id, () =>
            this.client.send(new DescribeDashboardPermissionsCommand({ AwsAccountId: this.account, DashboardId: id })),
          )
        ).Permissions,
      (grant, revoke) =>
        this.client.send(
          new UpdateDashboardPermissionsCommand({ AwsAccountId: this.account, DashboardId: id, GrantPermissions: grant, RevokePermissions: revoke }),
        ),
    );
    await this.tag(arn, checksum);
    return { id, action: 'updated', version, location: arn };
  }

  /** Waits until a dashboard version is created; returns why it is not usable (QuickSight's errors), or null when it succeeded. */
  private async waitForVersion(id: string, version: number): Promise<string | null> {
    const last = await this.pollUntil(
      () =>
        this.call('DescribeDashboard', `${id} version ${version}`, () =>
          this.client.send(new DescribeDashboardCommand({ AwsAccountId: this.account, DashboardId: id, VersionNumber: version })),
        ),
      (out) => !String(out.Dashboard?.Version?.Status ?? '').endsWith('_IN_PROGRESS'),
    );
    const status = last.value.Dashboard?.Version?.Status;
    if (!last.done) return `version ${version} is still ${status} after the wait; the next run retries it`;
    if (status !== 'CREATION_SUCCESSFUL' && status !== 'UPDATE_SUCCESSFUL') {
      const errors = (last.value.Dashboard?.Version?.Errors ?? []).map((e) => `${e.Type}: ${e.Message}`).join('; ');
      return `version ${version} is ${status}${errors ? `: ${errors}` : ''}`;
    }
    return null;
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** The snapshots already made today, by dashboard, files and what they showed (lake state and dashboard version). */
  private async loadSnapshotLedger(runDate: string): Promise<SnapshotLedger> {
    try {
      const ledger = JSON.parse(new TextDecoder().decode(await this.options.store.get(SNAPSHOT_LEDGER_KEY))) as SnapshotLedger;
      ledger.done = ledger.done.filter((d) => d.day === runDate);
      return ledger;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { version: 1, done: [] };
      throw err;
    }
  }

  /**
   * A dashboard's snapshot jobs: job n holds the PDF of sheet n (a job makes 1 PDF, a PDF shows 1
   * sheet) and the n-th group of at most 5 CSVs. A job the ledger says was completed today for the
   * same files, data and dashboard version is not run again (a retried invocation); the others get
   * ids unique to this attempt.
   */
  private async snapshot(s: SnapshotPlan, plan: PublishPlan, state: string, ledger: SnapshotLedger): Promise<SnapshotResult[]> {
    const id = this.id(s.dashboardId);
    const names = snapshotFileNames(s);
    const pdfs = s.pdf.map((p, i) => ({
      name: names.pdf[i]!,
      file: { FormatType: 'PDF', SheetSelections: [{ SheetId: p.sheetId, SelectionScope: 'ALL_VISUALS' }] } satisfies SnapshotFile,
    }));
    const csvs = s.csv.map((c, i) => ({
      name: names.csv[i]!,
      file: {
        FormatType: 'CSV',
        SheetSelections: [{ SheetId: c.sheetId, SelectionScope: 'SELECTED_VISUALS', VisualIds: [c.visualId] }],
      } satisfies SnapshotFile,
    }));
    const jobs: { name: string; file: SnapshotFile }[][] = [];
    for (let n = 0; n < Math.max(pdfs.length, Math.ceil(csvs.length / CSVS_PER_SNAPSHOT_JOB)); n++) {
      jobs.push([...(pdfs[n] ? [pdfs[n]!] : []), ...csvs.slice(n * CSVS_PER_SNAPSHOT_JOB, (n + 1) * CSVS_PER_SNAPSHOT_JOB)]);
    }
    const out: SnapshotResult[] = [];
    for (const [n, job] of jobs.entries()) {
      const files = job.map((j) => j.name);
      const prior = ledger.done.find((d) => d.dashboardId === s.dashboardId && d.state === state && d.files.join('\n') === files.join('\n'));
      if (prior) {
        out.push({
          dashboardId: s.dashboardId,
          jobId: prior.jobId,
          status: 'COMPLETED',
          files,
          outputs: prior.outputs,
          note: 'made earlier today by another attempt (snapshot ledger)',
        });
        continue;
      }
      if (this.now() >= (this.options.deadline ?? Infinity)) {
        out.push({
          dashboardId: s.dashboardId,
          status: 'SKIPPED',
          files,
          outputs: [],
          error: 'the run reached its deadline before this snapshot; the next run makes it',
        });
        continue;
      }
      const jobId = `${id}-${plan.runDate}-${plan.attempt}-${n + 1}`;
      const result = await this.runSnapshotJob(
        id,
        s.dashboardId,
        jobId,
        job.map((j) => j.file),
        plan.runDate,
      );
      result.files = files;
      out.push(result);
      if (result.status === 'COMPLETED') {
        ledger.done.push({ day: plan.runDate, dashboardId: s.dashboardId, state, files, jobId, outputs: result.outputs });
        await this.options.store.put(SNAPSHOT_LEDGER_KEY, JSON.stringify(ledger, null, 1));
      }
    }
    return out;
  }

  /** Who the snapshot is made for: one anonymous reader, with the match-all RLS tag when row-level security is on. */
  private snapshotUser(): { AnonymousUsers: { RowLevelPermissionTags?: { Key: string; Value: string }[] }[] } {
    const rls = this.q.rowLevelSecurity;
    return { AnonymousUsers: [rls ? { RowLevelPermissionTags: [{ Key: snapshotTagKey(rls.column), Value: MATCH_ALL }] } : {}] };
  }

  private async runSnapshotJob(id: string, dashboardId: string, jobId: string, files: SnapshotFile[], runDate: string): Promise<SnapshotResult> {
    const region = this.options.region ?? this.config.aws.region ?? ('s3' in this.config.lake ? this.config.lake.s3.region : undefined);
    await this.call('StartDashboardSnapshotJob', jobId, () =>
      this.client.send(
        new StartDashboardSnapshotJobCommand({
          AwsAccountId: this.account,
          DashboardId: id,
          SnapshotJobId: jobId,
          UserConfiguration: this.snapshotUser(),
          SnapshotConfiguration: {
            // One file per group (SnapshotFileGroup.Files holds 1).
            FileGroups: files.map((f) => ({ Files: [f] })),
            DestinationConfiguration: {
              S3Destinations: [
                {
                  BucketConfiguration: {
                    BucketName: this.options.bucket,
                    BucketPrefix: `${this.options.bucketPrefix}${this.config.publish.snapshot.prefix}${runDate}/`,
                    BucketRegion: region,
                  },
                },
              ],
            },
          },
        }),
      ),
    );
    const last = await this.pollUntil(
      () =>
        this.call('DescribeDashboardSnapshotJob', jobId, () =>
          this.client.send(new DescribeDashboardSnapshotJobCommand({ AwsAccountId: this.account, DashboardId: id, SnapshotJobId: jobId })),
        ),
      (o) => o.JobStatus === 'COMPLETED' || o.JobStatus === 'FAILED',
    );
    if (!last.done) return { dashboardId, jobId, status: 'FAILED', outputs: [], error: `still ${last.value.JobStatus} when the wait ended` };
    const result = await this.call('DescribeDashboardSnapshotJobResult', jobId, () =>
      this.client.send(new DescribeDashboardSnapshotJobResultCommand({ AwsAccountId: this.account, DashboardId: id, SnapshotJobId: jobId })),
    );
    const groups = result.Result?.AnonymousUsers?.flatMap((u) => u.FileGroups ?? []) ?? [];
    const outputs = groups.flatMap((g) => (g.S3Results ?? []).map((r) => r.S3Uri).filter((u): u is string => !!u));
    const fileErrors = groups.flatMap((g) => (g.S3Results ?? []).flatMap((r) => r.ErrorInfo ?? [])).map((e) => `${e.ErrorType}: ${e.ErrorMessage}`);
    if (last.value.JobStatus === 'FAILED' || fileErrors.length) {
      const error = result.ErrorInfo
        ? `${result.ErrorInfo.ErrorType}: ${result.ErrorInfo.ErrorMessage}`
        : fileErrors.join('; ') || 'the job failed without an error message';
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
