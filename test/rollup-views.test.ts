/**
 * The daily rollup tables and monthly views analysts read (CONTRACTS section 4: api_health_daily,
 * tool_usage_daily, token_burn_daily, compliance_daily, roi_monthly, chargeback_monthly) on a
 * hand-built lake with hand-computed expectations: a redelivered raw object, late data, a model the
 * price table lacks, an empty day inside the range, known latencies, and every compliance control.
 *
 * The lake (reporting time zone UTC), three developers:
 *  - u1: team payments, cost center CC-100 (org directory), project repo-a, Bedrock profile
 *    us.…sonnet (priced, approved, us. residency allowed). 2026-11-02: five requests, one error,
 *    tool calls (Bash, Read, two MCP calls), tool decisions, two permission-mode changes and a prompt
 *    event that logged the prompt text; its raw object arrives twice. 2026-11-04: one request, a
 *    commit, an accepted edit and active time in every hour of the day.
 *  - u2: team search (directory, no cost center), metrics only, eu.…sonnet (priced, approved, eu.
 *    residency not allowed), a cumulative input series.
 *  - u3: team infra from its own record attributes, no cost center, an in-region Bedrock opus model
 *    id (no profile prefix: not approved, not priced) from region eu-west-1 (not allowed).
 *  - Nobody on 2026-11-03.
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
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-rollup-views-test-');
afterAll(() => tmp.cleanup());

const config = parseConfig({
  prices: {
    book: 'none',
    version: 'list-2026-11',
    rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }],
  },
  roi: {
    version: 'roi-test-1',
    loadedHourlyRateUsd: 100,
    hoursSaved: { perAcceptedEdit: 0.5, perCommit: 1, perPullRequest: 2, perLineAdded: 0, perActiveHour: 0.5 },
  },
  compliance: {
    approvedModels: ['*claude-sonnet-4*'],
    allowedResidencyPrefixes: ['us.', 'global.'],
    allowedRegions: ['us-east-1'],
    mcpAllowlist: ['github'],
    attributionThreshold: 0.9,
  },
});
const catalogOf = (store: LocalObjectStore) => new LocalCatalog(store, config.aws.glueDatabase);

const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const SONNET_EU = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS_IN_REGION = 'anthropic.claude-opus-4-1-20250805-v1:0';
const D1 = '2026-11-02';
const D3 = '2026-11-04';

/** A non-request event (no model, tokens or cost unless given). */
const event = (iso: string, user: string, name: string, extra: Partial<RawRecord> = {}) =>
  rec(iso, user, { name: `claude_code.${name}`, model: null, input_tokens: null, output_tokens: null, cost_usd: null, attributes: {}, ...extra });

const metric = (iso: string, user: string, name: string, type: string | null, value: number, extra: Partial<RawRecord> = {}) =>
  rec(iso, user, {
    signal: 'metric',
    name: `claude_code.${name}`,
    metric_type: type,
    value,
    temporality: 'delta',
    model: null,
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
    attributes: {},
    ...extra,
  });

/** u1's requests on D1: known latencies 100, 200, 300, 400, 1000 ms and TTFT 10..50 ms. */
const u1Requests = [100, 200, 300, 400, 1000].map((ms, i) =>
  rec(`${D1}T09:0${i}:00Z`, 'u1', {
    session_id: 'a1',
    project: 'repo-a',
    model: SONNET_US,
    input_tokens: 100,
    output_tokens: 20,
    cache_read_tokens: 600,
    cache_creation_tokens: 300,
    cost_usd: 0.01,
    duration_ms: ms,
    ttft_ms: 10 * (i + 1),
  }),
);

