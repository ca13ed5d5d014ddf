/**
 * One developer's day of Claude Code use, as the raw records the Firehose transform would emit:
 * sessions of prompts, each prompt a burst of api_request events (with occasional api_error
 * retries), tool decisions and results, plus the metric datapoints Claude Code exports every
 * interval (token and cost usage, lines of code, commits, PRs, active time), delta or cumulative.
 *
 * Since issue 17 also what Claude Code emits in 2026: traces (a share of sessions run with
 * CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1: claude_code.interaction spans with their llm_request, tool,
 * tool.blocked_on_user, tool.execution and hook children, timed by the same simulation), and the new
 * events (api_refusal, api_retries_exhausted, auth, plugin_loaded, skill_activated,
 * mcp_server_connection, subagent_completed, hook_execution_complete, compaction). All of it draws
 * from its own random stream (`SessionCtx.extra`), so every row generated before is unchanged.
 */
import type { RawRecord } from '../../../schemas/raw-record';
import { emptyRawRecord } from '../../../schemas/raw-record';
import { ORGANIZATION_ID, teamOn, type Developer } from './population';
import { Random } from './random';

export interface ModelProfile {
  id: string;
  /** USD per million tokens, as Claude Code's client-side estimate uses list prices. */
  price: { input: number; output: number; cacheRead: number; cacheCreation: number };
  latencyMedianMs: number;
  outputMedian: number;
}

const SONNET = { input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 };
const HAIKU = { input: 1, output: 5, cacheRead: 0.1, cacheCreation: 1.25 };
const OPUS = { input: 15, output: 75, cacheRead: 1.5, cacheCreation: 18.75 };

