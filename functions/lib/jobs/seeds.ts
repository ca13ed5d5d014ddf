/**
 * Seeds: the reference tables the SQL joins, written from the configuration (prices, ROI
 * assumptions, compliance policy, budgets) and from the org directory CSV, as Parquet the catalog points
 * at. The same tables then exist for Athena (Glue) and DuckDB (local catalog), and no SQL is built
 * by pasting config values into it.
 *
 * A seed is written to `seeds/<table>/<content hash>/data.parquet` and the catalog table is moved
 * to that folder only when the content changed (one UpdateTable: readers see the old or the new
 * table). Old folders stay: they are a few kilobytes, and a running query may still read them.
 */
import { parse } from 'csv-parse/sync';
import { PriceBook } from '../prices/book';
import { pseudonymiserFor } from '../privacy/key';
import { createHash } from 'node:crypto';
import type { TableDef } from '../../../schemas/columns';
import { ORG_DIRECTORY, type OrgDirectoryRow } from '../../../schemas/org-directory';
import { BUDGETS, COMPLIANCE_POLICY, MIN_GROUP_SIZE, PRICES, ROI_ASSUMPTIONS } from '../../../schemas/seeds';
import type { Catalog, TableSpec } from '../catalog/port';
import { tableChange } from '../catalog/sync';
import { columnsOf } from '../catalog/tables';
import type { Config } from '../config/schema';
import { writeRows } from '../parquet/io';
import { ObjectNotFoundError, type ObjectStore } from '../store/port';
import { isIsoDate } from '../util/dates';

export const SEEDS_PREFIX = 'seeds/';

export interface SeedResult {
  table: string;
  action: 'unchanged' | 'written';
  rows: number;
  location: string;
}

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

/** A glob ('*' = any run of characters) as a LIKE pattern with '\' as the escape character. */
export function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/** The catalog table of a seed (not partitioned; its location is the current content's folder). */
export function seedTable(def: TableDef, location: string): TableSpec {
  return {
    name: def.name,
    description: def.doc,
    location,
    columns: columnsOf(def.columns),
    partitionKeys: [],
    format: 'parquet',
    parameters: { 'cclake.schema': def.name, 'cclake.seed': 'true' },
  };
}

/** The org directory CSV as rows, validated: a bad row fails with its line number and nothing is written. */
export function parseOrgDirectory(csv: string, key: string): OrgDirectoryRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(csv, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (err) {
    throw new SeedError(`${key}: not valid CSV: ${(err as Error).message}`);
  }
  const header = records.length ? Object.keys(records[0]!) : [];
  const missing = ORG_DIRECTORY.columns.map((c) => c.name).filter((n) => records.length && !header.includes(n));
  if (missing.length) throw new SeedError(`${key}: missing column(s) ${missing.join(', ')} (expected ${ORG_DIRECTORY.columns.map((c) => c.name).join(',')})`);
  return records.map((r, i) => {
    const line = i + 2; // the header is line 1
    const bad = (what: string) => new SeedError(`${key} line ${line}: ${what}`);
    if (!r.team) throw bad('team is empty');
    if (!r.user_email && !r.user_id) throw bad('a row needs user_email or user_id');
    if (!isIsoDate(r.valid_from ?? '')) throw bad(`valid_from ${JSON.stringify(r.valid_from)} is not a date YYYY-MM-DD`);
    if (r.valid_to && !isIsoDate(r.valid_to)) throw bad(`valid_to ${JSON.stringify(r.valid_to)} is not a date YYYY-MM-DD (or empty)`);
    if (r.valid_to && r.valid_to <= r.valid_from!) throw bad(`valid_to ${r.valid_to} is not after valid_from ${r.valid_from}`);
    return {
      user_email: r.user_email ? r.user_email.toLowerCase() : null,
      user_id: r.user_id || null,
      team: r.team,
      department: r.department || null,
      cost_center: r.cost_center || null,
      valid_from: r.valid_from!,
      valid_to: r.valid_to || null,
    };
  });
}