async function fixtureLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    [
      'user_email,user_id,team,department,cost_center,valid_from,valid_to',
      'u1@example.com,u1,payments,finance-eng,CC-100,2026-10-01,',
      'u2@example.com,u2,search,core,,2026-10-01,',
    ].join('\n') + '\n',
  );
  const u1Day1 = [
    ...u1Requests,
    rec(`${D1}T09:06:00Z`, 'u1', {
      session_id: 'a1',
      project: 'repo-a',
      name: 'claude_code.api_error',
      model: SONNET_US,
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
      status_code: 529,
      duration_ms: 50,
    }),
    // Ignored for token burn: the session has api_request events.
    metric(`${D1}T09:07:00Z`, 'u1', 'token.usage', 'input', 9999, { session_id: 'a1', model: SONNET_US }),
    event(`${D1}T09:10:00Z`, 'u1', 'tool_result', { session_id: 'a1', tool_name: 'Bash', success: true, duration_ms: 100 }),
    event(`${D1}T09:11:00Z`, 'u1', 'tool_result', { session_id: 'a1', tool_name: 'Bash', success: false, duration_ms: 300 }),
    event(`${D1}T09:12:00Z`, 'u1', 'tool_result', { session_id: 'a1', tool_name: 'Bash', success: true, duration_ms: 200 }),
    event(`${D1}T09:13:00Z`, 'u1', 'tool_result', { session_id: 'a1', tool_name: 'Read', success: true, duration_ms: 50 }),
    // MCP calls as the generator emits them: github is on the allowlist, jira is not.
    event(`${D1}T09:14:00Z`, 'u1', 'tool_result', {
      session_id: 'a1',
      tool_name: 'mcp_tool',
      success: true,
      duration_ms: 1000,
      attributes: { 'mcp_server.name': 'github' },
    }),
    event(`${D1}T09:15:00Z`, 'u1', 'tool_result', {
      session_id: 'a1',
      tool_name: 'mcp_tool',
      success: true,
      duration_ms: 2000,
      attributes: { 'mcp_server.name': 'jira' },
    }),
    // A policy rejection (config rule), a user's own rejection (not policy) and an accepted edit.
    event(`${D1}T09:16:00Z`, 'u1', 'tool_decision', { session_id: 'a1', tool_name: 'Bash', decision: 'reject', decision_source: 'config' }),
    event(`${D1}T09:17:00Z`, 'u1', 'tool_decision', { session_id: 'a1', tool_name: 'Edit', decision: 'reject', decision_source: 'user_reject' }),
    event(`${D1}T09:18:00Z`, 'u1', 'tool_decision', { session_id: 'a1', tool_name: 'Edit', decision: 'accept', decision_source: 'user_temporary' }),
    event(`${D1}T09:19:00Z`, 'u1', 'permission_mode_changed', {
      session_id: 'a1',
      attributes: { from_mode: 'default', to_mode: 'bypassPermissions', trigger: 'shift_tab' },
    }),
    event(`${D1}T09:20:00Z`, 'u1', 'permission_mode_changed', {
      session_id: 'a1',
      attributes: { from_mode: 'bypassPermissions', to_mode: 'plan', trigger: 'shift_tab' },
    }),
    // Content that should never have reached the lake.
    event(`${D1}T09:21:00Z`, 'u1', 'user_prompt', { session_id: 'a1', prompt_length: 5, attributes: { prompt: 'hello' } }),
    // 2026 events (issue 17): a refusal and a request given up after its retries; neither is a request or an error.
    event(`${D1}T09:22:00Z`, 'u1', 'api_refusal', { session_id: 'a1', model: SONNET_US, attempt: 1 }),
    event(`${D1}T09:23:00Z`, 'u1', 'api_retries_exhausted', { session_id: 'a1', model: SONNET_US, status_code: 529, attempt: 10, duration_ms: 60000 }),
  ];
  // Redelivered: Firehose wrote the same records twice.
  await putRaw(store, `${D1}T09:30:00Z`, u1Day1);
  await putRaw(store, `${D1}T09:45:00Z`, u1Day1);
  const start = Date.parse(`${D1}T09:59:00Z`);
  await putRaw(store, `${D1}T10:30:00Z`, [
    metric(`${D1}T10:00:00Z`, 'u2', 'token.usage', 'input', 1000, { session_id: 'b1', model: SONNET_EU, temporality: 'cumulative', start_time: start }),
    metric(`${D1}T10:01:00Z`, 'u2', 'token.usage', 'input', 1500, { session_id: 'b1', model: SONNET_EU, temporality: 'cumulative', start_time: start }),
    metric(`${D1}T10:01:00Z`, 'u2', 'token.usage', 'output', 100, { session_id: 'b1', model: SONNET_EU }),
    metric(`${D1}T10:01:00Z`, 'u2', 'cost.usage', null, 0.05, { session_id: 'b1', model: SONNET_EU }),
    rec(`${D1}T11:00:00Z`, 'u3', {
      session_id: 'c1',
      team_id: 'infra',
      model: OPUS_IN_REGION,
      input_tokens: 1000,
      output_tokens: 100,
      cost_usd: 0.5,
      duration_ms: 5000,
      ttft_ms: 500,
      attributes: { 'cloud.region': 'eu-west-1' },
    }),
  ]);
  await putRaw(store, `${D3}T23:59:00Z`, [
    ...Array.from({ length: 24 }, (_, h) => metric(`${D3}T${String(h).padStart(2, '0')}:30:00Z`, 'u1', 'active_time.total', 'cli', 60, { session_id: 'a3' })),
    rec(`${D3}T12:00:00Z`, 'u1', {
      session_id: 'a3',
      project: 'repo-a',
      model: SONNET_US,
      input_tokens: 100,
      output_tokens: 20,
      cache_read_tokens: 0,
      cache_creation_tokens: 0,
      cost_usd: 0.01,
      duration_ms: 500,
      ttft_ms: 50,
    }),
    metric(`${D3}T12:05:00Z`, 'u1', 'commit.count', null, 1, { session_id: 'a3' }),
    event(`${D3}T12:06:00Z`, 'u1', 'tool_decision', { session_id: 'a3', tool_name: 'Edit', decision: 'accept', decision_source: 'config' }),
  ]);
  await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-05T01:00:00Z') });
  return store;
}

