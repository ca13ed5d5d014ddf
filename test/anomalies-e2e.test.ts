/**
 * End to end on a small generated lake with labelled anomalies (`generate --anomalies`: 10
 * developers, 28 days): compaction, catalog, rollup, then the detectors. Every injected anomaly is
 * found, nothing else is; the `anomalies` view has the contract's columns; the alerts land on stdout
 * and in alerts/dt=<day>/alerts.json; reruns send nothing again, and recomputing a day keeps its ids.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/main';
import { LocalNotifier } from '../functions/lib/anomalies/notifier/local';
import { evaluateDetection } from '../functions/lib/anomalies/evaluate';
import { loadLedger } from '../functions/lib/anomalies/delivery';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { ANOMALY_LABELS_KEY, type AnomalyLabels } from '../functions/lib/generator/anomalies';
import { detectAnomalies, type AnomaliesSummary } from '../functions/lib/jobs/anomalies';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-anomalies-e2e-');
afterAll(() => tmp.cleanup());
const config = parseConfig({});
const END = '2026-11-20';
const NOW = Date.parse('2026-11-24T00:00:00Z');

describe('anomalies end to end on a generated lake with labelled injections', () => {
  let store: LocalObjectStore;
  let engine: LocalQueryEngine;
  let labels: AnomalyLabels;
  let first: AnomaliesSummary;
  const printed: string[] = [];

  beforeAll(async () => {
    store = new LocalObjectStore(tmp.make());
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    const gen = await generate(store, config, { users: 10, days: 28, end: END, seed: 'e2e', anomalies: true, concurrency: 1 });
    labels = JSON.parse(readFileSync(path.join(store.root, ...ANOMALY_LABELS_KEY.split('/')), 'utf8')) as AnomalyLabels;
    expect(gen.anomalies).toEqual(labels.labels);
    await compact(store, catalog, config, { now: NOW });
    await syncPartitions(store, catalog, config, { now: NOW });
    engine = await LocalQueryEngine.open(store, config);
    await rollup(store, catalog, engine, config, { now: NOW });
    first = await detectAnomalies(store, catalog, engine, new LocalNotifier(store, (l) => printed.push(l)), config, { now: NOW });
  }, 240_000);
  afterAll(() => engine?.close());

  it('labels one injection of each kind, after three weeks of normal traffic', () => {
    const required = labels.labels.filter((l) => l.required);
    expect([...new Set(required.map((l) => l.kind))].sort()).toEqual([
      'cost_spike',
      'error_incident',
      'latency_incident',
      'new_mcp_server',
      'night_burst',
      'unapproved_model',
    ]);
    expect(required.every((l) => l.dt >= '2026-11-14' && l.dt <= END)).toBe(true);
  });

  it('finds every injected anomaly and nothing else', () => {
    const ev = evaluateDetection(first.anomalies, labels.labels);
    expect(ev.missed).toEqual([]);
    expect(ev.falsePositives).toEqual([]);
    expect(ev.recall).toBe(1);
  });

  it('judged every day the rollup computed (a weekend nobody worked has no rollup and nothing to judge)', async () => {
    const rolled = (await new PartitionCommits(store).list('user_daily')).map((c) => c.dt);
    expect(rolled.length).toBeGreaterThan(20);
    expect(first.days.map((d) => [d.dt, d.reason])).toEqual(rolled.map((dt) => [dt, 'new']));
    expect(first.days.reduce((n, d) => n + d.anomalies, 0)).toBe(first.anomalies.length);
  });

  it('serves the anomalies view with the contract columns, one row per anomaly', async () => {
    const result = await engine.query('SELECT * FROM anomalies ORDER BY dt, detector, entity');
    expect(result.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'dt DATE',
      'detector VARCHAR',
      'entity_type VARCHAR',
      'entity VARCHAR',
      'observed DOUBLE',
      'baseline DOUBLE',
      'score DOUBLE',
      'severity VARCHAR',
      'message VARCHAR',
    ]);
    expect(result.rows.length).toBe(first.anomalies.length);
    const spike = result.rows.find((r) => r.detector === 'cost_spike')!;
    const label = labels.labels.find((l) => l.detector === 'cost_spike' && l.required)!;
    expect(spike).toMatchObject({ dt: label.dt, entity_type: 'user', entity: label.entity, severity: 'critical' });
    expect(String(spike.message)).toMatch(
      /^Cost of developer .* was \$[\d,.]+, [\d.]+x its baseline of \$[\d,.]+ \(median of \d+ (working days|days) in the previous 28; robust z [\d.]+\)\.$/,
    );
  });

  it('delivers each alert to stdout and to alerts/dt=<day>/alerts.json, and records it in the ledger', async () => {
    expect(first.delivery).toMatchObject({ newAnomalies: first.anomalies.length, delivered: first.anomalies.length, digest: false, failed: [] });
    expect(printed.length).toBe(first.anomalies.length);
    for (const a of first.anomalies) {
      expect(printed).toContain(`ALERT [${a.severity}] ${a.dt} ${a.detector} ${a.entityType} ${a.entity}: ${a.message}`);
      const file = path.join(store.root, 'alerts', `dt=${a.dt}`, 'alerts.json');
      expect(existsSync(file)).toBe(true);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { id: string }[]).map((x) => x.id)).toContain(a.id);
    }
    expect(Object.keys((await loadLedger(store)).delivered).sort()).toEqual(first.anomalies.map((a) => a.id).sort());
  });

  it('a rerun judges nothing (no rollup changed) and sends nothing; recomputing a day keeps its ids and sends nothing', async () => {
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    const lines: string[] = [];
    const notifier = new LocalNotifier(store, (l) => lines.push(l));
    const again = await detectAnomalies(store, catalog, engine, notifier, config, { now: NOW });
    expect(again.days).toEqual([]);
    expect(again.delivery).toMatchObject({ attempted: 0, newAnomalies: 0 });

    const dt = labels.labels.find((l) => l.kind === 'unapproved_model')!.dt;
    const redo = await detectAnomalies(store, catalog, engine, notifier, config, { dt, now: NOW });
    expect(redo.days).toEqual([expect.objectContaining({ dt, generation: 2, reason: 'requested' })]);
    expect(redo.anomalies.map((a) => a.id).sort()).toEqual(
      first.anomalies
        .filter((a) => a.dt === dt)
        .map((a) => a.id)
        .sort(),
    );
    expect(redo.delivery).toMatchObject({ alreadyDelivered: redo.anomalies.length, attempted: 0 });
    expect(lines).toEqual([]);
    expect(await new PartitionCommits(store).get('detected_anomalies', dt)).toMatchObject({ generation: 2, rows: redo.anomalies.length });
    // The view reads the new generation only: no doubled rows.
    expect((await engine.query('SELECT count(*) AS n FROM anomalies WHERE dt = CAST(? AS DATE)', [dt])).rows[0]!.n).toBe(redo.anomalies.length);
  });

  it('cclake anomalies: exit 0, says nothing changed', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['anomalies', '--lake', store.root], { out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(0);
    expect(out.join('\n')).toMatch(/^no day whose rollups changed since its anomalies were computed/);
    expect(await main(['anomalies', '--lake', store.root, '--dt', '2026-11-20', '--from', '2026-11-01'], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
    expect(err.join('\n')).toContain('give --dt or --from/--to, not both');
  });
});
