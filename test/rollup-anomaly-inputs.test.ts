/**
 * The rollups the anomaly detectors read, on hand-built telemetry with hand-computed expectations:
 *  - user_hours_daily (V014): requests and cost per developer and UTC hour;
 *  - team_resources_daily (V015): the models and MCP servers each team used;
 *  - user_daily version 16: a developer with an event session and a metrics-only session on the
 *    same model and day has both counted. Version 1 kept one of the two usage lines (the price pick
 *    ranked them together), so a heavy developer's cost could drop by most of a day, arbitrarily;
 *    the cost spike detector found it on a generated lake (a 10x day read as 3x).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { currentModels, readSqlTree } from '../functions/lib/sql/files';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-user-daily-');
afterAll(() => tmp.cleanup());

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const metric = (iso: string, session: string, name: string, type: string | null, value: number) =>
  rec(iso, 'u1', {
    signal: 'metric',
    name: `claude_code.${name}`,
    session_id: session,
    metric_type: type,
    value,
    temporality: 'delta',
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
    model: MODEL,
  });

describe('user_daily v16: event and metrics-only sessions on the same model', () => {
  it('counts both sessions, priced and reported, whichever order the engine meets them in', async () => {
    // V052 (the long-context tier) keeps V016's fix: lines are summed per developer, model and tier before pricing.
    expect(currentModels(readSqlTree()).get('user_daily')?.file).toBe('sql/models/V052__user_daily.sql');
    const config = parseConfig({
      prices: { version: 'p', rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }] },
    });
    const store = new LocalObjectStore(tmp.make());
    mkdirSync(path.join(store.root, 'reference'), { recursive: true });
    writeFileSync(path.join(store.root, 'reference', 'org-directory.csv'), 'user_email,user_id,team,department,cost_center,valid_from,valid_to\n');
    await putRaw(store, '2026-11-20T12:05:00Z', [
      // Session s1 exports events: two requests of 100 input / 20 output tokens, $0.01 each.
      rec('2026-11-20T09:00:00Z', 'u1', { session_id: 's1', model: MODEL }),
      rec('2026-11-20T09:05:00Z', 'u1', { session_id: 's1', model: MODEL }),
      // Session s2 exports metrics only: 500 input and 50 output tokens, $0.25.
      metric('2026-11-20T10:00:00Z', 's2', 'token.usage', 'input', 500),
      metric('2026-11-20T10:00:00Z', 's2', 'token.usage', 'output', 50),
      metric('2026-11-20T10:01:00Z', 's2', 'cost.usage', null, 0.25),
    ]);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await compact(store, catalog, config, { now: Date.parse('2026-11-20T13:00:00Z') });
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config, { now: Date.parse('2026-11-21T02:00:00Z') });
      const [row] = (await engine.query('SELECT input_tokens, output_tokens, cost_usd, priced_cost_usd, requests, sessions FROM user_daily')).rows;
      expect(row).toMatchObject({ input_tokens: 700, output_tokens: 90, requests: 2, sessions: 2 });
      expect(row!.cost_usd).toBeCloseTo(0.27, 10);
      expect(row!.priced_cost_usd).toBeCloseTo((700 * 3 + 90 * 15) / 1e6, 12);
    } finally {
      engine.close();
    }
  });
});

describe('user_hours_daily and team_resources_daily', () => {
  it('count requests per UTC hour, and models and MCP servers per team (directory first, else the record)', async () => {
    const config = parseConfig({});
    const store = new LocalObjectStore(tmp.make());
    mkdirSync(path.join(store.root, 'reference'), { recursive: true });
    writeFileSync(
      path.join(store.root, 'reference', 'org-directory.csv'),
      'user_email,user_id,team,department,cost_center,valid_from,valid_to\nu1@example.com,u1,payments,eng,CC-1,2026-01-01,\n',
    );
    const tool = (iso: string, user: string, extra: Record<string, unknown>) =>
      rec(iso, user, { name: 'claude_code.tool_result', input_tokens: null, output_tokens: null, cost_usd: null, success: true, ...extra });
    await putRaw(store, '2026-11-20T23:55:00Z', [
      rec('2026-11-20T09:10:00Z', 'u1', { session_id: 'a', model: MODEL }),
      rec('2026-11-20T09:50:00Z', 'u1', { session_id: 'a', model: MODEL }),
      rec('2026-11-20T14:00:00Z', 'u1', { session_id: 'a', model: 'us.anthropic.claude-opus-4-1-20250805-v1:0', cost_usd: 0.5 }),
      rec('2026-11-20T09:20:00Z', 'u1', {
        session_id: 'a',
        name: 'claude_code.api_error',
        model: MODEL,
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
      }),
      tool('2026-11-20T09:11:00Z', 'u1', { tool_name: 'mcp_tool', attributes: { 'mcp_server.name': 'github' } }),
      tool('2026-11-20T09:12:00Z', 'u1', { tool_name: 'mcp_tool', attributes: { 'mcp_server.name': 'github' } }),
      tool('2026-11-20T09:13:00Z', 'u1', { tool_name: 'Bash' }),
      // u2: not in the directory, its records say team infra; an MCP call named the long way, and a metrics-only session.
      rec('2026-11-20T23:30:00Z', 'u2', { session_id: 'b', team_id: 'infra', model: MODEL }),
      tool('2026-11-20T23:31:00Z', 'u2', { session_id: 'b', team_id: 'infra', tool_name: 'mcp__jira__search', attributes: {} }),
      tool('2026-11-20T23:32:00Z', 'u2', { session_id: 'b', team_id: 'infra', tool_name: 'mcp_tool', attributes: {} }),
      rec('2026-11-20T22:00:00Z', 'u2', {
        signal: 'metric',
        name: 'claude_code.token.usage',
        session_id: 'c',
        team_id: 'infra',
        metric_type: 'input',
        value: 10,
        temporality: 'delta',
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
        model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      }),
    ]);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await compact(store, catalog, config, { now: Date.parse('2026-11-21T01:00:00Z') });
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config, { now: Date.parse('2026-11-21T02:00:00Z') });
      expect(
        (await engine.query('SELECT dt, user_key, hour, requests, round(cost_usd, 4) AS cost_usd FROM user_hours_daily ORDER BY user_key, hour')).rows,
      ).toEqual([
        { dt: '2026-11-20', user_key: 'u1@example.com', hour: 9, requests: 2, cost_usd: 0.02 },
        { dt: '2026-11-20', user_key: 'u1@example.com', hour: 14, requests: 1, cost_usd: 0.5 },
        { dt: '2026-11-20', user_key: 'u2@example.com', hour: 23, requests: 1, cost_usd: 0.01 },
      ]);
      expect(
        (await engine.query('SELECT team, resource_type, resource, uses, users FROM team_resources_daily ORDER BY team, resource_type, resource')).rows,
      ).toEqual([
        { team: 'infra', resource_type: 'mcp_server', resource: 'jira', uses: 1, users: 1 },
        { team: 'infra', resource_type: 'mcp_server', resource: 'unknown', uses: 1, users: 1 },
        { team: 'infra', resource_type: 'model', resource: 'global.anthropic.claude-haiku-4-5-20251001-v1:0', uses: 1, users: 1 },
        { team: 'infra', resource_type: 'model', resource: MODEL, uses: 1, users: 1 },
        { team: 'payments', resource_type: 'mcp_server', resource: 'github', uses: 2, users: 1 },
        { team: 'payments', resource_type: 'model', resource: 'us.anthropic.claude-opus-4-1-20250805-v1:0', uses: 1, users: 1 },
        { team: 'payments', resource_type: 'model', resource: MODEL, uses: 3, users: 1 },
      ]);
    } finally {
      engine.close();
    }
  });
});
