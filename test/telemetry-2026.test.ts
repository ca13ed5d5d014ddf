/**
 * Traces and 2026 telemetry (issue 17) through the one decoder both ingest paths share: OTLP/JSON
 * `resourceSpans` become `span` rows; 2026 attributes land in their columns (user.account_id,
 * agent/skill/plugin/MCP names, workflow.run_id); a model's context suffix moves to `context_tier`;
 * integer `cost_usd_micros` wins over `cost_usd`; the desktop app's service name is kept as sent.
 *
 * Fixtures (fixtures/otlp/): `claude-code-traces.json` is one interaction as Claude Code 2.1.220
 * exports it with CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 (hex ids as the OTLP/JSON specification
 * writes them, status codes as numbers and as enum names, numbers as intValue numbers, intValue
 * strings and stringValue); `claude-code-logs-2026.json` holds the 2026 events (api_refusal,
 * api_retries_exhausted, auth, skill_activated, plugin_loaded, mcp_server_connection, ...), one
 * record without timeUnixNano and one without a body.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { decodePayload } from '../functions/lib/telemetry/decode';
import { fromFirehoseJson, transformBatch } from '../functions/lib/telemetry/firehose';
import { spanIdHex, splitContextTier } from '../functions/lib/telemetry/otlp';
import { RAW_RECORD, type RawRecord } from '../schemas/raw-record';

const FIX = new URL('../fixtures/otlp/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIX)));
const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const ms = (iso: string) => Date.parse(iso);
const TRACE = '5b8efff798038103d269b633813fc60c';

describe('OTLP traces fixture', () => {
  const res = decodePayload(fixture('claude-code-traces.json'));
  const rows = res.records;
  const bySpan = (id: string) => rows.find((r) => r.span_id === id)!;

  it('flattens every span into one span row with the raw record columns', () => {
    expect(res.errors).toEqual([]);
    expect(rows.map((r) => r.name)).toEqual([
      'claude_code.interaction',
      'claude_code.llm_request',
      'claude_code.tool',
      'claude_code.tool.blocked_on_user',
      'claude_code.tool.execution',
      'claude_code.hook',
      'claude_code.llm_request',
    ]);
    for (const r of rows) {
      expect(r.signal).toBe('span');
      expect(r.trace_id).toBe(TRACE);
      expect(Object.keys(r)).toEqual(RAW_RECORD.columns.map((c) => c.name));
    }
  });

  it('keeps ids, parentage, start, end, duration and status exactly', () => {
    const root = bySpan('a1b2c3d4e5f60001');
    expect(root).toMatchObject({
      parent_span_id: null, // "" in the export: a root span
      event_time: ms('2026-11-10T10:00:00.000Z'),
      start_time: ms('2026-11-10T10:00:00.000Z'),
      end_time: ms('2026-11-10T10:00:30.000Z'),
      duration_ms: 30000,
      status_code: 0, // status {} = UNSET
      prompt_length: null,
      service_name: 'claude-code-desktop',
      app_version: '2.1.220',
      user_account_id: 'user_01JC8Y4QK7R2M9T3V5W6X8Z0AB',
      team_id: 'platform',
    });
    expect(root.attributes).toMatchObject({
      'interaction.sequence': '3',
      'interaction.duration_ms': '30000',
      user_prompt_length: '34',
      'span.type': 'interaction',
    });
    expect(bySpan('a1b2c3d4e5f60004')).toMatchObject({
      parent_span_id: 'a1b2c3d4e5f60003',
      duration_ms: 4500,
      decision: 'accept',
      decision_source: 'user_temporary',
    });
    // status {code: "STATUS_CODE_ERROR", message} -> 2, and the message is the error when no attribute gave one.
    expect(bySpan('a1b2c3d4e5f60005')).toMatchObject({ status_code: 2, success: false, error: 'exit code 1', duration_ms: 7500 });
    expect(bySpan('a1b2c3d4e5f60007')).toMatchObject({ status_code: 1, duration_ms: 8750, agent_name: 'test-runner' });
    expect(bySpan('a1b2c3d4e5f60006')).toMatchObject({ duration_ms: 250, status_code: 0 });
  });

  it('llm_request spans: tokens from numbers, decimal strings and stringValue; the model without its context suffix', () => {
    const r = bySpan('a1b2c3d4e5f60002');
    expect(r).toMatchObject({
      model: 'claude-opus-4-6',
      context_tier: '1m',
      input_tokens: 12,
      output_tokens: 640, // intValue "640"
      cache_read_tokens: 38000, // stringValue "38000"
      cache_creation_tokens: 2100,
      ttft_ms: 950,
      duration_ms: 8000,
      query_source: 'repl_main_thread',
      request_id: 'req_011CVabc',
      workflow_run_id: 'wf_9a8b7c',
      success: true,
      status_code: 1, // the span's OTLP status ...
    });
    expect(r.attributes!.status_code).toBe('200'); // ... the HTTP status stays an attribute
  });

  it('drops the content attributes (the prompt, the Bash command line) and counts them', () => {
    expect(res.droppedContent).toBe(2);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('fix the failing test');
    expect(text).not.toContain('SECRET');
    const kept = decodePayload(fixture('claude-code-traces.json'), { keepContentAttributes: true });
    expect(kept.droppedContent).toBe(0);
    expect(kept.records[0]!.attributes!.user_prompt).toBe('fix the failing test in src/api.ts');
    // Content never takes part in the id: opting in changes no record_id.
    expect(kept.records.map((r) => r.record_id)).toEqual(rows.map((r) => r.record_id));
  });

  it('record ids are deterministic and distinct', () => {
    const again = decodePayload(fixture('claude-code-traces.json')).records;
    expect(again.map((r) => r.record_id)).toEqual(rows.map((r) => r.record_id));
    expect(new Set(rows.map((r) => r.record_id)).size).toBe(rows.length);
  });
});

describe('span edge cases', () => {
  const spanReq = (span: object) => ({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [span] }] }] });
  const base = {
    traceId: TRACE,
    spanId: 'a1b2c3d4e5f60001',
    name: 'claude_code.interaction',
    startTimeUnixNano: '1794304800000000000',
    endTimeUnixNano: '1794304800123456789',
  };

  it('accepts base64 ids (protobuf JSON mapping) and converts them to hex; duration exact to the nanosecond', () => {
    const r = decodePayload(
      json(spanReq({ ...base, traceId: Buffer.from(TRACE, 'hex').toString('base64'), spanId: Buffer.from('a1b2c3d4e5f60001', 'hex').toString('base64') })),
    );
    expect(r.errors).toEqual([]);
    expect(r.records[0]).toMatchObject({ trace_id: TRACE, span_id: 'a1b2c3d4e5f60001', duration_ms: 123.456789 });
    expect(spanIdHex('A1B2C3D4E5F60001', 8)).toBe('a1b2c3d4e5f60001');
    expect(spanIdHex('0000000000000000', 8)).toBeNull();
    expect(spanIdHex('xyz', 8)).toBeUndefined();
  });

  it('the legacy instrumentationLibrarySpans list is read too', () => {
    const r = decodePayload(json({ resourceSpans: [{ resource: { attributes: [] }, instrumentationLibrarySpans: [{ spans: [base] }] }] }));
    expect(r.errors).toEqual([]);
    expect(r.records).toHaveLength(1);
  });

  it('a span without a start, a name or a valid id is an error naming the span and what is missing; the others land', () => {
    const r = decodePayload(
      json({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  { ...base, startTimeUnixNano: undefined },
                  { ...base, name: '' },
                  { ...base, traceId: 'not-an-id' },
                  { ...base, parentSpanId: '12' },
                  base,
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(r.records).toHaveLength(1);
    expect(r.errors).toEqual([
      {
        where: 'resourceSpans[0].scopeSpans[0].spans[0]',
        reason: 'span 0 in resourceSpans[0].scopeSpans[0] (claude_code.interaction) has no startTimeUnixNano',
      },
      { where: 'resourceSpans[0].scopeSpans[0].spans[1]', reason: 'span 1 in resourceSpans[0].scopeSpans[0] has no name' },
      {
        where: 'resourceSpans[0].scopeSpans[0].spans[2]',
        reason: 'span 2 in resourceSpans[0].scopeSpans[0] (claude_code.interaction) has no valid traceId (hex or base64 of 16 bytes)',
      },
      {
        where: 'resourceSpans[0].scopeSpans[0].spans[3]',
        reason: 'span 3 in resourceSpans[0].scopeSpans[0] (claude_code.interaction) has no valid parentSpanId (hex or base64 of 8 bytes)',
      },
    ]);
  });

  it('a span without an end keeps start and leaves end and duration null', () => {
    const r = decodePayload(json(spanReq({ ...base, endTimeUnixNano: undefined })));
    expect(r.records[0]).toMatchObject({ end_time: null, duration_ms: null, start_time: 1794304800000 });
  });
});

describe('2026 log events and attributes', () => {
  const res = decodePayload(fixture('claude-code-logs-2026.json'));
  const rows = res.records;
  const one = (name: string) => rows.filter((r) => r.name === `claude_code.${name}`);

  it('keeps every 2026 event, including one without timeUnixNano and one without a body', () => {
    expect(res.errors).toEqual([]);
    expect(rows.map((r) => r.name!.replace('claude_code.', ''))).toEqual([
      'api_request',
      'api_refusal',
      'api_retries_exhausted',
      'auth',
      'auth',
      'permission_mode_changed',
      'skill_activated',
      'plugin_loaded',
      'mcp_server_connection',
      'subagent_completed',
      'hook_execution_complete',
      'compaction',
    ]);
    expect(one('api_retries_exhausted')[0]).toMatchObject({
      event_time: ms('2026-11-10T11:00:40.000Z'),
      status_code: 529,
      attempt: 10,
      duration_ms: 61000,
      error: 'Overloaded',
    });
    expect(one('auth')[0]).toMatchObject({ event_time: ms('2026-11-10T11:01:00.000Z'), success: false, status_code: 400 });
    expect(one('auth')[0]!.attributes).toMatchObject({ action: 'login', auth_method: 'oauth', error_category: 'invalid_grant' });
    expect(one('auth')[1]).toMatchObject({ success: true }); // "true" as a stringValue
  });

  it('api_request: cost from the integer micro-dollars, the attribution columns, the model split from its context tier', () => {
    const r = one('api_request')[0]!;
    expect(r).toMatchObject({
      cost_usd: 0.098765, // cost_usd_micros 98765, not the rounded cost_usd "0.0987"
      model: 'claude-opus-4-6',
      context_tier: '1m',
      input_tokens: 44,
      output_tokens: 812,
      cache_read_tokens: 51234,
      cache_creation_tokens: 0,
      query_source: 'subagent',
      effort: 'high',
      speed: 'normal',
      user_account_id: 'user_01JC8Y4QK7R2M9T3V5W6X8Z0AB',
      agent_name: 'code-reviewer',
      skill_name: 'pdf',
      plugin_name: 'acme-tools',
      mcp_server_name: 'github',
      mcp_tool_name: 'create_pull_request',
      workflow_run_id: 'wf_1f2e3d',
      service_name: 'claude-code-desktop',
    });
    // The rounded double that disagrees with the micros is kept, not lost; the micros are the column.
    expect(r.attributes).toMatchObject({ cost_usd: '0.0987' });
    expect(r.attributes).not.toHaveProperty('cost_usd_micros');
    for (const k of ['agent.name', 'skill.name', 'plugin.name', 'mcp_server.name', 'mcp_tool.name', 'workflow.run_id', 'user.account_id'])
      expect(r.attributes).not.toHaveProperty(k);
  });

  it('skill, plugin and MCP server events fill the same columns', () => {
    expect(one('skill_activated')[0]!.skill_name).toBe('pdf');
    expect(one('plugin_loaded')[0]!.plugin_name).toBe('acme-tools');
    expect(one('mcp_server_connection')[0]).toMatchObject({ mcp_server_name: 'jira', duration_ms: 340 });
    expect(one('subagent_completed')[0]).toMatchObject({ agent_name: 'code-reviewer', success: true });
    expect(one('permission_mode_changed')[0]!.attributes).toMatchObject({ to_mode: 'bypassPermissions' });
  });

  it('cost_usd_micros that is not an integer is not used; cost_usd stays', () => {
    const rec = (attrs: object[]) => ({
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ timeUnixNano: '1794304800000000000', body: { stringValue: 'claude_code.api_request' }, attributes: attrs }] }] },
      ],
    });
    const r = decodePayload(
      json(
        rec([
          { key: 'cost_usd', value: { doubleValue: 0.5 } },
          { key: 'cost_usd_micros', value: { stringValue: 'n/a' } },
        ]),
      ),
    ).records[0]!;
    expect(r.cost_usd).toBe(0.5);
    expect(r.attributes).toMatchObject({ cost_usd_micros: 'n/a' });
    const m = decodePayload(json(rec([{ key: 'cost_usd_micros', value: { intValue: 1234567 } }]))).records[0]!;
    expect(m.cost_usd).toBe(1.234567);
    expect(m.attributes).toEqual({});
  });

  it('model ids: only a trailing [..] is a context tier', () => {
    expect(splitContextTier('claude-opus-4-6[1m]')).toEqual({ model: 'claude-opus-4-6', tier: '1m' });
    expect(splitContextTier('us.anthropic.claude-sonnet-4-5-20250929-v1:0[1M]')).toEqual({ model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', tier: '1m' });
    expect(splitContextTier('claude-sonnet-4-5')).toEqual({ model: 'claude-sonnet-4-5', tier: null });
    expect(splitContextTier('[1m]')).toEqual({ model: '[1m]', tier: null });
  });
});

describe('the Firehose transform carries spans and the new columns', () => {
  it('Ok rows of a traces payload are exactly the decoded records', () => {
    const data = Buffer.from(fixture('claude-code-traces.json')).toString('base64');
    const event = { records: [{ recordId: 'r1', approximateArrivalTimestamp: 0, data }] } as unknown as FirehoseTransformationEvent;
    const out = transformBatch(event);
    expect(out.summary).toMatchObject({ ok: 1, processingFailed: 0, rowsOut: 7, contentAttributesDropped: 2 });
    const rows = Buffer.from(out.response.records[0]!.data!, 'base64')
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => fromFirehoseJson(JSON.parse(l)));
    expect(rows).toEqual(decodePayload(fixture('claude-code-traces.json')).records);
    const first = JSON.parse(Buffer.from(out.response.records[0]!.data!, 'base64').toString('utf8').split('\n')[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ signal: 'span', trace_id: TRACE, span_id: 'a1b2c3d4e5f60001', end_time: ms('2026-11-10T10:00:30.000Z') });
  });

  it('JSON Lines mixing a logs request and a traces request decode both', () => {
    const lines = [readFileSync(new URL('claude-code-logs-2026.json', FIX), 'utf8'), readFileSync(new URL('claude-code-traces.json', FIX), 'utf8')].map((t) =>
      JSON.stringify(JSON.parse(t)),
    );
    const r = decodePayload(new TextEncoder().encode(lines.join('\n') + '\n'));
    expect(r.errors).toEqual([]);
    const signals = r.records.reduce<Record<string, number>>((acc, x: RawRecord) => ({ ...acc, [x.signal!]: (acc[x.signal!] ?? 0) + 1 }), {});
    expect(signals).toEqual({ event: 12, span: 7 });
  });
});
