import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../functions/lib/config/schema';
import { ingestFiles, MAX_ROWS_PER_OBJECT, type IngestSummary } from '../functions/lib/jobs/ingest';
import { readRows } from '../functions/lib/parquet/io';
import { listAll } from '../functions/lib/store/port';
import { LocalObjectStore } from '../functions/lib/store/local';
import { decodePayload } from '../functions/lib/telemetry/decode';
import type { RawRecord } from '../schemas/raw-record';

const FIX = fileURLToPath(new URL('../fixtures/otlp/', import.meta.url));
const fx = (name: string) => path.join(FIX, name);
const NOW = Date.UTC(2026, 2, 10, 15, 30, 7);
const KEY_RE =
  /^raw\/year=2026\/month=03\/day=10\/hour=15\/cclake-telemetry-1-2026-03-10-15-30-07-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$/;
const CONTENT_VALUES = ['<REDACTED>', 'SECRET_TAX_TABLE_LOOKUP', 'TAX_RATE', 'invoice.ts'];

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cclake-ingest-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function lakeRows(store: LocalObjectStore): Promise<{ key: string; rows: RawRecord[] }[]> {
  const out = [];
  for (const o of await listAll(store, '')) out.push({ key: o.key, rows: readRows<RawRecord>(await store.get(o.key)) });
  return out;
}

/** Every string anywhere in a row: column values, attribute keys and attribute values. */
function strings(r: RawRecord): string[] {
  const out: string[] = [];
  for (const v of Object.values(r)) {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(k, String(x));
  }
  return out;
}

describe('ingestFiles: the fixtures into a local lake', () => {
  let lake: string;
  let store: LocalObjectStore;
  let summary: IngestSummary;
  const config = ConfigSchema.parse({});

  beforeAll(async () => {
    lake = tempDir();
    store = new LocalObjectStore(lake);
    summary = await ingestFiles(store, config, [fx('claude-code-logs.json'), fx('claude-code-metrics.json')], { now: NOW });
  });

  it('writes Firehose-layout keys and reports what it did', async () => {
    expect(summary).toMatchObject({ filesRead: 2, filesFailed: [], recordsWritten: 21, contentAttributesDropped: 2, errors: [] });
    expect(summary.objectsWritten).toHaveLength(1);
    for (const k of summary.objectsWritten) expect(k).toMatch(KEY_RE);
    expect((await listAll(store, 'raw/')).map((o) => o.key)).toEqual(summary.objectsWritten);
  });

  it('writes Snappy Parquet that DuckDB reads', async () => {
    const file = path.join(lake, ...summary.objectsWritten[0]!.split('/'));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const codecs = (await conn.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)).getRowObjectsJS();
      expect(codecs.map((r) => r.compression)).toEqual(['SNAPPY']);
      const agg = (
        await conn.runAndReadAll(
          `SELECT count(*)::INTEGER AS n, sum(input_tokens)::INTEGER AS input FROM read_parquet('${file}') WHERE name = 'claude_code.api_request'`,
        )
      ).getRowObjectsJS();
      expect(agg).toEqual([{ n: 2, input: 1234 + 310 }]);
    } finally {
      conn.closeSync();
    }
  });

  it('stores exactly the values of the export', async () => {
    const [{ rows }] = (await lakeRows(store)) as [{ key: string; rows: RawRecord[] }];
    const expected = [
      ...decodePayload(readFileSync(fx('claude-code-logs.json'))).records,
      ...decodePayload(readFileSync(fx('claude-code-metrics.json'))).records,
    ];
    expect(rows).toEqual(expected);
    const req = rows.find((r) => r.request_id === 'req_01HZXK3Q9V2B7M4N6P8R0T2W4Y')!;
    expect(req).toMatchObject({
      input_tokens: 1234,
      output_tokens: 567,
      cache_read_tokens: 8900,
      cache_creation_tokens: 120,
      cost_usd: 0.0123,
      duration_ms: 1834,
      ttft_ms: 412.5,
      event_time: Date.parse('2026-03-10T14:03:04.876Z'),
    });
    expect(rows.find((r) => r.name === 'claude_code.api_error')).toMatchObject({ status_code: 529, attempt: 2 });
    expect(rows.find((r) => r.name === 'claude_code.tool_result')).toMatchObject({ success: true, duration_ms: 87 });
    expect(rows.filter((r) => r.temporality === 'cumulative').map((r) => r.value)).toEqual([5000, 7250]);
  });

  it('lets no content attribute reach the lake', async () => {
    let scanned = 0;
    for (const { rows } of await lakeRows(store)) {
      for (const r of rows) {
        for (const s of strings(r)) {
          scanned++;
          for (const bad of CONTENT_VALUES) expect(s).not.toContain(bad);
        }
        expect(Object.keys(r.attributes ?? {})).not.toContain('prompt');
        expect(Object.keys(r.attributes ?? {})).not.toContain('tool_parameters');
      }
    }
    expect(scanned).toBeGreaterThan(100);
  });

  it('keeps content only when the config opts in (and the scan would see it)', async () => {
    const optIn = new LocalObjectStore(tempDir());
    const s = await ingestFiles(optIn, ConfigSchema.parse({ ingest: { keepContentAttributes: true } }), [fx('claude-code-logs.json')], { now: NOW });
    expect(s.contentAttributesDropped).toBe(0);
    const all = (await lakeRows(optIn)).flatMap((o) => o.rows.flatMap(strings)).join('\n');
    expect(all).toContain('<REDACTED>');
    expect(all).toContain('SECRET_TAX_TABLE_LOOKUP');
  });
});

