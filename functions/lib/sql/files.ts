/**
 * The versioned SQL under `sql/`, Flyway-style, one object per file:
 *
 *  - `sql/models/V<nnn>__<table>.sql`: a **model** — the SELECT that computes one day of a rollup
 *    table. Every `?` in it is that day (Athena takes parameters in WHERE clauses only, so a model
 *    repeats `CAST(? AS DATE)` where it needs the day). Applied once: its checksum is recorded in the ledger, and editing an
 *    applied file is refused. To change how a table is computed, add a higher version for the same
 *    table; days computed by an older version are then recomputed.
 *  - `sql/views/R__<view>.sql`: a **repeatable** `CREATE OR REPLACE VIEW <view>`, re-applied
 *    whenever its checksum changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENTS_VIEW_FILE, eventsViewSql } from './events-view';
import { countPlaceholders } from './placeholders';

export interface ModelFile {
  kind: 'model';
  version: number;
  /** The rollup table it computes (the part after `__`). */
  table: string;
  file: string;
  sql: string;
  checksum: string;
  /** How many `?` placeholders it has (each is bound to the day). */
  placeholders: number;
}

export interface ViewFile {
  kind: 'view';
  view: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface SqlTree {
  models: ModelFile[];
  /** In file-name order, which is the order they are applied (a view may read one applied before it). */
  views: ViewFile[];
}

export class SqlFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlFileError';
  }
}

/** Where the project's SQL lives (bundled beside the handlers on Lambda). */
export const SQL_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));

/** sha256 of the text with line endings normalised, so a checkout's CRLF does not count as an edit. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

const MODEL = /^V(\d{3,})__([a-z][a-z0-9_]*)\.sql$/;
const VIEW = /^R__(\d{2,}_)?([a-z][a-z0-9_]*)\.sql$/;

export function readSqlTree(dir: string = SQL_DIR): SqlTree {
  const tree: SqlTree = { models: [], views: [] };
  const modelsDir = path.join(dir, 'models');
  const viewsDir = path.join(dir, 'views');
  for (const name of existsSync(modelsDir) ? readdirSync(modelsDir).sort() : []) {
    if (!name.endsWith('.sql')) continue;
    const m = MODEL.exec(name);
    if (!m) throw new SqlFileError(`sql/models/${name}: a model file is named V<number>__<table>.sql (e.g. V001__user_daily.sql)`);
    const sql = readFileSync(path.join(modelsDir, name), 'utf8');
    tree.models.push({
      kind: 'model',
      version: Number(m[1]),
      table: m[2]!,
      file: `sql/models/${name}`,
      sql,
      checksum: checksumOf(sql),
      placeholders: countPlaceholders(sql),
    });
  }
  const versions = new Map<number, string>();
  for (const m of tree.models) {
    const other = versions.get(m.version);
    if (other) throw new SqlFileError(`${m.file}: version ${m.version} is also used by ${other}; every model file needs its own version`);
    versions.set(m.version, m.file);
  }
  for (const name of existsSync(viewsDir) ? readdirSync(viewsDir).sort() : []) {
    if (!name.endsWith('.sql')) continue;
    const m = VIEW.exec(name);
    if (!m) throw new SqlFileError(`sql/views/${name}: a view file is named R__[<order>_]<view>.sql (e.g. R__10_active_users_daily.sql)`);
    const sql = readFileSync(path.join(viewsDir, name), 'utf8');
    const view = m[2]!;
    const creates = new RegExp(`^\\s*CREATE\\s+OR\\s+REPLACE\\s+VIEW\\s+${view}\\s+AS\\b`, 'im');
    if (!creates.test(sql.replace(/--[^\n]*\n/g, '\n')))
      throw new SqlFileError(`sql/views/${name}: must hold exactly one 'CREATE OR REPLACE VIEW ${view} AS ...'`);
    tree.views.push({ kind: 'view', view, file: `sql/views/${name}`, sql, checksum: checksumOf(sql) });
  }
  // The contract's `events` view, generated from schemas/, comes first: other views may read it.
  const events = eventsViewSql();
  tree.views.unshift({ kind: 'view', view: 'events', file: EVENTS_VIEW_FILE, sql: events, checksum: checksumOf(events) });
  return tree;
}

/** The model in force for each table: its highest version. */
export function currentModels(tree: SqlTree): Map<string, ModelFile> {
  const out = new Map<string, ModelFile>();
  for (const m of tree.models) if ((out.get(m.table)?.version ?? -1) < m.version) out.set(m.table, m);
  return out;
}
