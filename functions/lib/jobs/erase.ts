/**
 * `cclake erase --user EMAIL|ID` and the erase function: the right to erasure. Every file of the
 * lake that holds the person (erasure/person.ts decides who that is) is found and rewritten with
 * each of the person's identity values replaced by an anonymous key of its own (`erased-<random>`,
 * derived from nothing and recorded nowhere once the erasure is done), so that every number that
 * needs no name stays exact: DAU/WAU/MAU, token burn, team attribution and the closed chargeback
 * months' totals (their lines of the person become an anonymous line). Then:
 *
 *  - raw objects (each raw source's prefix) are written under a new key in Firehose's naming (same
 *    arrival hour and time stamp, a new uuid), verified (same rows, same record ids, no identity
 *    left), the compaction state told (a finished object's replacement is finished too: its
 *    record ids are all live already), and only then is the old object deleted;
 *  - curated, rollup and anomaly partitions get a new generation through generations/ (the
 *    compare-and-swap commit: readers see the old generation or the new one), the replaced one is
 *    deleted at once (not after the grace period: it holds the person), and the partitions computed
 *    from a replaced generation are re-pointed at its replacement (the rewrite is a relabelling, so
 *    a recomputation would give the same rows: the rollup and the chargeback stay in step);
 *  - chargeback revisions are rewritten in place with their manifests (digests, the revision
 *    chain), the change vouched for by the receipt; seeds, the org directory, dashboards, alerts and
 *    other text are rewritten in place (atomic puts); a PDF that shows the person is deleted (the
 *    next publish makes it again);
 *  - a tombstone (keyed hashes, erasure/tombstones.ts) makes compaction drop the person's late data;
 *  - a receipt joins the evidence chain (`reports/evidence/seq=…/erasure.json`): zones, times, rows,
 *    each file's digest before and after, never the identity.
 *
 * Under the lake lock, the intraday rollup's lock and both export locks. A journal (`_cclake/erasures/pending/`) holds the
 * identity values and their tokens while an erasure runs (the lake holds them anyway until it is
 * done) and what it did; a run killed at any point is finished by running the same command again.
 * A second run of a finished erasure finds nothing and writes nothing. Evidence reports are
 * immutable (Object Lock): one that holds the person is reported, never changed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FOCUS_COLUMNS, type FocusRow } from '../../../schemas/focus';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { PartitionCommits, type PartitionCommit } from '../catalog/commits';
import type { Catalog } from '../catalog/port';
import { generationTables } from '../catalog/tables';
import { loadState, saveState } from '../compaction/state';
import { rawSourcesOf, type Config } from '../config/schema';
import { DuckDBEngine, sqlString } from '../engine/duckdb';
import { kindOf, parquetHolding, parquetHoldings, pdfHolds, rewriteParquet, rewriteText } from '../erasure/files';
import { identityValuesSql, normaliseIdentity, personOf, type Person, type Tokens } from '../erasure/person';
import { pseudonymiserFor } from '../privacy/key';
import { TombstoneSet, TOMBSTONES_PREFIX, writeTombstone } from '../erasure/tombstones';
import { manifestBytes, manifestFile, sha256Hex, type ManifestFile } from '../exports/digest';
import { focusParquet } from '../exports/focus-file';
import { withExportLock } from '../exports/lock';
import { isoSeconds } from '../exports/periods';
import { Generations, RETIRED_PREFIX } from '../generations/generations';
import { INTRADAY_LOCK_PREFIX, takeLakeLock, type LeaseLock } from '../lock/lease';
import { deletePrefix, listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { CHARGEBACK_PREFIX, type ChargebackManifest } from './chargeback';
import { EVIDENCE_PREFIX, listReports, lockFor, reportPrefix, type EvidenceManifest } from './evidence';

export const ERASURES_PREFIX = '_cclake/erasures/';
const PENDING_PREFIX = `${ERASURES_PREFIX}pending/`;
/** Never searched: the erasure's own journal and the tombstones, and the lock objects. */
const NOT_SEARCHED = [ERASURES_PREFIX, TOMBSTONES_PREFIX, '_cclake/locks/', RETIRED_PREFIX];

export interface EraseOptions {
  /** The person: an e-mail, user id or account uuid. */
  user: string;
  dryRun?: boolean;
  now?: number;
  runId?: string;
  tmpDir?: string;
}

export type Zone =
  | 'raw'
  | 'quarantine'
  | 'curated'
  | 'rollups'
  | 'anomalies'
  | 'seeds'
  | 'reference'
  | 'exports'
  | 'evidence'
  | 'dashboards'
  | 'reports'
  | 'alerts'
  | 'state'
  | 'other';

