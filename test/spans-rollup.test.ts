/**
 * Issue 17 end to end on a hand-built lake: span rows and 2026 columns through compaction into the
 * `events` view, raw objects written before the new columns existed (old schema) compacted beside
 * new ones, and the rollups and views built on them:
 *  - interaction_latency_daily equals an independent computation (below, in TypeScript) from the
 *    hand-made spans: interactions per team and model, p50/p95 wall time, and the time inside
 *    llm_request, tool.execution and tool.blocked_on_user spans;
 *  - token_burn_by_source_daily groups the burn by agent, skill, plugin and MCP server;
 *  - events_data_quality flags the cost-bearing records of Claude Code before 2.1.214 and
 *    data_quality_daily shows their share of the day's reported cost;
 *  - a claude-code-desktop record counts like any other (DAU).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '../schemas/raw-record';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs, variant } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-spans-rollup-test-');
afterAll(() => tmp.cleanup());

const config = parseConfig({
  prices: { version: 'list-test', rows: [{ model: 'claude-opus-4-6', validFrom: '2026-01-01', input: 5, output: 25, cacheRead: 0.5, cacheCreation: 6.25 }] },
});
const D = '2026-11-02';
const NEXT = '2026-11-03';
const OPUS = 'claude-opus-4-6';
const SONNET = 'claude-sonnet-4-6';

/** The raw record as it was before issue 17: without the columns issue 17 appended. */
const NEW_COLUMNS = new Set([
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
]);
const OLD_RAW = variant((cols) => cols.filter((c) => !NEW_COLUMNS.has(c.name)));

let spanSeq = 0;
/** One span row as the decoder writes it. */
function span(user: string, trace: string, name: string, startIso: string, ms: number, extra: Partial<RawRecord> = {}): RawRecord {
  const start = Date.parse(startIso);
  const id = (++spanSeq).toString(16).padStart(16, '0');
  return rec(startIso, user, {
    signal: 'span',
    name: `claude_code.${name}`,
    session_id: `s-${user}`,
    model: null,
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
    trace_id: trace.padStart(32, '0'),
    span_id: id,
    parent_span_id: null,
    start_time: start,
    end_time: start + ms,
    duration_ms: ms,
    status_code: 0,
    app_version: '2.1.220',
    attributes: { 'span.type': name },
    ...extra,
  });
}

/**
 * An interaction with its children, laid out one after the other from `startIso`:
 * llm (model, ms), then per tool: blocked (ms) and execution (ms), then a final llm.
 */
function interaction(
  user: string,
  trace: string,
  startIso: string,
  parts: { llm: [string, number][]; tools: [number, number][] },
  extra: Partial<RawRecord> = {},
): RawRecord[] {
  const rows: RawRecord[] = [];
  let t = Date.parse(startIso);
  const children: RawRecord[] = [];
  const at = () => new Date(t).toISOString();
  const [first, ...rest] = parts.llm;
  if (first) {
    children.push(span(user, trace, 'llm_request', at(), first[1], { model: first[0], ...extra }));
    t += first[1];
  }
  for (const [blocked, exec] of parts.tools) {
    const tool = span(user, trace, 'tool', at(), blocked + exec, extra);
    children.push(tool);
    if (blocked) children.push(span(user, trace, 'tool.blocked_on_user', at(), blocked, { parent_span_id: tool.span_id, ...extra }));
    t += blocked;
    children.push(span(user, trace, 'tool.execution', at(), exec, { parent_span_id: tool.span_id, ...extra }));
    t += exec;
    children.push(span(user, trace, 'hook', at(), 5, { parent_span_id: tool.span_id, ...extra }));
  }
  for (const [model, ms] of rest) {
    children.push(span(user, trace, 'llm_request', at(), ms, { model, ...extra }));
    t += ms;
  }
  const wall = t - Date.parse(startIso) + 100;
  const root = span(user, trace, 'interaction', startIso, wall, extra);
  for (const c of children) if (c.parent_span_id === null) c.parent_span_id = root.span_id;
  // record ids were computed before the parent was set: recompute through rec() semantics.
  rows.push(root, ...children.map((c) => rec(new Date(c.event_time!).toISOString(), user, { ...c })));
  return rows;
}

