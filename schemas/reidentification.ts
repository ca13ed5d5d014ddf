/**
 * Privacy mode's re-identification table (README "Privacy"): which identity each pseudonym was made
 * from. Written by compaction only, under its own prefix, which only the compactor and principals
 * given the ReidentificationReaderPolicy (finance's chargeback by person, compliance follow-up) may
 * read; nothing else in cclake reads it. Empty in named mode.
 */
import type { TableDef } from './columns';

export const REIDENTIFICATION = {
  name: 'reidentification',
  doc: 'Privacy mode: pseudonym to the identity it was made from (restricted: finance and compliance only)',
  columns: [
    { name: 'pseudonym', type: 'string', nullable: false, doc: 'The pseudonym as curated data, rollups and exports carry it (u_ + 32 hex)' },
    { name: 'identity', type: 'string', nullable: false, doc: 'The value it was made from: lower-cased email, account uuid, user id or attribute value' },
    { name: 'kind', type: 'string', nullable: false, doc: 'user_key (CONTRACTS section 3 identity), user_id, user_account_uuid or attribute' },
    { name: 'first_seen', type: 'timestamp', nullable: false, doc: 'When compaction first wrote the pseudonym' },
  ],
} as const satisfies TableDef;

/** Lake key prefix of the re-identification table (its own prefix, for IAM). */
export const REIDENTIFICATION_PREFIX = 'reidentify/';