export const MODELS = {
  sonnet: { id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', price: SONNET, latencyMedianMs: 6500, outputMedian: 450 },
  sonnetGlobal: { id: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', price: SONNET, latencyMedianMs: 6500, outputMedian: 450 },
  sonnetEu: { id: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0', price: SONNET, latencyMedianMs: 7000, outputMedian: 450 },
  haiku: { id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0', price: HAIKU, latencyMedianMs: 1800, outputMedian: 180 },
  opus: { id: 'us.anthropic.claude-opus-4-1-20250805-v1:0', price: OPUS, latencyMedianMs: 14000, outputMedian: 700 },
} satisfies Record<string, ModelProfile>;

const TOOLS: readonly (readonly [string, number])[] = [
  ['Read', 30],
  ['Edit', 18],
  ['Bash', 16],
  ['Grep', 10],
  ['Glob', 7],
  ['Write', 5],
  ['TodoWrite', 5],
  ['WebFetch', 2],
  ['Task', 3],
  ['mcp_tool', 4],
];
const EDIT_TOOLS = new Set(['Edit', 'Write']);
const LANGUAGES: readonly (readonly [string, number])[] = [
  ['TypeScript', 35],
  ['Python', 25],
  ['Go', 12],
  ['Java', 8],
  ['Markdown', 10],
  ['YAML', 5],
  ['Rust', 5],
];
const MCP_SERVERS: readonly (readonly [string, number])[] = [
  ['github', 50],
  ['jira', 25],
  ['confluence', 15],
  ['custom', 10],
];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** What the day produced, plus the true arrival delay Firehose adds to each record. */
export interface DayOutput {
  rows: RawRecord[];
  /** Parallel to rows: ms between event time and the record reaching Firehose (before faults). */
  delaysMs: number[];
}

/** One span of the current interaction, collected while the session is simulated. */
interface SpanDraft {
  name: string;
  start: number;
  ms: number;
  parent: 'root' | number;
  fields?: Partial<RawRecord>;
  error?: string;
}

interface SessionCtx {
  rng: Random;
  /** Issue 17 additions (spans, new events): a stream of their own, so the rows above never change. */
  extra?: Random;
  /** Spans of the current interaction when this session exports traces. */
  spans?: SpanDraft[];
  dev: Developer;
  day: string;
  base: RawRecord;
  out: DayOutput;
  seq: number;
  /** Labelled anomalies injected into this day (`generate --anomalies`); absent on a normal day. */
  inject?: DayInjection;
}

function identityRecord(dev: Developer, sessionId: string, project: string): RawRecord {
  const r = emptyRawRecord();
  r.user_id = dev.userId;
  r.user_email = dev.email;
  r.user_account_uuid = dev.email ? dev.accountUuid : null;
  r.organization_id = dev.email ? ORGANIZATION_ID : null;
  r.session_id = sessionId;
  r.terminal_type = dev.terminal;
  r.app_version = dev.appVersion;
  r.service_name = 'claude-code';
  r.os_type = dev.os;
  r.host_arch = dev.arch;
  if (dev.sendsResourceAttributes && !dev.unattributed) {
    // OTEL_RESOURCE_ATTRIBUTES is set once on a laptop; after a team move it is often stale.
    const t = dev.team;
    r.department = t.department;
    r.team_id = t.name;
    r.cost_center = t.costCenter;
  }
  r.project = project;
  r.environment = 'dev';
  r.attributes = {};
  return r;
}

function emit(ctx: SessionCtx, row: RawRecord): void {
  ctx.out.rows.push(row);
  // CloudWatch Logs subscription -> Firehose: usually 1-4 minutes, with a long tail.
  ctx.out.delaysMs.push(Math.round(ctx.rng.lognormal(90_000, 0.6)));
}

/** A row of the issue 17 additions: its delivery delay comes from their own stream. */
function emitExtra(ctx: SessionCtx, row: RawRecord): void {
  ctx.out.rows.push(row);
  ctx.out.delaysMs.push(Math.round(ctx.extra!.lognormal(90_000, 0.6)));
}

/** A new 2026 event: like `event`, without taking a number from the session's event sequence. */
function extraEvent(ctx: SessionCtx, name: string, t: number, promptId: string | null, attributes: Record<string, string> = {}): RawRecord {
  const r: RawRecord = { ...ctx.base, attributes };
  r.signal = 'event';
  r.name = `claude_code.${name}`;
  r.event_time = Math.round(t);
  r.prompt_id = promptId;
  return r;
}

/** Writes the interaction's spans (root first) as the decoder would flatten them. */
function emitInteraction(ctx: SessionCtx, start: number, end: number, drafts: SpanDraft[]): void {
  const x = ctx.extra!;
  const traceId = x.hex(32);
  const rootId = x.hex(16);
  const ids = drafts.map(() => x.hex(16));
  const row = (name: string, spanId: string, parent: string | null, s: number, ms: number, fields: Partial<RawRecord> = {}, error?: string): RawRecord => {
    const r: RawRecord = { ...ctx.base, attributes: { 'span.type': name } };
    Object.assign(r, fields);
    r.signal = 'span';
    r.name = `claude_code.${name}`;
    r.event_time = Math.round(s);
    r.start_time = Math.round(s);
    r.end_time = Math.round(s + ms);
    r.duration_ms = Math.round(s + ms) - Math.round(s);
    r.trace_id = traceId;
    r.span_id = spanId;
    r.parent_span_id = parent;
    r.status_code = error ? 2 : 0;
    if (error) r.error = error;
    return r;
  };
  emitExtra(ctx, row('interaction', rootId, null, start, end - start));
  drafts.forEach((d, i) => emitExtra(ctx, row(d.name, ids[i]!, d.parent === 'root' ? rootId : ids[d.parent]!, d.start, d.ms, d.fields, d.error)));
}

const SKILLS = ['pdf', 'xlsx', 'release-notes', 'code-review'] as const;
const PLUGINS = ['acme-tools', 'security-guidance', 'commit-commands'] as const;

function event(ctx: SessionCtx, name: string, t: number, promptId: string | null): RawRecord {
  const r: RawRecord = { ...ctx.base, attributes: {} };
  r.signal = 'event';
  r.name = `claude_code.${name}`;
  r.event_time = Math.round(t);
  r.prompt_id = promptId;
  r.event_sequence = ctx.seq++;
  return r;
}

function metric(ctx: SessionCtx, name: string, t: number, start: number, value: number, type: string | null, temporality: 'delta' | 'cumulative'): RawRecord {
  const r: RawRecord = { ...ctx.base, attributes: {} };
  r.signal = 'metric';
  r.name = `claude_code.${name}`;
  r.event_time = Math.round(t);
  r.start_time = Math.round(start);
  r.value = value;
  r.metric_type = type;
  r.temporality = temporality;
  return r;
}

function pickModel(rng: Random, dev: Developer, day: string, inject?: DayInjection): ModelProfile {
  const team = teamOn(dev, day);
  const sonnet = team.region === 'eu' ? (rng.chance(0.7) ? MODELS.sonnetEu : MODELS.sonnetGlobal) : rng.chance(0.9) ? MODELS.sonnet : MODELS.sonnetGlobal;
  const picked = rng.weighted<ModelProfile>([
    [sonnet, 1 - dev.opusShare - 0.2],
    [MODELS.haiku, 0.2],
    [MODELS.opus, dev.opusShare],
  ]);
  if (inject?.modelSwap && rng.chance(inject.modelSwap.share)) return inject.modelSwap.model;
  return picked;
}

const usd = (tokens: number, perMillion: number) => (tokens * perMillion) / 1e6;

interface SeriesKey {
  type?: string;
  model?: string;
  /** Other columns (and `attributes`) that identify the series, exactly as the transform would fill them. */
  fields?: Partial<RawRecord>;
}

/** Accumulates a session's metric values per series and export interval, then emits datapoints. */
class MetricAccumulator {
  private readonly interval = new Map<string, { name: string; series: SeriesKey; value: number }>();
  private readonly totals = new Map<string, number>();
  private seriesStart: number;

  constructor(
    private readonly ctx: SessionCtx,
    start: number,
    private readonly temporality: 'delta' | 'cumulative',
  ) {
    this.seriesStart = start;
  }

  add(name: string, series: SeriesKey, value: number): void {
    const key = `${name}|${series.type}|${series.model}|${series.fields ? JSON.stringify(series.fields) : ''}`;
    const cur = this.interval.get(key);
    if (cur) cur.value += value;
    else this.interval.set(key, { name, series, value });
  }

  /** Export everything accumulated since the last flush at time `t` (Claude Code exports every 60 s). */
  flush(t: number, intervalStart: number): void {
    for (const [key, m] of this.interval) {
      if (m.value === 0) continue;
      let value = m.value;
      let start = intervalStart;
      if (this.temporality === 'cumulative') {
        value = (this.totals.get(key) ?? 0) + m.value;
        this.totals.set(key, value);
        start = this.seriesStart;
      }
      const row = metric(this.ctx, m.name, t, start, roundValue(m.name, value), m.series.type ?? null, this.temporality);
      row.model = m.series.model ?? null;
      if (m.series.fields) Object.assign(row, m.series.fields, { attributes: { ...(m.series.fields.attributes ?? {}) } });
      emit(this.ctx, row);
    }
    this.interval.clear();
  }

  /** The Claude Code process restarted: cumulative series start again from zero. */
  restart(t: number): void {
    this.totals.clear();
    this.seriesStart = t;
  }
}

const roundValue = (name: string, v: number) => (name === 'cost.usage' ? Math.round(v * 1e6) / 1e6 : v);

/** A model outage or slowdown: requests to `model` between `start` and `end` (epoch ms, UTC). */
export interface ModelIncident {
  model: string;
  start: number;
  end: number;
  /** Chance that each attempt fails (normally 0.012). */
  errorProbability?: number;
  /** Latency multiplier. */
  latencyFactor?: number;
}

/**
 * What `generate --anomalies` changes in one developer-day (functions/lib/generator/anomalies.ts
 * plans it and labels it). A normal day has none of it, and its random streams are untouched.
 */
export interface DayInjection {
  /** Work this day even if the developer would not have. */
  forceActive?: boolean;
  /** An independent copy of the day (another random stream): a spike day is several days of work at once. */
  copy?: number;
  /** A share of the prompts go to this model instead (an unapproved model a team starts using). */
  modelSwap?: { model: ModelProfile; share: number };
  /** Every MCP call names this server (a server never used before). */
  mcpServer?: string;
  incidents?: ModelIncident[];
  /** An extra session starting at this local hour (a 3 a.m. burst), with this many prompts. */
  extraSession?: { localHour: number; prompts: number };
}

export interface DayOptions {
  /** A few sessions export metrics only (logs exporter disabled). */
  metricsOnlyShare?: number;
  inject?: DayInjection;
}

/** Generates one developer's UTC day `day` (YYYY-MM-DD); `seed` makes it reproducible. */
export function developerDay(seed: string | number, dev: Developer, day: string, options: DayOptions = {}): DayOutput {
  const out: DayOutput = { rows: [], delaysMs: [] };
  const inject = options.inject;
  const rng = inject?.copy === undefined ? new Random(seed, 'day', dev.index, day) : new Random(seed, 'day', dev.index, day, 'copy', inject.copy);
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  // Work happens on the developer's local weekday; a day in UTC covers parts of two local days.
  const localDow = new Date(dayStart + dev.utcOffsetHours * HOUR + 12 * HOUR).getUTCDay();
  const weekend = localDow === 0 || localDow === 6;
  const team = teamOn(dev, day);
  if (inject?.extraSession) extraSession(seed, dev, day, dayStart, inject, out);
  if (!rng.chance(weekend ? 0.08 : dev.weekdayActivity) && !inject?.forceActive) return out;

  const sessions = Math.max(1, Math.min(8, rng.poisson(1.6 * dev.intensity)));
  for (let s = 0; s < sessions; s++) {
    // Local working hours 08:30-19:00, a little spread, converted to UTC and kept inside this UTC day.
    const localStartH = 8.5 + rng.next() * 9.5;
    let start = dayStart + (localStartH - dev.utcOffsetHours) * HOUR;
    start = dayStart + ((((start - dayStart) % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR));
    if (start > dayStart + 23 * HOUR) start -= 2 * HOUR;
    const sessionId = rng.uuid();
    const project = rng.pick(team.repos);
    const extra = new Random(seed, 'issue17', dev.index, day, inject?.copy ?? '', s);
    const ctx: SessionCtx = { rng, extra, dev, day, base: identityRecord(dev, sessionId, project), out, seq: 1, ...(inject ? { inject } : {}) };
    simulateSession(ctx, start, dayStart + 24 * HOUR - 1, options.metricsOnlyShare ?? 0.03);
  }
  return out;
}

/** An injected session at a local hour the developer never works (its own random stream, so the rest of the day is unchanged). */
function extraSession(seed: string | number, dev: Developer, day: string, dayStart: number, inject: DayInjection, out: DayOutput): void {
  const { localHour, prompts } = inject.extraSession!;
  const rng = new Random(seed, 'extra-session', dev.index, day);
  const utcHour = (((localHour - dev.utcOffsetHours) % 24) + 24) % 24;
  const start = dayStart + utcHour * HOUR + rng.int(0, 15) * MINUTE;
  const ctx: SessionCtx = { rng, dev, day, base: identityRecord(dev, rng.uuid(), rng.pick(teamOn(dev, day).repos)), out, seq: 1, inject };
  simulateSession(ctx, start, dayStart + 24 * HOUR - 1, 0, prompts);
}

function simulateSession(ctx: SessionCtx, start: number, dayEnd: number, metricsOnlyShare: number, promptCount?: number): void {
  const { rng, dev } = ctx;
  const metricsOnly = rng.chance(metricsOnlyShare);
  const events = !metricsOnly;
  const acc = new MetricAccumulator(ctx, start, dev.temporality);
  const drawn = Math.max(1, Math.min(40, Math.round(rng.lognormal(6 * Math.sqrt(dev.intensity), 0.7))));
  const prompts = promptCount ?? drawn;
  let t = start;
  let lastFlush = start;

  if (events && rng.chance(0.06)) {
    // Compliance evidence: a few sessions switch permission mode, occasionally to bypassPermissions.
    const to = rng.chance(0.25) ? 'bypassPermissions' : rng.pick(['acceptEdits', 'plan', 'auto']);
    const e = event(ctx, 'permission_mode_changed', t + 2000, null);
    e.attributes = { from_mode: 'default', to_mode: to, trigger: 'shift_tab' };
    emit(ctx, e);
  }
  acc.add('session.count', { fields: { attributes: { start_type: 'fresh' } } }, 1);
  const x = ctx.extra;
  // Traces are beta: about a third of sessions export them.
  const traced = events && x !== undefined && x.chance(0.35);
  if (events && x) {
    if (x.chance(0.01)) {
      // A /login that fails (an expired grant) and the retry that works.
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'auth', t + 500, null, { action: 'login', auth_method: 'oauth', error_category: 'invalid_grant' }), {
          success: false,
          status_code: 400,
        }),
      );
      emitExtra(ctx, Object.assign(extraEvent(ctx, 'auth', t + 20_000, null, { action: 'login', auth_method: 'oauth' }), { success: true }));
    }
    if (x.chance(0.3)) {
      const plugin = x.pick(PLUGINS);
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'plugin_loaded', t + 800, null, { 'plugin.version': '1.2.0', 'plugin.scope': 'org', enabled_via: 'org-policy' }), {
          plugin_name: plugin,
        }),
      );
    }
    if (x.chance(0.25)) {
      const server = x.weighted(MCP_SERVERS);
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'mcp_server_connection', t + 1200, null, { status: 'connected', transport_type: 'http', server_scope: 'project' }), {
          mcp_server_name: server,
          duration_ms: Math.round(x.lognormal(300, 0.5)),
        }),
      );
    }
  }

  for (let p = 0; p < prompts && t < dayEnd - 10 * MINUTE; p++) {
    const promptId = rng.uuid();
    const promptStart = t;
    if (events) {
      const e = event(ctx, 'user_prompt', t, promptId);
      e.prompt_length = Math.round(rng.lognormal(180, 1));
      emit(ctx, e);
    }
    const model = pickModel(rng, dev, ctx.day, ctx.inject);
    const turns = 1 + rng.poisson(2.2);
    if (traced) ctx.spans = [];
    if (events && x?.chance(0.08))
      emitExtra(ctx, Object.assign(extraEvent(ctx, 'skill_activated', t + 50, promptId, { invocation_trigger: 'claude' }), { skill_name: x.pick(SKILLS) }));
    for (let k = 0; k < turns; k++) {
      const source = k === 0 ? 'repl_main_thread' : rng.chance(0.1) ? 'compact' : 'repl_main_thread';
      t = request(ctx, acc, model, t + 300, promptId, events, source);
      if (events && x && source === 'compact') emitExtra(ctx, extraEvent(ctx, 'compaction', t, promptId, { trigger: 'auto' }));
      if (rng.chance(0.15)) t = request(ctx, acc, MODELS.haiku, t + 100, promptId, events, 'auxiliary');
      if (k < turns - 1 || rng.chance(0.5)) t = tool(ctx, acc, t + 200, promptId, events);
    }
    if (ctx.spans) {
      emitInteraction(ctx, promptStart, t + 50, ctx.spans);
      delete ctx.spans;
    }
    // Active time: the user typing and reading, the CLI working.
    acc.add('active_time.total', { type: 'cli' }, Math.round((t - promptStart) / 1000));
    acc.add('active_time.total', { type: 'user' }, Math.round(rng.lognormal(40, 0.6)));
    if (rng.chance(0.12)) acc.add('commit.count', {}, 1);
    if (rng.chance(0.025)) acc.add('pull_request.count', {}, 1);
    // Metrics are exported every 60 s; flush when a minute boundary passed.
    if (t - lastFlush >= MINUTE) {
      acc.flush(t, lastFlush);
      lastFlush = t;
    }
    if (rng.chance(0.03)) acc.restart(t); // Claude Code restarted mid-session: cumulative series reset
    t += rng.lognormal(2.5 * MINUTE, 0.9);
  }
  acc.flush(Math.min(t + MINUTE, dayEnd), lastFlush);
}