const SPANS: RawRecord[] = [
  // u1 (payments, org directory): five interactions; opus first in three, sonnet first in two (one
  // of them also calls opus later: the first request names the interaction's model).
  ...interaction('u1', 'a1', `${D}T09:00:00.000Z`, {
    llm: [
      [OPUS, 4000],
      [OPUS, 2000],
    ],
    tools: [[3000, 1500]],
  }),
  ...interaction('u1', 'a2', `${D}T09:10:00.000Z`, {
    llm: [[OPUS, 8000]],
    tools: [
      [0, 700],
      [12_000, 300],
    ],
  }),
  ...interaction('u1', 'a3', `${D}T09:20:00.000Z`, { llm: [[OPUS, 1000]], tools: [] }),
  ...interaction('u1', 'a4', `${D}T09:30:00.000Z`, {
    llm: [
      [SONNET, 2500],
      [OPUS, 9000],
    ],
    tools: [[500, 250]],
  }),
  ...interaction('u1', 'a5', `${D}T09:40:00.000Z`, { llm: [[SONNET, 6000]], tools: [[0, 60_000]] }),
  // u2 (team infra from its records): an interaction with no model request, and one that starts
  // before midnight and ends after it (its last children are in the next day's partition).
  ...interaction('u2', 'b1', `${D}T12:00:00.000Z`, { llm: [], tools: [[2000, 2000]] }, { team_id: 'infra' }),
  ...interaction(
    'u2',
    'b2',
    `${D}T23:59:58.000Z`,
    {
      llm: [
        [SONNET, 5000],
        [SONNET, 7000],
      ],
      tools: [[1000, 3000]],
    },
    { team_id: 'infra' },
  ),
  // The next day's own interaction: not part of D.
  ...interaction('u2', 'b3', `${NEXT}T08:00:00.000Z`, { llm: [[SONNET, 1000]], tools: [] }, { team_id: 'infra' }),
  // A span of another trace inside a1's time window: belongs to no interaction of D.
  span('u1', 'zz', 'llm_request', `${D}T09:00:01.000Z`, 999_000, { model: OPUS }),
];

/** quantile_cont: linear interpolation between the closest ranks (what approx_percentile is on DuckDB). */
function quantile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  const h = (v.length - 1) * p;
  const lo = Math.floor(h);
  return v[lo]! + (h - lo) * ((v[Math.min(lo + 1, v.length - 1)] ?? v[lo]!) - v[lo]!);
}

/** interaction_latency_daily for day `dt` computed from the spans alone, following CONTRACTS section 3. */
function expectedLatency(spans: RawRecord[], dt: string, teamOf: (user: string) => string) {
  const roots = spans.filter((s) => s.name === 'claude_code.interaction' && new Date(s.start_time!).toISOString().slice(0, 10) === dt);
  const groups = new Map<string, { team: string; model: string; walls: number[]; llm: number; tool: number; wait: number }>();
  for (const r of roots) {
    const inside = spans.filter((s) => s.trace_id === r.trace_id && s !== r && s.start_time! >= r.start_time! && s.start_time! < r.end_time!);
    const sum = (name: string) => inside.filter((s) => s.name === `claude_code.${name}`).reduce((a, s) => a + s.duration_ms!, 0);
    const llms = inside.filter((s) => s.name === 'claude_code.llm_request').sort((a, b) => a.start_time! - b.start_time!);
    const team = teamOf(r.user_id!);
    const model = llms[0]?.model ?? 'unknown';
    const key = `${team}|${model}`;
    const g = groups.get(key) ?? { team, model, walls: [], llm: 0, tool: 0, wait: 0 };
    g.walls.push(r.duration_ms!);
    g.llm += sum('llm_request');
    g.tool += sum('tool.execution');
    g.wait += sum('tool.blocked_on_user');
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => ({
      dt,
      team: g.team,
      model: g.model,
      interactions: g.walls.length,
      p50_ms: quantile(g.walls, 0.5),
      p95_ms: quantile(g.walls, 0.95),
      llm_ms: g.llm,
      tool_ms: g.tool,
      waiting_on_user_ms: g.wait,
    }))
    .sort((a, b) => `${a.team}|${a.model}`.localeCompare(`${b.team}|${b.model}`));
}

const catalogOf = (store: LocalObjectStore) => new LocalCatalog(store, config.aws.glueDatabase);

