/** The org directory CSV (config `orgDirectory.key`): effective-dated team, department and cost center per person. */
import type { RowOf, TableDef } from './columns';

export const ORG_DIRECTORY = {
  name: 'org_directory',
  doc: 'Who belonged to which team, department and cost center, when',
  columns: [
    { name: 'user_email', type: 'string', doc: 'Lower-cased email; empty when the person is known by user_id only' },
    { name: 'user_id', type: 'string', doc: 'Claude Code user.id, for people without an email' },
    { name: 'team', type: 'string', nullable: false, doc: 'Team name' },
    { name: 'department', type: 'string', doc: 'Department' },
    { name: 'cost_center', type: 'string', doc: 'Cost center finance charges' },
    { name: 'valid_from', type: 'date', nullable: false, doc: 'First day the row applies (inclusive)' },
    { name: 'valid_to', type: 'date', doc: 'First day it no longer applies (exclusive); empty = open' },
  ],
} as const satisfies TableDef;

export type OrgDirectoryRow = RowOf<typeof ORG_DIRECTORY>;
