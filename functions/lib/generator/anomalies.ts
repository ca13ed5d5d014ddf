/**
 * `generate --anomalies`: labelled anomalies injected into the simulated telemetry, so detection
 * quality can be measured (bench/anomalies.ts). The plan depends only on the seed, the population and
 * the period, never on partitioning: every worker derives the same plan and applies the part that
 * touches its developers. Without the flag nothing here runs and the lake is byte-identical.
 *
 * What is injected, after three weeks of normal traffic (the detectors need a baseline), on working
 * days (Monday to Friday, UTC):
 *  - cost_spike: a heavy developer (median active day at least $5) works as if on 10 or more days at
 *    once (independent copies of their day, as with parallel agents): their cost jumps 10x or more,
 *    to at least $75.
 *  - night_burst: a developer with a settled rhythm runs a session of 12 prompts at 03:00 local time,
 *    4 or more hours from any hour they worked in the previous 4 weeks.
 *  - unapproved_model: a team sends 30% of its prompts to an unapproved model
 *    (us.anthropic.claude-3-7-sonnet-...) for two days.
 *  - new_mcp_server: a team's MCP calls go to a server it never used ('slack') for a day.
 *  - error_incident: 30% of attempts to the main Sonnet profile fail from 08:00 to 18:00 UTC.
 *  - latency_incident: the main Sonnet profile is 4x slower from 08:00 to 18:00 UTC.
 * Each injection is checked against the generator itself (a developer's previous days are
 * simulated) so its label is true, and its labels name the detector it must trigger (`required`)
 * and the knock-on effects a detector may also report (not required, and not false positives).
 */
import { addDays } from '../util/dates';
import { developerDay, MODELS, type DayInjection, type DayOutput, type ModelIncident, type ModelProfile } from './activity';
import { teamOn, type Developer, type Population } from './population';
import { Random } from './random';

export const ANOMALY_LABELS_KEY = 'reference/generator-anomalies.json';

/** An unapproved model (not matched by the default compliance.approvedModels globs). */
export const UNAPPROVED_MODEL: ModelProfile = {
  id: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
  price: { input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 },
  latencyMedianMs: 7000,
  outputMedian: 450,
};
export const NEW_MCP_SERVER = 'slack';

/** Days of normal traffic before the first injection. */
export const WARMUP_DAYS = 21;
/** The shortest period --anomalies accepts: the warm-up and a week of injections. */
export const MIN_ANOMALY_DAYS = 28;

export type InjectionKind = 'cost_spike' | 'night_burst' | 'unapproved_model' | 'new_mcp_server' | 'error_incident' | 'latency_incident';

export interface AnomalyLabel {
  /** The injection it comes from, e.g. `cost_spike-2`. */
  injection: string;
  kind: InjectionKind;
  /** The detector that should report it (the `detector` column of the anomalies view). */
  detector: string;
  entity_type: 'user' | 'team' | 'cost_center' | 'model';
  entity: string;
  dt: string;
  /** true: the detector must report it (recall). false: a knock-on effect it may report (not a false positive). */
  required: boolean;
  description: string;
}

export interface AnomalyLabels {
  seed: string;
  from: string;
  to: string;
  labels: AnomalyLabel[];
}

export interface AnomalyPlan {
  labels: AnomalyLabel[];
  /** `${developer index}|${day}`: the injection of that developer-day and how many copies of the day it has. */
  devDays: Map<string, { inject: DayInjection; copies: number }>;
  /** Model incidents per day: they touch every developer's requests. */
  incidents: Map<string, ModelIncident[]>;
}

const HOUR = 3_600_000;
const devDayKey = (dev: Developer, day: string) => `${dev.index}|${day}`;

/** The user_key the rollups give a developer (CONTRACTS section 3): lower-cased email, else the user id (no account uuid without an email). */
export const userKeyOf = (dev: Developer) => (dev.email ? dev.email.toLowerCase() : dev.userId);

const isWeekday = (day: string) => {
  const d = new Date(`${day}T00:00:00Z`).getUTCDay();
  return d >= 1 && d <= 5;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};

