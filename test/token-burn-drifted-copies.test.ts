/**
 * Issue 18 part 0: on the generated faulty lake (400 users x 35 days, seed 3, --faults),
 * token_burn_daily was below "an independent computation from the raw files" on 2026-10-27 (input
 * 2,038,802 vs 2,039,854, cache read 977,902,231 vs 978,441,766) and 2026-10-30. The difference is
 * exactly 15 (and 5) api_request records that exist twice in raw/: once in a good object written by
 * the newer table version (with a `workspace_id` column, the newer app's users), and once in a copy
 * Firehose delivered later with drifted columns (`input_tokens` as text, no `workspace_id`). The
 * generator's own records for those days (before faults) sum to the rollup's numbers, so the rollup
 * is right: CONTRACTS section 3 counts each record once by `record_id` (same content, same id,
 * whatever the object's column types), and compaction quarantines an object whose column types are
 * not the raw table's. The other reading deduplicated by whole rows, so a copy whose drifted columns
 * differ (a NULL workspace_id, a text input_tokens) looked like a new record.
 *
 * Here: three requests in a newer-table object, two of them again in a later wrong-schema copy.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { fileOf, putRaw, rec, tempDirs, WORKSPACE_TABLE, WRONG_SCHEMA_TABLE } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-drifted-copies-test-');
afterAll(() => tmp.cleanup());

const config = parseConfig({});
const DAY = '2026-10-27';
const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const requests = [
  { input_tokens: 61, cache_read_tokens: 41_000 },
  { input_tokens: 48, cache_read_tokens: 0 },
  { input_tokens: 70, cache_read_tokens: 35_500 },
].map((t, i) => ({
  ...rec(`${DAY}T10:0${i}:00Z`, 'u7', { session_id: 's7', model: MODEL, app_version: '2.1.4', output_tokens: 200, cache_creation_tokens: 1_000, ...t }),
  workspace_id: 'ws-payments',
}));
// record_id is computed before the newer app adds workspace_id (as the generator and the transform do).
const copies = requests.slice(0, 2).map(({ workspace_id: _drop, ...r }) => ({ ...r, input_tokens: String(r.input_tokens) }));

describe('token burn with a redelivered copy whose columns drifted (issue 18 part 0)', () => {
  it('counts each record once: the rollup, the contract reading of raw/ and the hand sum agree; a whole-row reading counts the copies again', async () => {
    const store = new LocalObjectStore(tmp.make());
    const good = await putRaw(store, `${DAY}T10:10:00Z`, requests, WORKSPACE_TABLE);
    const copy = await putRaw(store, `${DAY}T11:40:00Z`, copies, WRONG_SCHEMA_TABLE);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await compact(store, catalog, config, { now: Date.parse(`${DAY}T12:00:00Z`) });
    // Compaction quarantines the copy (its input_tokens is not the raw table's type), with a reason.
    expect((await listAll(store, 'quarantine/')).map((o) => o.key).sort()).toEqual([`quarantine/${copy}`, `quarantine/${copy}.reason.json`]);

    const engine = await LocalQueryEngine.open(store, config);
    let burn: Record<string, unknown>[];
    try {
      await rollup(store, catalog, engine, config, { now: Date.parse(`${DAY}T23:00:00Z`) });
      await engine.refresh();
      burn = (
        await engine.query(
          `SELECT token_type, CAST(sum(tokens) AS BIGINT) AS tokens FROM token_burn_daily WHERE dt = DATE '${DAY}' GROUP BY token_type ORDER BY token_type`,
        )
      ).rows;
    } finally {
      engine.close();
    }
    // By hand: input 61 + 48 + 70 = 179; cache read 41,000 + 35,500 = 76,500; output 3 x 200; cache write 3 x 1,000.
    expect(burn).toEqual([
      { token_type: 'cache_creation', tokens: 3000 },
      { token_type: 'cache_read', tokens: 76500 },
      { token_type: 'input', tokens: 179 },
      { token_type: 'output', tokens: 600 },
    ]);

    // Both readings of raw/ (every object read, types unified): by record_id (the contract), and by whole rows (the mistake).
    const db = await DuckDBEngine.open();
    try {
      const raw = `read_parquet([${[good, copy].map((k) => sqlString(fileOf(store, k))).join(', ')}], union_by_name = true)`;
      const total = async (dedupe: string) =>
        (
          await db.query(
            `SELECT CAST(sum(CAST(input_tokens AS BIGINT)) AS BIGINT) AS input, CAST(sum(cache_read_tokens) AS BIGINT) AS cache_read FROM (${dedupe}) WHERE name = 'claude_code.api_request'`,
          )
        ).rows[0];
      expect(await total(`SELECT * FROM ${raw} QUALIFY row_number() OVER (PARTITION BY record_id) = 1`)).toEqual({ input: 179, cache_read: 76500 });
      expect(await total(`SELECT DISTINCT * FROM ${raw}`)).toEqual({ input: 179 + 61 + 48, cache_read: 76500 + 41000 });
    } finally {
      db.close();
    }
  });
});
