/** How the CLI prints results: CSV / JSON for `query`, aligned tables and summaries for people. */
import type { QueryResult } from '../lib/engine/duckdb';
import type { AnomaliesSummary } from '../lib/jobs/anomalies';
import type { CompactSummary } from '../lib/jobs/compact';
import type { GenerateSummary } from '../lib/jobs/generate';
import type { IngestSummary } from '../lib/jobs/ingest';
import type { PartitionsSummary } from '../lib/jobs/partitions';
import type { PricesCheck } from '../lib/jobs/prices-check';
import type { RollupSummary } from '../lib/jobs/rollup';
import type { PublishSummary } from '../lib/publish/port';
import type { Io } from './common';
import { LONG_CONTEXT_THRESHOLD_TOKENS } from '../../schemas/price-book';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatRows(result: QueryResult, format: 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(result.rows, null, 2);
  const header = result.columns.map((c) => csvCell(c.name)).join(',');
  return [header, ...result.rows.map((r) => result.columns.map((c) => csvCell(r[c.name])).join(','))].join('\n');
}

export function formatTable(result: QueryResult): string {
  const cells = result.rows.map((r) =>
    result.columns.map((c) => {
      const v = r[c.name];
      if (v === null || v === undefined) return '';
      if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 2 });
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }),
  );
  const widths = result.columns.map((c, i) => Math.max(c.name.length, ...cells.map((row) => row[i]!.length)));
  const numeric = result.columns.map((_, i) => result.rows.every((r) => typeof r[result.columns[i]!.name] === 'number' || r[result.columns[i]!.name] == null));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(result.columns.map((c) => c.name)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function printGenerateSummary(io: Io, location: string, s: GenerateSummary): void {
  io.out(
    `generated ${s.users} developers x ${s.from}..${s.to}: ${s.rows.toLocaleString('en-US')} records in ${s.objects} raw objects (${mb(s.bytes)}) in ${(s.durationMs / 1000).toFixed(1)} s`,
  );
  io.out(`  lake:          ${location}`);
  io.out(`  org directory: ${location}${s.orgDirectoryKey}`);
  if (s.faults && s.faultsKey) {
    const f = s.faults;
    io.out(
      `  faults:        ${f.redeliveredObjects.length} redelivered, ${f.lateRows} late rows, ${f.skewedUsers.length} skewed clocks, ` +
        `${f.newColumnObjects.length} new-column, ${f.narrowTypeObjects.length} narrow-type, ${f.emptyObjects.length} empty, ` +
        `${f.corruptObjects.length} corrupt, ${f.wrongSchemaObjects.length} wrong-schema objects (labels: ${location}${s.faultsKey})`,
    );
  }
  printAnomalyLabels(io, location, s);
}

function printAnomalyLabels(io: Io, location: string, s: GenerateSummary): void {
  if (!s.anomalies || !s.anomaliesKey) return;
  const required = s.anomalies.filter((l) => l.required);
  const kinds = new Map<string, number>();
  for (const l of required) kinds.set(l.kind, (kinds.get(l.kind) ?? 0) + 1);
  io.out(`  anomalies:     ${required.length} labelled (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}) (labels: ${location}${s.anomaliesKey})`);
}

export function printIngestSummary(io: Io, location: string, s: IngestSummary): void {
  io.out(
    `ingested ${s.filesRead} file(s): ${s.recordsWritten.toLocaleString('en-US')} records in ${s.objectsWritten.length} raw object(s) at ${location}; ` +
      `${s.contentAttributesDropped} content attribute(s) dropped` +
      (s.unsupportedDatapoints ? `; ${s.unsupportedDatapoints} unsupported datapoint(s) counted` : ''),
  );
  for (const key of s.objectsWritten) io.out(`  ${key}`);
  for (const e of s.errors) io.err(`error: ${e.file}: ${e.where}: ${e.reason}`);
}

export function printCompactSummary(io: Io, location: string, s: CompactSummary): void {
  if (s.status === 'locked') {
    io.out(`compaction skipped: another run holds the lock (${s.lockedBy})`);
    return;
  }
  const n = (x: number) => x.toLocaleString('en-US');
  io.out(
    `compacted ${s.objectsRead} raw object(s) of ${s.objectsListed} listed at ${location}: ${n(s.rowsIn)} rows in, ${n(s.duplicatesDropped)} duplicates dropped, ` +
      `${n(s.lateRows)} late, ${n(s.rowsOut)} new rows out; ${s.quarantined.length} quarantined; ${s.generationsDeleted} old generation(s) deleted; ${(s.durationMs / 1000).toFixed(1)} s` +
      (s.status === 'partial' ? ` (stopped early: ${s.deferredDts.length} date(s) left for the next run)` : ''),
  );
  for (const d of s.dts) {
    io.out(
      d.newRows === 0
        ? `  dt=${d.dt}: nothing new (${n(d.rowsIn)} rows already live)`
        : `  dt=${d.dt}: generation ${d.generation}, ${n(d.rowsOut)} rows (${n(d.newRows)} new, ${n(d.lateRows)} late) in ${d.files} file(s), ${(d.bytes / 1e6).toFixed(1)} MB`,
    );
  }
  if (s.rowsErased) io.out(`  ${n(s.rowsErased)} row(s) of erased people dropped (tombstones of cclake erase)`);
  if (s.catalogPublished) io.out(`  catalog: ${s.catalogPublished} partition(s) point at the committed generations`);
  for (const e of s.catalogErrors) io.err(`catalog not updated (the partitions stage will retry): ${e}`);
  for (const q of s.quarantined) io.err(`quarantined: ${q.key}: ${q.reason}`);
  if (s.deferredDts.length) io.out(`  deferred: ${s.deferredDts.join(', ')}`);
}

export function printPartitionsSummary(io: Io, location: string, s: PartitionsSummary): void {
  if (s.status === 'locked') {
    io.out(`partitions skipped: a compaction or partitions run holds the lake lock (${s.lockedBy})`);
    return;
  }
  const changed = s.requests.length;
  io.out(
    `catalog ${location}: ${changed ? `${changed} request(s) sent` : 'already in line with the lake, nothing to do'}; ${s.objectsDeleted} object(s) past retention deleted; ${(s.durationMs / 1000).toFixed(1)} s`,
  );
  for (const t of s.tables) {
    const table =
      t.tableAction === 'unchanged'
        ? 'table unchanged'
        : t.tableAction === 'create'
          ? 'table created'
          : `table updated${t.addedColumns.length ? ` (added ${t.addedColumns.join(', ')})` : ''}`;
    if (t.projected) io.out(`  ${t.table}: partitioned by projection (the AWS guidance's own table): left as it is`);
    else io.out(`  ${t.table}: ${table}; partitions ${t.created} created, ${t.updated} moved, ${t.deleted} dropped, ${t.unchanged} unchanged`);
  }
  for (const w of s.warnings) io.err(`warning: ${w}`);
  for (const f of s.failures) io.err(`failed: ${f.table} (${f.values.join('/')}): ${f.code}: ${f.message}`);
}

export function printRollupSummary(io: Io, location: string, s: RollupSummary): void {
  if (s.status === 'locked') {
    io.out(`rollup skipped: another run holds the lake lock (${s.lockedBy})`);
    return;
  }
  io.out(`rolled up ${s.days.length} table-day(s) at ${location} in ${(s.durationMs / 1000).toFixed(1)} s; ${s.generationsDeleted} old generation(s) deleted`);
  for (const f of s.modelsApplied) io.out(`  applied model ${f}`);
  for (const f of s.viewsApplied) io.out(`  applied view ${f}`);
  const byTable = new Map<string, typeof s.days>();
  for (const d of s.days) byTable.set(d.table, [...(byTable.get(d.table) ?? []), d]);
  for (const [table, days] of byTable) {
    const reasons = [...new Set(days.map((d) => d.reason))].join(', ');
    const rows = days.reduce((n, d) => n + (d.rows ?? 0), 0);
    io.out(`  ${table}: ${days.length} day(s) ${days[0]!.dt}..${days.at(-1)!.dt} (${reasons}), ${rows.toLocaleString('en-US')} rows`);
  }
  for (const e of s.catalogErrors) io.err(`catalog not updated (the partitions stage will retry): ${e}`);
}

export function printPublishSummary(io: Io, s: PublishSummary): void {
  io.out(`published with ${s.publisher === 'html' ? 'the local HTML publisher' : 'QuickSight'} in ${(s.durationMs / 1000).toFixed(1)} s (run ${s.runId})`);
  if (s.dataSource) io.out(`  data source ${s.dataSource.id}: ${s.dataSource.action}`);
  for (const d of s.dataSets) {
    const extra = [
      d.importMode,
      d.rows !== undefined ? `${d.rows.toLocaleString('en-US')} rows` : '',
      d.ingestion ? `refresh ${d.ingestion.status}${d.ingestion.reason ? ` (${d.ingestion.reason})` : ''}` : '',
      d.note ?? '',
    ]
      .filter(Boolean)
      .join(', ');
    io.out(`  dataset ${d.id}: ${d.action}${extra ? ` (${extra})` : ''}`);
  }
  for (const d of s.dashboards) {
    io.out(`  dashboard ${d.id}: ${d.action}${d.version ? ` (version ${d.version})` : ''}: ${d.location}`);
    if (d.note) io.out(`    ${d.note}`);
  }
  for (const snap of s.snapshots) {
    io.out(`  snapshot ${snap.dashboardId}: ${snap.status}${snap.jobId ? ` (job ${snap.jobId})` : ''}`);
    for (const o of snap.outputs) io.out(`    ${o}`);
    if (snap.error && snap.status === 'FAILED') io.err(`snapshot ${snap.dashboardId} failed: ${snap.error}`);
  }
  for (const n of s.notes) io.err(`note: ${n}`);
}

export function printAnomaliesSummary(io: Io, location: string, s: AnomaliesSummary): void {
  if (s.status === 'locked') {
    io.out(`anomalies skipped: another run holds the lake lock (${s.lockedBy})`);
    return;
  }
  const tally = Object.entries(s.byDetector)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([d, n]) => `${d} ${n}`)
    .join(', ');
  const span = s.days.length ? ` (${s.days[0]!.dt}..${s.days.at(-1)!.dt})` : '';
  io.out(
    s.days.length
      ? `judged ${s.days.length} day(s)${span} in ${(s.durationMs / 1000).toFixed(1)} s: ${s.anomalies.length} anomal${s.anomalies.length === 1 ? 'y' : 'ies'}${tally ? ` (${tally})` : ''}; table detected_anomalies at ${location}${s.location}, view anomalies`
      : `no day whose rollups changed since its anomalies were computed (give --dt or --from/--to to judge days again); ${(s.durationMs / 1000).toFixed(1)} s`,
  );
  for (const d of s.days.filter((x) => x.anomalies > 0))
    io.out(`  dt=${d.dt}: ${d.anomalies} anomal${d.anomalies === 1 ? 'y' : 'ies'} (generation ${d.generation}, ${d.reason})`);
  if (s.generationsDeleted) io.out(`  ${s.generationsDeleted} replaced generation(s) deleted`);
  const d = s.delivery;
  if (d) {
    const parts = [`${d.delivered} of ${d.attempted} delivered${d.digest ? ' in one digest message (more than anomalies.delivery.digestOver at once)' : ''}`];
    if (d.alreadyDelivered) parts.push(`${d.alreadyDelivered} already delivered by an earlier run`);
    if (d.failed.length) parts.push(`${d.failed.length} still pending`);
    io.out(
      `alerts to ${d.channel}: ${d.attempted ? parts.join('; ') : `nothing new${d.alreadyDelivered ? ` (${d.alreadyDelivered} already delivered by an earlier run)` : ''}`}`,
    );
    for (const f of d.failed) io.err(`not delivered (kept for the next run): ${f.id}: ${f.error}`);
  }
  for (const e of s.catalogErrors) io.err(`catalog not updated (the partitions stage will retry): ${e}`);
}