const requestsOf = (out: DayOutput) => out.rows.filter((r) => r.name === 'claude_code.api_request');
const costOf = (out: DayOutput) => requestsOf(out).reduce((s, r) => s + (r.cost_usd ?? 0), 0);

/** The developer-day as generated with the plan applied (a plain developerDay when the plan leaves it alone). */
export function injectedDay(seed: string | number, dev: Developer, day: string, plan: AnomalyPlan): DayOutput {
  const planned = plan.devDays.get(devDayKey(dev, day));
  const incidents = plan.incidents.get(day);
  if (!planned && !incidents) return developerDay(seed, dev, day);
  const inject: DayInjection = { ...(planned?.inject ?? {}), ...(incidents ? { incidents } : {}) };
  const out: DayOutput = { rows: [], delaysMs: [] };
  for (let k = 0; k < (planned?.copies ?? 1); k++) {
    const o = developerDay(seed, dev, day, { inject: k === 0 ? inject : { ...inject, copy: k } });
    out.rows.push(...o.rows);
    out.delaysMs.push(...o.delaysMs);
  }
  return out;
}

export function planAnomalies(seed: string | number, population: Population, from: string, days: number): AnomalyPlan {
  if (days < MIN_ANOMALY_DAYS) {
    throw new RangeError(
      `--anomalies needs --days ${MIN_ANOMALY_DAYS} or more (got ${days}): the detectors learn a baseline over the first ${WARMUP_DAYS} days, then a week of injections follows`,
    );
  }
  const plan: AnomalyPlan = { labels: [], devDays: new Map(), incidents: new Map() };
  const rng = new Random(seed, 'anomalies');
  const users = population.developers.length;
  const windowDays = days - WARMUP_DAYS;
  const workdays = Array.from({ length: windowDays }, (_, i) => addDays(from, WARMUP_DAYS + i)).filter(isWeekday);
  const perUsers = Math.max(1, Math.round((users / 50) * (windowDays / 30)));
  const perPeriod = (d: number) => Math.max(1, Math.round(windowDays / d));
  // Steady developers: attributed, no team move, so their team and cost center are known on any day.
  const steady = population.developers.filter((d) => !d.unattributed && !d.movesTo);
  const used = new Set<number>();
  const counters = new Map<InjectionKind, number>();
  const label = (kind: InjectionKind, parts: Omit<AnomalyLabel, 'injection' | 'kind'>[]) => {
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    for (const p of parts) plan.labels.push({ injection: `${kind}-${n}`, kind, ...p });
  };
  const setDay = (dev: Developer, day: string, inject: DayInjection, copies = 1) => {
    const key = devDayKey(dev, day);
    const cur = plan.devDays.get(key);
    plan.devDays.set(key, { inject: { ...(cur?.inject ?? {}), ...inject }, copies: Math.max(copies, cur?.copies ?? 1) });
  };
  const history = (dev: Developer, day: string) => Array.from({ length: 28 }, (_, k) => developerDay(seed, dev, addDays(day, -(k + 1))));

  // Cost spikes: the heaviest developers first (a 10x day of a light user is a few dollars). Only
  // the most intense developers are simulated to find them, so planning stays cheap in a big org.
  const heavy = [...steady]
    .sort((a, b) => b.intensity - a.intensity || a.index - b.index)
    .slice(0, Math.max(10, 4 * perUsers))
    .map((dev) => {
      const day = rng.pick(workdays);
      const costs = history(dev, day)
        .map(costOf)
        .filter((c) => c > 0);
      return { dev, day, med: median(costs), active: costs.length };
    })
    .filter((c) => c.active >= 8 && c.med >= 5)
    .sort((a, b) => b.med - a.med || a.dev.index - b.dev.index);
  for (const c of heavy) {
    if ((counters.get('cost_spike') ?? 0) >= perUsers) break;
    let copies = 1;
    let cost = 0;
    const copy = (k: number) => costOf(developerDay(seed, c.dev, c.day, { inject: k === 0 ? { forceActive: true } : { forceActive: true, copy: k } }));
    for (; copies <= 20 && (cost < 10 * c.med || cost < 75); copies++) cost += copy(copies - 1);
    copies--;
    if (cost < 10 * c.med || cost < 75) continue;
    used.add(c.dev.index);
    setDay(c.dev, c.day, { forceActive: true }, copies);
    const team = teamOn(c.dev, c.day);
    const what = `developer's cost $${cost.toFixed(2)}, ${(cost / c.med).toFixed(1)}x their median active day of $${c.med.toFixed(2)} (${copies} days of work at once)`;
    label('cost_spike', [
      { detector: 'cost_spike', entity_type: 'user', entity: userKeyOf(c.dev), dt: c.day, required: true, description: what },
      ...(['cost_spike', 'token_spike'] as const).flatMap((detector) => [
        { detector, entity_type: 'team' as const, entity: team.name, dt: c.day, required: false, description: `the team's day includes the ${what}` },
        {
          detector,
          entity_type: 'cost_center' as const,
          entity: team.costCenter,
          dt: c.day,
          required: false,
          description: `the cost center's day includes the ${what}`,
        },
      ]),
      { detector: 'token_spike', entity_type: 'user', entity: userKeyOf(c.dev), dt: c.day, required: false, description: `tokens of the same day (${what})` },
    ]);
  }

  // 3 a.m. bursts: developers with a settled rhythm whose past hours are all far from 03:00-05:00 local.
  const settled = steady.filter((d) => !used.has(d.index)).map((dev) => ({ dev, r: rng.next(), day: rng.pick(workdays) }));
  settled.sort((a, b) => a.r - b.r);
  for (const { dev, day } of settled) {
    if ((counters.get('night_burst') ?? 0) >= perUsers) break;
    const past = history(dev, day);
    const hours = new Set(past.flatMap((o) => requestsOf(o).map((r) => new Date(r.event_time!).getUTCHours())));
    const activeDays = past.filter((o) => requestsOf(o).length > 0).length;
    const burstUtc = [3, 4].map((h) => (((h - dev.utcOffsetHours) % 24) + 24) % 24).map(Math.floor);
    const far = burstUtc.every((b) => [...hours].every((h) => Math.min(Math.abs(h - b), 24 - Math.abs(h - b)) >= 4));
    if (activeDays < 10 || !far) continue;
    used.add(dev.index);
    setDay(dev, day, { extraSession: { localHour: 3, prompts: 12 } });
    const desc = `a 12-prompt session at 03:00 local time (UTC${dev.utcOffsetHours >= 0 ? '+' : ''}${dev.utcOffsetHours}), 4+ hours from any hour worked in the previous 4 weeks`;
    label('night_burst', [
      { detector: 'unusual_hours', entity_type: 'user', entity: userKeyOf(dev), dt: day, required: true, description: desc },
      {
        detector: 'cost_spike',
        entity_type: 'user',
        entity: userKeyOf(dev),
        dt: day,
        required: false,
        description: `the burst adds to the day's cost (${desc})`,
      },
      {
        detector: 'token_spike',
        entity_type: 'user',
        entity: userKeyOf(dev),
        dt: day,
        required: false,
        description: `the burst adds to the day's tokens (${desc})`,
      },
    ]);
  }

  // Team injections: teams with steady members, each team once.
  const members = (teamName: string) => steady.filter((d) => d.team.name === teamName);
  const teams = [...new Set(steady.map((d) => d.team.name))].filter((t) => members(t).length >= 2).sort();
  const teamOrder = teams
    .map((t) => ({ t, r: rng.next() }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.t);
  const usedTeams = new Set<string>();

  // Unapproved model: two consecutive working days (a Monday to Thursday start).
  const starts = workdays.filter((d) => isWeekday(addDays(d, 1)) && workdays.includes(addDays(d, 1)));
  const swap: DayInjection = { modelSwap: { model: UNAPPROVED_MODEL, share: 0.3 } };
  const swapped = (t: string, d: string) =>
    members(t).reduce((n, dev) => n + developerDay(seed, dev, d, { inject: swap }).rows.filter((r) => r.model === UNAPPROVED_MODEL.id).length, 0);
  for (const t of teamOrder) {
    if ((counters.get('unapproved_model') ?? 0) >= perPeriod(20) || !starts.length) break;
    // A few tries per team: a small team may not work on the first days drawn.
    const tries = Array.from({ length: 5 }, () => rng.pick(starts));
    const found = tries.map((day) => ({ day, n1: swapped(t, day), n2: swapped(t, addDays(day, 1)) })).find((x) => x.n1 >= 20 && x.n2 >= 20);
    if (!found) continue;
    const { day, n1, n2 } = found;
    const next = addDays(day, 1);
    usedTeams.add(t);
    for (const dev of members(t)) for (const d of [day, next]) setDay(dev, d, swap);
    label('unapproved_model', [
      {
        detector: 'new_model',
        entity_type: 'team',
        entity: t,
        dt: day,
        required: true,
        description: `the team starts using ${UNAPPROVED_MODEL.id} (${n1} records)`,
      },
      {
        detector: 'compliance_violations',
        entity_type: 'team',
        entity: t,
        dt: day,
        required: true,
        description: `approved_models: ${n1} records name the unapproved ${UNAPPROVED_MODEL.id}`,
      },
      {
        detector: 'compliance_violations',
        entity_type: 'team',
        entity: t,
        dt: next,
        required: true,
        description: `approved_models, second day: ${n2} records name the unapproved ${UNAPPROVED_MODEL.id}`,
      },
    ]);
  }

  // A new MCP server: every MCP call of the team that day goes to it.
  for (const t of teamOrder.filter((x) => !usedTeams.has(x))) {
    if ((counters.get('new_mcp_server') ?? 0) >= perPeriod(20)) break;
    const inject: DayInjection = { mcpServer: NEW_MCP_SERVER };
    const callsOn = (day: string) =>
      members(t).reduce((n, dev) => n + developerDay(seed, dev, day, { inject }).rows.filter((r) => r.mcp_server_name === NEW_MCP_SERVER).length, 0);
    const found = Array.from({ length: 5 }, () => rng.pick(workdays))
      .map((day) => ({ day, calls: callsOn(day) }))
      .find((x) => x.calls >= 3);
    if (!found) continue;
    const { day, calls } = found;
    usedTeams.add(t);
    for (const dev of members(t)) setDay(dev, day, inject);
    label('new_mcp_server', [
      {
        detector: 'new_mcp_server',
        entity_type: 'team',
        entity: t,
        dt: day,
        required: true,
        description: `${calls} MCP calls to ${NEW_MCP_SERVER}, a server the team never used`,
      },
    ]);
  }

  // Model incidents on distinct working days, 08:00-18:00 UTC, on the busiest profile.
  const model = MODELS.sonnet.id;
  const incidentDays = workdays
    .map((d) => ({ d, r: rng.next() }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.d);
  const window = (day: string) => ({ start: Date.parse(`${day}T00:00:00Z`) + 8 * HOUR, end: Date.parse(`${day}T00:00:00Z`) + 18 * HOUR });
  const errorDays = incidentDays.slice(0, perPeriod(20));
  const slowDays = incidentDays.slice(errorDays.length, errorDays.length + perPeriod(30));
  for (const day of errorDays) {
    plan.incidents.set(day, [...(plan.incidents.get(day) ?? []), { model, ...window(day), errorProbability: 0.3 }]);
    label('error_incident', [
      { detector: 'error_rate', entity_type: 'model', entity: model, dt: day, required: true, description: '30% of attempts fail from 08:00 to 18:00 UTC' },
    ]);
  }
  for (const day of slowDays) {
    plan.incidents.set(day, [...(plan.incidents.get(day) ?? []), { model, ...window(day), latencyFactor: 4 }]);
    label('latency_incident', [
      { detector: 'latency_p95', entity_type: 'model', entity: model, dt: day, required: true, description: 'requests 4x slower from 08:00 to 18:00 UTC' },
    ]);
  }
  plan.labels.sort((a, b) => a.dt.localeCompare(b.dt) || a.injection.localeCompare(b.injection) || Number(b.required) - Number(a.required));
  return plan;
}
