/**
 * Row-level security rules for QuickSight (config `aws.quicksight.rowLevelSecurity`) as a seed table
 * in the lake, `bi_row_access`: one row per rule and value (group_name or user_name, and the secured
 * column, `team` or `cost_center`; a rule without values is one row with the column empty, which
 * QuickSight reads as "every value"). The rules dataset reads it through Athena like any view, so no
 * rule is ever pasted into SQL. Rewritten only when the rules change (jobs/seeds.ts writeSeed).
 */
import type { TableDef } from '../../../schemas/columns';
import type { Catalog } from '../catalog/port';
import type { Config } from '../config/schema';
import { writeSeed, type SeedResult } from '../jobs/seeds';
import type { ObjectStore } from '../store/port';

export const ROW_ACCESS_TABLE = 'bi_row_access';

export function rowAccessTable(column: 'team' | 'cost_center'): TableDef {
  return {
    name: ROW_ACCESS_TABLE,
    doc: 'QuickSight row-level security rules (config aws.quicksight.rowLevelSecurity)',
    columns: [
      { name: 'group_name', type: 'string', doc: 'QuickSight group the rule is for (or null)' },
      { name: 'user_name', type: 'string', doc: 'QuickSight user the rule is for (or null)' },
      { name: column, type: 'string', doc: `A ${column} the group or user may see; null = every ${column}` },
    ],
  };
}

export function rowAccessRows(rls: NonNullable<Config['aws']['quicksight']['rowLevelSecurity']>): Record<string, unknown>[] {
  return rls.rules.flatMap((r) =>
    (r.values.length ? r.values : [null]).map((v) => ({ group_name: r.group ?? null, user_name: r.user ?? null, [rls.column]: v })),
  );
}

export async function writeRowAccess(store: ObjectStore, catalog: Catalog, config: Config): Promise<SeedResult> {
  const rls = config.aws.quicksight.rowLevelSecurity;
  if (!rls) throw new Error('aws.quicksight.rowLevelSecurity is not configured');
  return writeSeed(store, catalog, rowAccessTable(rls.column), rowAccessRows(rls));
}
