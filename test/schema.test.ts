/**
 * The raw record (schemas/raw-record.ts) is defined once; the Arrow schema of the Parquet files,
 * the Glue (Hive) column types and what DuckDB reads must all follow from it. These tests write
 * real Parquet files and read them back through the project's reader and through DuckDB, and
 * check every column against one hand-written mapping table (not the one in schemas/columns.ts,
 * or the test would check the code against itself).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrowSchema } from '../schemas/arrow';
import { glueColumns, type LogicalType, type TableDef } from '../schemas/columns';
import { BEDROCK_GUIDANCE_METRICS, type BedrockGuidanceRow } from '../schemas/bedrock-guidance';
import { ORG_DIRECTORY, type OrgDirectoryRow } from '../schemas/org-directory';
import { RAW_RECORD, emptyRawRecord, type RawRecord } from '../schemas/raw-record';
import { ConfigSchema } from '../functions/lib/config/schema';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { parquetToArrow, readRows, writeRows } from '../functions/lib/parquet/io';
import { LocalObjectStore } from '../functions/lib/store/local';
import { rawRecordColumns, readContractsDoc, typeSpellings } from './helpers/contracts-doc';

/** One expected spelling per logical type, in every place that needs one. */
const EXPECTED: Record<LogicalType, { arrow: string; hive: string; duckdb: string }> = {
  string: { arrow: 'Utf8', hive: 'string', duckdb: 'VARCHAR' },
  int32: { arrow: 'Int32', hive: 'int', duckdb: 'INTEGER' },
  int64: { arrow: 'Int64', hive: 'bigint', duckdb: 'BIGINT' },
  double: { arrow: 'Float64', hive: 'double', duckdb: 'DOUBLE' },
  boolean: { arrow: 'Bool', hive: 'boolean', duckdb: 'BOOLEAN' },
  // No time zone anywhere: UTC wall time, read as the same instant by Athena and DuckDB.
  timestamp: { arrow: 'Timestamp<MILLISECOND>', hive: 'timestamp', duckdb: 'TIMESTAMP' },
  date: { arrow: 'Date32<DAY>', hive: 'date', duckdb: 'DATE' },
  'map<string,string>': { arrow: 'Map<{key:Utf8, value:Utf8}>', hive: 'map<string,string>', duckdb: 'MAP(VARCHAR, VARCHAR)' },
};

/**
 * The raw record's columns as docs/contracts.md section 2 lists them. Kept here as well so a drift
 * in either the document or the schema shows.
 */
const CONTRACT_RAW_COLUMNS = [
  'record_id',
  'signal',
  'name',
  'event_time',
  'user_id',
  'user_email',
  'user_account_uuid',
  'organization_id',
  'session_id',
  'terminal_type',
  'app_version',
  'service_name',
  'os_type',
  'host_arch',
  'department',
  'team_id',
  'cost_center',
  'project',
  'environment',
  'model',
  'query_source',
  'speed',
  'effort',
  'request_id',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'cost_usd',
  'duration_ms',
  'ttft_ms',
  'status_code',
  'error',
  'attempt',
  'tool_name',
  'success',
  'decision',
  'decision_source',
  'language',
  'prompt_id',
  'prompt_length',
  'event_sequence',
  'metric_type',
  'value',
  'start_time',
  'temporality',
  'attributes',
  // Traces and 2026 telemetry (issue 17), appended after `attributes` (schemas/raw-record.ts says why).
  'user_account_id',
  'context_tier',
  'agent_name',
  'skill_name',
  'plugin_name',
  'mcp_server_name',
  'mcp_tool_name',
  'workflow_run_id',
  'trace_id',
  'span_id',
  'parent_span_id',
  'end_time',
];