async function run(store: LocalObjectStore, options: Parameters<typeof rollup>[4] = {}) {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return await rollup(store, catalogOf(store), engine, config, { now: Date.parse('2026-11-05T02:00:00Z'), ...options });
  } finally {
    engine.close();
  }
}

/** Rows of a query on a fresh engine, doubles rounded to 9 places so hand-computed values compare. */
async function q(store: LocalObjectStore, sql: string): Promise<Record<string, unknown>[]> {
  const engine = await LocalQueryEngine.open(store, config);
  try {
    return (await engine.query(sql)).rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e9) / 1e9 : v])),
    );
  } finally {
    engine.close();
  }
}
const r9 = (x: number) => Math.round(x * 1e9) / 1e9;

/** The lake after one rollup, shared by the read-only tests. */
let built: Promise<LocalObjectStore> | null = null;
const lake = () =>
  (built ??= (async () => {
    const store = await fixtureLake();
    await run(store);
    return store;
  })());

describe('daily rollup tables', () => {
  it('api_health_daily: requests, errors, error rate and cache hit rate as fractions, latency percentiles', async () => {
    const store = await lake();
    // p50/p95/p99 of 100, 200, 300, 400, 1000 ms. DuckDB computes approx_percentile exactly
    // (quantile_cont, linear interpolation between ranks): p50 = 300, p95 = 400 + 0.8 x 600 = 880,
    // p99 = 400 + 0.96 x 600 = 976; TTFT p95 of 10..50 = 40 + 0.8 x 10 = 48. Trino's approx_percentile
    // is a sketch whose guarantee is on rank (within 0.01 x n of p x n), not on value: with five
    // values every one is its own centroid and the target rank of p95 (4.75 of 5) lies between the
    // 4th and 5th values, so Athena answers within [400, 1000] (in practice 1000, the nearest rank),
    // p50 exactly 300. The local exact value lies in the same interval, so it is an answer the
    // sketch could give; on a day's thousands of requests neighbouring ranks are close and the two
    // agree to a fraction of a percent. The duplicate raw object does not double anything.
    expect(await q(store, `SELECT * FROM api_health_daily ORDER BY dt, model`)).toEqual([
      {
        dt: D1,
        model: OPUS_IN_REGION,
        requests: 1,
        errors: 0,
        error_rate: 0,
        p50_ms: 5000,
        p95_ms: 5000,
        p99_ms: 5000,
        ttft_p95_ms: 500,
        cache_hit_rate: 0,
        refusals: 0,
        retries_exhausted: 0,
      },
      // cache hit rate = 3000 / (500 + 3000 + 1500) = 0.6; error rate = 1 / (5 + 1): the refusal and the
      // exhausted retry have their own counts and change neither the rate nor the latencies.
      {
        dt: D1,
        model: SONNET_US,
        requests: 5,
        errors: 1,
        error_rate: r9(1 / 6),
        p50_ms: 300,
        p95_ms: 880,
        p99_ms: 976,
        ttft_p95_ms: 48,
        cache_hit_rate: 0.6,
        refusals: 1,
        retries_exhausted: 1,
      },
      // u2's eu. sonnet exported metrics only: no requests to describe (it is in token_burn_daily).
      {
        dt: D3,
        model: SONNET_US,
        requests: 1,
        errors: 0,
        error_rate: 0,
        p50_ms: 500,
        p95_ms: 500,
        p99_ms: 500,
        ttft_p95_ms: 50,
        cache_hit_rate: 0,
        refusals: 0,
        retries_exhausted: 0,
      },
    ]);
  });

  it('tool_usage_daily: calls and successes from tool_result, success rate in 0..1, p95', async () => {
    const store = await lake();
    expect(await q(store, `SELECT * FROM tool_usage_daily ORDER BY dt, tool_name`)).toEqual([
      // Bash p95 of 100, 200, 300 = 200 + 0.9 x 100; mcp_tool p95 of 1000, 2000 = 1000 + 0.95 x 1000.
      { dt: D1, tool_name: 'Bash', calls: 3, successes: 2, success_rate: r9(2 / 3), p95_ms: 290 },
      { dt: D1, tool_name: 'Read', calls: 1, successes: 1, success_rate: 1, p95_ms: 50 },
      { dt: D1, tool_name: 'mcp_tool', calls: 2, successes: 2, success_rate: 1, p95_ms: 1950 },
      // D3 has tool decisions only: no rows. D2 (nobody active) has no rows in any daily table.
    ]);
  });

  it('token_burn_daily: per team, cost center, project, model and type; events else metrics; null price for an unpriced model', async () => {
    const store = await lake();
    expect(await q(store, `SELECT * FROM token_burn_daily ORDER BY dt, team, model, token_type`)).toEqual([
      // u3: opus has no price row: tokens counted, priced cost null.
      {
        dt: D1,
        team: 'infra',
        cost_center: 'unattributed',
        project: 'unknown',
        model: OPUS_IN_REGION,
        token_type: 'input',
        tokens: 1000,
        priced_cost_usd: null,
      },
      {
        dt: D1,
        team: 'infra',
        cost_center: 'unattributed',
        project: 'unknown',
        model: OPUS_IN_REGION,
        token_type: 'output',
        tokens: 100,
        priced_cost_usd: null,
      },
      // u1: five requests (the 9999-token datapoint of the same session is ignored), priced per million.
      {
        dt: D1,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'cache_creation',
        tokens: 1500,
        priced_cost_usd: r9((1500 * 3.75) / 1e6),
      },
      {
        dt: D1,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'cache_read',
        tokens: 3000,
        priced_cost_usd: r9((3000 * 0.3) / 1e6),
      },
      {
        dt: D1,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'input',
        tokens: 500,
        priced_cost_usd: r9((500 * 3) / 1e6),
      },
      {
        dt: D1,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'output',
        tokens: 100,
        priced_cost_usd: r9((100 * 15) / 1e6),
      },
      // u2: metrics only; the cumulative input series 1000 -> 1500 is 1500 tokens.
      {
        dt: D1,
        team: 'search',
        cost_center: 'unattributed',
        project: 'unknown',
        model: SONNET_EU,
        token_type: 'input',
        tokens: 1500,
        priced_cost_usd: r9((1500 * 3) / 1e6),
      },
      {
        dt: D1,
        team: 'search',
        cost_center: 'unattributed',
        project: 'unknown',
        model: SONNET_EU,
        token_type: 'output',
        tokens: 100,
        priced_cost_usd: r9((100 * 15) / 1e6),
      },
      {
        dt: D3,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'input',
        tokens: 100,
        priced_cost_usd: r9((100 * 3) / 1e6),
      },
      {
        dt: D3,
        team: 'payments',
        cost_center: 'CC-100',
        project: 'repo-a',
        model: SONNET_US,
        token_type: 'output',
        tokens: 20,
        priced_cost_usd: r9((20 * 15) / 1e6),
      },
    ]);
  });

  it('compliance_daily: every control per team and for the org (ALL), with counts and pass/fail', async () => {
    const store = await lake();
    const rows = await q(store, `SELECT dt, team, control_id, evaluated, violations, status FROM compliance_daily ORDER BY dt, team, control_id`);
    const day = (dt: string) => rows.filter((r) => r.dt === dt).map((r) => `${r.team} ${r.control_id} ${r.evaluated}/${r.violations} ${r.status}`);
    expect(day(D1)).toEqual([
      // Org: records naming a model: u1 9 (5 requests, 1 error, 1 token datapoint, a refusal, an exhausted retry), u2 4, u3 1.
      'ALL approved_models 14/1 fail', // u3's opus matches no approved glob
      'ALL attribution_coverage 3/2 fail', // cost with a cost center 0.05 of 0.6 < 0.9; u2 and u3 have none
      'ALL bypass_permissions 2/1 fail', // one of two mode changes went to bypassPermissions
      'ALL data_residency 14/5 fail', // u2's 4 eu. records (eu. not allowed) and u3's region eu-west-1
      'ALL mcp_allowlist 2/1 fail', // jira is not on the allowlist
      'ALL no_content_logged 26/1 fail', // 19 + 4 + 1 records; the user_prompt event carried `prompt`
      'ALL policy_rejections 1/0 pass', // evidence: the config rejection; the user's own is not policy
      'ALL telemetry_freshness 24/21 fail', // records in hours 09, 10 and 11 only
      'infra approved_models 1/1 fail',
      'infra attribution_coverage 1/1 fail',
      'infra bypass_permissions 0/0 pass',
      'infra data_residency 1/1 fail', // no profile prefix, but a region that is not allowed
      'infra mcp_allowlist 0/0 pass',
      'infra no_content_logged 1/0 pass',
      'infra policy_rejections 0/0 pass',
      'payments approved_models 9/0 pass',
      'payments attribution_coverage 1/0 pass',
      'payments bypass_permissions 2/1 fail',
      'payments data_residency 9/0 pass',
      'payments mcp_allowlist 2/1 fail',
      'payments no_content_logged 21/1 fail',
      'payments policy_rejections 1/0 pass',
      'search approved_models 4/0 pass',
      'search attribution_coverage 1/1 fail',
      'search bypass_permissions 0/0 pass',
      'search data_residency 4/4 fail',
      'search mcp_allowlist 0/0 pass',
      'search no_content_logged 4/0 pass',
      'search policy_rejections 0/0 pass',
    ]);
    expect(day(D3)).toEqual([
      'ALL approved_models 1/0 pass',
      'ALL attribution_coverage 1/0 pass',
      'ALL bypass_permissions 0/0 pass',
      'ALL data_residency 1/0 pass',
      'ALL mcp_allowlist 0/0 pass',
      'ALL no_content_logged 27/0 pass',
      'ALL policy_rejections 0/0 pass', // a config accept is not a rejection
      'ALL telemetry_freshness 24/0 pass', // active time in every hour
      'payments approved_models 1/0 pass',
      'payments attribution_coverage 1/0 pass',
      'payments bypass_permissions 0/0 pass',
      'payments data_residency 1/0 pass',
      'payments mcp_allowlist 0/0 pass',
      'payments no_content_logged 27/0 pass',
      'payments policy_rejections 0/0 pass',
    ]);
    // The empty day has no curated partition, so it is not computed unless asked for.
    expect(rows.filter((r) => r.dt === '2026-11-03')).toEqual([]);
  });

  it('an empty day, when computed, is all hours missing for freshness and nothing else', async () => {
    const store = await fixtureLake();
    const s = await run(store, { dt: '2026-11-03' });
    expect(s.days.map((d) => [d.table, d.rows])).toEqual([
      ['user_daily', 0],
      ['api_health_daily', 0],
      ['tool_usage_daily', 0],
      ['token_burn_daily', 0],
      ['compliance_daily', 8],
      ['chargeback_daily', 0],
      ['user_hours_daily', 0],
      ['team_resources_daily', 0],
      ['interaction_latency_daily', 0],
      ['token_burn_by_source_daily', 0],
      ['input_coverage_daily', 0],
    ]);
    const rows = await q(
      store,
      `SELECT control_id, team, evaluated, violations, status FROM compliance_daily WHERE dt = DATE '2026-11-03' ORDER BY control_id`,
    );
    expect(rows.map((r) => `${r.team} ${r.control_id} ${r.evaluated}/${r.violations} ${r.status}`)).toEqual([
      'ALL approved_models 0/0 pass',
      'ALL attribution_coverage 0/0 pass',
      'ALL bypass_permissions 0/0 pass',
      'ALL data_residency 0/0 pass',
      'ALL mcp_allowlist 0/0 pass',
      'ALL no_content_logged 0/0 pass',
      'ALL policy_rejections 0/0 pass',
      'ALL telemetry_freshness 24/24 fail',
    ]);
  });

  it('late data recomputes only its day, in every table', async () => {
    const store = await fixtureLake();
    await run(store);
    // A late api_error of u3 on D1 (no region, no profile prefix: residency not evaluated for it).
    await putRaw(store, '2026-11-05T03:05:00Z', [
      rec(`${D1}T11:30:00Z`, 'u3', {
        session_id: 'c1',
        team_id: 'infra',
        name: 'claude_code.api_error',
        model: OPUS_IN_REGION,
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
        status_code: 500,
      }),
    ]);
    await compact(store, catalogOf(store), config, { now: Date.parse('2026-11-05T04:00:00Z') });
    const late = await run(store, { now: Date.parse('2026-11-05T05:00:00Z') });
    expect(late.days.map((d) => [d.table, d.dt, d.reason, d.generation])).toEqual([
      ['user_daily', D1, 'late data', 2],
      ['api_health_daily', D1, 'late data', 2],
      ['tool_usage_daily', D1, 'late data', 2],
      ['token_burn_daily', D1, 'late data', 2],
      ['compliance_daily', D1, 'late data', 2],
      ['chargeback_daily', D1, 'late data', 2],
      ['user_hours_daily', D1, 'late data', 2],
      ['team_resources_daily', D1, 'late data', 2],
      ['interaction_latency_daily', D1, 'late data', 2],
      ['token_burn_by_source_daily', D1, 'late data', 2],
      ['input_coverage_daily', D1, 'late data', 2],
    ]);
    expect(await q(store, `SELECT requests, errors, error_rate FROM api_health_daily WHERE dt = DATE '${D1}' AND model = '${OPUS_IN_REGION}'`)).toEqual([
      { requests: 1, errors: 1, error_rate: 0.5 },
    ]);
    const infra = await q(
      store,
      `SELECT control_id, evaluated, violations FROM compliance_daily WHERE dt = DATE '${D1}' AND team = 'infra' AND control_id IN ('approved_models', 'data_residency') ORDER BY control_id`,
    );
    expect(infra).toEqual([
      { control_id: 'approved_models', evaluated: 2, violations: 2 },
      { control_id: 'data_residency', evaluated: 1, violations: 1 },
    ]);
    // D3 untouched.
    expect(await q(store, `SELECT count(*) AS n FROM compliance_daily WHERE dt = DATE '${D3}'`)).toEqual([{ n: 15 }]);
  });
});

