/**
 * The scheduled bill import (functions/import-bill/handler.ts): the bills config
 * `bills.sources` names where they land on S3, and each run imports what is new there through
 * `importBills` (jobs/import-bill.ts, the same import as `cclake import bill FILE...`).
 *
 * AWS Data Exports (CUR 2.0, FOCUS 1.x), as the Data Exports user guide describes a delivery
 * ("Understanding export delivery", "Data Exports manifest file reference"):
 *   data      s3://<bucket>/<prefix>/<export-name>/data/<partition>/...   (BILLING_PERIOD=YYYY-MM)
 *   metadata  s3://<bucket>/<prefix>/<export-name>/metadata/<partition>/<export-name>-Manifest.json
 * The manifest is written after all the delivery's data files; its `dataFiles` lists their full
 * S3 URIs ("we recommend identifying which files to ingest by programmatically reading this list"),
 * and a refresh rewrites it (at least daily, and up to two weeks after the period closes). An
 * overwrite-mode export replaces the period's files, a create-new export adds a delivery (its
 * manifest in a folder of its own below the partition's). Either way a partition's newest manifest
 * is the period's bill: exactly its files are imported, together, in one `importBills` call (which
 * is a no-op when the lines come out the same, and makes revision+1 when they change). Files the
 * manifest does not list (an older delivery's) are never read.
 * Anthropic cost reports: every `.json` (or `.json.gz`) object under the prefix is one delivery.
 *
 * What was imported is remembered per source (`_cclake/bills/sources/<id>.json`: per delivery, the
 * manifest or report key and its ETag), so a daily run lists the source, sees nothing changed and
 * reads no data file. A delivery that cannot be imported (a bad file, a manifest naming a missing
 * file, one outside the source) is reported with the object named and imports nothing: it is not
 * remembered, so the next run tries it again; the other deliveries and sources are still imported.
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ParsedBill } from '../bills/line';
import type { Catalog } from '../catalog/port';
import type { Config } from '../config/schema';
import { listAll, ObjectNotFoundError, type ObjectInfo, type ObjectStore } from '../store/port';
import { BillImportError, importBills, type BillFile, type ImportedBill } from './import-bill';

export type BillSource = Config['bills']['sources'][number];

export const BILL_SOURCES_STATE_PREFIX = '_cclake/bills/sources/';

const READER_FORMAT: Record<BillSource['format'], ParsedBill['format']> = { cur2: 'cur2', focus: 'focus', anthropic: 'anthropic-cost-report' };

/** `<export-name>/metadata/<partition>/[<execution>/]...Manifest.json`, relative to the source prefix (which may end at the export name). */
const MANIFEST_KEY = /^((?:.*\/)?)metadata\/([^/]+)\/(?:.*\/)?[^/]*Manifest\.json$/;
const REPORT_KEY = /\.json(\.gz)?$/i;

export interface DeliveryResult {
  /** The manifest (an export) or the report object, as an S3 URI. */
  delivery: string;
  /** `already-imported`: the same manifest/report version was imported by an earlier run; nothing was read. */
  status: 'imported' | 'already-imported' | 'failed' | 'locked';
  /** The data files imported (URIs). */
  files: string[];
  bills: ImportedBill[];
  error?: string;
}

export interface SourceResult {
  source: string;
  format: BillSource['format'];
  deliveries: DeliveryResult[];
  /** The source could not be listed (nothing of it imported). */
  error?: string;
}

export interface ImportBillSourcesSummary {
  runId: string;
  sources: SourceResult[];
  imported: number;
  alreadyImported: number;
  /** Deliveries (or sources) not imported, each with its error naming the object. */
  failed: { source: string; delivery: string; error: string }[];
  /** Deliveries left for the next run because another job held the lake lock. */
  locked: number;
  catalogErrors: string[];
  durationMs: number;
}

export interface ImportBillSourcesOptions {
  /** The object store of a source (its bucket and prefix as the root). */
  openSource: (source: BillSource) => ObjectStore;
  now?: number;
  runId?: string;
  /** Read every newest delivery again, whatever the state says (the import is still a no-op for unchanged bills). */
  reimport?: boolean;
}

interface Delivery {
  /** What the state remembers it by: `<export-name>/metadata/<partition>`, or the report's key. */
  id: string;
  key: string;
  version: string;
}

interface RememberedDelivery {
  key: string;
  version: string;
  importedAt: string;
  runId: string;
}

interface SourceState {
  source: string;
  deliveries: Record<string, RememberedDelivery>;
}

/** A delivery that cannot be imported; the message names the object. */
class DeliveryError extends Error {}

const locationOf = (s: BillSource) => `s3://${s.bucket}/${s.prefix}`;
export const billSourceStateKey = (s: BillSource) =>
  `${BILL_SOURCES_STATE_PREFIX}${createHash('sha256').update(locationOf(s)).digest('hex').slice(0, 16)}.json`;

/** The version a listing gives an object: its ETag, else (a local folder) size and time. */
const versionOf = (o: ObjectInfo) => o.etag ?? `${o.size}@${o.lastModified.toISOString()}`;

const newer = (a: ObjectInfo, b: ObjectInfo) =>
  a.lastModified.getTime() > b.lastModified.getTime() || (a.lastModified.getTime() === b.lastModified.getTime() && a.key > b.key);

