/**
 * `cclake import bill --lake DIR FILE...`: imports bill files (CUR 2.0, the FOCUS export, the
 * Anthropic cost report; functions/lib/bills/readers.ts) into the `bill_lines` table.
 *
 *  1. Every file is read and checked first: one bad file (a row that cannot be read, a missing
 *     column, an unknown format) fails the whole invocation, naming the file, row and column, and
 *     nothing of any file is imported.
 *  2. A bill is `<provider>:<account>:<month>`. The invocation's lines of a bill replace that bill's
 *     lines on the usage days they cover (lines of other days stay: an Anthropic report fetched a
 *     page at a time, or a CUR month exported in several files, may come in several invocations;
 *     give every file of one export in one invocation). When the bill's lines come out the same as
 *     before (same content, whatever the file names), the bill is unchanged and nothing is written;
 *     otherwise every line of the bill gets the next `bill_revision` (1 for a first import), never
 *     an in-place change.
 *  3. Each billing month is one partition (`dt` = its first day) of a generation table: its new
 *     generation (every bill of the month) is written, read back, committed by compare-and-swap
 *     and published to the catalog exactly as a rollup day (generations/): an import is complete or
 *     invisible, never doubled by a retry.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BILL_LINES } from '../../../schemas/bills';
import { BillFileError, type BillLine, type BillLineRow, type ParsedBill } from '../bills/line';
import { readBillFile } from '../bills/readers';
import type { PartitionCommit } from '../catalog/commits';
import type { Catalog } from '../catalog/port';
import { billLinesTable } from '../catalog/tables';
import type { Config } from '../config/schema';
import { formatDecimal, parseDecimal } from '../exports/money';
import { Generations, type LiveGeneration } from '../generations/generations';
import { takeLakeLock } from '../lock/lease';
import { readRows, writeRows } from '../parquet/io';
import type { ObjectStore } from '../store/port';

export interface BillFile {
  /** How the lines name their source (the path as given, or the S3 key). */
  name: string;
  bytes: Uint8Array;
}

export interface ImportBillOptions {
  now?: number;
  runId?: string;
  /** Every file must be of this format (a scheduled source's); one that is not is a bad file. */
  format?: ParsedBill['format'];
}

export interface ImportedBill {
  billId: string;
  status: 'new' | 'revised' | 'unchanged';
  revision: number;
  lines: number;
  /** Exact sum of the bill's billed amounts, USD. */
  billedUsd: string;
}

export interface ImportBillSummary {
  runId: string;
  status: 'completed' | 'locked';
  lockedBy?: string;
  files: { file: string; format: string; lines: number; skipped: number }[];
  bills: ImportedBill[];
  /** Usage types (or descriptions) of lines whose model could not be read: imported with model null. */
  unknownModels: string[];
  location: string;
  catalogErrors: string[];
  durationMs: number;
}

/** Every file that cannot be imported, each with its first problem; nothing was imported. */
export class BillImportError extends Error {
  constructor(readonly problems: BillFileError[]) {
    super(
      problems.length === 1
        ? `${problems[0]!.message}; nothing was imported`
        : `${problems.length} bill files cannot be imported (${problems.map((p) => p.message).join('; ')}); nothing was imported`,
    );
    this.name = 'BillImportError';
  }
}