const dirs: string[] = [];
const tempDir = (name = 'cclake-schema-') => {
  const d = mkdtempSync(path.join(tmpdir(), name));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `DESCRIBE` of a Parquet file through a bare DuckDB (no project code between). */
async function describeParquet(file: string): Promise<{ name: string; type: string }[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    return reader.getRowObjectsJS().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Asserts, column by column and in order, that Arrow, Glue and DuckDB agree with EXPECTED. */
function expectTypesAgree(table: TableDef, described: { name: string; type: string }[], writtenBack?: arrow.Schema) {
  const expected = table.columns.map((c) => ({ name: c.name, ...EXPECTED[c.type] }));
  const schema = arrowSchema(table);
  expect(schema.fields.map((f) => ({ name: f.name, type: String(f.type) }))).toEqual(expected.map((e) => ({ name: e.name, type: e.arrow })));
  expect(schema.fields.map((f) => f.nullable)).toEqual(table.columns.map((c) => c.nullable !== false));
  for (const f of schema.fields) {
    if (f.type instanceof arrow.Timestamp) expect(f.type.timezone ?? null, f.name).toBeNull();
  }
  expect(glueColumns(table).map((c) => ({ name: c.Name, type: c.Type }))).toEqual(expected.map((e) => ({ name: e.name, type: e.hive })));
  for (const c of glueColumns(table)) {
    expect(c.Comment.length).toBeGreaterThan(0);
    expect(c.Comment.length).toBeLessThanOrEqual(255);
  }
  expect(described).toEqual(expected.map((e) => ({ name: e.name, type: e.duckdb })));
  if (writtenBack) {
    // What the file itself says after the Parquet round trip.
    expect(writtenBack.fields.map((f) => ({ name: f.name, type: String(f.type) }))).toEqual(expected.map((e) => ({ name: e.name, type: e.arrow })));
    expect(writtenBack.fields.map((f) => f.nullable)).toEqual(table.columns.map((c) => c.nullable !== false));
  }
}

const T0 = Date.UTC(2026, 10, 20, 23, 59, 58, 123); // late in the UTC day: a time-zone shift would change the date
const BIG = 5_000_000_000; // > 2^32
const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1: the largest int64 a row can carry exactly

function fullRow(): RawRecord {
  return {
    record_id: 'r-full-0001',
    signal: 'event',
    name: 'claude_code.api_request',
    event_time: T0,
    user_id: 'u-9f2c',
    user_email: 'zoë.müller@example.com',
    user_account_uuid: '2b0c2a7e-8d0b-4d8e-9a11-1c2d3e4f5a6b',
    organization_id: 'org-1',
    session_id: 'sess-1',
    terminal_type: 'vscode',
    app_version: '2.1.50',
    service_name: 'claude-code',
    os_type: 'darwin',
    host_arch: 'arm64',
    department: 'Forschung & Entwicklung',
    team_id: 'plateforme-données',
    cost_center: 'CC-1001',
    project: 'acme/payments',
    environment: 'prod',
    model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    query_source: 'main',
    speed: 'normal',
    effort: 'high',
    request_id: 'req_011CV',
    input_tokens: BIG,
    output_tokens: 2_147_483_648, // 2^31: one past int32
    cache_read_tokens: MAX_SAFE,
    cache_creation_tokens: 0,
    cost_usd: 0.1 + 0.2,
    duration_ms: 12_345.678,
    ttft_ms: 1e-300,
    status_code: 529,
    error: 'Overloaded: "quoted", with, commas\nand a newline',
    attempt: -2_147_483_648,
    tool_name: 'mcp__github__create_pr',
    success: true,
    decision: 'accept',
    decision_source: 'user_permanent',
    language: 'TypeScript',
    prompt_id: 'p-1',
    prompt_length: 3_000_000_000,
    event_sequence: 2 ** 40,
    metric_type: 'cacheRead',
    value: -0.5,
    start_time: Date.UTC(1969, 11, 31, 23, 59, 59, 999), // before the epoch: negative ms
    temporality: 'delta',
    attributes: { 'app.entrypoint': 'cli', ключ: 'значение', 日本語キー: '値 🚀', 'emoji 🎉': 'ünïcødé ✓', '': 'empty key' },
    user_account_id: 'acct_01HZX',
    context_tier: '1m',
    agent_name: 'code-reviewer',
    skill_name: 'pdf',
    plugin_name: 'acme-tools',
    mcp_server_name: 'github',
    mcp_tool_name: 'create_pull_request',
    workflow_run_id: 'wf_7d1c',
    trace_id: '5b8efff798038103d269b633813fc60c',
    span_id: 'eee19b7ec3c1b174',
    parent_span_id: 'eee19b7ec3c1b173',
    end_time: Date.UTC(2026, 10, 21, 0, 0, 1, 7), // the next UTC day
  };
}

/** Only the required columns; everything else null. */
function minimalRow(): RawRecord {
  return { ...emptyRawRecord(), record_id: 'r-min-0002', signal: 'metric', name: 'claude_code.token.usage', event_time: 0 };
}

/** Falsy-but-not-null values: must not read back as null. */
function falsyRow(): RawRecord {
  const r = emptyRawRecord();
  for (const c of RAW_RECORD.columns) {
    const v: Record<LogicalType, unknown> = { string: '', int32: 0, int64: 0, double: 0, boolean: false, timestamp: 0, date: null, 'map<string,string>': {} };
    (r as Record<string, unknown>)[c.name] = v[c.type];
  }
  return { ...r, record_id: 'r-falsy-0003', signal: 'event', name: 'claude_code.tool_result', event_time: T0 + 1 };
}

describe('raw record: one definition, one type mapping everywhere', () => {
  const rows = [fullRow(), minimalRow(), falsyRow()];
  let dir: string;
  let file: string;
  let bytes: Uint8Array;

  beforeAll(() => {
    dir = tempDir();
    file = path.join(dir, 'raw.parquet');
    bytes = writeRows(RAW_RECORD, rows);
    writeFileSync(file, bytes);
  });

  it('covers every logical type the raw record uses (so the mapping below is exercised)', () => {
    const used = new Set(RAW_RECORD.columns.map((c) => c.type));
    expect([...used].sort()).toEqual(['boolean', 'double', 'int32', 'int64', 'map<string,string>', 'string', 'timestamp']);
  });

  it('Arrow schema, Glue columns and DuckDB DESCRIBE agree column by column, in order', async () => {
    expectTypesAgree(RAW_RECORD, await describeParquet(file), parquetToArrow(bytes).schema);
  });

  it('the file is Snappy Parquet by default (PAR1 at both ends)', () => {
    const tail = Buffer.from(bytes.subarray(bytes.length - 4)).toString('latin1');
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('PAR1');
    expect(tail).toBe('PAR1');
  });

  it('reads back row for row, value for value (readRows)', () => {
    const back = readRows<RawRecord>(bytes);
    expect(back).toHaveLength(rows.length);
    for (let i = 0; i < rows.length; i++) {
      expect(Object.keys(back[i]!)).toEqual(RAW_RECORD.columns.map((c) => c.name));
      expect(back[i]).toEqual(rows[i]);
    }
    // exact, not approximately
    expect(back[0]!.cache_read_tokens).toBe(MAX_SAFE);
    expect(back[0]!.cost_usd).toBe(0.1 + 0.2);
    expect(back[2]!.attributes).toEqual({});
    expect(back[1]!.attributes).toBeNull();
    expect(back[2]!.success).toBe(false);
    expect(back[1]!.success).toBeNull();
  });

  it('reads back through DuckDB: values equal, timestamps equal to the ms in UTC', async () => {
    const engine = await DuckDBEngine.open();
    try {
      const res = await engine.query(
        `SELECT *, epoch_ms(event_time) AS event_ms, epoch_ms(start_time) AS start_ms,
                strftime(event_time, '%Y-%m-%d %H:%M:%S.%g') AS event_text, cardinality(attributes) AS n_attrs
         FROM read_parquet(${sqlString(file)}) ORDER BY record_id`,
      );
      const byId = new Map(res.rows.map((r) => [r.record_id as string, r]));
      expect([...byId.keys()].sort()).toEqual(rows.map((r) => r.record_id).sort());
      for (const want of rows) {
        const got = byId.get(want.record_id!)!;
        expect(got.event_ms).toBe(want.event_time);
        expect(got.start_ms).toBe(want.start_time);
        expect(got.event_time).toBe(new Date(want.event_time!).toISOString());
        expect(got.start_time).toBe(want.start_time === null ? null : new Date(want.start_time).toISOString());
        expect(got.n_attrs).toBe(want.attributes === null ? null : Object.keys(want.attributes).length);
        for (const c of RAW_RECORD.columns) {
          if (c.type === 'timestamp' || c.type === 'map<string,string>') continue;
          expect(got[c.name], `${want.record_id}.${c.name}`).toEqual(want[c.name as keyof RawRecord]);
        }
      }
      const full = byId.get('r-full-0001')!;
      expect(full.event_text).toBe('2026-11-20 23:59:58.123');
      expect(full.attributes).toEqual(fullRow().attributes);
      expect(full.start_time).toBe('1969-12-31T23:59:59.999Z');
      expect(byId.get('r-min-0002')!.attributes).toBeNull();
      // map lookups by non-ASCII key work in SQL too
      const lookup = await engine.query(
        `SELECT attributes['日本語キー'] AS jp, attributes['ключ'] AS ru, attributes['emoji 🎉'] AS emoji
         FROM read_parquet(${sqlString(file)}) WHERE record_id = 'r-full-0001'`,
      );
      expect(lookup.rows).toEqual([{ jp: '値 🚀', ru: 'значение', emoji: 'ünïcødé ✓' }]);
      // int64 arithmetic beyond int32 in SQL
      const sums = await engine.query(`SELECT sum(input_tokens) + sum(output_tokens) AS t FROM read_parquet(${sqlString(file)})`);
      expect(sums.rows[0]!.t).toBe(BIG + 2_147_483_648);
    } finally {
      engine.close();
    }
  });

  it('timestamps do not move with the DuckDB session time zone (no tz annotation in the file)', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const q = async () =>
        (
          await conn.runAndReadAll(
            `SELECT epoch_ms(event_time) AS ms, CAST(event_time AS DATE)::VARCHAR AS d FROM read_parquet(${sqlString(file)}) WHERE record_id = 'r-full-0001'`,
          )
        ).getRowObjectsJS()[0];
      await conn.run(`LOAD icu`);
      await conn.run(`SET TimeZone = 'UTC'`);
      const utc = await q();
      await conn.run(`SET TimeZone = 'Pacific/Auckland'`);
      const auckland = await q();
      expect(utc).toEqual({ ms: BigInt(T0), d: '2026-11-20' });
      expect(auckland).toEqual(utc);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  // KNOWN BUG (functions/lib/engine/duckdb.ts toPlain): DuckDB hands an empty MAP over as [] and
  // toPlain only recognises non-empty arrays of {key, value} as maps, so an empty map reaches
  // `cclake query --format json` as [] instead of {}. Flip to it() once fixed.
  it('an empty map reads back through the engine as {} (not [])', async () => {
    const engine = await DuckDBEngine.open();
    try {
      const res = await engine.query(`SELECT attributes FROM read_parquet(${sqlString(file)}) WHERE record_id = 'r-falsy-0003'`);
      expect(res.rows).toEqual([{ attributes: {} }]);
    } finally {
      engine.close();
    }
  });

  it('events_raw (the analyst view over a lake) has exactly the raw record columns and types', async () => {
    const lake = tempDir('cclake-schema-lake-');
    const key = 'raw/year=2026/month=11/day=20/hour=23/cclake-telemetry-1-2026-11-20-23-59-59-00000000-0000-4000-8000-000000000000.parquet';
    mkdirSync(path.join(lake, path.dirname(key)), { recursive: true });
    writeFileSync(path.join(lake, key), bytes);
    const engine = await DuckDBEngine.open();
    try {
      await registerLakeViews(engine, new LocalObjectStore(lake), ConfigSchema.parse({}));
      const d = await engine.query(`DESCRIBE events_raw`);
      expectTypesAgree(
        RAW_RECORD,
        d.rows.map((r) => ({ name: r.column_name as string, type: r.column_type as string })),
      );
      const n = await engine.query(`SELECT count(*) AS n, sum(input_tokens) AS t, max(event_time) AS last FROM events_raw`);
      expect(n.rows).toEqual([{ n: 3, t: BIG, last: new Date(T0 + 1).toISOString() }]);
    } finally {
      engine.close();
    }
  });

  it('column names are the docs/contracts.md section 2 list (hard-coded copy)', () => {
    expect(new Set(RAW_RECORD.columns.map((c) => c.name))).toEqual(new Set(CONTRACT_RAW_COLUMNS));
    expect(RAW_RECORD.columns).toHaveLength(CONTRACT_RAW_COLUMNS.length);
  });

  it('docs/contracts.md section 2 lists every column, in order, with its type and the attributes it is taken from', () => {
    const documented = rawRecordColumns(readContractsDoc());
    expect(documented.length).toBe(new Set(documented.map((c) => c.name)).size); // no name listed twice
    expect(documented.map((c) => ({ name: c.name, type: c.type }))).toEqual(RAW_RECORD.columns.map((c) => ({ name: c.name, type: c.type })));
    for (const c of RAW_RECORD.columns) {
      const otel: readonly string[] = 'otel' in c ? c.otel : [];
      if (otel.length) expect(documented.find((d) => d.name === c.name)!.from, c.name).toEqual(otel);
      expect(documented.find((d) => d.name === c.name)!.meaning.length, c.name).toBeGreaterThan(0);
    }
  });

  it('docs/contracts.md section 2 spells each type as Glue and DuckDB do', () => {
    const spellings = typeSpellings(readContractsDoc());
    for (const [type, e] of Object.entries(EXPECTED)) {
      expect({ type, glue: spellings.get(type)?.glue, duckdb: spellings.get(type)?.duckdb }).toEqual({ type, glue: e.hive, duckdb: e.duckdb });
    }
  });

  it('the section 2 parse notices a column the document lacks', () => {
    const doc = readContractsDoc();
    expect(doc).toContain('| `ttft_ms` |');
    const without = rawRecordColumns(
      doc
        .split('\n')
        .filter((l) => !l.startsWith('| `ttft_ms` |'))
        .join('\n'),
    );
    expect(without.map((c) => c.name)).not.toEqual(RAW_RECORD.columns.map((c) => c.name));
  });
});

describe('org directory and bedrock-guidance tables: same agreement', () => {
  it('org directory: Arrow, Glue and DuckDB types agree; rows read back', async () => {
    const rows: OrgDirectoryRow[] = [
      {
        user_email: 'zoë@example.com',
        user_id: null,
        team: 'Plattform',
        department: 'F&E',
        cost_center: 'CC-1',
        valid_from: '2026-01-01',
        valid_to: '2026-06-01',
      },
      { user_email: null, user_id: 'u-1', team: 'Payments', department: null, cost_center: null, valid_from: '1969-12-31', valid_to: null },
    ];
    const bytes = writeRows(ORG_DIRECTORY, rows);
    const file = path.join(tempDir(), 'org.parquet');
    writeFileSync(file, bytes);
    expectTypesAgree(ORG_DIRECTORY, await describeParquet(file), parquetToArrow(bytes).schema);
    const engine = await DuckDBEngine.open();
    try {
      const back = await engine.query(`SELECT * FROM read_parquet(${sqlString(file)}) ORDER BY team DESC`);
      expect(back.rows).toEqual(rows);
    } finally {
      engine.close();
    }
  });

  // KNOWN BUG (functions/lib/parquet/io.ts fromArrowValue): a `date` column reads back as epoch ms
  // (Arrow DateDay -> Date -> getTime) instead of the 'YYYY-MM-DD' string rows carry it as
  // (schemas/columns.ts JsValueOf.date), so writeRows/readRows do not round-trip. Flip to it() once fixed.
  it('org directory: readRows gives dates back as YYYY-MM-DD, as rows carry them', () => {
    const rows: OrgDirectoryRow[] = [
      { user_email: 'a@example.com', user_id: null, team: 'T', department: null, cost_center: null, valid_from: '2026-03-01', valid_to: null },
    ];
    expect(readRows<OrgDirectoryRow>(writeRows(ORG_DIRECTORY, rows))).toEqual(rows);
  });

  it('bedrock-guidance metrics: Arrow, Glue and DuckDB types agree; rows read back', async () => {
    const rows: BedrockGuidanceRow[] = [
      {
        timestamp: T0,
        user_id: 'u-1',
        session_id: 's-1',
        model: 'us.anthropic.claude-opus-4-1-20250805-v1:0',
        type: 'cacheRead',
        token_usage: 12_345_678_901,
        terminal_type: 'iTerm.app',
        organization_id: 'org',
        otel_lib: 'com.anthropic.claude_code',
        user_email: 'jürgen@example.com',
        user_account_uuid: 'acc',
      },
      {
        timestamp: null,
        user_id: null,
        session_id: null,
        model: null,
        type: null,
        token_usage: null,
        terminal_type: null,
        organization_id: null,
        otel_lib: null,
        user_email: null,
        user_account_uuid: null,
      },
    ];
    const bytes = writeRows(BEDROCK_GUIDANCE_METRICS, rows);
    const file = path.join(tempDir(), 'metrics.parquet');
    writeFileSync(file, bytes);
    expectTypesAgree(BEDROCK_GUIDANCE_METRICS, await describeParquet(file), parquetToArrow(bytes).schema);
    expect(readRows(bytes)).toEqual(rows);
    const engine = await DuckDBEngine.open();
    try {
      const back = await engine.query(`SELECT * FROM read_parquet(${sqlString(file)}) ORDER BY timestamp NULLS LAST`);
      expect(back.rows).toEqual(rows);
    } finally {
      engine.close();
    }
  });
});