/** `cclake prices check` as text: one section per finding kind, each line saying what to do. */
export function printPricesCheck(io: Io, c: PricesCheck): void {
  const usd = (x: number) => x.toFixed(2);
  io.out(`price book ${c.bookVersion} (data/prices/list-prices.csv) with the configured rates`);
  io.out(`models without a price: ${c.unpriced.length}`);
  for (const u of c.unpriced)
    io.out(`  ${u.model}: ${u.reason}; ${u.days} day(s) ${u.firstDay}..${u.lastDay}, ${u.tokens} tokens, reported ${usd(u.reportedUsd)} USD`);
  io.out(`overlapping rules: ${c.overlaps.length}`);
  for (const o of c.overlaps) io.out(`  ${o}`);
  io.out(`days where priced and reported cost differ by more than ${c.driftThreshold * 100}%: ${c.drift.length}`);
  for (const d of c.drift)
    io.out(`  ${d.dt} ${d.model}: priced ${usd(d.pricedUsd)} USD, reported ${usd(d.reportedUsd)} USD (${d.differencePct > 0 ? '+' : ''}${d.differencePct}%)`);
  const requests = (tier: string) => c.longContext.filter((l) => l.tier === tier).reduce((n, l) => n + l.requests, 0);
  io.out(
    `requests above ${LONG_CONTEXT_THRESHOLD_TOKENS.toLocaleString('en-US')} input tokens: ${requests('long')} priced at the long-context tier, ${requests('standard')} at the standard tier (no long-context price for the model)`,
  );
  for (const l of c.longContext)
    io.out(
      `  ${l.dt} ${l.model}: ${l.requests} request(s), ${l.tier === 'long' ? 'long-context tier' : 'standard tier: the book has no long-context price for it'}`,
    );
}

/** What a session left out of the tail of `events`, for stderr. */
export function tailNote(tail: { key: string; reason: string }[]): string {
  const named = tail.slice(0, 3).map((t) => `${t.key} (${t.reason})`);
  return `note: ${tail.length} raw object(s) not compacted yet were left out of events (compaction quarantines them): ${named.join(', ')}${tail.length > 3 ? ', ...' : ''}`;
}
