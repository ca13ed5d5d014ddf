/**
 * `cclake export evidence` and the scheduled evidence function: the compliance evidence report for a
 * period, under `reports/evidence/seq=NNNNNN_<from>_<to>/`:
 *
 *   evidence.json   machine-readable: every control of CONTRACTS section 3 per team (and the whole
 *                   organization as team 'ALL'), with status, days, counts and example record ids
 *                   (ids and times only, never content), the SQL text and SHA-256 of every query
 *                   and of the model and view behind them, the Athena query ids (or the local
 *                   engine), data freshness and row counts
 *   evidence.html   the same for people, self-contained
 *   evidence.pdf    the same, paginated (pdf-lib: pure JavaScript, runs in Lambda; fixed dates)
 *   manifest.json   SHA-256 of every file and `previous`: the previous report's manifest digest.
 *                   Written last (create-if-absent): it is the commit, and the chain that
 *                   `cclake export verify` walks (jobs/export-verify.ts)
 *
 * With `lake.s3.objectLock` configured every object is written under S3 Object Lock (COMPLIANCE mode,
 * retained `retentionDays`); on a local lake the files are written read-only.
 */
import { performance } from 'node:perf_hooks';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { PartitionCommits } from '../catalog/commits';
import type { LeaseLock } from '../lock/lease';
import type { Config } from '../config/schema';
import type { QueryEngine } from '../engine/port';
import { manifestBytes, manifestFile, sha256Hex, type ManifestFile } from '../exports/digest';
import { renderEvidenceHtml, renderEvidencePdf } from '../exports/evidence-render';
import { NO_DATA_FROM_INPUT, type ControlResult, type EvidenceExample, type EvidenceReport, type SqlEvidence } from '../exports/evidence-report';
import { withExportLock } from '../exports/lock';
import { isoSeconds } from '../exports/periods';
import { readSqlTree, SQL_DIR } from '../sql/files';
import { readQuery, runQuery, type QueryRun } from '../sql/queries';
import { listAll, type ObjectStore, type PutOptions } from '../store/port';
import { addDays, dateIn, isIsoDate } from '../util/dates';

export const EVIDENCE_PREFIX = 'reports/evidence/';
const REPORT_DIR = /^reports\/evidence\/seq=(\d{6,})_(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})\/$/;
export const reportPrefix = (seq: number, from: string, to: string) => `${EVIDENCE_PREFIX}seq=${String(seq).padStart(6, '0')}_${from}_${to}/`;

/** The controls of CONTRACTS section 3, in its order; telemetry_freshness is evaluated for the organization only. */
export const CONTROLS = [
  { id: 'approved_models', title: 'Approved models only', teamLevel: true },
  { id: 'data_residency', title: 'Data residency (Bedrock inference-profile prefix and region)', teamLevel: true },
  { id: 'attribution_coverage', title: 'Attribution coverage (share of cost with a cost center at or above the threshold)', teamLevel: true },
  { id: 'no_content_logged', title: 'No prompt or response content logged', teamLevel: true },
  { id: 'bypass_permissions', title: 'No switch to bypassPermissions mode', teamLevel: true },
  { id: 'mcp_allowlist', title: 'MCP servers on the allowlist', teamLevel: true },
  { id: 'policy_rejections', title: 'Policy rejections of tool use (evidence, not violations)', teamLevel: true },
  { id: 'telemetry_freshness', title: 'Telemetry freshness (no hour of a day missing)', teamLevel: false },
] as const;

export interface EvidenceOptions {
  from: string;
  to: string;
  now?: number;
  sqlDir?: string;
}

export type { ControlResult, EvidenceExample, EvidenceReport, SqlEvidence } from '../exports/evidence-report';

export interface EvidenceManifest {
  kind: 'cclake.evidence.manifest';
  format: 1;
  seq: number;
  period: { from: string; to: string };
  generated_at: string;
  previous: { seq: number; location: string; manifest_sha256: string } | null;
  object_lock: { mode: string; retain_until: string | null } | null;
  files: ManifestFile[];
}