function request(ctx: SessionCtx, acc: MetricAccumulator, model: ModelProfile, t: number, promptId: string, events: boolean, querySource: string): number {
  const { rng } = ctx;
  // Transient provider errors, retried by Claude Code with backoff.
  let attempt = 1;
  const incident = ctx.inject?.incidents?.find((i) => i.model === model.id && t >= i.start && t < i.end);
  while (rng.chance(incident?.errorProbability ?? 0.012) && attempt < 4) {
    const status = rng.weighted([
      [529, 5],
      [429, 3],
      [500, 2],
    ] as const);
    const dur = rng.lognormal(1200, 0.5);
    if (events) {
      const e = event(ctx, 'api_error', t + dur, promptId);
      e.model = model.id;
      e.status_code = status;
      e.error = status === 529 ? 'Overloaded' : status === 429 ? 'Too many requests' : 'Internal server error';
      e.attempt = attempt;
      e.duration_ms = Math.round(dur);
      e.query_source = querySource;
      emit(ctx, e);
    }
    t += dur + 1000 * 2 ** attempt;
    attempt++;
  }
  const input = Math.round(rng.lognormal(40, 1.2)) + 3;
  const cacheRead = rng.chance(0.85) ? Math.round(rng.lognormal(38_000, 0.7)) : 0;
  const cacheCreation = rng.chance(0.6) ? Math.round(rng.lognormal(2_500, 1)) : 0;
  const output = Math.max(1, Math.round(rng.lognormal(model.outputMedian, 0.9)));
  const cost =
    usd(input, model.price.input) + usd(output, model.price.output) + usd(cacheRead, model.price.cacheRead) + usd(cacheCreation, model.price.cacheCreation);
  let duration = Math.round(rng.lognormal(model.latencyMedianMs, 0.55) * (0.6 + output / (model.outputMedian * 2.5)));
  if (incident?.latencyFactor) duration = Math.round(duration * incident.latencyFactor);
  const ttft = Math.round(Math.min(duration * 0.9, rng.lognormal(1100, 0.45)));
  const end = t + duration;
  const x = ctx.extra;
  if (ctx.spans)
    ctx.spans.push({
      name: 'llm_request',
      start: t,
      ms: duration,
      parent: 'root',
      fields: {
        model: model.id,
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cacheRead,
        cache_creation_tokens: cacheCreation,
        duration_ms: duration,
        ttft_ms: ttft,
        query_source: querySource,
        success: true,
      },
    });
  if (events && x) {
    if (x.chance(0.002))
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'api_refusal', end + 5, promptId, { has_category: 'true' }), { model: model.id, query_source: querySource, attempt: 1 }),
      );
    // Requests that hit the retry cap (incidents) sometimes report that the retries ran out.
    if (attempt >= 4 && x.chance(0.5))
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'api_retries_exhausted', t - 1, promptId), { model: model.id, status_code: 529, error: 'Overloaded', attempt }),
      );
  }
  if (events) {
    const e = event(ctx, 'api_request', end, promptId);
    e.model = model.id;
    e.input_tokens = input;
    e.output_tokens = output;
    e.cache_read_tokens = cacheRead;
    e.cache_creation_tokens = cacheCreation;
    e.cost_usd = Math.round(cost * 1e6) / 1e6;
    e.duration_ms = duration;
    e.ttft_ms = ttft;
    e.query_source = querySource;
    e.speed = 'normal';
    e.request_id = `req_bdrk_${rng.hex(24)}`;
    if (attempt > 1) e.attempt = attempt;
    emit(ctx, e);
  }
  acc.add('token.usage', { type: 'input', model: model.id }, input);
  acc.add('token.usage', { type: 'output', model: model.id }, output);
  acc.add('token.usage', { type: 'cacheRead', model: model.id }, cacheRead);
  acc.add('token.usage', { type: 'cacheCreation', model: model.id }, cacheCreation);
  acc.add('cost.usage', { model: model.id }, cost);
  return end;
}