describe('ingestFiles: bad input', () => {
  it('names each bad file with its reason while the good files land', async () => {
    const store = new LocalObjectStore(tempDir());
    const files = [
      fx('bad/not-json.json'),
      fx('claude-code-logs.json'),
      fx('bad/truncated.json'),
      fx('bad/unknown-signal.json'),
      fx('bad/no-timestamp.json'),
      fx('bad/does-not-exist.json'),
      fx('claude-code-metrics.json'),
    ];
    const s = await ingestFiles(store, ConfigSchema.parse({}), files, { now: NOW });
    expect(s.filesRead).toBe(2);
    expect(s.recordsWritten).toBe(21);
    const reasons = Object.fromEntries(s.filesFailed.map((f) => [path.basename(f.file), f.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['does-not-exist.json', 'no-timestamp.json', 'not-json.json', 'truncated.json', 'unknown-signal.json']);
    expect(reasons['not-json.json']).toMatch(/^not JSON: /);
    expect(reasons['truncated.json']).toMatch(/^not JSON: Unexpected end of JSON input/);
    expect(reasons['unknown-signal.json']).toBe('unknown signal: object has none of resourceLogs, resourceMetrics, resourceSpans, logEvents, _aws');
    expect(reasons['no-timestamp.json']).toBe('log record 0 in resourceLogs[0].scopeLogs[0] has no timestamp');
    expect(reasons['does-not-exist.json']).toBe('cannot read: file not found');
    const rows = (await lakeRows(store)).flatMap((o) => o.rows);
    expect(rows).toHaveLength(21);
    expect(s.files.map((f) => f.failed)).toEqual([true, false, true, true, true, true, false]);
  });

  it('lists record-level errors with file and location and lands the good records of the file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mixed.jsonl');
    const logs = JSON.parse(readFileSync(fx('claude-code-logs.json'), 'utf8'));
    const noTs = JSON.parse(readFileSync(fx('bad/no-timestamp.json'), 'utf8'));
    writeFileSync(file, [JSON.stringify(logs), '{"resourceLogs": [', JSON.stringify(noTs), ''].join('\n'));
    const store = new LocalObjectStore(path.join(dir, 'lake'));
    const s = await ingestFiles(store, ConfigSchema.parse({}), [file], { now: NOW });
    expect(s.filesFailed).toEqual([]);
    expect(s.recordsWritten).toBe(6);
    expect(s.errors.map((e) => [path.basename(e.file), e.where])).toEqual([
      ['mixed.jsonl', 'line 2'],
      ['mixed.jsonl', 'line 3.resourceLogs[0].scopeLogs[0].logRecords[0]'],
    ]);
    expect(s.errors[1]!.reason).toBe('log record 0 in resourceLogs[0].scopeLogs[0] has no timestamp');
  });

  it(`splits output into objects of at most ${MAX_ROWS_PER_OBJECT} rows`, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'big.json');
    const n = MAX_ROWS_PER_OBJECT + 7;
    const points = Array.from({ length: n }, (_, i) => ({
      timeUnixNano: String(1773151440000000000n + BigInt(i) * 1000000n),
      asInt: String(i),
      attributes: [{ key: 'type', value: { stringValue: 'input' } }],
    }));
    writeFileSync(
      file,
      JSON.stringify({
        resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'claude_code.token.usage', sum: { aggregationTemporality: 1, dataPoints: points } }] }] }],
      }),
    );
    const store = new LocalObjectStore(path.join(dir, 'lake'));
    const s = await ingestFiles(store, ConfigSchema.parse({ raw: { prefix: 'landing/raw/', streamName: 'my-stream' } }), [file], { now: NOW });
    expect(s.recordsWritten).toBe(n);
    expect(s.objectsWritten).toHaveLength(2);
    for (const k of s.objectsWritten)
      expect(k).toMatch(/^landing\/raw\/year=2026\/month=03\/day=10\/hour=15\/my-stream-1-2026-03-10-15-30-07-[0-9a-f-]{36}\.parquet$/);
    const counts = await Promise.all(s.objectsWritten.map(async (k) => readRows(await store.get(k)).length));
    expect(counts.sort((a, b) => b - a)).toEqual([MAX_ROWS_PER_OBJECT, 7]);
  });
});
