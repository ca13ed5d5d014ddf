/**
 * Crash safety of compaction with real processes: `cclake compact` is killed with SIGKILL at 20+
 * random points over a faulty generated lake while new raw data keeps arriving; after one last
 * uninterrupted run the curated rows must equal the distinct valid raw rows (as multisets,
 * record_id + a hash of every column): nothing lost, nothing doubled.
 *
 * The raw data comes from one faulty generated lake, split by arrival hour: the objects that
 * arrived before a cutoff form the starting lake, the later ones are copied in, in arrival order,
 * between kills (as Firehose would deliver them), so incremental runs, late rows reopening
 * committed dates and redeliveries across runs are all exercised. The OTLP fixture is ingested
 * once on the way (a new, far older event date).
 *
 * Set CCLAKE_CRASH_SEED to replay a failing sequence (the seed and delays are printed on failure).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURATED_EVENTS } from '../schemas/curated-events';
import { PartitionCommits } from '../functions/lib/catalog/commits';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { loadConfig } from '../functions/lib/config/load';
import { registerLakeViews } from '../functions/lib/engine/lake-views';
import { FAULT_LABELS_KEY, generate, type FaultLabels } from '../functions/lib/jobs/generate';
import { ingestFiles } from '../functions/lib/jobs/ingest';
import { parseConfig } from '../functions/lib/config/load';
import { arrivalHourOf } from '../functions/lib/raw/keys';
import { LocalObjectStore } from '../functions/lib/store/local';
import { listAll } from '../functions/lib/store/port';
import { compareLake, fileOf, prng, rawKeys, REPO, spawnCli, tempDirs, type CliRun, type LakeComparison } from './helpers/compaction-lake';

const SEED = process.env.CCLAKE_CRASH_SEED ?? `crash-${Date.now().toString(36)}`;
const MIN_KILLS = 20;
const MAX_ITERATIONS = 60;
const FIXTURE = path.join(REPO, 'fixtures', 'otlp', 'claude-code-logs.json');

const tmp = tempDirs('cclake-crash-');
afterAll(() => tmp.cleanup());

interface Step {
  i: number;
  delayMs: number;
  added: number;
  outcome: 'killed' | 'completed' | 'failed';
  ms: number;
  detail?: string;
}

describe('compaction under SIGKILL', () => {
  let src: LocalObjectStore;
  let labels: FaultLabels;
  let lake: LocalObjectStore;
  let configFile: string;
  let childTmp: string;
  let batches: string[][] = [];
  let measuredMs = 0;
  const steps: Step[] = [];
  let finalRun: CliRun;
  let comparison: LakeComparison;
  let ingestedKeys: string[] = [];

  const copyIn = (keys: string[]) => {
    for (const k of keys) {
      const to = fileOf(lake, k);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(fileOf(src, k), to);
    }
  };

  beforeAll(async () => {
    src = new LocalObjectStore(tmp.make());
    await generate(src, parseConfig({}), { users: 12, days: 4, end: '2026-11-14', seed: 'crash', faults: true, concurrency: 1 });
    labels = JSON.parse(new TextDecoder().decode(await src.get(FAULT_LABELS_KEY))) as FaultLabels;
    const all = (await rawKeys(src)).sort((a, b) => arrivalHourOf(a)! - arrivalHourOf(b)! || (a < b ? -1 : 1));
    // Every raw object must have arrived by now, or an incremental run (which lists up to now + 1 day) could not see it yet.
    expect(Math.max(...all.map((k) => arrivalHourOf(k)!))).toBeLessThan(Date.now());
    const cutoff = Date.parse('2026-11-13T00:00:00Z');
    const base = all.filter((k) => arrivalHourOf(k)! < cutoff);
    const later = all.filter((k) => arrivalHourOf(k)! >= cutoff);
    const nBatches = 6;
    batches = Array.from({ length: nBatches }, (_, b) =>
      later.slice(Math.floor((b * later.length) / nBatches), Math.floor(((b + 1) * later.length) / nBatches)),
    );

    const root = tmp.make();
    lake = new LocalObjectStore(path.join(root, 'lake'));
    configFile = path.join(root, 'cclake.config.json');
    writeFileSync(configFile, JSON.stringify({ lake: { local: { path: lake.root } }, compaction: { targetFileSizeMiB: 1 } }));
    childTmp = path.join(root, 'tmp');
    mkdirSync(childTmp);
    copyIn(base);
    await lake.put(FAULT_LABELS_KEY, await src.get(FAULT_LABELS_KEY));

    // How long one uninterrupted run over the starting lake takes, in a throwaway copy.
    const probe = new LocalObjectStore(path.join(root, 'probe'));
    for (const k of base) {
      mkdirSync(path.dirname(fileOf(probe, k)), { recursive: true });
      copyFileSync(fileOf(src, k), fileOf(probe, k));
    }
    const run = await spawnCli(['compact', '--config', configFile, '--lake', probe.root], { TMPDIR: childTmp }).done;
    expect(run.code, run.stderr).toBe(0);
    measuredMs = run.ms;
  }, 120_000);

  it(`survives ${MIN_KILLS}+ SIGKILLs at random points with curated == distinct valid raw`, async () => {
    const rnd = prng(SEED);
    const context = () =>
      `seed ${SEED} (CCLAKE_CRASH_SEED to replay); uninterrupted run ${Math.round(measuredMs)} ms; steps:\n` +
      steps
        .map(
          (s) =>
            `  #${s.i} +${s.added} objects, ${Number.isFinite(s.delayMs) ? `kill after ${s.delayMs} ms` : 'no kill'} -> ${s.outcome} (${Math.round(s.ms)} ms)${s.detail ? ': ' + s.detail : ''}`,
        )
        .join('\n');
    let nextBatch = 0;
    let kills = 0;
    const env = { TMPDIR: childTmp };
    const config = loadConfig({ configFile }).config;
    let lastCompletedMs = 0;
    for (let i = 0; kills < MIN_KILLS && i < MAX_ITERATIONS; i++) {
      let added = 0;
      if (i % 3 === 1 && nextBatch < batches.length) {
        const batch = batches[nextBatch++]!;
        copyIn(batch);
        added += batch.length;
        if (nextBatch === 3) {
          // Ingest the OTLP fixture as of the latest arrival so far (a new, much older event date).
          const now = Math.max(...batch.map((k) => arrivalHourOf(k)!)) + 30 * 60_000;
          const before = new Set(await rawKeys(lake));
          const s = await ingestFiles(lake, config, [FIXTURE], { now });
          expect(s.errors, context()).toEqual([]);
          ingestedKeys = (await rawKeys(lake)).filter((k) => !before.has(k));
          added += ingestedKeys.length;
        }
      }
      // Every fifth run is left alone, so later kills hit incremental runs over committed dates.
      // A run with new data may take as long as the measured full run; a run after a completed one
      // with nothing added takes about as long as that one did, so kills are drawn from its length.
      const window = added > 0 || !lastCompletedMs ? measuredMs : lastCompletedMs;
      const delayMs = i % 5 === 4 ? Infinity : Math.round(rnd() * window);
      const { child, done } = spawnCli(['compact', '--config', configFile, '--lake', lake.root], env);
      const timer = Number.isFinite(delayMs) ? setTimeout(() => child.kill('SIGKILL'), delayMs) : undefined;
      const r = await done;
      clearTimeout(timer);
      const step: Step = {
        i,
        delayMs,
        added,
        ms: r.ms,
        outcome: r.signal === 'SIGKILL' ? 'killed' : r.code === 0 && !/compaction skipped/.test(r.stdout) ? 'completed' : 'failed',
      };
      lastCompletedMs = step.outcome === 'completed' ? r.ms : 0;
      if (step.outcome === 'killed') kills++;
      else step.detail = (r.stdout.split('\n')[0] ?? '') + (r.code !== 0 ? ` exit ${r.code}: ${r.stderr.trim().split('\n')[0]}` : '');
      steps.push(step);
      // A run that got to finish must succeed, and must not be locked out by a killed run's lock.
      expect(step.outcome, context()).not.toBe('failed');
    }
    expect(kills, context()).toBeGreaterThanOrEqual(MIN_KILLS);

    // The rest of the data, then one run to completion: it takes over the dead process's lock.
    while (nextBatch < batches.length) copyIn(batches[nextBatch++]!);
    finalRun = await spawnCli(['compact', '--config', configFile, '--lake', lake.root], env).done;
    expect(finalRun.code, `${finalRun.stderr}\n${context()}`).toBe(0);
    expect(finalRun.stdout, context()).not.toMatch(/compaction skipped/);
    expect(finalRun.stdout, context()).toMatch(/^compacted /);

    // curated == distinct rows of every valid raw object (labelled bad objects excluded).
    const bad = new Set([...labels.emptyObjects, ...labels.corruptObjects, ...labels.wrongSchemaObjects]);
    const raw = await rawKeys(lake);
    expect(new Set(raw), context()).toEqual(new Set([...(await rawKeys(src)), ...ingestedKeys]));
    const valid = raw.filter((k) => !bad.has(k));
    const config2 = loadConfig({ configFile }).config;
    comparison = await compareLake(lake, valid, async (engine) => {
      await registerLakeViews(engine, lake, config2);
    });
    const summary = `raw distinct ${comparison.rawDistinct}, curated rows ${comparison.curatedRows}, events rows ${comparison.eventsRows}\n${context()}`;
    expect(comparison.conflictingIds, summary).toBe(0);
    expect(comparison.missing, summary).toEqual([]);
    expect(comparison.extra, summary).toEqual([]);
    expect(comparison.curatedRows, summary).toBe(comparison.rawDistinct);
    expect(comparison.curatedDistinctIds, summary).toBe(comparison.rawDistinct);
    expect(comparison.eventsRows, summary).toBe(comparison.rawDistinct);
    expect(comparison.eventsMissing, summary).toEqual([]);
    expect(comparison.eventsExtra, summary).toEqual([]);

    // Every commit references files that exist and are not store temp files, and the catalog
    // partitions (what the `events` view reads) point at exactly the committed generations.
    const pointers = await new PartitionCommits(lake).list(CURATED_EVENTS.name);
    const published = await new LocalCatalog(lake, config2.aws.glueDatabase).listPartitions(CURATED_EVENTS.name);
    expect(published.map((p) => [p.values[0], p.location])).toEqual(pointers.map((p) => [p.dt, p.location]));
    expect(pointers.length).toBeGreaterThanOrEqual(5); // 4 generated dates (+ a skewed neighbour) and the fixture's date
    for (const p of pointers) {
      for (const f of p.files) {
        expect(f.key.startsWith(p.location), f.key).toBe(true);
        expect(f.key).not.toContain('.cclake-tmp');
        expect(existsSync(fileOf(lake, f.key)), `${p.dt}: ${f.key} is missing\n${context()}`).toBe(true);
      }
      expect(p.files.reduce((s, f) => s + (f.rows ?? 0), 0)).toBe(p.rows);
    }
    expect(
      pointers.some((p) => p.generation > 1),
      'late data reopened at least one date',
    ).toBe(true);

    // Quarantine: exactly the labelled bad objects, each with its reason; raw stays in raw/.
    const q = (await listAll(lake, 'quarantine/')).map((o) => o.key);
    const qObjects = q.filter((k) => !k.endsWith('.reason.json')).map((k) => k.slice('quarantine/'.length));
    expect(new Set(qObjects), context()).toEqual(bad);
    for (const k of qObjects) {
      expect(q, `quarantine/${k} has no .reason.json`).toContain(`quarantine/${k}.reason.json`);
      expect(existsSync(fileOf(lake, k))).toBe(true);
    }

    // Killed runs leave their lock behind; the final run took it over and released its own.
    expect((await listAll(lake, '_cclake/locks/')).map((o) => o.key)).toEqual([]);
    // Their scratch folders too: each run deletes those of runs whose process is gone.
    const leftovers = readdirSync(childTmp).filter((d) => d.startsWith('cclake-compact-'));
    expect(leftovers).toEqual([]);
    const tmpFiles = existsSync(path.join(lake.root, '.cclake-tmp')) ? readdirSync(path.join(lake.root, '.cclake-tmp')).length : 0;
    console.log(
      `crash test: seed ${SEED}; uninterrupted run ${Math.round(measuredMs)} ms; ${steps.length} runs, ${kills} killed, ` +
        `${steps.filter((s) => s.outcome === 'completed').length} completed; kill delays (ms) ${steps.map((s) => `${s.delayMs}${s.outcome === 'killed' ? '' : '(finished first)'}`).join(', ')}; ` +
        `final: ${raw.length} raw objects (${bad.size} bad), ${comparison.rawDistinct} distinct raw rows = ${comparison.curatedRows} curated rows in ${pointers.length} dates ` +
        `(generations ${pointers.map((p) => `${p.dt}:${p.generation}`).join(' ')}); left behind by killed runs: ${tmpFiles} store temp file(s)`,
    );
  }, 300_000);
});
