/**
 * Row-group concatenation of Parquet files (compaction joins its sorted zstd slices with it):
 * DuckDB and parquet-wasm, two independent readers, read the joined file as the inputs' rows in
 * order, with every column, statistic, dictionary and bloom filter usable; bad inputs are refused
 * by name and leave nothing half-written that looks like Parquet.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pq from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, sqlString } from '../functions/lib/engine/duckdb';
import { concatParquet } from '../functions/lib/parquet/concat';
import { decodeStruct, encodeStruct } from '../functions/lib/parquet/thrift-compact';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-concat-');
let dir: string;
let engine: DuckDBEngine;
const file = (name: string) => path.join(dir, name);

/** Rows with strings (a dictionary-friendly one and a unique one), nulls, a double, a map and a timestamp. */
const rowsSql = (
  from: number,
  to: number,
) => `SELECT i, 'user-' || (i % 7) AS team, md5(i::VARCHAR) AS id, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.5 END AS cost,
  MAP {'k': 'v' || (i % 3)} AS attrs, make_timestamp(1700000000000000 + i * 1000000) AS t FROM range(${from}, ${to}) r(i)`;

beforeAll(async () => {
  dir = tmp.make();
  engine = await DuckDBEngine.open();
  // Three files with different row group sizes; the first has several row groups.
  await engine.run(`COPY (${rowsSql(0, 25_000)}) TO ${sqlString(file('a.parquet'))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)`);
  await engine.run(`COPY (${rowsSql(25_000, 26_000)}) TO ${sqlString(file('b.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  await engine.run(`COPY (${rowsSql(26_000, 60_000)}) TO ${sqlString(file('c.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  await engine.run(`COPY (SELECT i, team FROM (${rowsSql(0, 10)})) TO ${sqlString(file('other.parquet'))} (FORMAT parquet)`);
});
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

describe('concatParquet', () => {
  it('joins row groups in order: same rows, same order, every column readable by DuckDB', async () => {
    const r = await concatParquet([file('a.parquet'), file('b.parquet'), file('c.parquet')], file('abc.parquet'));
    expect(r.rows).toBe(60_000);
    const groups = (await engine.query(`SELECT count(*) AS n FROM parquet_metadata(${sqlString(file('a.parquet'))}) WHERE path_in_schema = 'i'`)).rows[0]!
      .n as number;
    expect(groups).toBeGreaterThan(1);
    expect(r.rowGroups).toBe(groups + 2);
    // Row order as well as content: the file row number of the join equals the source position.
    const diff = await engine.query(`
      WITH src AS (SELECT *, row_number() OVER () - 1 AS pos FROM (
             SELECT * FROM read_parquet(${sqlString(file('a.parquet'))}) UNION ALL SELECT * FROM read_parquet(${sqlString(file('b.parquet'))})
             UNION ALL SELECT * FROM read_parquet(${sqlString(file('c.parquet'))}))),
           joined AS (SELECT * EXCLUDE (file_row_number), file_row_number AS pos FROM read_parquet(${sqlString(file('abc.parquet'))}, file_row_number = true))
      SELECT (SELECT count(*) FROM (SELECT * FROM joined EXCEPT ALL SELECT * FROM src)) AS extra,
             (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM joined)) AS missing,
             (SELECT count(*) FROM joined WHERE pos <> i) AS misplaced`);
    expect(diff.rows[0]).toEqual({ extra: 0, missing: 0, misplaced: 0 });
    // Footer statistics moved with their row groups: a range filter prunes to the right rows.
    const picked = await engine.query(
      `SELECT count(*) AS n, min(i) AS lo FROM read_parquet(${sqlString(file('abc.parquet'))}) WHERE i >= 25500 AND cost IS NULL`,
    );
    expect(picked.rows[0]).toEqual({ n: (60_000 - 25_500) / 5, lo: 25_500 });
  });

  it('keeps bloom filters usable at their new offsets', async () => {
    await concatParquet([file('a.parquet'), file('c.parquet')], file('ac.parquet'));
    const blooms = await engine.query(`SELECT count(*) AS n FROM parquet_metadata(${sqlString(file('ac.parquet'))}) WHERE bloom_filter_offset IS NOT NULL`);
    expect(blooms.rows[0]!.n as number).toBeGreaterThan(0);
    // A team value present only in some row groups' dictionaries is found; an absent one is excluded.
    const probe = await engine.query(
      `SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${sqlString(file('ac.parquet'))}, 'team', 'user-3') ORDER BY row_group_id`,
    );
    expect(probe.rows.every((r) => r.bloom_filter_excludes === false)).toBe(true);
    const absent = await engine.query(
      `SELECT bool_and(bloom_filter_excludes) AS all FROM parquet_bloom_probe(${sqlString(file('ac.parquet'))}, 'team', 'nobody')`,
    );
    expect(absent.rows[0]!.all).toBe(true);
  });

  it('is read the same by parquet-wasm, an independent reader', async () => {
    const table = pq.readParquet(readFileSync(file('abc.parquet'))).intoIPCStream();
    const { tableFromIPC } = await import('apache-arrow');
    const t = tableFromIPC(table);
    expect(t.numRows).toBe(60_000);
    const ids = t.getChild('i')!.toArray() as BigInt64Array;
    expect(Number(ids[0])).toBe(0);
    expect(Number(ids[25_000])).toBe(25_000);
    expect(Number(ids[59_999])).toBe(59_999);
    expect(t.getChild('team')!.get(26_003)).toBe(`user-${26_003 % 7}`);
  });

  it('refuses files of another schema, naming the file', async () => {
    await expect(concatParquet([file('a.parquet'), file('other.parquet')], file('bad.parquet'))).rejects.toThrow(
      /other\.parquet: its schema differs from .*a\.parquet/,
    );
  });

  it('refuses a truncated or non-Parquet input, naming it', async () => {
    const bytes = readFileSync(file('b.parquet'));
    writeFileSync(file('truncated.parquet'), bytes.subarray(0, bytes.length - 100));
    writeFileSync(file('text.parquet'), 'not parquet at all, just some text');
    await expect(concatParquet([file('a.parquet'), file('truncated.parquet')], file('bad.parquet'))).rejects.toThrow(
      /truncated\.parquet: not a plain Parquet file/,
    );
    await expect(concatParquet([file('text.parquet')], file('bad.parquet'))).rejects.toThrow(/text\.parquet: not a plain Parquet file/);
  });
});

describe('Thrift compact codec', () => {
  it('re-encodes a real Parquet footer byte for byte', () => {
    for (const name of ['a.parquet', 'c.parquet']) {
      const bytes = readFileSync(file(name));
      const len = bytes.readUInt32LE(bytes.length - 8);
      const footer = bytes.subarray(bytes.length - 8 - len, bytes.length - 8);
      const { struct, end } = decodeStruct(footer);
      expect(end).toBe(footer.length);
      expect(Buffer.from(encodeStruct(struct)).equals(footer)).toBe(true);
    }
  });

  it('names the byte where malformed data ends early', () => {
    expect(() => decodeStruct(Uint8Array.from([0x15, 0x02, 0x18]))).toThrow(/malformed Thrift compact data at byte \d+: unexpected end/);
  });
});