/** A file that holds the person, and what erasure does (or did) with it. */
export interface Holding {
  zone: Zone;
  key: string;
  /** Rows of the file (Parquet), null for other files. */
  rows: number | null;
  /** Rows (Parquet) or places (text) holding the person. */
  matched: number;
  /** For a curated, rollup or anomaly file: its table and date, and whether it is the live generation. */
  table?: string;
  dt?: string;
  live?: boolean;
  action: 'new raw object' | 'new generation' | 'delete' | 'rewrite' | 'rewrite with manifest' | 'cannot change';
  /** Why, when the file itself was not seen to hold the person. */
  reason?: string;
}

/** What the receipt says about one file: digests before and after (after null: deleted). */
export interface ReceiptFile {
  zone: Zone;
  key: string;
  action: 'replaced' | 'rewritten' | 'deleted' | 'manifest updated';
  new_key?: string;
  rows: number | null;
  rows_changed: number;
  before: { sha256: string; bytes: number };
  after: { sha256: string; bytes: number } | null;
}

export interface ErasureReceipt {
  kind: 'cclake.erasure.receipt';
  format: 1;
  erasure_id: string;
  started_at: string;
  completed_at: string;
  /** How many identity values were erased (the values themselves are nowhere). */
  identity_values: number;
  tombstone: string;
  zones: Partial<Record<Zone, { files: number; rows_changed: number }>>;
  files: ReceiptFile[];
  chargeback: { months: string[]; note: string };
  not_changed: { key: string; reason: string }[];
}

export interface EraseSummary {
  status: 'dry-run' | 'erased' | 'already erased' | 'locked';
  lockedBy?: string;
  erasureId: string | null;
  /** How many identity values the person has (e-mail, ids), found in the lake and the org directory. */
  identityValues: number;
  holdings: Holding[];
  /** Objects searched (every object of the lake but the erasure's own), and those it cannot read (not Parquet, text or PDF). */
  searched: number;
  unreadable: string[];
  receipt: { seq: number; location: string; manifestSha256: string } | null;
  resumed: boolean;
  durationMs: number;
}

interface Journal {
  format: 1;
  erasure_id: string;
  started_at: string;
  /** The identity values and their tokens: in clear while the erasure runs, deleted when it is done. */
  tokens: [string, string][];
}