/** The deliveries of a source as listed now: each export partition's newest manifest, or each report. */
export function deliveriesOf(format: BillSource['format'], objects: readonly ObjectInfo[]): Delivery[] {
  if (format === 'anthropic') return objects.filter((o) => REPORT_KEY.test(o.key)).map((o) => ({ id: o.key, key: o.key, version: versionOf(o) }));
  const newest = new Map<string, ObjectInfo>();
  for (const o of objects) {
    const m = MANIFEST_KEY.exec(o.key);
    if (!m) continue;
    const id = `${m[1]}metadata/${m[2]}`;
    const seen = newest.get(id);
    if (!seen || newer(o, seen)) newest.set(id, o);
  }
  return [...newest].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, o]) => ({ id, key: o.key, version: versionOf(o) }));
}

/** The data files a manifest lists, as keys under the source; throws DeliveryError naming the manifest. */
export function manifestDataFiles(uri: string, bytes: Uint8Array, source: BillSource): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new DeliveryError(`${uri}: not a readable Data Exports manifest (${(err as Error).message})`);
  }
  const files = (doc as { dataFiles?: unknown } | null)?.dataFiles;
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'string'))
    throw new DeliveryError(`${uri}: no dataFiles list of S3 URIs (a Data Exports Manifest.json lists its delivery's data files there)`);
  return (files as string[]).map((f) => {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(f);
    if (!m || m[1] !== source.bucket || !m[2]!.startsWith(source.prefix))
      throw new DeliveryError(`${uri}: lists data file ${JSON.stringify(f)}, which is not under the source ${locationOf(source)}`);
    return m[2]!.slice(source.prefix.length);
  });
}

async function loadState(store: ObjectStore, source: BillSource): Promise<SourceState> {
  const got = await store.getVersioned(billSourceStateKey(source));
  return got ? (JSON.parse(new TextDecoder().decode(got.body)) as SourceState) : { source: locationOf(source), deliveries: {} };
}

/** Records an imported delivery (compare-and-swap: a concurrent run's records are kept). */
async function remember(store: ObjectStore, source: BillSource, id: string, entry: RememberedDelivery): Promise<void> {
  const key = billSourceStateKey(source);
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = await store.getVersioned(key);
    const state: SourceState = got ? JSON.parse(new TextDecoder().decode(got.body)) : { source: locationOf(source), deliveries: {} };
    state.deliveries[id] = entry;
    if ((await store.putIfVersion(key, `${JSON.stringify(state, null, 2)}\n`, got?.version ?? null, { contentType: 'application/json' })) !== null) return;
  }
  throw new Error(`${store.location}${key}: could not record the import of ${id} (the state kept changing)`);
}

async function readObject(store: ObjectStore, key: string, uri: string, what: string): Promise<Uint8Array> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw new DeliveryError(`${what} ${uri} is not there (the export may be mid-delivery: the next run tries again)`);
    throw new DeliveryError(`${what} ${uri} cannot be read: ${(err as Error).message}`);
  }
}

export async function importBillSources(
  store: ObjectStore,
  catalog: Catalog,
  config: Config,
  options: ImportBillSourcesOptions,
): Promise<ImportBillSourcesSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const runId = options.runId ?? randomUUID().slice(0, 8);
  const summary: ImportBillSourcesSummary = { runId, sources: [], imported: 0, alreadyImported: 0, failed: [], locked: 0, catalogErrors: [], durationMs: 0 };
  let lockedBy: string | null = null;

  for (const source of config.bills.sources) {
    const result: SourceResult = { source: locationOf(source), format: source.format, deliveries: [] };
    summary.sources.push(result);
    const from = options.openSource(source);
    let deliveries: Delivery[];
    let state: SourceState;
    try {
      deliveries = deliveriesOf(source.format, await listAll(from, ''));
      state = await loadState(store, source);
    } catch (err) {
      result.error = `${result.source}: cannot be listed: ${(err as Error).message}`;
      summary.failed.push({ source: result.source, delivery: result.source, error: result.error });
      continue;
    }
    for (const d of deliveries) {
      const uri = `${from.location}${d.key}`;
      const known = state.deliveries[d.id];
      if (!options.reimport && known?.key === d.key && known.version === d.version) {
        result.deliveries.push({ delivery: uri, status: 'already-imported', files: [], bills: [] });
        summary.alreadyImported++;
        continue;
      }
      if (lockedBy !== null) {
        result.deliveries.push({ delivery: uri, status: 'locked', files: [], bills: [], error: `the lake lock is held by ${lockedBy}` });
        summary.locked++;
        continue;
      }
      try {
        const keys = source.format === 'anthropic' ? [d.key] : manifestDataFiles(uri, await readObject(from, d.key, uri, 'manifest'), source);
        const files: BillFile[] = [];
        for (const key of keys) files.push({ name: `${from.location}${key}`, bytes: await readObject(from, key, `${from.location}${key}`, 'data file') });
        const done = await importBills(store, catalog, config, files, { now, runId, format: READER_FORMAT[source.format] });
        if (done.status === 'locked') {
          lockedBy = done.lockedBy ?? 'another job';
          result.deliveries.push({ delivery: uri, status: 'locked', files: [], bills: [], error: `the lake lock is held by ${lockedBy}` });
          summary.locked++;
          continue;
        }
        summary.catalogErrors.push(...done.catalogErrors);
        await remember(store, source, d.id, { key: d.key, version: d.version, importedAt: new Date(now).toISOString(), runId });
        result.deliveries.push({ delivery: uri, status: 'imported', files: files.map((f) => f.name), bills: done.bills });
        summary.imported++;
      } catch (err) {
        // BillImportError names the file, row and column; DeliveryError the manifest or object.
        const error = err instanceof BillImportError || err instanceof DeliveryError ? err.message : `${uri}: ${(err as Error).message}`;
        result.deliveries.push({ delivery: uri, status: 'failed', files: [], bills: [], error });
        summary.failed.push({ source: result.source, delivery: uri, error });
      }
    }
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}
