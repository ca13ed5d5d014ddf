/**
 * Anomaly detection quality (issue 9), on a generated lake with injected, labelled anomalies
 * (`generate --anomalies`, cached like the other benches): compaction, catalog, rollup, then the
 * detectors; their alerts are matched with the labels.
 *  - recall: required labels found / required labels (target: every one);
 *  - false positives: alerts matching no label / all alerts (target: under 5% over the period).
 * Also timed: the detectors' run, and the unusual-hours input read from the user_hours_daily rollup
 * against the same per-hour counts computed from the curated events (why the rollup exists).
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { LocalNotifier } from '../functions/lib/anomalies/notifier/local';
import { evaluateDetection } from '../functions/lib/anomalies/evaluate';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { ANOMALY_LABELS_KEY, type AnomalyLabels } from '../functions/lib/generator/anomalies';
import { detectAnomalies } from '../functions/lib/jobs/anomalies';
import { compact } from '../functions/lib/jobs/compact';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { addDays } from '../functions/lib/util/dates';
import { cachedRawLake, freshCopy } from './compact';
import type { BenchResult } from './run';

const config = parseConfig({});
const NOW = Date.parse('2026-11-28T00:00:00Z');
const END = '2026-11-20';

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchAnomalies(users = 200, days = 60): Promise<BenchResult> {
  const dir = freshCopy(await cachedRawLake('anomalies', users, days, { anomalies: true }), 'anomalies');
  const store = new LocalObjectStore(dir);
  const catalog = catalogFromConfig(config, store);
  const labels = (JSON.parse(readFileSync(path.join(dir, ...ANOMALY_LABELS_KEY.split('/')), 'utf8')) as AnomalyLabels).labels;
  let t = performance.now();
  await compact(store, catalog, config, { now: NOW });
  await syncPartitions(store, catalog, config, { now: NOW });
  const compactSeconds = seconds(t);
  const engine = await LocalQueryEngine.open(store, config);
  try {
    t = performance.now();
    const rolled = await rollup(store, catalog, engine, config, { now: NOW });
    const rollupSeconds = seconds(t);
    t = performance.now();
    const run = await detectAnomalies(store, catalog, engine, new LocalNotifier(store, () => {}), config, { now: NOW });
    const detectSeconds = seconds(t);
    const ev = evaluateDetection(run.anomalies, labels);

    // The unusual-hours input, from the rollup and from the events, for the last day (28 days of history).
    const from = addDays(END, -config.anomalies.baselineDays);
    const fromRollup: number[] = [];
    const fromEvents: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      await engine.query(`SELECT dt, user_key, hour, requests FROM user_hours_daily WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)`, [from, END]);
      fromRollup.push(seconds(t) * 1000);
      t = performance.now();
      await engine.query(
        `SELECT dt, user_key, hour(event_time) AS hour, count(*) AS requests FROM events WHERE dt BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AND name = 'claude_code.api_request' GROUP BY dt, user_key, hour(event_time)`,
        [from, END],
      );
      fromEvents.push(seconds(t) * 1000);
    }
    const kinds = Object.entries(ev.byKind)
      .map(([k, v]) => `${k} ${v.found}/${v.required}`)
      .join(', ');
    const fpLines = ev.falsePositives
      .slice(0, 10)
      .map(
        (a) =>
          `false positive: ${a.dt} ${a.detector} ${a.entityType} ${a.entity}: ${run.anomalies.find((x) => x.dt === a.dt && x.detector === a.detector && x.entity === a.entity)?.message ?? ''}`,
      );
    const missedLines = ev.missed.map((l) => `missed: ${l.dt} ${l.detector} ${l.entity_type} ${l.entity} (${l.description})`);
    const ok = ev.recall === 1 && ev.falsePositiveShare < 0.05;
    return {
      name: `anomalies (${users} developers x ${days} days, labelled injections)`,
      lines: [
        `compaction + catalog ${compactSeconds.toFixed(1)} s; rollup ${rolled.days.length} table-days ${rollupSeconds.toFixed(1)} s; detectors over ${run.days.length} days ${detectSeconds.toFixed(1)} s`,
        `alerts: ${ev.alerts} (${Object.entries(run.byDetector)
          .map(([d, n]) => `${d} ${n}`)
          .join(', ')})`,
        `recall: ${ev.found}/${ev.required} required labels = ${(ev.recall * 100).toFixed(1)}% (${kinds})`,
        `false positives: ${ev.falsePositives.length}/${ev.alerts} alerts = ${(ev.falsePositiveShare * 100).toFixed(1)}%`,
        ...missedLines,
        ...fpLines,
        `unusual-hours input (28 days of per-user hours): user_hours_daily ${median(fromRollup).toFixed(0)} ms, from the curated events ${median(fromEvents).toFixed(0)} ms (medians of 3)`,
      ],
      target: { description: 'every injected anomaly found and under 5% false positives', met: ok },
    };
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