/** What makes two lines the same line: everything but where it came from and when. */
function contentOf(l: BillLine | BillLineRow): string {
  const tags = l.tags ? Object.entries(l.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : null;
  return JSON.stringify([
    l.provider,
    l.account,
    l.month,
    l.usage_date,
    l.model,
    l.model_id,
    l.usage_type,
    l.token_type,
    l.usage_quantity,
    l.principal,
    tags,
    formatDecimal(parseDecimal(l.billed_usd_exact!, 15), 15),
    l.list_usd,
    l.currency,
  ]);
}

const sameContent = (a: readonly (BillLine | BillLineRow)[], b: readonly (BillLine | BillLineRow)[]) =>
  a.length === b.length && JSON.stringify(a.map(contentOf).sort()) === JSON.stringify(b.map(contentOf).sort());

const exactSum = (lines: readonly { billed_usd_exact: string | null }[]) =>
  formatDecimal(
    lines.reduce((s, l) => s + parseDecimal(l.billed_usd_exact!, 15), 0n),
    15,
    2,
  );

/** Reads and checks every file; throws BillImportError (nothing imported) when any cannot be read. */
export function readBillFiles(files: readonly BillFile[], config: Config, format?: ParsedBill['format']) {
  const problems: BillFileError[] = [];
  const parsed = [];
  for (const f of files) {
    try {
      const bill = readBillFile(f.name, f.bytes, { anthropicAccount: config.bills.anthropicAccount });
      if (format && bill.format !== format) throw new BillFileError(f.name, null, `a ${bill.format} file where the source holds ${format} files`);
      parsed.push({ file: f.name, ...bill });
    } catch (err) {
      if (err instanceof BillFileError) problems.push(err);
      else problems.push(new BillFileError(f.name, null, (err as Error).message));
    }
  }
  if (problems.length) throw new BillImportError(problems);
  return parsed;
}

export async function importBills(
  store: ObjectStore,
  catalog: Catalog,
  config: Config,
  files: readonly BillFile[],
  options: ImportBillOptions = {},
): Promise<ImportBillSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const spec = billLinesTable();
  const parsed = readBillFiles(files, config, options.format);
  const summary: ImportBillSummary = {
    runId,
    status: 'completed',
    files: parsed.map((p) => ({ file: p.file, format: p.format, lines: p.lines.length, skipped: p.skipped })),
    bills: [],
    unknownModels: [...new Set(parsed.flatMap((p) => p.unknownModels))].sort(),
    location: spec.location,
    catalogErrors: [],
    durationMs: 0,
  };
  // The invocation's lines per month and bill.
  const byMonth = new Map<string, Map<string, BillLine[]>>();
  for (const l of parsed.flatMap((p) => p.lines)) {
    const bills = byMonth.get(l.month!) ?? byMonth.set(l.month!, new Map()).get(l.month!)!;
    (bills.get(l.bill_id!) ?? bills.set(l.bill_id!, []).get(l.bill_id!)!).push(l);
  }
  if (!byMonth.size) return { ...summary, durationMs: Math.round(performance.now() - started) };

  const taken = await takeLakeLock(store, `import bill ${runId}`, config.compaction.leaseMinutes);
  if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Math.round(performance.now() - started) };
  const lock = taken.lock;
  const generations = new Generations(store, catalog, [spec]);
  try {
    for (const [month, bills] of [...byMonth].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const dt = `${month}-01`;
      const { live, rows: before } = await liveBillLines(store, generations, dt);
      let changed = false;
      const rows: BillLineRow[] = before.filter((r) => !bills.has(r.bill_id!));
      for (const [billId, lines] of [...bills].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const old = before.filter((r) => r.bill_id === billId);
        const days = new Set(lines.map((l) => l.usage_date ?? ''));
        const kept = old.filter((r) => !days.has(r.usage_date ?? ''));
        const merged: (BillLine | BillLineRow)[] = [...kept, ...lines];
        const oldRevision = Math.max(0, ...old.map((r) => r.bill_revision ?? 0));
        if (old.length && sameContent(old, merged)) {
          rows.push(...old);
          summary.bills.push({ billId, status: 'unchanged', revision: oldRevision, lines: old.length, billedUsd: exactSum(old) });
          continue;
        }
        changed = true;
        const revision = oldRevision + 1;
        rows.push(...kept.map((r) => ({ ...r, bill_revision: revision })), ...lines.map((l) => ({ ...l, bill_revision: revision, imported_at: now, dt })));
        summary.bills.push({ billId, status: old.length ? 'revised' : 'new', revision, lines: merged.length, billedUsd: exactSum(merged) });
      }
      if (!changed) continue;
      rows.sort((a, b) => (a.bill_id! < b.bill_id! ? -1 : a.bill_id! > b.bill_id! ? 1 : (a.usage_date ?? '') < (b.usage_date ?? '') ? -1 : 1));
      const commit = await commitBillLines(store, generations, dt, rows, live, { runId, now, beforeCommit: () => lock.assertHeld() });
      summary.catalogErrors.push(...(await generations.publish(spec.name, [commit])).errors);
    }
    const gc = await generations.collectGarbage([spec.name], { now, graceMinutes: config.retention.generationGraceMinutes });
    summary.catalogErrors.push(...gc.errors);
  } finally {
    await lock.release();
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/** The live generation of a billing month's partition (`dt` = its first day) and its rows. */
export async function liveBillLines(store: ObjectStore, generations: Generations, dt: string): Promise<{ live: LiveGeneration | null; rows: BillLineRow[] }> {
  const live = await generations.current(billLinesTable().name, dt);
  const rows: BillLineRow[] = [];
  for (const f of live?.commit.files ?? []) rows.push(...readRows<BillLineRow>(await store.get(f.key)));
  return { live, rows };
}

/**
 * Makes `rows` the month's bill lines: one Parquet file in a new generation, read back before
 * anything is visible, then the compare-and-swap commit against `live` (`beforeCommit` runs just
 * before it: the import checks its lock there).
 */
export async function commitBillLines(
  store: ObjectStore,
  generations: Generations,
  dt: string,
  rows: BillLineRow[],
  live: LiveGeneration | null,
  { runId, now, beforeCommit }: { runId: string; now: number; beforeCommit?: () => Promise<void> },
): Promise<PartitionCommit> {
  const table = billLinesTable().name;
  const { generation, location } = generations.newLocation(table, dt, runId, live?.commit ?? null);
  const bytes = writeRows(BILL_LINES, rows, { codec: 'zstd' });
  const back = readRows(bytes).length;
  if (back !== rows.length) throw new Error(`bill_lines dt=${dt}: wrote ${rows.length} rows but the file reads back ${back}`);
  const key = `${location}part-00000.parquet`;
  await store.put(key, bytes, { contentType: 'application/vnd.apache.parquet' });
  await beforeCommit?.();
  const { commit } = await generations.commit(
    table,
    dt,
    { location, generation, files: [{ key, bytes: bytes.length, rows: rows.length }], rows: rows.length, committedAt: new Date(now).toISOString(), runId },
    { expect: live, retiredAt: new Date(now) },
  );
  return commit;
}