/** Old-schema requests of Claude Code 2.1.200 (affected by the double count) and new 2026 requests. */
const OLD_REQUESTS = [1, 2, 3].map((i) =>
  rec(`${D}T08:0${i}:00Z`, 'u3', {
    session_id: 's-u3',
    model: OPUS,
    app_version: '2.1.200',
    input_tokens: 100,
    output_tokens: 10,
    cost_usd: 0.25,
    team_id: 'legacy',
  }),
);
const NEW_REQUESTS = [
  rec(`${D}T10:00:00Z`, 'u1', {
    session_id: 's-u1',
    model: OPUS,
    context_tier: '1m',
    app_version: '2.1.220',
    input_tokens: 40,
    output_tokens: 400,
    cost_usd: 0.5,
    agent_name: 'code-reviewer',
    skill_name: 'pdf',
    query_source: 'subagent',
  }),
  rec(`${D}T10:01:00Z`, 'u1', {
    session_id: 's-u1',
    model: OPUS,
    app_version: '2.1.220',
    input_tokens: 60,
    output_tokens: 600,
    cost_usd: 0.25,
    plugin_name: 'acme-tools',
    mcp_server_name: 'github',
    mcp_tool_name: 'create_pull_request',
  }),
  rec(`${D}T10:02:00Z`, 'u1', {
    session_id: 's-u1',
    model: OPUS,
    app_version: '2.1.213',
    input_tokens: 1,
    output_tokens: 1,
    cost_usd: 0.25,
    agent_name: 'code-reviewer',
  }),
  // The desktop app counts as Claude Code: u4 is active on D through it alone.
  rec(`${D}T11:00:00Z`, 'u4', {
    session_id: 's-u4',
    model: SONNET,
    app_version: '2.1.220',
    service_name: 'claude-code-desktop',
    cost_usd: 0.0,
    input_tokens: 5,
    output_tokens: 5,
  }),
];

async function buildLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    ['user_email,user_id,team,department,cost_center,valid_from,valid_to', 'u1@example.com,u1,payments,finance-eng,CC-100,2026-10-01,'].join('\n') + '\n',
  );
  // Written before issue 17: the old columns only (what Firehose wrote with the old Glue table).
  const oldRows = OLD_REQUESTS.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !NEW_COLUMNS.has(k))));
  await putRaw(store, `${D}T08:30:00Z`, oldRows, OLD_RAW);
  await putRaw(store, `${D}T12:30:00Z`, [...NEW_REQUESTS, ...SPANS.filter((s) => s.event_time! < Date.parse(`${NEXT}T00:00:00Z`))]);
  await putRaw(
    store,
    `${NEXT}T09:00:00Z`,
    SPANS.filter((s) => s.event_time! >= Date.parse(`${NEXT}T00:00:00Z`)),
  );
  await compact(store, catalogOf(store), config, { now: Date.parse(`${NEXT}T10:00:00Z`) });
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalogOf(store), engine, config, { now: Date.parse(`${NEXT}T11:00:00Z`) });
  } finally {
    engine.close();
  }
  return store;
}

let built: Promise<LocalObjectStore> | null = null;
const lake = () => (built ??= buildLake());

async function q(sql: string): Promise<Record<string, unknown>[]> {
  const engine = await LocalQueryEngine.open(await lake(), config);
  try {
    return (await engine.query(sql)).rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e9) / 1e9 : v])),
    );
  } finally {
    engine.close();
  }
}

