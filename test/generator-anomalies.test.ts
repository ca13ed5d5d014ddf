/**
 * `generate --anomalies`: without the flag the lake is byte-identical to the generator's output
 * before the flag existed (digests taken from that code); with it, the labels are written beside the
 * lake, the lake is the same on one thread or several, and each label is true of the raw data.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../functions/lib/config/load';
import { DuckDBEngine } from '../functions/lib/engine/duckdb';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { ANOMALY_LABELS_KEY, NEW_MCP_SERVER, UNAPPROVED_MODEL, type AnomalyLabels } from '../functions/lib/generator/anomalies';
import { MODELS } from '../functions/lib/generator/activity';
import { generate, type GenerateSummary } from '../functions/lib/jobs/generate';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';

const config = parseConfig({});
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempLake = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cclake-gen-anomalies-'));
  dirs.push(d);
  return new LocalObjectStore(d);
};

/** One digest over every object's key and bytes. */
async function lakeDigest(store: LocalObjectStore): Promise<string> {
  const h = createHash('sha256');
  for (const o of await listAll(store, ''))
    h.update(
      o.key +
        '\0' +
        createHash('sha256')
          .update(await store.get(o.key))
          .digest('hex') +
        '\n',
    );
  return h.digest('hex');
}

describe('without --anomalies', () => {
  it.each([
    // sha256 over (key, sha256 of bytes) of every object, from the generator without --anomalies. Issue
    // 17 changed it once on purpose (new raw columns in every file; spans and 2026 events from their own
    // random stream; the MCP server in its column): every row generated before kept its values and its
    // delivery delay (checked against the previous generator on 40 developers x 3 days, 37,520 rows).
    [false, '52b4c3cbf9eef8869c309ee30ec4eb2bcda3727dcadc1c1d05ea773443793eb3'],
    [true, '8c20456fba0a054a8dedbb02b28176f8d35ea144d29925b7eadc359153074c7d'],
  ])('writes exactly the lake it wrote before the flag existed (faults %s)', async (faults, digest) => {
    const store = tempLake();
    const s = await generate(store, config, { users: 30, days: 3, end: '2026-11-20', seed: 'golden', faults, usersPerPartition: 16, concurrency: 1 });
    expect(s.anomalies).toBeNull();
    expect(await lakeDigest(store)).toBe(digest);
  });

  it('refuses --anomalies on a period too short for a baseline, before writing anything', async () => {
    const store = tempLake();
    await expect(generate(store, config, { users: 5, days: 14, end: '2026-11-20', seed: 1, anomalies: true })).rejects.toThrow(
      /--anomalies needs --days 28 or more \(got 14\)/,
    );
    expect(await listAll(store, '')).toEqual([]);
  });
});