/** Every seed's rows, from the config and the lake's org directory (none when the lake has no CSV). */
export async function seedRows(
  store: ObjectStore,
  config: Config,
  models: readonly string[] = [],
): Promise<{ def: TableDef; rows: Record<string, unknown>[] }[]> {
  let directory: OrgDirectoryRow[] = [];
  try {
    directory = parseOrgDirectory(new TextDecoder().decode(await store.get(config.orgDirectory.key)), config.orgDirectory.key);
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
  }
  // Privacy mode: the directory's identities become the pseudonyms compaction gives the same people
  // (same key, same normalisation: the CSV's e-mail lower-cased and trimmed), so the attribution
  // join matches exactly as in named mode and no e-mail reaches the seed.
  const pseudonymiser = await pseudonymiserFor(config);
  if (pseudonymiser) {
    directory = directory.map((d) => ({
      ...d,
      user_email: d.user_email ? pseudonymiser.of(d.user_email.trim()) : null,
      user_id: d.user_id ? pseudonymiser.of(d.user_id) : null,
    }));
  }
  // Resolved per model id seen in the lake, so every row matches one id exactly (prices/book.ts).
  const prices = PriceBook.fromConfig(config).seedRows(models);
  const r = config.roi;
  const roi = [
    {
      version: r.version,
      loaded_hourly_rate_usd: r.loadedHourlyRateUsd,
      hours_per_accepted_edit: r.hoursSaved.perAcceptedEdit,
      hours_per_commit: r.hoursSaved.perCommit,
      hours_per_pull_request: r.hoursSaved.perPullRequest,
      hours_per_line_added: r.hoursSaved.perLineAdded,
      hours_per_active_hour: r.hoursSaved.perActiveHour,
    },
  ];
  const c = config.compliance;
  const policy = [
    ...c.approvedModels.map((m) => ({ policy: 'approved_model', value: m, value_like: globToLike(m), number: null })),
    ...c.allowedResidencyPrefixes.map((p) => ({ policy: 'residency_prefix', value: p, value_like: null, number: null })),
    ...c.allowedRegions.map((g) => ({ policy: 'region', value: g, value_like: null, number: null })),
    ...c.mcpAllowlist.map((s) => ({ policy: 'mcp_server', value: s, value_like: globToLike(s), number: null })),
    { policy: 'attribution_threshold', value: String(c.attributionThreshold), value_like: null, number: c.attributionThreshold },
  ];
  const budgets = [
    ...config.budgets.teams.map((t) => ({ entity_type: 'team', entity: t.team, monthly_usd: t.monthlyUsd })),
    ...config.budgets.costCenters.map((c) => ({ entity_type: 'cost_center', entity: c.costCenter, monthly_usd: c.monthlyUsd })),
  ];
  return [
    { def: ORG_DIRECTORY, rows: directory },
    { def: PRICES, rows: prices },
    { def: ROI_ASSUMPTIONS, rows: roi },
    { def: COMPLIANCE_POLICY, rows: policy },
    { def: BUDGETS, rows: budgets },
    { def: MIN_GROUP_SIZE, rows: [{ k: config.privacy.minGroupSize }] },
  ];
}

/** Writes one seed table when its content changed and points the catalog at it. */
export async function writeSeed(store: ObjectStore, catalog: Catalog, def: TableDef, rows: Record<string, unknown>[]): Promise<SeedResult> {
  const hash = createHash('sha256')
    .update(JSON.stringify([def.columns.map((c) => [c.name, c.type]), rows]))
    .digest('hex')
    .slice(0, 16);
  const location = `${SEEDS_PREFIX}${def.name}/${hash}/`;
  const desired = seedTable(def, location);
  const existing = await catalog.getTable(def.name);
  const change = tableChange(desired, existing, catalog.location);
  if (change.op) {
    await store.put(`${location}data.parquet`, writeRows(def, rows, { codec: 'zstd' }));
    await catalog.apply(change.op);
  }
  return { table: def.name, action: change.op ? 'written' : 'unchanged', rows: rows.length, location };
}

/** Writes the seeds whose content changed and points the catalog at them. */
export async function writeSeeds(store: ObjectStore, catalog: Catalog, config: Config, models: readonly string[] = []): Promise<SeedResult[]> {
  const out: SeedResult[] = [];
  for (const { def, rows } of await seedRows(store, config, models)) out.push(await writeSeed(store, catalog, def, rows));
  return out;
}