describe('spans and 2026 columns in the lake', () => {
  it('old raw objects without the new columns compact beside new ones; their new columns read as null', async () => {
    const rows = await q(
      `SELECT user_id, app_version, agent_name, trace_id, end_time, context_tier FROM events WHERE name = 'claude_code.api_request' ORDER BY event_time`,
    );
    expect(rows.filter((r) => r.user_id === 'u3')).toEqual(
      OLD_REQUESTS.map(() => ({ user_id: 'u3', app_version: '2.1.200', agent_name: null, trace_id: null, end_time: null, context_tier: null })),
    );
    expect(rows.find((r) => r.agent_name === 'code-reviewer' && r.context_tier === '1m')).toBeTruthy();
    // events_raw (every raw object, typed by the schema) reads the old object too.
    expect(await q(`SELECT count(*) AS n FROM events_raw WHERE user_id = 'u3' AND trace_id IS NULL`)).toEqual([{ n: 3 }]);
  });

  it('every span lands once in events with its ids, start, end and duration', async () => {
    const rows = await q(
      `SELECT record_id, trace_id, span_id, parent_span_id, epoch_ms(start_time) AS s, epoch_ms(end_time) AS e, duration_ms, dt FROM events WHERE signal = 'span' ORDER BY record_id`,
    );
    expect(rows).toHaveLength(SPANS.length);
    const want = SPANS.map((x) => ({
      record_id: x.record_id,
      trace_id: x.trace_id,
      span_id: x.span_id,
      parent_span_id: x.parent_span_id,
      s: x.start_time,
      e: x.end_time,
      duration_ms: x.duration_ms,
      dt: new Date(x.start_time!).toISOString().slice(0, 10),
    }));
    expect(rows).toEqual(want.sort((a, b) => a.record_id!.localeCompare(b.record_id!)));
  });

  it('interaction_latency_daily equals an independent computation from the spans', async () => {
    const teamOf = (u: string) => (u === 'u1' ? 'payments' : 'infra');
    const want = expectedLatency(SPANS, D, teamOf).map((r) => ({ ...r, p50_ms: Math.round(r.p50_ms * 1e9) / 1e9, p95_ms: Math.round(r.p95_ms * 1e9) / 1e9 }));
    const got = await q(
      `SELECT CAST(dt AS VARCHAR) AS dt, team, model, interactions, p50_ms, p95_ms, llm_ms, tool_ms, waiting_on_user_ms FROM interaction_latency_daily WHERE dt = DATE '${D}' ORDER BY team, model`,
    );
    expect(got).toEqual(want);
    // What the fixture is meant to exercise, so the comparison above cannot pass vacuously.
    expect(want.map((r) => `${r.team} ${r.model} ${r.interactions}`)).toEqual([
      'infra claude-sonnet-4-6 1',
      'infra unknown 1',
      'payments claude-opus-4-6 3',
      'payments claude-sonnet-4-6 2',
    ]);
    // b2 crossed midnight: its tool execution and last request started on the next day and count.
    expect(want.find((r) => r.model === SONNET && r.team === 'infra')).toMatchObject({ llm_ms: 12_000, tool_ms: 3000, waiting_on_user_ms: 1000 });
    // The next day has its own interaction only.
    expect(await q(`SELECT team, model, interactions FROM interaction_latency_daily WHERE dt = DATE '${NEXT}'`)).toEqual([
      { team: 'infra', model: SONNET, interactions: 1 },
    ]);
  });

  it('token_burn_by_source_daily groups the burn by agent, skill, plugin and MCP server; totals match token_burn_daily', async () => {
    const rows = await q(
      `SELECT team, query_source, agent_name, skill_name, plugin_name, mcp_server_name, token_type, tokens FROM token_burn_by_source_daily WHERE dt = DATE '${D}' AND team = 'payments' AND token_type = 'output' ORDER BY tokens`,
    );
    expect(rows).toEqual([
      {
        team: 'payments',
        query_source: 'none',
        agent_name: 'code-reviewer',
        skill_name: 'none',
        plugin_name: 'none',
        mcp_server_name: 'none',
        token_type: 'output',
        tokens: 1,
      },
      {
        team: 'payments',
        query_source: 'subagent',
        agent_name: 'code-reviewer',
        skill_name: 'pdf',
        plugin_name: 'none',
        mcp_server_name: 'none',
        token_type: 'output',
        tokens: 400,
      },
      {
        team: 'payments',
        query_source: 'none',
        agent_name: 'none',
        skill_name: 'none',
        plugin_name: 'acme-tools',
        mcp_server_name: 'github',
        token_type: 'output',
        tokens: 600,
      },
    ]);
    const totals = async (t: string) =>
      q(
        `SELECT token_type, sum(tokens) AS tokens, round(sum(priced_cost_usd), 9) AS cost FROM ${t} WHERE dt = DATE '${D}' GROUP BY token_type ORDER BY token_type`,
      );
    expect(await totals('token_burn_by_source_daily')).toEqual(await totals('token_burn_daily'));
  });

  it('events_data_quality flags the cost-bearing records of versions before 2.1.214; data_quality_daily shows their share of cost', async () => {
    const flagged = await q(
      `SELECT app_version, name, count(*) AS n FROM events_data_quality WHERE dt = DATE '${D}' GROUP BY app_version, name ORDER BY app_version`,
    );
    // 2.1.200 (three old requests) and 2.1.213 (one new request); 2.1.220 is fixed; spans of 2.1.220 are not flagged.
    expect(flagged).toEqual([
      { app_version: '2.1.200', name: 'claude_code.api_request', n: 3 },
      { app_version: '2.1.213', name: 'claude_code.api_request', n: 1 },
    ]);
    const cost = 3 * 0.25 + 0.5 + 0.25 + 0.25 + 0;
    expect(
      await q(
        `SELECT CAST(dt AS VARCHAR) AS dt, issue, affected_records, affected_cost_usd, cost_usd, affected_cost_share FROM data_quality_daily ORDER BY dt`,
      ),
    ).toEqual([
      {
        dt: D,
        issue: 'double_counted_stream_cost',
        affected_records: 4,
        affected_cost_usd: 1,
        cost_usd: cost,
        affected_cost_share: Math.round((1 / cost) * 1e9) / 1e9,
      },
    ]);
    // Nothing was rewritten: the affected requests keep the cost they reported.
    expect(await q(`SELECT sum(cost_usd) AS c FROM events WHERE user_id = 'u3'`)).toEqual([{ c: 0.75 }]);
  });

  it('a claude-code-desktop record counts as Claude Code (DAU)', async () => {
    expect(await q(`SELECT dau FROM active_users_daily WHERE dt = DATE '${D}'`)).toEqual([{ dau: 3 }]); // u1, u3, u4
    expect(await q(`SELECT requests FROM user_daily WHERE dt = DATE '${D}' AND user_key = 'u4@example.com'`)).toEqual([{ requests: 1 }]);
  });
});