export interface EvidenceSummary {
  seq: number;
  location: string;
  period: { from: string; to: string };
  status: { passed: number; failed: number; noData: number; inconsistent: number };
  failing: { control_id: string; team: string }[];
  files: ManifestFile[];
  /** SHA-256 of this report's manifest (the next report chains to it). */
  manifestSha256: string;
  previous: EvidenceManifest['previous'];
  objectLock: EvidenceManifest['object_lock'];
  queries: QueryRun[];
  durationMs: number;
}

/** The period a scheduled run reports on: `evidence.periodDays` days ending yesterday (reporting time zone). */
export function defaultEvidencePeriod(config: Config, now = Date.now()): { from: string; to: string } {
  const to = addDays(dateIn(config.reporting.timeZone, now), -1);
  return { from: addDays(to, -(config.evidence.periodDays - 1)), to };
}

/** A committed report found in the lake. */
export interface CommittedReport {
  seq: number;
  from: string;
  to: string;
  prefix: string;
}

/** Every report directory, committed (with a manifest) or not, by sequence number. */
export async function listReports(store: ObjectStore): Promise<{ committed: CommittedReport[]; incomplete: CommittedReport[] }> {
  const dirs = new Map<string, { seq: number; from: string; to: string; prefix: string; manifest: boolean }>();
  for (const o of await listAll(store, EVIDENCE_PREFIX)) {
    const slash = o.key.lastIndexOf('/');
    const prefix = o.key.slice(0, slash + 1);
    const m = REPORT_DIR.exec(prefix);
    if (!m) continue;
    const d = dirs.get(prefix) ?? { seq: Number(m[1]), from: m[2]!, to: m[3]!, prefix, manifest: false };
    if (o.key.slice(slash + 1) === 'manifest.json') d.manifest = true;
    dirs.set(prefix, d);
  }
  const all = [...dirs.values()].sort((a, b) => a.seq - b.seq || (a.prefix < b.prefix ? -1 : 1));
  const strip = ({ seq, from, to, prefix }: (typeof all)[number]) => ({ seq, from, to, prefix });
  return { committed: all.filter((d) => d.manifest).map(strip), incomplete: all.filter((d) => !d.manifest).map(strip) };
}

