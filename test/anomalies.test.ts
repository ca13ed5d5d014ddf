/**
 * The detectors on small hand-built series (a spike, a flat series, a new entity with no baseline,
 * weekends and holidays), budgets at their thresholds with the month-end forecast, and delivery:
 * once per anomaly across reruns, failures kept for the next run, a digest instead of a storm, and
 * the local notifier's files.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anomalyId, makeAnomaly, type Anomaly } from '../functions/lib/anomalies/anomaly';
import { detectApiHealth, type ApiHealthRow } from '../functions/lib/anomalies/api-health';
import { detectBudgets, type BudgetDayRow } from '../functions/lib/anomalies/budgets';
import { detectComplianceClusters, type ComplianceRow } from '../functions/lib/anomalies/compliance';
import { deliver, digestMessage, LEDGER_KEY, loadLedger } from '../functions/lib/anomalies/delivery';
import { detectUnusualHours, hourDistance, usualSpan, type HourRow } from '../functions/lib/anomalies/hours';
import { LocalNotifier } from '../functions/lib/anomalies/notifier/local';
import type { AlertMessage, Notifier, PublishOutcome } from '../functions/lib/anomalies/notifier/port';
import { detectNewResources, globMatches, type NewResourceRow } from '../functions/lib/anomalies/resources';
import { detectSpikes, type SpikeRow } from '../functions/lib/anomalies/spikes';
import { baselineOf, dayKind, mad, median, robustZ } from '../functions/lib/anomalies/stats';
import { parseConfig } from '../functions/lib/config/load';
import type { ConfigInput } from '../functions/lib/config/schema';
import { LocalObjectStore } from '../functions/lib/store/local';
import { addDays } from '../functions/lib/util/dates';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempStore = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cclake-anomalies-'));
  dirs.push(d);
  return new LocalObjectStore(d);
};

const config = (input: ConfigInput = {}) => parseConfig(input);
const isWeekend = (d: string) => [0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay());
/** The days `n` days before `dt` up to the day before it (oldest first). */
const before = (dt: string, n: number) => Array.from({ length: n }, (_, i) => addDays(dt, -(n - i)));

// 2026-11-18 is a Wednesday; 2026-11-21 a Saturday; 2026-11-23 a Monday.
const WED = '2026-11-18';
const SAT = '2026-11-21';
const MON = '2026-11-23';

