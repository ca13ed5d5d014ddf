/**
 * The SQL ledger: which model and view files were applied, per engine, kept in the lake
 * (`_cclake/sql/ledger-<engine>.json`, one atomic object). A model file applied once may never
 * change (its checksum is compared on every run); a view is re-applied when its checksum changes.
 */
import { ObjectNotFoundError, type ObjectStore } from '../store/port';
import type { ModelFile, SqlTree, ViewFile } from './files';

export interface LedgerEntry {
  kind: 'model' | 'view';
  /** Model version; null for views. */
  version: number | null;
  /** Rollup table (model) or view name. */
  name: string;
  file: string;
  checksum: string;
  appliedAt: string;
  engine: string;
  durationMs: number;
}

export interface Ledger {
  version: 1;
  entries: LedgerEntry[];
}

export class SqlChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlChecksumError';
  }
}

export const ledgerKey = (engine: string) => `_cclake/sql/ledger-${engine}.json`;

export async function loadLedger(store: ObjectStore, engine: string): Promise<Ledger> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(ledgerKey(engine)))) as Ledger;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { version: 1, entries: [] };
    throw err;
  }
}

export async function saveLedger(store: ObjectStore, engine: string, ledger: Ledger): Promise<void> {
  await store.put(ledgerKey(engine), JSON.stringify(ledger, null, 1) + '\n', { contentType: 'application/json' });
}

export interface LedgerPlan {
  /** Model files not applied yet. */
  newModels: ModelFile[];
  /** Views never applied, or whose checksum changed since. */
  changedViews: ViewFile[];
}

/** Compares the files with the ledger; an applied model file that changed is refused here. */
export function planLedger(tree: SqlTree, ledger: Ledger): LedgerPlan {
  const plan: LedgerPlan = { newModels: [], changedViews: [] };
  for (const m of tree.models) {
    const applied = ledger.entries.find((e) => e.kind === 'model' && e.version === m.version);
    if (!applied) plan.newModels.push(m);
    else if (applied.checksum !== m.checksum || applied.name !== m.table) {
      throw new SqlChecksumError(
        `${m.file}: checksum mismatch: version ${m.version} was applied on ${applied.appliedAt} from ${applied.file} with checksum ${applied.checksum.slice(0, 12)}…, ` +
          `the file now has ${m.checksum.slice(0, 12)}…. An applied model must not change: restore it and add V${String(m.version + 1).padStart(3, '0')}__${m.table}.sql (or the next free version) instead`,
      );
    }
  }
  for (const v of tree.views) {
    const last = ledger.entries.filter((e) => e.kind === 'view' && e.name === v.view).at(-1);
    if (!last || last.checksum !== v.checksum) plan.changedViews.push(v);
  }
  return plan;
}