describe('with --anomalies', () => {
  let store: LocalObjectStore;
  let summary: GenerateSummary;
  let labels: AnomalyLabels;
  let engine: DuckDBEngine;
  const q = async (sql: string, params: (string | number)[] = []) => (await engine.query(sql, params)).rows;

  beforeAll(async () => {
    store = tempLake();
    summary = await generate(store, config, { users: 12, days: 30, end: '2026-11-20', seed: 'labels', anomalies: true, usersPerPartition: 6, concurrency: 1 });
    labels = JSON.parse(readFileSync(path.join(store.root, ...ANOMALY_LABELS_KEY.split('/')), 'utf8')) as AnomalyLabels;
    engine = await DuckDBEngine.open();
    await registerLakeViews(engine, store, config);
    await engine.run('CREATE TABLE raw AS SELECT *, coalesce(lower(user_email), user_id) AS user_key, CAST(event_time AS DATE) AS day FROM events_raw');
  }, 120_000);
  afterAll(() => engine?.close());

  it('writes the labels it returns, one required label per expected alert, on working days after the warm-up', () => {
    expect(summary.anomaliesKey).toBe(ANOMALY_LABELS_KEY);
    expect(labels).toEqual({ seed: 'labels', from: '2026-10-22', to: '2026-11-20', labels: summary.anomalies });
    const required = labels.labels.filter((l) => l.required);
    expect(required.map((l) => l.detector).sort()).toEqual([
      'compliance_violations',
      'compliance_violations',
      'cost_spike',
      'error_rate',
      'latency_p95',
      'new_mcp_server',
      'new_model',
      'unusual_hours',
    ]);
    for (const l of required) {
      expect(l.dt >= '2026-11-12').toBe(true);
      expect([1, 2, 3, 4, 5]).toContain(new Date(`${l.dt}T00:00:00Z`).getUTCDay());
    }
  });

  it('is the same lake on two worker threads', async () => {
    const other = tempLake();
    await generate(other, config, { users: 12, days: 30, end: '2026-11-20', seed: 'labels', anomalies: true, usersPerPartition: 6, concurrency: 2 });
    expect(await lakeDigest(other)).toBe(await lakeDigest(store));
  }, 120_000);

  it('every label is true of the raw data', async () => {
    const label = (detector: string) => labels.labels.find((l) => l.required && l.detector === detector)!;
    // A cost spike: at least 10x the developer's median active day.
    const spike = label('cost_spike');
    const days = await q(`SELECT day, sum(cost_usd) AS cost FROM raw WHERE user_key = ? AND name = 'claude_code.api_request' GROUP BY day`, [spike.entity]);
    const costs = days
      .filter((d) => d.day !== spike.dt)
      .map((d) => Number(d.cost))
      .sort((a, b) => a - b);
    const spikeCost = Number(days.find((d) => d.day === spike.dt)!.cost);
    expect(spikeCost).toBeGreaterThanOrEqual(75);
    expect(spikeCost).toBeGreaterThanOrEqual(10 * costs[Math.floor(costs.length / 2)]! * 0.9);
    // The unapproved model: only its team, only on its two days.
    const unapproved = await q(`SELECT DISTINCT day FROM raw WHERE model = ? ORDER BY day`, [UNAPPROVED_MODEL.id]);
    expect(unapproved.map((r) => r.day)).toEqual(
      labels.labels.filter((l) => l.kind === 'unapproved_model' && l.detector === 'compliance_violations').map((l) => l.dt),
    );
    // The new MCP server: one team-day.
    expect(await q(`SELECT DISTINCT day FROM raw WHERE mcp_server_name = ?`, [NEW_MCP_SERVER])).toEqual([{ day: label('new_mcp_server').dt }]);
    // The night burst: requests at an hour the developer never worked in the four weeks before.
    const burst = label('unusual_hours');
    const hours = await q(`SELECT day, hour(event_time) AS h, count(*) AS n FROM raw WHERE user_key = ? AND name = 'claude_code.api_request' GROUP BY day, h`, [
      burst.entity,
    ]);
    const before = new Set(hours.filter((r) => String(r.day) < burst.dt).map((r) => Number(r.h)));
    const odd = hours.filter((r) => r.day === burst.dt && [...before].every((h) => Math.min(Math.abs(h - Number(r.h)), 24 - Math.abs(h - Number(r.h))) >= 4));
    expect(odd.reduce((n, r) => n + Number(r.n), 0)).toBeGreaterThanOrEqual(10);
    // The error incident: the Sonnet profile's error rate that day is many times its usual.
    const rate = async (day: string) => {
      const [r] = await q(
        `SELECT count(*) FILTER (WHERE name = 'claude_code.api_error') AS e, count(*) AS n FROM raw WHERE model = ? AND day = CAST(? AS DATE) AND name IN ('claude_code.api_request', 'claude_code.api_error')`,
        [MODELS.sonnet.id, day],
      );
      return Number(r!.e) / Number(r!.n);
    };
    expect(await rate(label('error_rate').dt)).toBeGreaterThan(0.1);
    expect(await rate('2026-11-03')).toBeLessThan(0.03);
    // The latency incident: p95 several times a normal day's.
    const p95 = async (day: string) =>
      Number(
        (
          await q(`SELECT quantile_cont(duration_ms, 0.95) AS p FROM raw WHERE model = ? AND day = CAST(? AS DATE) AND name = 'claude_code.api_request'`, [
            MODELS.sonnet.id,
            day,
          ])
        )[0]!.p,
      );
    expect(await p95(label('latency_p95').dt)).toBeGreaterThan(2 * (await p95('2026-11-03')));
  });
});
