/**
 * Privacy mode in compaction (README "Privacy"): the new rows' identities are replaced by keyed
 * pseudonyms before they are written to curated/, and each pseudonym's identity is recorded in the
 * re-identification table (reidentify/) before the curated generation that carries it is committed.
 *
 * What a curated row holds in privacy mode:
 *  - `user_email`: the pseudonym of the named mode's `user_key` (CONTRACTS section 3: lower-cased
 *    email, else account uuid, else user id), so the unchanged `user_key` expression of every SQL
 *    file yields the pseudonym, one per person exactly as the named key is one per person;
 *  - `user_id`, `user_account_uuid`: the pseudonyms of their own values (the org directory's
 *    `user_id` is pseudonymised with the same key when seeded, so the attribution join still finds
 *    people known by id only);
 *  - any attribute value holding an e-mail address: the pseudonym of that value, lower-cased.
 * Rows of the live generation were pseudonymised when they were first written and are copied as
 * they are.
 */
import { REIDENTIFICATION, REIDENTIFICATION_PREFIX } from '../../../schemas/reidentification';
import type { Catalog } from '../catalog/port';
import { columnsOf } from '../catalog/tables';
import { sqlString } from '../engine/duckdb';
import { readRows, writeRows } from '../parquet/io';
import type { Pseudonymiser } from '../privacy/pseudonym';
import { USER_KEY_SQL } from '../sql/user-key';
import { listAll } from '../store/port';
import type { CompactionContext } from './context';
import type { RawReader, RawSource } from './raw-sources';

/** An e-mail address inside a value (DuckDB regex; the same as privacy/pseudonym.ts EMAIL_PATTERN). */
const EMAIL_RE = `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}`;

/** The re-identification table's catalog entry (not partitioned; every file under reidentify/). */
export function reidentificationTable() {
  return {
    name: REIDENTIFICATION.name,
    description: REIDENTIFICATION.doc,
    location: REIDENTIFICATION_PREFIX,
    columns: columnsOf(REIDENTIFICATION.columns),
    partitionKeys: [],
    format: 'parquet' as const,
    parameters: { 'cclake.schema': REIDENTIFICATION.name, 'cclake.restricted': 'true' },
  };
}

/**
 * Builds the run's pseudonym tables (`pseudonyms`: identity -> pseudonym; `pseudonym_map`: the
 * attribute values' map) from every identity in the run's raw objects, and appends the identities
 * the re-identification table does not have yet as one new file. Returns how many it appended.
 */
export async function preparePseudonyms(
  ctx: CompactionContext,
  pseudonymiser: Pseudonymiser,
  catalog: Catalog,
  reader: RawReader,
  sources: RawSource[],
): Promise<number> {
  const { engine } = ctx;
  await engine.run('CREATE OR REPLACE TABLE run_identities (identity VARCHAR, kind VARCHAR)');
  for (const batch of reader.batches(sources)) {
    await engine.run(`INSERT INTO run_identities
      WITH b AS MATERIALIZED (SELECT user_email, user_account_uuid, user_id, attributes FROM (SELECT ${reader.selectList(batch)} FROM ${reader.from(batch)}))
      SELECT DISTINCT identity, kind FROM (
        SELECT ${USER_KEY_SQL} AS identity, 'user_key' AS kind FROM b
        UNION ALL SELECT user_id, 'user_id' FROM b
        UNION ALL SELECT user_account_uuid, 'user_account_uuid' FROM b
        UNION ALL SELECT lower(trim(v)), 'attribute' FROM (SELECT unnest(map_values(attributes)) AS v FROM b) WHERE regexp_matches(v, ${sqlString(EMAIL_RE)})
      ) WHERE identity IS NOT NULL`);
  }
  const ids = (await engine.query('SELECT DISTINCT identity FROM run_identities ORDER BY identity')).rows.map((r) => String(r.identity));
  await engine.run('CREATE OR REPLACE TABLE pseudonyms (identity VARCHAR PRIMARY KEY, pseudonym VARCHAR NOT NULL)');
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    await engine.run(`INSERT INTO pseudonyms VALUES ${chunk.map((id) => `(${sqlString(id)}, ${sqlString(pseudonymiser.of(id))})`).join(', ')}`);
  }
  await engine.run(`CREATE OR REPLACE TABLE pseudonym_map AS
    SELECT map(coalesce(list(p.identity), []::VARCHAR[]), coalesce(list(p.pseudonym), []::VARCHAR[])) AS m
    FROM pseudonyms p WHERE p.identity IN (SELECT identity FROM run_identities WHERE kind = 'attribute')`);

  // The re-identification rows this run adds: written before any curated generation carrying them.
  const known = new Set<string>();
  for (const o of await listAll(ctx.store, REIDENTIFICATION_PREFIX)) {
    if (!o.key.endsWith('.parquet')) continue;
    for (const r of readRows<{ pseudonym: string; kind: string }>(await ctx.store.get(o.key))) known.add(`${r.pseudonym}\u0001${r.kind}`);
  }
  const now = Date.now();
  const fresh = (
    await engine.query('SELECT DISTINCT p.pseudonym, i.identity, i.kind FROM run_identities i JOIN pseudonyms p USING (identity) ORDER BY 1, 3')
  ).rows
    .map((r) => ({ pseudonym: String(r.pseudonym), identity: String(r.identity), kind: String(r.kind), first_seen: now }))
    .filter((r) => !known.has(`${r.pseudonym}\u0001${r.kind}`));
  // Created when absent (a schema change would be a new table version: none so far).
  const desired = reidentificationTable();
  if (!(await catalog.getTable(desired.name))) await catalog.apply({ op: 'createTable', table: desired });
  if (fresh.length) {
    const stamp = new Date(now).toISOString().replace(/[-:.]/g, '');
    await ctx.store.put(`${REIDENTIFICATION_PREFIX}part-${stamp}-${ctx.runId}.parquet`, writeRows(REIDENTIFICATION, fresh, { codec: 'zstd' }));
  }
  return fresh.length;
}

/** The new rows of `sql` with their identities replaced by pseudonyms (needs the tables preparePseudonyms builds). */
export function pseudonymisedSql(sql: string): string {
  const attributes = `CASE WHEN f.attributes IS NULL THEN NULL ELSE map_from_entries(list_transform(map_entries(f.attributes), e -> {'key': e.key, 'value': CASE WHEN regexp_matches(e.value, ${sqlString(EMAIL_RE)}) THEN pm.m[lower(trim(e.value))] ELSE e.value END})) END`;
  return `SELECT f.* REPLACE (pk.pseudonym AS user_email, pi.pseudonym AS user_id, pa.pseudonym AS user_account_uuid, ${attributes} AS attributes)
    FROM (${sql}) f
    LEFT JOIN pseudonyms pk ON pk.identity = ${USER_KEY_SQL.replace(/\b(user_email|user_account_uuid|user_id)\b/g, 'f.$1')}
    LEFT JOIN pseudonyms pi ON pi.identity = f.user_id
    LEFT JOIN pseudonyms pa ON pa.identity = f.user_account_uuid
    CROSS JOIN pseudonym_map pm`;
}