/** One generation-table partition rewritten: the generation replaced and its replacement. */
interface Replaced {
  table: string;
  dt: string;
  from: number;
  to: number;
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const digest = (b: Uint8Array) => ({ sha256: sha256Hex(b), bytes: b.length });
const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

async function getOrNull(store: ObjectStore, key: string): Promise<Uint8Array | null> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

/** The zone of a key (CONTRACTS section 1 and the README's layout). */
export function zoneOf(key: string, config: Config): Zone {
  if (rawSourcesOf(config).some((s) => key.startsWith(s.prefix))) return 'raw';
  const first = key.split('/')[0]!;
  if (key.startsWith('curated/')) return 'curated';
  if (key.startsWith(EVIDENCE_PREFIX)) return 'evidence';
  if (key === config.orgDirectory.key || first === 'reference') return 'reference';
  const zones: Record<string, Zone> = {
    quarantine: 'quarantine',
    rollups: 'rollups',
    anomalies: 'anomalies',
    seeds: 'seeds',
    exports: 'exports',
    dashboards: 'dashboards',
    reports: 'reports',
    alerts: 'alerts',
    _cclake: 'state',
  };
  return zones[first] ?? 'other';
}

/** A raw object's new key: Firehose's name kept, a new uuid (derived from the old key and the erasure: a rerun writes the same key). */
export function replacementRawKey(key: string, erasureId: string): string {
  const h = createHash('sha256').update(`${erasureId}\0${key}`).digest('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const m = /^(.*-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-)[0-9a-fA-F-]{36}(\.parquet)$/.exec(key);
  return m ? `${m[1]}${uuid}${m[2]}` : key.replace(/(\.parquet)?$/, `-${uuid}$1`);
}

export async function erase(store: ObjectStore, catalog: Catalog, config: Config, options: EraseOptions): Promise<EraseSummary> {
  const started = Date.now();
  const input = options.user.trim();
  if (!input) throw new RangeError('--user must name the person: an e-mail, user id or account uuid');
  const work = mkdtempSync(path.join(options.tmpDir ?? tmpdir(), 'cclake-erase-'));
  const engine = await DuckDBEngine.open();
  const summary: EraseSummary = {
    status: 'dry-run',
    erasureId: null,
    identityValues: 0,
    holdings: [],
    searched: 0,
    unreadable: [],
    receipt: null,
    resumed: false,
    durationMs: 0,
  };
  const ctx: Ctx = { store, catalog, config, engine, work, options, summary, now: options.now ?? Date.now() };
  try {
    if (options.dryRun) {
      const { person } = await identify(ctx, input);
      summary.identityValues = person.values.length;
      await search(ctx, person);
    } else {
      const runId = options.runId ?? randomUUID().slice(0, 8);
      const taken = await takeLakeLock(store, `erase ${runId}`, config.compaction.leaseMinutes);
      if ('lockedBy' in taken) return { ...summary, status: 'locked', lockedBy: taken.lockedBy, durationMs: Date.now() - started };
      try {
        // The intraday rollup runs beside the lake lock holders, not beside an erasure: one that read
        // the person before the erasure could commit them back into intraday_user_daily after it.
        const intraday = await takeLakeLock(store, `erase ${runId}`, config.compaction.leaseMinutes, INTRADAY_LOCK_PREFIX);
        if ('lockedBy' in intraday) return { ...summary, status: 'locked', lockedBy: intraday.lockedBy, durationMs: Date.now() - started };
        try {
          await withExportLock(store, 'chargeback', `erase ${runId}`, config.compaction.leaseMinutes, () => run(ctx, input, runId, taken.lock));
        } finally {
          await intraday.lock.release();
        }
      } finally {
        await taken.lock.release();
      }
    }
  } finally {
    engine.close();
    rmSync(work, { recursive: true, force: true });
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

interface Ctx {
  store: ObjectStore;
  catalog: Catalog;
  config: Config;
  engine: DuckDBEngine;
  work: string;
  options: EraseOptions;
  summary: EraseSummary;
  now: number;
}

let scratchN = 0;
const scratch = (ctx: Ctx, name = 'f.parquet') => path.join(ctx.work, `${++scratchN}-${name}`);

/** A local file holding the object (the object's own file on a local lake). */
const localOf = (ctx: Ctx, key: string) => ctx.store.localFile(key, scratch(ctx, path.basename(key)));

/** The pending erasure of this person, if a run was interrupted. */
async function pendingJournal(store: ObjectStore, input: string): Promise<Journal | null> {
  const v = normaliseIdentity(input);
  for (const o of await listAll(store, PENDING_PREFIX)) {
    if (!/^_cclake\/erasures\/pending\/[^/]+\.json$/.test(o.key)) continue;
    const j = JSON.parse(decode(await store.get(o.key))) as Journal;
    if (j.tokens.some(([value]) => value === v)) return j;
  }
  return null;
}

/**
 * The person named `input`: the identity values of the rows whose user_key is theirs, in the raw
 * and curated data and the org directory (and a pending erasure's, when one was interrupted).
 */
async function identify(ctx: Ctx, input: string): Promise<{ person: Person; journal: Journal | null }> {
  const journal = await pendingJournal(ctx.store, input);
  const values = new Set<string>([normaliseIdentity(input), ...(journal?.tokens.map(([v]) => v) ?? [])]);
  const keys: string[] = [];
  for (const s of rawSourcesOf(ctx.config)) keys.push(...(await listAll(ctx.store, s.prefix)).map((o) => o.key).filter((k) => k.endsWith('.parquet')));
  for (const c of await new PartitionCommits(ctx.store).list(CURATED_EVENTS.name)) keys.push(...c.files.map((f) => f.key));
  const files = new Map<string, string>();
  for (const key of keys) files.set(await localOf(ctx, key), key);
  // Twice: values found through one identifier lead to the rows keyed by the others.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < files.size; i += 200) {
      const batch = [...files.keys()].slice(i, i + 200);
      for (const v of [...values]) {
        for (const rel of [`read_parquet([${batch.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`]) {
          try {
            const cols = (await ctx.engine.query(`DESCRIBE SELECT * FROM ${rel}`)).rows.map((r) => String(r.column_name));
            const q = identityValuesSql(rel, cols, v);
            if (q) for (const r of (await ctx.engine.query(q)).rows) values.add(String(r.v));
          } catch {
            // A batch with an unreadable object: one file at a time, the unreadable ones skipped (search reports them).
            for (const f of batch) {
              const one = `read_parquet(${sqlString(f)}, hive_partitioning = false)`;
              try {
                const cols = (await ctx.engine.query(`DESCRIBE SELECT * FROM ${one}`)).rows.map((r) => String(r.column_name));
                const q = identityValuesSql(one, cols, v);
                if (q) for (const r of (await ctx.engine.query(q)).rows) values.add(String(r.v));
              } catch {
                // unreadable
              }
            }
          }
        }
      }
    }
  }
  const dir = await getOrNull(ctx.store, ctx.config.orgDirectory.key);
  if (dir) {
    const rows = parse(decode(dir), { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
    for (const r of rows) {
      const ids = [r.user_email, r.user_id].filter((x): x is string => !!x).map(normaliseIdentity);
      if (ids.some((x) => values.has(x))) ids.forEach((x) => values.add(x));
    }
  }
  // Privacy mode: curated data and everything after it hold the person's pseudonyms (the keyed HMAC
  // compaction wrote of each identity value), and the re-identification table pairs them.
  const pseudonymiser = await pseudonymiserFor(ctx.config);
  if (pseudonymiser) for (const v of [...values]) if (!v.startsWith('u_')) values.add(pseudonymiser.of(v));
  return { person: personOf(values), journal };
}

/** Every object holding the person, into `summary.holdings`. */
async function search(ctx: Ctx, person: Person): Promise<void> {
  const { store, config, summary } = ctx;
  summary.holdings = [];
  summary.unreadable = [];
  const tables = generationTables();
  const live = new Map<string, PartitionCommit>();
  const gens = new Generations(
    store,
    ctx.catalog,
    tables.map((t) => t.spec),
  );
  for (const t of tables) for (const c of await gens.commits.list(t.spec.name)) live.set(c.location, c);
  const objects = (await listAll(store, '')).filter((o) => !NOT_SEARCHED.some((p) => o.key.startsWith(p)) && !o.key.startsWith('.'));
  summary.searched = objects.length;
  const parquet = new Map<string, string>();
  for (const o of objects) if (kindOf(o.key) === 'parquet') parquet.set(o.key, await localOf(ctx, o.key));
  const { held, unreadable } = await parquetHoldings(ctx.engine, [...parquet.values()], person);
  for (const o of objects) {
    const zone = zoneOf(o.key, config);
    const kind = kindOf(o.key);
    if (kind === 'other') {
      summary.unreadable.push(o.key);
      continue;
    }
    const table = tables.find((t) => o.key.startsWith(t.spec.location));
    let rows: number | null = null;
    let matched = 0;
    if (kind === 'parquet') {
      const file = parquet.get(o.key)!;
      if (unreadable.has(file)) {
        summary.unreadable.push(`${o.key} (${unreadable.get(file)})`);
        continue;
      }
      ({ rows, matched } = held.get(file)!);
    } else if (kind === 'text') matched = textPlaces(await store.get(o.key), person);
    else matched = pdfHolds(await store.get(o.key), person) ? 1 : 0;
    if (!matched) continue;
    const h: Holding = { zone, key: o.key, rows, matched, action: 'rewrite' };
    if (table && kind === 'parquet') {
      const m = /dt=([^/]+)\/(gen=[^/]+)\//.exec(o.key.slice(table.spec.location.length));
      const location = m ? `${table.spec.location}dt=${m[1]}/${m[2]}/` : '';
      Object.assign(h, { table: table.spec.name, dt: m?.[1], live: live.has(location), action: live.has(location) ? 'new generation' : 'delete' });
    } else if (zone === 'raw' && kind === 'parquet') h.action = 'new raw object';
    else if (zone === 'evidence') h.action = 'cannot change';
    else if (o.key.startsWith(CHARGEBACK_PREFIX)) h.action = 'rewrite with manifest';
    else if (kind === 'pdf') h.action = 'delete';
    summary.holdings.push(h);
  }
  // A browser-printed snapshot re-encodes its glyphs: its text cannot be searched. When what the
  // dashboards show held the person (a dashboard page, an anomaly naming them), its snapshots go.
  const shown = summary.holdings.some((h) => h.zone === 'dashboards' || h.zone === 'anomalies');
  if (shown) {
    for (const o of objects) {
      if (!o.key.startsWith(config.publish.snapshot.prefix) || kindOf(o.key) !== 'pdf' || summary.holdings.some((h) => h.key === o.key)) continue;
      summary.holdings.push({
        zone: 'reports',
        key: o.key,
        rows: null,
        matched: 0,
        action: 'delete',
        reason: 'a dashboard snapshot (its text cannot be searched) of dashboards that showed the person',
      });
    }
  }
}

const textPlaces = (bytes: Uint8Array, person: Person) => rewriteText(bytes, new Map(person.values.map((v) => [v, 'x'])))?.found ?? 0;

async function run(ctx: Ctx, input: string, runId: string, lock: LeaseLock): Promise<void> {
  const { store, summary } = ctx;
  const { person, journal: found } = await identify(ctx, input);
  summary.identityValues = person.values.length;
  await search(ctx, person);
  const tombstones = await TombstoneSet.load(store);
  if (!found && !summary.holdings.length && tombstones.has(input)) {
    summary.status = 'already erased';
    summary.erasureId = tombstones.erasureOf(input);
    return;
  }
  summary.resumed = !!found;
  // The journal first: a run killed from here on is finished by the next one, with the same tokens.
  const journal: Journal = found ?? {
    format: 1,
    erasure_id: `${new Date(ctx.now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`,
    started_at: isoSeconds(ctx.now),
    tokens: [],
  };
  const known = new Map(journal.tokens);
  for (const v of person.values) if (!known.has(v)) known.set(v, `erased-${randomBytes(6).toString('hex')}`);
  journal.tokens = [...known];
  const tokens: Tokens = known;
  const id = journal.erasure_id;
  summary.erasureId = id;
  const pending = `${PENDING_PREFIX}${id}`;
  await store.put(`${pending}.json`, JSON.stringify(journal), { contentType: 'application/json' });
  await writeTombstone(store, id, journal.started_at, person.values);
  const record = (f: ReceiptFile) => store.put(`${pending}/files/${keyId(f.key)}.json`, JSON.stringify(f), { contentType: 'application/json' });
  const doneOf = async <T>(sub: string): Promise<T[]> => {
    const out: T[] = [];
    for (const o of await listAll(store, `${pending}/${sub}/`)) out.push(JSON.parse(decode(await store.get(o.key))) as T);
    return out;
  };

  const holdings = summary.holdings;
  // 1. Raw: a new object, verified, the compaction state told, then the old one deleted.
  for (const h of holdings.filter((x) => x.action === 'new raw object')) {
    await lock.assertHeld();
    const file = await localOf(ctx, h.key);
    const before = digest(readFileSync(file));
    const out = scratch(ctx);
    const { rows, matched } = await rewriteParquet(ctx.engine, file, out, person, tokens, 'snappy');
    const sameIds = await ctx.engine.query(
      `SELECT count(*) AS n FROM (SELECT record_id FROM read_parquet(${sqlString(file)}) EXCEPT ALL SELECT record_id FROM read_parquet(${sqlString(out)}))`,
    );
    if (Number(sameIds.rows[0]!.n) !== 0) throw new Error(`erasure of ${h.key}: the new object lacks ${sameIds.rows[0]!.n} record id(s)`);
    const newKey = replacementRawKey(h.key, id);
    await store.putFile(newKey, out);
    const written = await ctx.store.localFile(newKey, scratch(ctx));
    const check = await parquetHolding(ctx.engine, written, person);
    if (check.rows !== rows || check.matched) throw new Error(`erasure of ${h.key}: ${newKey} did not verify (${check.rows} rows of ${rows})`);
    await record({ zone: h.zone, key: h.key, action: 'replaced', new_key: newKey, rows, rows_changed: matched, before, after: digest(readFileSync(written)) });
    const state = await loadState(store);
    if (state?.finished.includes(h.key) && !state.finished.includes(newKey)) {
      state.finished.push(newKey);
      await saveState(store, state);
    }
    await mustDelete(store, [h.key]);
  }

  // 2. Generation tables, a date at a time, in dependency order (curated, rollups, anomalies).
  const replaced = await doneOf<Replaced>('generations');
  const gens = new Generations(
    store,
    ctx.catalog,
    generationTables().map((t) => t.spec),
  );
  // A run killed between a commit and its catalog update: the catalog follows the commit first.
  for (const r of replaced) {
    const c = await gens.current(r.table, r.dt);
    if (c) await gens.publish(r.table, [c.commit]);
  }
  const dts = [...new Set([...holdings.filter((h) => h.live).map((h) => h.dt!), ...replaced.map((r) => r.dt)])].sort();
  for (const dt of dts) {
    for (const { spec } of generationTables()) {
      const current = await gens.current(spec.name, dt);
      if (!current) continue;
      const c = current.commit;
      const rewrite = holdings.some((h) => h.live && h.table === spec.name && h.dt === dt);
      // Written before its commit (a run killed between the two must still re-point what follows):
      // a replacement counts once its table's live generation is the one it made.
      const found = c.source && replaced.find((r) => r.table === c.source!.table && r.dt === dt && r.from === c.source!.generation);
      const src = found && (await gens.current(found.table, dt))?.commit.generation === found.to ? found : undefined;
      if (!rewrite && !src) continue;
      await lock.assertHeld();
      const source = src ? { table: src.table, generation: src.to } : c.source;
      if (!rewrite) {
        // Computed from a generation erasure replaced: the same rows, re-pointed at the replacement.
        await gens.commit(spec.name, dt, { ...c, source, runId: `erase-${runId}`, committedAt: undefined }, { expect: current, retiredAt: new Date() });
        continue;
      }
      const next = gens.newLocation(spec.name, dt, `erase-${runId}`, c);
      const files: PartitionCommit['files'] = [];
      for (const f of c.files) {
        const key = `${next.location}${f.key.slice(c.location.length)}`;
        const file = await localOf(ctx, f.key);
        const h = holdings.find((x) => x.key === f.key);
        if (!h) {
          await store.putFile(key, file);
          files.push({ ...f, key });
          continue;
        }
        const out = scratch(ctx);
        const { rows, matched } = await rewriteParquet(ctx.engine, file, out, person, tokens, 'zstd');
        await store.putFile(key, out);
        const after = readFileSync(out);
        files.push({ key, bytes: after.length, rows });
        await record({
          zone: h.zone,
          key: f.key,
          action: 'replaced',
          new_key: key,
          rows,
          rows_changed: matched,
          before: digest(readFileSync(file)),
          after: digest(after),
        });
      }
      const r: Replaced = { table: spec.name, dt, from: c.generation, to: next.generation };
      await store.put(`${pending}/generations/${spec.name}-${dt}.json`, JSON.stringify(r), { contentType: 'application/json' });
      replaced.push(r);
      const { commit } = await gens.commit(
        spec.name,
        dt,
        { location: next.location, generation: next.generation, files, rows: c.rows, runId: `erase-${runId}`, source, model: c.model },
        { expect: current, retiredAt: new Date() },
      );
      const published = await gens.publish(spec.name, [commit]);
      if (published.errors.length) throw new Error(`catalog not updated: ${published.errors[0]}; run cclake partitions, then erase again`);
      // The replaced generation holds the person: gone now, not after the grace period.
      await deletePrefix(store, c.location);
    }
  }
  // Generations no partition has live (retired, or a crashed writer's) that hold the person.
  for (const h of holdings.filter((x) => x.action === 'delete' && x.table)) {
    const bytes = await getOrNull(store, h.key);
    if (!bytes) continue;
    await record({ zone: h.zone, key: h.key, action: 'deleted', rows: h.rows, rows_changed: h.matched, before: digest(bytes), after: null });
    await mustDelete(store, [h.key]);
  }

  // 3. Chargeback revisions and snapshots: files, then each manifest (digests and the revision chain).
  const months = new Set((await doneOf<{ month: string }>('chargeback')).map((m) => m.month));
  for (const h of holdings.filter((x) => x.action === 'rewrite with manifest')) {
    const m = /^exports\/chargeback\/month=(\d{4}-\d{2})\//.exec(h.key);
    if (!m) continue;
    if (!months.has(m[1]!)) await store.put(`${pending}/chargeback/${m[1]}.json`, JSON.stringify({ month: m[1] }), { contentType: 'application/json' });
    months.add(m[1]!);
  }
  for (const month of [...months].sort()) await eraseChargebackMonth(ctx, month, tokens, holdings, record);

  // 4. Everything else: in place (one atomic put each), PDFs deleted.
  for (const h of holdings.filter((x) => x.action === 'rewrite' || (x.action === 'delete' && !x.table))) {
    const bytes = await getOrNull(store, h.key);
    if (!bytes) continue;
    if (h.action === 'delete') {
      await record({ zone: h.zone, key: h.key, action: 'deleted', rows: null, rows_changed: h.matched, before: digest(bytes), after: null });
      await mustDelete(store, [h.key]);
      continue;
    }
    let after: Uint8Array;
    if (kindOf(h.key) === 'parquet') {
      const file = await localOf(ctx, h.key);
      const out = scratch(ctx);
      await rewriteParquet(ctx.engine, file, out, person, tokens, 'zstd');
      after = readFileSync(out);
    } else after = rewriteText(bytes, tokens)!.bytes;
    await record({ zone: h.zone, key: h.key, action: 'rewritten', rows: h.rows, rows_changed: h.matched, before: digest(bytes), after: digest(after) });
    await store.put(h.key, after);
  }

  // 5. The receipt, in the evidence chain; then the journal (with the identity in clear) goes.
  const evidenceHeld = summary.holdings.filter((h) => h.action === 'cannot change');
  await lock.assertHeld();
  const files = (await doneOf<ReceiptFile>('files')).sort((a, b) => (a.key < b.key ? -1 : 1));
  const zones: ErasureReceipt['zones'] = {};
  for (const f of files) {
    const z = (zones[f.zone] ??= { files: 0, rows_changed: 0 });
    z.files++;
    z.rows_changed += f.rows_changed;
  }
  const receipt: ErasureReceipt = {
    kind: 'cclake.erasure.receipt',
    format: 1,
    erasure_id: id,
    started_at: journal.started_at,
    completed_at: isoSeconds(Date.now()),
    identity_values: journal.tokens.length,
    tombstone: `${TOMBSTONES_PREFIX}${id}.json`,
    zones,
    files,
    chargeback: {
      months: [...months].sort(),
      note: "the person's lines of these months became anonymous lines (x_UserKey erased-…): every amount and total is unchanged; the revisions' files and manifests were rewritten and this receipt vouches for the new digests",
    },
    not_changed: evidenceHeld.map((h) => ({ key: h.key, reason: 'evidence reports are immutable (Object Lock)' })),
  };
  summary.receipt = await withExportLock(store, 'evidence', `erase ${runId}`, ctx.config.compaction.leaseMinutes, () => writeReceipt(ctx, receipt));
  await deletePrefix(store, `${pending}/`);
  await mustDelete(store, [`${pending}.json`]);
  summary.status = 'erased';
  if (evidenceHeld.length)
    throw new Error(
      `${evidenceHeld.length} evidence report file(s) hold the person and cannot be changed (Object Lock): ${evidenceHeld.map((h) => h.key).join(', ')}`,
    );
}

async function mustDelete(store: ObjectStore, keys: string[]): Promise<void> {
  const { failed } = await store.delete(keys);
  if (failed.length) throw new Error(`could not delete ${failed[0]!.key}: ${failed[0]!.code} ${failed[0]!.message}`);
}

/**
 * A month's chargeback files with the person's lines made anonymous, and its manifests made to
 * match: every revision's file digests, and each revision's link to the one before. Amounts are
 * untouched; focus.csv keeps the export's line order (an anonymous key sorts where a rebuild puts
 * it) and focus.parquet is written again from it, as the chargeback writes it.
 */
async function eraseChargebackMonth(ctx: Ctx, month: string, tokens: Tokens, holdings: Holding[], record: (f: ReceiptFile) => Promise<void>): Promise<void> {
  const { store } = ctx;
  const prefix = `${CHARGEBACK_PREFIX}month=${month}/`;
  const folders = [
    ...new Set(
      (await listAll(store, prefix))
        .map((o) => /^(exports\/chargeback\/month=[^/]+\/(?:rev=\d{3,}|preliminary)\/)manifest\.json$/.exec(o.key)?.[1])
        .filter((x) => !!x),
    ),
  ] as string[];
  // Revisions in order (their chain), the preliminary snapshot on its own.
  folders.sort();
  let previous: { revision: number; sha256: string } | null = null;
  for (const folder of folders) {
    const manifestKey = `${folder}manifest.json`;
    const body = await store.get(manifestKey);
    const manifest = JSON.parse(decode(body)) as ChargebackManifest & { erasures?: { erasure_id: string }[] };
    let changed = false;
    const files: ManifestFile[] = [];
    let csvChanged = false;
    // focus.csv first: focus.parquet is written again from it.
    const names = manifest.files.map((f) => f.name).sort((a, b) => (a === 'focus.csv' ? -1 : b === 'focus.csv' ? 1 : 0));
    for (const f of names.map((n) => manifest.files.find((x) => x.name === n)!)) {
      const key = `${folder}${f.name}`;
      const bytes = await store.get(key);
      const held = holdings.find((h) => h.key === key);
      let next = bytes;
      if (f.name === 'focus.csv') next = eraseFocusCsv(bytes, tokens) ?? bytes;
      else if (f.name === 'focus.parquet' && (csvChanged || held)) next = focusParquet(focusRowsOf(await store.get(`${folder}focus.csv`)));
      else if (kindOf(f.name) === 'text') next = rewriteText(bytes, tokens)?.bytes ?? bytes;
      const entry = manifestFile(f.name, next);
      if (sha256Hex(next) !== sha256Hex(bytes)) {
        if (f.name === 'focus.csv') csvChanged = true;
        await record({
          zone: 'exports',
          key,
          action: 'rewritten',
          rows: held?.rows ?? null,
          rows_changed: held?.matched ?? 0,
          before: digest(bytes),
          after: digest(next),
        });
        await store.put(key, next, { contentType: f.name.endsWith('.csv') ? 'text/csv' : 'application/vnd.apache.parquet' });
      }
      if (entry.sha256 !== f.sha256) changed = true;
      files.push(entry);
    }
    files.sort((a, b) => manifest.files.findIndex((f) => f.name === a.name) - manifest.files.findIndex((f) => f.name === b.name));
    const isRevision = /\/rev=\d+\/$/.test(folder);
    if (isRevision && previous && manifest.previous_revision && manifest.previous_revision.manifest_sha256 !== previous.sha256) {
      manifest.previous_revision = { revision: previous.revision, manifest_sha256: previous.sha256 };
      changed = true;
    }
    let final = body;
    if (changed) {
      const next = { ...manifest, files, erasures: [...(manifest.erasures ?? []), { erasure_id: ctx.summary.erasureId! }] };
      final = manifestBytes(next);
      await record({ zone: 'exports', key: manifestKey, action: 'manifest updated', rows: null, rows_changed: 0, before: digest(body), after: digest(final) });
      await store.put(manifestKey, final, { contentType: 'application/json' });
    }
    if (isRevision) previous = { revision: manifest.revision, sha256: sha256Hex(final) };
  }
}

const parseRows = (bytes: Uint8Array) => parse(decode(bytes), { columns: true, skip_empty_lines: true }) as Record<string, string>[];

/** focus.csv rows as the chargeback's FocusRow (an empty cell is a null). */
function focusRowsOf(csv: Uint8Array): FocusRow[] {
  return parseRows(csv).map(
    (r) => Object.fromEntries(FOCUS_COLUMNS.map((c) => [c.name, r[c.name] === '' || r[c.name] === undefined ? null : r[c.name]!])) as FocusRow,
  );
}

/** focus.csv with the person's keys replaced and the lines in the export's order again (cost center, team, user key; the rest as it was). */
function eraseFocusCsv(bytes: Uint8Array, tokens: Tokens): Uint8Array | null {
  const erased = rewriteText(bytes, tokens);
  if (!erased) return null;
  const text = decode(erased.bytes);
  const [header, ...lines] = text.replace(/\n$/, '').split('\n');
  const rows = parseRows(erased.bytes);
  // The lines are one per row (the export writes no line breaks inside cells: checked here).
  if (rows.length !== lines.length) return erased.bytes;
  const cc = (r: Record<string, string>) => (r.x_CostCenter === 'unattributed' ? '\uffff' : (r.x_CostCenter ?? ''));
  const order = rows.map((r, i) => ({ r, i, line: lines[i]! }));
  order.sort((a, b) => {
    const ka = [cc(a.r), a.r.x_Team ?? '', a.r.x_UserKey ?? ''];
    const kb = [cc(b.r), b.r.x_Team ?? '', b.r.x_UserKey ?? ''];
    for (let k = 0; k < 3; k++) if (ka[k] !== kb[k]) return ka[k]! < kb[k]! ? -1 : 1;
    return a.i - b.i;
  });
  return new TextEncoder().encode(`${[header, ...order.map((o) => o.line)].join('\n')}\n`);
}

/**
 * The receipt as the next report of the evidence chain: `erasure.json` and the manifest that
 * links it to the report before (written last, create-if-absent: the commit). A receipt already
 * in the chain (a run killed after writing it) is not written twice.
 */
async function writeReceipt(ctx: Ctx, receipt: ErasureReceipt): Promise<EraseSummary['receipt']> {
  const { store, config } = ctx;
  const { committed } = await listReports(store);
  for (const r of committed) {
    const m = JSON.parse(decode(await store.get(`${r.prefix}manifest.json`))) as EvidenceManifest & { erasure_id?: string };
    if (m.erasure_id === receipt.erasure_id) return { seq: r.seq, location: r.prefix, manifestSha256: sha256Hex(await store.get(`${r.prefix}manifest.json`)) };
  }
  const previous = committed.at(-1);
  const seq = (previous?.seq ?? 0) + 1;
  const day = receipt.completed_at.slice(0, 10);
  const prefix = reportPrefix(seq, day, day);
  const now = Date.now();
  const lock = lockFor(config, now);
  const body = new TextEncoder().encode(JSON.stringify(receipt, null, 2) + '\n');
  await store.put(`${prefix}erasure.json`, body, { contentType: 'application/json', objectLock: lock.put });
  const manifest: EvidenceManifest & { erasure_id: string; contents: string } = {
    kind: 'cclake.evidence.manifest',
    format: 1,
    seq,
    period: { from: day, to: day },
    generated_at: isoSeconds(now),
    previous: previous
      ? { seq: previous.seq, location: previous.prefix, manifest_sha256: sha256Hex(await store.get(`${previous.prefix}manifest.json`)) }
      : null,
    object_lock: lock.manifest,
    files: [manifestFile('erasure.json', body)],
    contents: 'erasure receipt',
    erasure_id: receipt.erasure_id,
  };
  const bytes = manifestBytes(manifest);
  if (!(await store.putIfAbsent(`${prefix}manifest.json`, bytes, { contentType: 'application/json', objectLock: lock.put })))
    throw new Error(`evidence report ${seq} was committed by another run at the same time; run erase again to add the receipt`);
  return { seq, location: prefix, manifestSha256: sha256Hex(bytes) };
}