/** How the evidence objects are protected: Object Lock when configured; read-only files on a local lake. */
export function lockFor(config: Config, now: number): { put: PutOptions['objectLock']; manifest: EvidenceManifest['object_lock'] } {
  if ('s3' in config.lake) {
    const lock = config.lake.s3.objectLock;
    if (!lock) return { put: undefined, manifest: null };
    const retainUntil = new Date(now + lock.retentionDays * 86_400_000);
    return { put: { mode: lock.mode, retainUntil }, manifest: { mode: lock.mode, retain_until: retainUntil.toISOString() } };
  }
  return { put: { mode: 'COMPLIANCE', retainUntil: new Date(now) }, manifest: { mode: 'read-only files (local lake)', retain_until: null } };
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const num = (v: unknown) => Number(v ?? 0);

export async function exportEvidence(store: ObjectStore, engine: QueryEngine, config: Config, options: EvidenceOptions): Promise<EvidenceSummary> {
  return withExportLock(store, 'evidence', `evidence ${options.from}..${options.to}`, config.compaction.leaseMinutes, (lease) =>
    run(store, engine, config, options, lease),
  );
}

async function run(store: ObjectStore, engine: QueryEngine, config: Config, options: EvidenceOptions, lease: LeaseLock): Promise<EvidenceSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const sqlDir = options.sqlDir ?? SQL_DIR;
  const { from, to } = options;
  if (!isIsoDate(from) || !isIsoDate(to))
    throw new RangeError(`the period must be two dates YYYY-MM-DD, got ${JSON.stringify(from)} and ${JSON.stringify(to)}`);
  if (to < from) throw new RangeError(`the period ends (${to}) before it starts (${from})`);
  const tz = config.reporting.timeZone;
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);

  const runs: QueryRun[] = [];
  const q = (name: string) => readQuery(name, sqlDir);
  const controlsQ = q('evidence_controls');
  const examplesQ = q('evidence_examples');
  const freshnessQ = q('evidence_freshness');
  const newestQ = q('evidence_newest');
  const hoursQ = q('evidence_hours');
  const daily = (await runQuery(engine, controlsQ, [from, to], runs)).rows;
  // At least one row per control and team even when no examples are wanted: it carries the findings count.
  const examples = (await runQuery(engine, examplesQ, [from, to, Math.max(1, config.evidence.examplesPerControl)], runs)).rows;
  const fresh = (await runQuery(engine, freshnessQ, [from, to], runs)).rows[0] ?? {};
  const newest = (await runQuery(engine, newestQ, [from], runs)).rows[0] ?? {};
  const hours = (await runQuery(engine, hoursQ, [from, to], runs)).rows;

  // The lake's own record of what was compacted and rolled up, per day of the period (and after it, for freshness).
  const commits = new PartitionCommits(store);
  const today = dateIn(tz, now);
  let newestCompaction: string | null = null;
  let newestRollup: string | null = null;
  const rollupBehind: EvidenceReport['freshness']['rollup_behind'] = [];
  const modelDays = new Map<string, { file: string; version: number; checksum: string; days: string[] }>();
  for (let d = from; d <= (today > to ? today : to); d = addDays(d, 1)) {
    const curated = await commits.get(CURATED_EVENTS.name, d);
    if (curated && (!newestCompaction || curated.committedAt > newestCompaction)) newestCompaction = curated.committedAt;
    if (d > to) continue;
    const rolled = await commits.get('compliance_daily', d);
    if (rolled) {
      if (!newestRollup || rolled.committedAt > newestRollup) newestRollup = rolled.committedAt;
      if (rolled.model) {
        const m = modelDays.get(rolled.model.file) ?? { ...rolled.model, days: [] };
        m.days.push(d);
        modelDays.set(rolled.model.file, m);
      }
    }
    if (curated && rolled?.source?.generation !== curated.generation) {
      rollupBehind.push({ dt: d, curated_generation: curated.generation, rollup_source_generation: rolled?.source?.generation ?? null });
    }
  }

  // Per control and team over the period.
  const byKey = new Map<string, Record<string, unknown>[]>();
  const teams = new Set<string>(['ALL']);
  for (const r of daily) {
    teams.add(String(r.team));
    const k = `${r.control_id}\u0001${r.team}`;
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const examplesByKey = new Map<string, Record<string, unknown>[]>();
  for (const r of examples) {
    const k = `${r.control_id}\u0001${r.team}`;
    examplesByKey.set(k, [...(examplesByKey.get(k) ?? []), r]);
  }
  const limit = config.evidence.examplesPerControl;
  const sortedTeams = [...teams].sort((a, b) => (a === 'ALL' ? -1 : b === 'ALL' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  // Missing hours per day (telemetry_freshness examples), from the hours that have records.
  const seen = new Map<string, Set<number>>();
  for (const h of hours) seen.set(String(h.dt), (seen.get(String(h.dt)) ?? new Set()).add(num(h.hour)));
  const missingHours: EvidenceExample[] = [];
  for (const d of days) {
    const have = seen.get(d);
    for (let h = 0; h < 24; h++) if (!have?.has(h)) missingHours.push({ dt: d, hour: String(h).padStart(2, '0'), finding: 'violation' });
  }
  const findingCount = (control: string, team: string) => {
    if (team !== 'ALL') return num(examplesByKey.get(`${control}\u0001${team}`)?.[0]?.findings);
    let n = 0;
    for (const [k, rows] of examplesByKey) if (k.startsWith(`${control}\u0001`)) n += num(rows[0]?.findings);
    return n;
  };
  const exampleList = (control: string, team: string): EvidenceExample[] => {
    const rows =
      team === 'ALL'
        ? [...examplesByKey].filter(([k]) => k.startsWith(`${control}\u0001`)).flatMap(([, r]) => r)
        : (examplesByKey.get(`${control}\u0001${team}`) ?? []);
    return rows
      .map((r) => ({
        record_id: String(r.record_id),
        dt: String(r.dt),
        event_time: String(r.event_time),
        finding: r.finding === 'evidence' ? ('evidence' as const) : ('violation' as const),
      }))
      .sort((a, b) => (a.event_time === b.event_time ? (a.record_id < b.record_id ? -1 : 1) : a.event_time < b.event_time ? -1 : 1))
      .slice(0, limit);
  };

  const results: ControlResult[] = [];
  for (const team of sortedTeams) {
    for (const c of CONTROLS) {
      if (!c.teamLevel && team !== 'ALL') continue;
      const all = byKey.get(`${c.id}\u0001${team}`) ?? [];
      // Days whose input carried none of the control's evidence are not measured passes.
      const rows = all.filter((r) => r.status !== 'no_data');
      const noData = all
        .filter((r) => r.status === 'no_data')
        .map((r) => String(r.dt))
        .sort();
      const failed = rows
        .filter((r) => r.status === 'fail')
        .map((r) => String(r.dt))
        .sort();
      const evaluated = rows.reduce((n, r) => n + num(r.evaluated), 0);
      const violations = rows.reduce((n, r) => n + num(r.violations), 0);
      const freshness = c.id === 'telemetry_freshness';
      const findings = freshness ? missingHours.length : findingCount(c.id, team);
      // The findings count the same things as compliance_daily for the record-level controls.
      const expected = freshness ? violations : c.id === 'policy_rejections' ? evaluated : c.id === 'attribution_coverage' ? null : violations;
      results.push({
        control_id: c.id,
        title: c.title,
        team,
        status: rows.length === 0 ? (noData.length ? NO_DATA_FROM_INPUT : 'no data') : failed.length ? 'fail' : 'pass',
        days: rows.length,
        days_no_data: noData.length,
        no_data_days: noData,
        days_failed: failed.length,
        failed_days: failed,
        evaluated,
        violations,
        findings,
        consistent: expected === null ? null : expected === findings,
        examples: freshness ? missingHours.slice(0, limit) : exampleList(c.id, team),
        sources: freshness ? ['evidence_controls', 'evidence_hours'] : ['evidence_controls', 'evidence_examples'],
      });
    }
  }

  const tree = readSqlTree(sqlDir);
  const modelText = new Map(tree.models.map((m) => [m.file, m.sql]));
  const findingsView = tree.views.find((v) => v.view === 'compliance_findings');
  const queryFiles = [controlsQ, examplesQ, freshnessQ, newestQ, hoursQ];
  const sql: SqlEvidence[] = [
    ...runs.map((r) => {
      const f = queryFiles.find((x) => x.name === r.name)!;
      return {
        name: r.name,
        kind: 'query' as const,
        file: r.file,
        sha256: r.checksum,
        text: f.sql,
        engine: r.engine === 'duckdb' ? 'duckdb (local)' : 'athena',
        query_id: r.queryId,
        rows: r.rows,
      };
    }),
    ...[...modelDays.values()].map((m) => ({
      name: 'compliance_daily',
      kind: 'model' as const,
      file: m.file,
      sha256: m.checksum,
      text: modelText.get(m.file) ?? '(not in this build: see the repository at this checksum)',
      version: m.version,
      days: m.days,
    })),
    ...(findingsView
      ? [{ name: 'compliance_findings', kind: 'view' as const, file: findingsView.file, sha256: findingsView.checksum, text: findingsView.sql }]
      : []),
  ];

  const { committed } = await listReports(store);
  const previous = committed.at(-1);
  const seq = (previous?.seq ?? 0) + 1;
  const prefix = reportPrefix(seq, from, to);
  const report: EvidenceReport = {
    kind: 'cclake.evidence',
    format: 1,
    seq,
    period: { from, to, days: days.length, time_zone: tz },
    generated_at: isoSeconds(now),
    engine: engine.kind === 'duckdb' ? 'duckdb (local)' : `athena (workgroup ${config.aws.athena.workgroup})`,
    policy: config.compliance,
    summary: {
      teams: sortedTeams,
      results: results.length,
      passed: results.filter((r) => r.status === 'pass').length,
      failed: results.filter((r) => r.status === 'fail').length,
      no_data: results.filter((r) => r.status === 'no data' || r.status === NO_DATA_FROM_INPUT).length,
      inconsistent: results.filter((r) => r.consistent === false).length,
      failing: results.filter((r) => r.status === 'fail').map((r) => ({ control_id: r.control_id, team: r.team })),
    },
    controls: results,
    freshness: {
      period_records: num(fresh.records),
      period_days_with_records: num(fresh.days_with_records),
      period_oldest_event_time: str(fresh.oldest_event_time),
      period_newest_event_time: str(fresh.newest_event_time),
      lake_newest_event_time: str(newest.newest_event_time),
      lake_newest_dt: str(newest.newest_dt),
      newest_compaction: newestCompaction,
      newest_compliance_rollup: newestRollup,
      days_without_data: days.filter((d) => !seen.has(d)),
      rollup_behind: rollupBehind,
    },
    row_counts: {
      compliance_daily_rows: daily.length,
      findings: results.filter((r) => r.team !== 'ALL' && r.control_id !== 'telemetry_freshness').reduce((n, r) => n + r.findings, 0),
      examples: examples.length,
      curated_records: num(fresh.records),
      hour_rows: hours.length,
    },
    sql,
  };

  const lock = lockFor(config, now);
  const put: PutOptions = lock.put ? { objectLock: lock.put } : {};
  const files = new Map<string, Uint8Array>([
    ['evidence.json', new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n')],
    ['evidence.html', new TextEncoder().encode(renderEvidenceHtml(report))],
    ['evidence.pdf', await renderEvidencePdf(report)],
  ]);
  const listed: ManifestFile[] = [];
  for (const [name, body] of files) {
    await store.put(`${prefix}${name}`, body, {
      ...put,
      contentType: name.endsWith('.json') ? 'application/json' : name.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/pdf',
    });
    listed.push(manifestFile(name, body));
  }
  let previousLink: EvidenceManifest['previous'] = null;
  if (previous) previousLink = { seq: previous.seq, location: previous.prefix, manifest_sha256: sha256Hex(await store.get(`${previous.prefix}manifest.json`)) };
  const manifest: EvidenceManifest = {
    kind: 'cclake.evidence.manifest',
    format: 1,
    seq,
    period: { from, to },
    generated_at: report.generated_at,
    previous: previousLink,
    object_lock: lock.manifest,
    files: listed,
  };
  const body = manifestBytes(manifest);
  await lease.assertHeld();
  if (!(await store.putIfAbsent(`${prefix}manifest.json`, body, { ...put, contentType: 'application/json' }))) {
    throw new Error(`another evidence run committed report ${seq} at the same time; run again`);
  }
  return {
    seq,
    location: prefix,
    period: { from, to },
    status: { passed: report.summary.passed, failed: report.summary.failed, noData: report.summary.no_data, inconsistent: report.summary.inconsistent },
    failing: report.summary.failing,
    files: listed,
    manifestSha256: sha256Hex(body),
    previous: previousLink,
    objectLock: lock.manifest,
    queries: runs,
    durationMs: Math.round(performance.now() - started),
  };
}