function tool(ctx: SessionCtx, acc: MetricAccumulator, t: number, promptId: string, events: boolean): number {
  const { rng } = ctx;
  const name = rng.weighted(TOOLS);
  const edit = EDIT_TOOLS.has(name);
  const needsPermission = edit || name === 'Bash' || name === 'mcp_tool';
  const reject = needsPermission && rng.chance(edit ? 0.08 : 0.04);
  const source = needsPermission
    ? reject
      ? 'user_reject'
      : rng.weighted([
          ['user_temporary', 5],
          ['user_permanent', 2],
          ['config', 3],
        ] as const)
    : 'config';
  const toolUseId = `toolu_${rng.hex(24)}`;
  const wait = needsPermission && source.startsWith('user') ? rng.lognormal(4000, 0.8) : 0;
  if (events) {
    const d = event(ctx, 'tool_decision', t + wait, promptId);
    d.tool_name = name;
    d.decision = reject ? 'reject' : 'accept';
    d.decision_source = source;
    d.attributes = { tool_use_id: toolUseId };
    emit(ctx, d);
  }
  if (edit) {
    const language = rng.weighted(LANGUAGES);
    acc.add('code_edit_tool.decision', { fields: { tool_name: name, decision: reject ? 'reject' : 'accept', decision_source: source, language } }, 1);
    if (!reject) {
      acc.add('lines_of_code.count', { type: 'added' }, Math.round(rng.lognormal(14, 1)));
      if (rng.chance(0.6)) acc.add('lines_of_code.count', { type: 'removed' }, Math.round(rng.lognormal(5, 1)));
    }
  }
  const x = ctx.extra;
  let toolSpan = -1;
  if (ctx.spans) {
    toolSpan = ctx.spans.length;
    ctx.spans.push({ name: 'tool', start: t, ms: wait, parent: 'root', fields: { tool_name: name } });
    if (wait > 0)
      ctx.spans.push({
        name: 'tool.blocked_on_user',
        start: t,
        ms: wait,
        parent: toolSpan,
        fields: { decision: reject ? 'reject' : 'accept', decision_source: source },
      });
  }
  if (reject) return t + wait;
  const duration = Math.round(rng.lognormal(name === 'Bash' ? 2500 : name === 'Task' ? 40_000 : 120, 1));
  const success = rng.chance(name === 'Bash' ? 0.88 : 0.97);
  if (ctx.spans) {
    ctx.spans[toolSpan]!.ms = wait + duration;
    ctx.spans.push({
      name: 'tool.execution',
      start: t + wait,
      ms: duration,
      parent: toolSpan,
      fields: { success },
      ...(success ? {} : { error: 'tool failed' }),
    });
    if (x && x.chance(0.2))
      ctx.spans.push({
        name: 'hook',
        start: t + wait + duration,
        ms: Math.round(x.lognormal(40, 0.5)),
        parent: toolSpan,
        fields: { attributes: { 'span.type': 'hook', hook_event: 'PostToolUse' } },
      });
  }
  if (events && x) {
    if (name === 'Task')
      emitExtra(
        ctx,
        Object.assign(extraEvent(ctx, 'subagent_completed', t + wait + duration, promptId), { agent_name: 'general-purpose', duration_ms: duration, success }),
      );
    if (x.chance(0.05))
      emitExtra(
        ctx,
        extraEvent(ctx, 'hook_execution_complete', t + wait + duration + 1, promptId, { hook_event: 'PostToolUse', num_success: '1', num_blocking: '0' }),
      );
  }
  if (events) {
    const r = event(ctx, 'tool_result', t + wait + duration, promptId);
    r.tool_name = name;
    r.success = success;
    r.duration_ms = duration;
    r.decision = 'accept';
    r.decision_source = source;
    r.attributes = { tool_use_id: toolUseId, tool_result_size_bytes: String(Math.round(rng.lognormal(2000, 1.2))) };
    if (!success) r.attributes.error_type = name === 'Bash' ? 'ShellError' : 'Error:ENOENT';
    if (name === 'mcp_tool') {
      const server = rng.weighted(MCP_SERVERS);
      // Its own column since issue 17, as the transform now fills it.
      r.mcp_server_name = ctx.inject?.mcpServer ?? server;
    }
    emit(ctx, r);
  }
  return t + wait + duration;
}