describe('config sections anomalies and budgets', () => {
  it('defaults every field, and names the field and the bad value of a bad one', () => {
    const c = config();
    expect(c.anomalies.spikes).toEqual({
      multiplier: 3,
      minScore: 3.5,
      minCostUsd: { user: 50, team: 200, costCenter: 200 },
      minTokens: { user: 100_000_000, team: 400_000_000, costCenter: 400_000_000 },
    });
    expect(c.anomalies.delivery).toEqual({ digestOver: 20 });
    expect(c.budgets).toEqual({ thresholds: [0.8, 1], costCenters: [], teams: [], forecastFromDay: 7 });
    expect(() => config({ budgets: { thresholds: [0] } })).toThrow(/budgets\.thresholds\.0/);
    expect(() => config({ budgets: { teams: [{ team: 'payments', monthlyUsd: -5 }] } })).toThrow(/budgets\.teams\.0\.monthlyUsd/);
    expect(() =>
      config({
        budgets: {
          teams: [
            { team: 'payments', monthlyUsd: 5 },
            { team: 'payments', monthlyUsd: 6 },
          ],
        },
      }),
    ).toThrow(/budgets\.teams\.1: payments has a budget already/);
    expect(() => config({ anomalies: { delivery: { snsTopicArn: 'my-topic' } } })).toThrow(/anomalies\.delivery\.snsTopicArn.*expected an SNS topic ARN/);
    expect(() => config({ anomalies: { holidays: ['2026-02-30'] } })).toThrow(/anomalies\.holidays\.0/);
    expect(() => config({ anomalies: { disabled: ['everything'] } as never })).toThrow(/anomalies\.disabled\.0/);
    expect(() => config({ anomalies: { spikes: { multiplier: 1 } } })).toThrow(/anomalies\.spikes\.multiplier/);
    expect(config({ anomalies: { delivery: { snsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts.fifo' } } }).anomalies.delivery.snsTopicArn).toMatch(
      /\.fifo$/,
    );
  });
});

describe('robust statistics', () => {
  it('median, MAD and the modified z-score (0.6745 x (x - median) / MAD)', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mad([1, 2, 3, 4, 100])).toBe(1); // |x - 3| = 2,1,0,1,97 -> median 1: one outlier does not move it
    expect(robustZ(13, 3, 1)).toBeCloseTo(6.745, 3);
    expect(robustZ(4, 4, 0)).toBe(0);
    expect(robustZ(5, 4, 0)).toBe(Infinity);
  });

  it('judges a working day against working days and a weekend day against weekend days; holidays are never samples', () => {
    const holidays = new Set(['2026-11-12']);
    const values = new Map(before(MON, 60).map((d) => [d, isWeekend(d) ? 10 : d === '2026-11-12' ? 1 : 100]));
    const opts = { days: 28, minSamples: 5, holidays, weekdayAware: true };
    expect(dayKind('2026-11-12', holidays)).toBe('holiday');
    expect(baselineOf(MON, (d) => values.get(d), opts)).toMatchObject({ median: 100, mad: 0, samples: 19, basis: 'working days' });
    const sat = baselineOf(SAT, (d) => values.get(d) ?? undefined, opts);
    expect(sat).toMatchObject({ median: 10, samples: 8, basis: 'weekend days' });
    // A holiday is judged as a working day.
    expect(baselineOf('2026-11-26', (d) => values.get(d), { ...opts, holidays: new Set(['2026-11-12', '2026-11-26']) })?.basis).toBe('working days');
  });

  it('has no baseline with fewer samples than required; a sparse series falls back to every day, a dense one does not', () => {
    const few = new Map([
      [addDays(SAT, -1), 5],
      [addDays(SAT, -2), 5],
      [addDays(SAT, -3), 5],
      [addDays(SAT, -4), 5],
      [addDays(SAT, -5), 5],
    ]); // weekdays only
    const opts = { days: 28, minSamples: 5, holidays: new Set<string>(), weekdayAware: true };
    expect(baselineOf(SAT, (d) => few.get(d), opts)).toBeNull();
    expect(baselineOf(SAT, (d) => few.get(d), { ...opts, fallbackToAllDays: true })).toMatchObject({ median: 5, basis: 'days', samples: 5 });
    expect(baselineOf(WED, (d) => (d === addDays(WED, -1) ? 3 : undefined), opts)).toBeNull();
  });
});

/** A developer's (or team's) daily series: `value(d)` for each of the 28 days before `dt`, then `today` on dt. */
function series(
  entityType: SpikeRow['entityType'],
  entity: string,
  dt: string,
  value: (d: string) => number | null,
  today: number,
  tokensPerUsd = 1_000_000,
): SpikeRow[] {
  const rows: SpikeRow[] = [];
  for (const d of before(dt, 28)) {
    const v = value(d);
    if (v !== null) rows.push({ dt: d, entityType, entity, costUsd: v, tokens: v * tokensPerUsd });
  }
  rows.push({ dt, entityType, entity, costUsd: today, tokens: today * tokensPerUsd });
  return rows;
}

describe('cost and token spikes', () => {
  const cfg = config();

  it('a spike: a developer at about $12 a working day spends $150 -> one critical cost_spike with the numbers in one sentence', () => {
    const rows = series('user', 'alice@acme.example', WED, (d) => (isWeekend(d) ? null : 11 + (Number(d.slice(8)) % 3)), 150);
    const found = detectSpikes(rows, [WED], cfg);
    expect(found).toHaveLength(1);
    const a = found[0]!;
    expect(a).toMatchObject({
      detector: 'cost_spike',
      entityType: 'user',
      entity: 'alice@acme.example',
      dt: WED,
      observed: 150,
      baseline: 12,
      severity: 'critical',
    });
    expect(a.id).toBe(anomalyId('cost_spike', 'user', 'alice@acme.example', WED));
    expect(a.message).toBe(
      'Cost of developer alice@acme.example on 2026-11-18 was $150.00, 12.5x its baseline of $12.00 (median of 20 working days in the previous 28; robust z 93.1).',
    );
    expect(a.message.split('. ').length).toBe(1);
  });

  it('a flat series, and a rise under 3x or under the minimum dollars, do not alert', () => {
    const flat = series('team', 'payments', WED, () => 400, 400);
    expect(detectSpikes(flat, [WED], cfg)).toEqual([]);
    const under3x = series('team', 'payments', WED, (d) => (isWeekend(d) ? 0 : 400), 1100);
    expect(detectSpikes(under3x, [WED], cfg)).toEqual([]);
    // 10x, but $40 is under the developer minimum of $50.
    const small = series('user', 'bob@acme.example', WED, (d) => (isWeekend(d) ? null : 4), 40);
    expect(detectSpikes(small, [WED], cfg)).toEqual([]);
    // The same with a lower configured minimum alerts.
    expect(detectSpikes(small, [WED], config({ anomalies: { spikes: { minCostUsd: { user: 20 } } } }))).toHaveLength(1);
  });

  it('a new entity with no baseline never spikes, however large its first days', () => {
    const rows: SpikeRow[] = [
      { dt: addDays(WED, -2), entityType: 'user', entity: 'new@acme.example', costUsd: 5, tokens: 5e6 },
      { dt: addDays(WED, -1), entityType: 'user', entity: 'new@acme.example', costUsd: 5, tokens: 5e6 },
      { dt: WED, entityType: 'user', entity: 'new@acme.example', costUsd: 900, tokens: 9e8 },
      { dt: WED, entityType: 'team', entity: 'brand-new', costUsd: 5000, tokens: 5e9 },
    ];
    expect(detectSpikes(rows, [WED], cfg)).toEqual([]);
  });

  it('weekends: a quiet weekend does not make Monday a spike, and a busy Saturday is judged against Saturdays', () => {
    const team = (today: number, dt: string) => series('team', 'search', dt, (d) => (isWeekend(d) ? 20 : 600), today);
    expect(detectSpikes(team(650, MON), [MON], cfg)).toEqual([]);
    const sat = detectSpikes(team(400, SAT), [SAT], cfg);
    expect(sat).toHaveLength(1);
    expect(sat[0]!.message).toContain('median of 8 weekend days');
  });

  it('a holiday: a two-week shutdown in the window does not make the first normal day a spike, and the holiday itself is judged as a working day', () => {
    // 2026-11-02..17: twelve working days shut down at $5 (of the window's twenty); back to $600 from the 18th.
    const shutdown = new Set(before('2026-11-18', 16).filter((d) => !isWeekend(d)));
    const rows = series('team', 'infra', MON, (d) => (isWeekend(d) ? 20 : shutdown.has(d) ? 5 : 600), 600);
    // Without the holidays in the config, the shutdown drags the working-day median to $5: a false spike.
    expect(detectSpikes(rows, [MON], cfg).map((a) => a.detector)).toEqual(['cost_spike']);
    const withHolidays = config({ anomalies: { holidays: [...shutdown] } });
    expect(detectSpikes(rows, [MON], withHolidays)).toEqual([]);
    // A holiday on which half the team works is judged against working days: no alert.
    const holiday = '2026-11-26';
    const onHoliday = series('team', 'infra', holiday, (d) => (isWeekend(d) ? 20 : 600), 300);
    expect(detectSpikes(onHoliday, [holiday], config({ anomalies: { holidays: [holiday] } }))).toEqual([]);
  });

  it('reports a token spike only where the cost did not spike', () => {
    // Tokens jump 5x at a flat cost (a cheap model, cache reads): token_spike.
    const rows = series('user', 'carol@acme.example', WED, (d) => (isWeekend(d) ? null : 30), 30, 5_000_000);
    rows[rows.length - 1]!.tokens = 750_000_000;
    const found = detectSpikes(rows, [WED], cfg);
    expect(found.map((a) => [a.detector, a.observed])).toEqual([['token_spike', 750_000_000]]);
    expect(found[0]!.message).toContain('750M tokens');
    // Cost and tokens both: one alert, the cost one.
    const both = series('user', 'carol@acme.example', WED, (d) => (isWeekend(d) ? null : 30), 400, 5_000_000);
    expect(detectSpikes(both, [WED], cfg).map((a) => a.detector)).toEqual(['cost_spike']);
    expect(detectSpikes(both, [WED], config({ anomalies: { disabled: ['cost_spike'] } })).map((a) => a.detector)).toEqual(['token_spike']);
  });
});

describe('error rate and p95 latency per model', () => {
  const cfg = config();
  const model = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  const history = (dt: string, today: Partial<ApiHealthRow>): ApiHealthRow[] => [
    ...before(dt, 28).map((d, i) => ({
      dt: d,
      model,
      requests: 1000,
      errors: 10 + (i % 3),
      errorRate: (10 + (i % 3)) / (1010 + (i % 3)),
      p95Ms: 6000 + (i % 5) * 100,
    })),
    { dt, model, requests: 1000, errors: 10, errorRate: 0.0099, p95Ms: 6100, ...today },
  ];

  it('an error-rate incident alerts; a 3x rise that is under 5 points, or on too few requests, does not', () => {
    const incident = detectApiHealth(history(WED, { errors: 150, errorRate: 150 / 1150 }), [WED], cfg);
    expect(incident.map((a) => a.detector)).toEqual(['error_rate']);
    expect(incident[0]).toMatchObject({ entityType: 'model', entity: model, severity: 'critical' });
    expect(incident[0]!.message).toBe(
      `Error rate of model ${model} on 2026-11-18 was 13% (150 errors, 1,000 requests), 12x its baseline of 1.1% (median of 28 days in the previous 28).`,
    );
    expect(detectApiHealth(history(WED, { errors: 40, errorRate: 0.04 }), [WED], cfg)).toEqual([]);
    expect(detectApiHealth(history(WED, { requests: 120, errors: 40, errorRate: 0.25 }), [WED], cfg)).toEqual([]);
  });

  it('a p95 slowdown alerts; a modest one does not', () => {
    const slow = detectApiHealth(history(WED, { p95Ms: 19000 }), [WED], cfg);
    expect(slow.map((a) => [a.detector, a.observed, a.baseline])).toEqual([['latency_p95', 19000, 6200]]);
    expect(slow[0]!.message).toContain('19,000 ms over 1,000 requests, 3.1x its baseline of 6,200 ms');
    expect(detectApiHealth(history(WED, { p95Ms: 8000 }), [WED], cfg)).toEqual([]);
  });

  it('a new model has no baseline and does not alert', () => {
    expect(detectApiHealth([{ dt: WED, model: 'new-model', requests: 900, errors: 400, errorRate: 0.3, p95Ms: 90000 }], [WED], cfg)).toEqual([]);
  });
});

describe('usage outside the usual hours', () => {
  const cfg = config();
  /** Works 14:00-21:59 UTC on working days (an offset of -8: 06:00-14:00 local... any rhythm will do). */
  const rhythm = (dt: string, today: [number, number][], days = 28): HourRow[] => [
    ...before(dt, days)
      .filter((d) => !isWeekend(d))
      .flatMap((d) => [14, 15, 17, 19, 21].map((hour) => ({ dt: d, userKey: 'dana@acme.example', hour, requests: 12 }))),
    ...today.map(([hour, requests]) => ({ dt, userKey: 'dana@acme.example', hour, requests })),
  ];

  it('a 3 a.m. burst alerts with the hours, the distance and the usual span', () => {
    const found = detectUnusualHours(
      rhythm(WED, [
        [15, 20],
        [3, 25],
        [4, 9],
      ]),
      [WED],
      cfg,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ detector: 'unusual_hours', entity: 'dana@acme.example', observed: 34, score: 6 });
    expect(found[0]!.message).toBe(
      'Developer dana@acme.example made 34 requests on 2026-11-18 at 03:00-04:00, 04:00-05:00 UTC, at least 6 hours from any hour they worked in the previous 28 days (usually 14:00-22:00 UTC, 20 active days).',
    );
  });

  it('work a little early or late, or a handful of requests, does not alert; nor a developer whose hours are not known yet', () => {
    expect(
      detectUnusualHours(
        rhythm(WED, [
          [23, 40],
          [11, 30],
        ]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
    expect(detectUnusualHours(rhythm(WED, [[3, 6]]), [WED], cfg)).toEqual([]);
    expect(detectUnusualHours(rhythm(WED, [[3, 60]], 8), [WED], cfg)).toEqual([]); // 6 active days < 8
  });

  it('measures hours on the 24-hour circle', () => {
    expect(hourDistance(23, 1)).toBe(2);
    expect(hourDistance(3, 22)).toBe(5);
    expect(usualSpan(new Set([22, 23, 0, 1, 2]))).toBe('22:00-03:00 UTC');
    expect(usualSpan(new Set([9, 10, 18]))).toBe('09:00-19:00 UTC');
  });
});

describe('a model or MCP server never seen before for a team', () => {
  const cfg = config({ compliance: { mcpAllowlist: ['github', 'jira'] } });
  const row = (r: Partial<NewResourceRow>): NewResourceRow => ({
    dt: WED,
    team: 'payments',
    resourceType: 'model',
    resource: 'x',
    uses: 100,
    users: 2,
    historyDays: 20,
    ...r,
  });

  it('names every new model of the team in one anomaly; critical when one is not approved', () => {
    const found = detectNewResources(
      [
        row({ resource: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0', uses: 300, users: 4 }),
        row({ resource: 'us.anthropic.claude-opus-4-1-20250805-v1:0', uses: 20, users: 1 }),
      ],
      cfg,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ detector: 'new_model', entityType: 'team', entity: 'payments', observed: 320, severity: 'critical', score: 2 });
    expect(found[0]!.message).toBe(
      'Team payments used 2 models on 2026-11-18 never seen for it in the previous 90 days: us.anthropic.claude-3-7-sonnet-20250219-v1:0 (300 records, 4 developers, not approved); us.anthropic.claude-opus-4-1-20250805-v1:0 (20 records, 1 developer).',
    );
  });

  it('an approved new model is a warning; an MCP server off the allowlist is critical, on it a warning', () => {
    expect(detectNewResources([row({ resource: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' })], cfg)[0]?.severity).toBe('warning');
    expect(detectNewResources([row({ resourceType: 'mcp_server', resource: 'slack' })], cfg)[0]).toMatchObject({
      detector: 'new_mcp_server',
      severity: 'critical',
    });
    expect(detectNewResources([row({ resourceType: 'mcp_server', resource: 'jira' })], cfg)[0]?.severity).toBe('warning');
  });

  it('a team without history (new, or a lake that just started), or the unattributed pseudo-team, does not alert', () => {
    expect(detectNewResources([row({ historyDays: 3 })], cfg)).toEqual([]);
    expect(detectNewResources([row({ team: 'unattributed', resourceType: 'mcp_server', resource: 'custom' })], cfg)).toEqual([]);
  });

  it('matches config globs as the compliance seed does', () => {
    expect(globMatches('*claude-sonnet-4*', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe(true);
    expect(globMatches('*claude-sonnet-4*', 'us.anthropic.claude-3-7-sonnet-20250219-v1:0')).toBe(false);
    expect(globMatches('a.b*', 'aXb')).toBe(false);
  });
});

describe('clusters of compliance violations', () => {
  const cfg = config();
  const rows = (
    control: string,
    team: string,
    value: (d: string) => [violations: number, evaluated: number],
    today: [number, number],
    dt = WED,
  ): ComplianceRow[] => [
    ...before(dt, 28).map((d) => ({ dt: d, controlId: control, team, evaluated: value(d)[1], violations: value(d)[0] })),
    { dt, controlId: control, team, evaluated: today[1], violations: today[0] },
  ];

  it('a control a team always passed fails in a cluster: critical, with the counts and the share', () => {
    const found = detectComplianceClusters(
      rows('approved_models', 'payments', () => [0, 500], [320, 500]),
      [WED],
      cfg,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      detector: 'compliance_violations',
      entityType: 'team',
      entity: 'payments',
      observed: 320,
      baseline: 0,
      severity: 'critical',
    });
    expect(found[0]!.id).toBe(anomalyId('compliance_violations', 'team', 'payments', WED, 'approved_models'));
    expect(found[0]!.message).toBe(
      'Control approved_models found 320 violations in 500 checked (64%) for team payments on 2026-11-18, against a baseline share of 0% (median of 20 working days in the previous 28).',
    );
  });

  it('a control a team always fails does not alert on a busy day; a jump in the share that fails does', () => {
    // MCP calls with no allowlist: every call violates, so four times the calls is still 100%.
    expect(
      detectComplianceClusters(
        rows('mcp_allowlist', 'search', (d) => (isWeekend(d) ? [2, 2] : [20, 20]), [90, 90]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
    // EU inference for an EU team: 10% of records, then 45%.
    const residency = detectComplianceClusters(
      rows('data_residency', 'ml-eu', () => [50, 500], [225, 500]),
      [WED],
      cfg,
    );
    expect(residency.map((a) => [a.observed, a.baseline, a.severity])).toEqual([[225, 50, 'warning']]);
    expect(
      detectComplianceClusters(
        rows('data_residency', 'ml-eu', () => [50, 500], [140, 500]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
  });

  it('small counts, org totals and evidence-only controls do not alert; telemetry freshness is judged org-wide, weekends against weekends', () => {
    expect(
      detectComplianceClusters(
        rows('bypass_permissions', 'search', () => [0, 6], [4, 6]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
    expect(
      detectComplianceClusters(
        rows('approved_models', 'ALL', () => [0, 900], [400, 900]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
    expect(
      detectComplianceClusters(
        rows('policy_rejections', 'search', () => [0, 40], [400, 400]),
        [WED],
        cfg,
      ),
    ).toEqual([]);
    expect(
      detectComplianceClusters(
        rows('telemetry_freshness', 'ALL', (d) => [isWeekend(d) ? 14 : 0, 24], [18, 24]),
        [WED],
        cfg,
      ),
    ).toHaveLength(1);
    expect(
      detectComplianceClusters(
        rows('telemetry_freshness', 'ALL', (d) => [isWeekend(d) ? 14 : 0, 24], [18, 24], SAT),
        [SAT],
        cfg,
      ),
    ).toEqual([]);
  });
});

describe('budgets', () => {
  // November 2026 has 30 days; $40 every day, so the weekday and weekend rates agree and the view
  // forecasts $1,200 from any day; a budget of $1,000 is reached on the 25th.
  const series = (entity: string, perDay: number, budget = 1000, entityType: BudgetDayRow['entityType'] = 'team'): BudgetDayRow[] =>
    Array.from({ length: 30 }, (_, i) => ({
      dt: `2026-11-${String(i + 1).padStart(2, '0')}`,
      entityType,
      entity,
      monthToDateUsd: perDay * (i + 1),
      forecastMonthUsd: perDay * 30,
      budgetUsd: budget,
      exhaustedOn: Math.ceil(budget / perDay) <= 30 ? `2026-11-${String(Math.ceil(budget / perDay)).padStart(2, '0')}` : null,
    }));
  const cfg = config({ budgets: { teams: [{ team: 'payments', monthlyUsd: 1000 }] } });
  const allDays = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);

  it('alerts once at 80% and once at 100% of the budget, on the day each is crossed, and once on the forecast, naming the day it runs out', () => {
    const found = detectBudgets(series('payments', 40), allDays, cfg);
    expect(found.map((a) => [a.dt, a.detector, a.details.threshold, a.severity])).toEqual([
      ['2026-11-07', 'budget_forecast', 1, 'warning'],
      ['2026-11-20', 'budget', 0.8, 'warning'],
      ['2026-11-25', 'budget', 1, 'critical'],
    ]);
    const crossed = found.find((a) => a.dt === '2026-11-20')!;
    expect(crossed).toMatchObject({ entityType: 'team', entity: 'payments', observed: 800, baseline: 1000, score: 0.8 });
    expect(crossed.message).toBe(
      "Team payments has spent $800.00 of its November 2026 budget of $1,000.00 by 2026-11-20 (80%, past the 80% threshold); at this month's weekday and weekend rates it will spend $1,200.00 (120%) by month end; the budget runs out on 2026-11-25.",
    );
    expect(found[0]!.message).toBe(
      'Team payments is on course to spend $1,200.00 in November 2026, 120% of its budget of $1,000.00: $280.00 in the first 7 of 30 days; the budget runs out on 2026-11-25.',
    );
    expect(found[0]!.details).toMatchObject({ forecast: 1200, spendToDate: 280, exhaustedOn: '2026-11-25' });
    // Judging one day alone gives the same answer (stateless), and a day after the crossing none.
    expect(detectBudgets(series('payments', 40), ['2026-11-20'], cfg).map((a) => a.id)).toEqual([crossed.id]);
    expect(detectBudgets(series('payments', 40), ['2026-11-21'], cfg)).toEqual([]);
  });

  it('judges the forecast the view made (weekday/weekend shape), not the run rate: a quiet first weekend does not hide an overrun', () => {
    // Day 7: $150 spent (run rate 150 / 7 x 30 = $643, under budget) but the view, weighing the
    // remaining weekdays, forecasts $1,050 and the budget running out on the 29th.
    const rows: BudgetDayRow[] = [
      { dt: '2026-11-06', entityType: 'team', entity: 'payments', monthToDateUsd: 120, forecastMonthUsd: 990, budgetUsd: 1000, exhaustedOn: null },
      { dt: '2026-11-07', entityType: 'team', entity: 'payments', monthToDateUsd: 150, forecastMonthUsd: 1050, budgetUsd: 1000, exhaustedOn: '2026-11-29' },
      { dt: '2026-11-08', entityType: 'team', entity: 'payments', monthToDateUsd: 160, forecastMonthUsd: 1060, budgetUsd: 1000, exhaustedOn: '2026-11-29' },
    ];
    const found = detectBudgets(rows, ['2026-11-06', '2026-11-07', '2026-11-08'], cfg);
    expect(found.map((a) => [a.dt, a.detector, a.observed, a.score])).toEqual([['2026-11-07', 'budget_forecast', 1050, 1.05]]);
    expect(found[0]!.message).toBe(
      'Team payments is on course to spend $1,050.00 in November 2026, 105% of its budget of $1,000.00: $150.00 in the first 7 of 30 days; the budget runs out on 2026-11-29.',
    );
  });

  it('under budget: nothing; cost centers too; a first day over the line alerts on day 1', () => {
    expect(detectBudgets(series('payments', 20), allDays, cfg)).toEqual([]);
    const cc = config({ budgets: { costCenters: [{ costCenter: 'CC-1000', monthlyUsd: 100 }], thresholds: [0.5] } });
    const rows = series('CC-1000', 60, 100, 'cost_center').slice(0, 1);
    expect(detectBudgets(rows, ['2026-11-01'], cc).map((a) => [a.detector, a.entityType, a.entity, a.severity])).toEqual([
      ['budget', 'cost_center', 'CC-1000', 'warning'],
    ]);
  });
});

/** A notifier that records messages and fails the ids it is told to. */
class FakeNotifier implements Notifier {
  readonly location = 'fake://alerts';
  sent: AlertMessage[][] = [];
  failing = new Set<string>();
  async publish(messages: readonly AlertMessage[]): Promise<PublishOutcome[]> {
    this.sent.push([...messages]);
    return messages.map((m) =>
      this.failing.has(m.id) ? { id: m.id, delivered: false, error: 'Throttled: slow down' } : { id: m.id, delivered: true, messageId: `msg-${m.id}` },
    );
  }
}

const anomaly = (entity: string, dt = WED, severity: Anomaly['severity'] = 'warning'): Anomaly =>
  makeAnomaly({
    dt,
    detector: 'cost_spike',
    entityType: 'user',
    entity,
    observed: 100,
    baseline: 10,
    score: 9,
    severity,
    message: `Cost of developer ${entity} on ${dt} was $100.00.`,
    details: {},
  });

describe('delivery', () => {
  const cfg = config();

  it('sends each new anomaly once, never again on a rerun of the same days', async () => {
    const store = tempStore();
    const notifier = new FakeNotifier();
    const found = [anomaly('a'), anomaly('b', WED, 'critical'), anomaly('c', '2026-11-19')];
    const first = await deliver(store, notifier, found, new Set([WED, '2026-11-19']), cfg, Date.parse('2026-11-20T02:00:00Z'));
    expect(first).toMatchObject({ newAnomalies: 3, attempted: 3, messages: 3, delivered: 3, digest: false, failed: [] });
    // Most severe first.
    expect(notifier.sent[0]!.map((m) => m.body.entity)).toEqual(['b', 'a', 'c']);
    expect(notifier.sent[0]![0]!).toMatchObject({
      kind: 'anomaly',
      subject: '[critical] 2026-11-18 cost_spike user b',
      attributes: { severity: 'critical', detector: 'cost_spike', dt: WED, entity_type: 'user' },
    });
    const again = await deliver(store, notifier, found, new Set([WED, '2026-11-19']), cfg, Date.parse('2026-11-21T02:00:00Z'));
    expect(again).toMatchObject({ newAnomalies: 0, alreadyDelivered: 3, attempted: 0, messages: 0 });
    expect(notifier.sent).toHaveLength(1);
    const ledger = await loadLedger(store);
    expect(ledger.delivered[found[0]!.id]).toMatchObject({ dt: WED, via: 'fake://alerts', messageId: `msg-${found[0]!.id}`, at: '2026-11-20T02:00:00.000Z' });
  });

  it('keeps what failed pending and sends it with the next run, even when that run finds nothing new', async () => {
    const store = tempStore();
    const notifier = new FakeNotifier();
    const [a, b] = [anomaly('a'), anomaly('b')];
    notifier.failing.add(b.id);
    const first = await deliver(store, notifier, [a, b], new Set([WED]), cfg, Date.now());
    expect(first.delivered).toBe(1);
    expect(first.failed).toEqual([{ id: b.id, error: 'Throttled: slow down' }]);
    expect((await loadLedger(store)).pending.map((p) => p.id)).toEqual([b.id]);
    notifier.failing.clear();
    const next = await deliver(store, notifier, [], new Set(), cfg, Date.now());
    expect(next).toMatchObject({ newAnomalies: 0, attempted: 1, delivered: 1, failed: [] });
    expect(notifier.sent[1]!.map((m) => m.id)).toEqual([b.id]);
    expect((await loadLedger(store)).pending).toEqual([]);
  });

  it('drops a pending anomaly whose day was recomputed without it', async () => {
    const store = tempStore();
    const notifier = new FakeNotifier();
    const a = anomaly('a');
    notifier.failing.add(a.id);
    await deliver(store, notifier, [a], new Set([WED]), cfg, Date.now());
    notifier.failing.clear();
    const rerun = await deliver(store, notifier, [], new Set([WED]), cfg, Date.now());
    expect(rerun.attempted).toBe(0);
    expect((await loadLedger(store)).pending).toEqual([]);
  });

  it('sends one digest instead of a storm when more than digestOver are new, and marks them all delivered', async () => {
    const store = tempStore();
    const notifier = new FakeNotifier();
    const many = Array.from({ length: 25 }, (_, i) => anomaly(`u${String(i).padStart(2, '0')}`, i < 5 ? '2026-11-19' : WED, i === 7 ? 'critical' : 'warning'));
    const s = await deliver(store, notifier, many, new Set([WED, '2026-11-19']), cfg, Date.now());
    expect(s).toMatchObject({ digest: true, messages: 1, delivered: 25, attempted: 25 });
    const [digest] = notifier.sent[0]!;
    expect(digest).toMatchObject({
      kind: 'digest',
      subject: '[digest] 25 anomalies (1 critical) 2026-11-18..2026-11-19',
      attributes: { severity: 'critical', detector: 'digest' },
    });
    expect(digest!.body).toMatchObject({ anomalies: 25, critical: 1, by_detector: { cost_spike: 25 }, by_day: { '2026-11-18': 20, '2026-11-19': 5 }, more: 5 });
    expect((digest!.body.top as { entity: string }[])[0]!.entity).toBe('u07');
    const ledger = await loadLedger(store);
    expect(Object.values(ledger.delivered).every((e) => e.digest === digest!.id)).toBe(true);
    expect(Object.keys(ledger.delivered)).toHaveLength(25);
    // The digest id depends only on which anomalies it carries.
    expect(digestMessage([...many].reverse()).id).toBe(digest!.id);
  });

  it('the local notifier prints each alert and keeps alerts/dt=<day>/alerts.json complete across runs', async () => {
    const store = tempStore();
    const lines: string[] = [];
    const notifier = new LocalNotifier(store, (l) => lines.push(l));
    await deliver(store, notifier, [anomaly('a'), anomaly('b')], new Set([WED]), cfg, Date.now());
    await deliver(store, notifier, [anomaly('a'), anomaly('b'), anomaly('c')], new Set([WED]), cfg, Date.now());
    const file = JSON.parse(readFileSync(path.join(store.root, 'alerts', `dt=${WED}`, 'alerts.json'), 'utf8')) as { entity: string; message: string }[];
    expect(file.map((x) => x.entity)).toEqual(['a', 'b', 'c']);
    expect(lines).toEqual([
      `ALERT [warning] ${WED} cost_spike user a: Cost of developer a on ${WED} was $100.00.`,
      `ALERT [warning] ${WED} cost_spike user b: Cost of developer b on ${WED} was $100.00.`,
      `ALERT [warning] ${WED} cost_spike user c: Cost of developer c on ${WED} was $100.00.`,
    ]);
    expect(readFileSync(path.join(store.root, ...LEDGER_KEY.split('/')), 'utf8')).toContain('"pending": []');
  });
});