describe('monthly views over user_daily', () => {
  it('chargeback_monthly: per month, cost center, team and developer; priced cost null where the price table did not cover it', async () => {
    const store = await lake();
    expect(await q(store, `SELECT * FROM chargeback_monthly ORDER BY month, cost_center, team, user_key`)).toEqual([
      // u1: D1 500 + 100 + 3000 + 1500 tokens, D3 120; priced 0.009525 + 0.0006.
      {
        month: '2026-11',
        cost_center: 'CC-100',
        team: 'payments',
        user_key: 'u1@example.com',
        tokens: 5220,
        cost_usd: 0.06,
        priced_cost_usd: r9(0.009525 + 0.0006),
      },
      { month: '2026-11', cost_center: 'unattributed', team: 'infra', user_key: 'u3@example.com', tokens: 1100, cost_usd: 0.5, priced_cost_usd: null },
      {
        month: '2026-11',
        cost_center: 'unattributed',
        team: 'search',
        user_key: 'u2@example.com',
        tokens: 1600,
        cost_usd: 0.05,
        priced_cost_usd: r9(0.0045 + 0.0015),
      },
    ]);
  });

  it('roi_monthly: hours saved from the named assumptions, value, ROI % against the billed cost', async () => {
    const store = await lake();
    // payments: 2 accepted edits x 0.5 h + 1 commit x 1 h + 1440 s active x 0.5 h/h = 2.2 h, x $100;
    // cost = priced cost (covered) 0.010125. infra: opus unpriced, so the reported 0.5.
    expect(await q(store, `SELECT * FROM roi_monthly ORDER BY month, team`)).toEqual([
      { month: '2026-11', team: 'infra', cost_usd: 0.5, hours_saved: 0, value_usd: 0, roi_pct: -100, assumptions_version: 'roi-test-1' },
      {
        month: '2026-11',
        team: 'payments',
        cost_usd: 0.010125,
        hours_saved: 2.2,
        value_usd: 220,
        roi_pct: r9(((220 - 0.010125) / 0.010125) * 100),
        assumptions_version: 'roi-test-1',
      },
      { month: '2026-11', team: 'search', cost_usd: 0.006, hours_saved: 0, value_usd: 0, roi_pct: -100, assumptions_version: 'roi-test-1' },
    ]);
  });

  it('chargeback_monthly over hand-made user_daily rows: one uncovered day nulls the month, months and team moves split rows', async () => {
    const engine = await LocalQueryEngine.open(new LocalObjectStore(tmp.make()), config);
    try {
      await engine.query(`CREATE OR REPLACE VIEW user_daily AS
        SELECT CAST(dt AS DATE) AS dt, user_key, team, cost_center, CAST(input_tokens AS BIGINT) AS input_tokens, CAST(0 AS BIGINT) AS output_tokens,
               CAST(0 AS BIGINT) AS cache_read_tokens, CAST(0 AS BIGINT) AS cache_creation_tokens, CAST(cost_usd AS DOUBLE) AS cost_usd, CAST(priced_cost_usd AS DOUBLE) AS priced_cost_usd
        FROM (VALUES
          ('2026-10-31', 'a', 't1', 'CC-1', 10, 1.0, 0.5),
          ('2026-11-01', 'a', 't1', 'CC-1', 20, 2.0, 1.0),
          ('2026-11-02', 'a', 't1', 'CC-1', 30, 3.0, NULL),
          ('2026-11-03', 'a', 't2', 'CC-2', 40, 4.0, 2.0),
          ('2026-11-04', 'a', 't2', 'CC-2', 0, 0.0, NULL)
        ) AS t (dt, user_key, team, cost_center, input_tokens, cost_usd, priced_cost_usd)`);
      expect((await engine.query(`SELECT * FROM chargeback_monthly ORDER BY month, team`)).rows).toEqual([
        { month: '2026-10', cost_center: 'CC-1', team: 't1', user_key: 'a', tokens: 10, cost_usd: 1, priced_cost_usd: 0.5 },
        { month: '2026-11', cost_center: 'CC-1', team: 't1', user_key: 'a', tokens: 50, cost_usd: 5, priced_cost_usd: null },
        // The idle day without a price does not count as uncovered.
        { month: '2026-11', cost_center: 'CC-2', team: 't2', user_key: 'a', tokens: 40, cost_usd: 4, priced_cost_usd: 2 },
      ]);
    } finally {
      engine.close();
    }
  });
});
