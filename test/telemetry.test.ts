import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COLUMN_OF_KEY, decodeAnyValue, isContentKey, mapAttributes } from '../functions/lib/telemetry/attributes';
import { decodePayload, UNKNOWN_SIGNAL } from '../functions/lib/telemetry/decode';
import { flattenEmf } from '../functions/lib/telemetry/emf';
import { canonicalIdentity, recordId } from '../functions/lib/telemetry/record-id';
import { RAW_RECORD, type RawRecord } from '../schemas/raw-record';
import { cloudWatchPayload } from './helpers/cloudwatch';

const FIX = new URL('../fixtures/otlp/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIX)));
const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const s = (key: string, v: string) => ({ key, value: { stringValue: v } });
const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

function logsRequest(records: object[], resource: object[] = [s('service.name', 'claude-code')]) {
  return { resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }] }] };
}
const logRecord = (attrs: object[], extra: object = {}) => ({
  timeUnixNano: '1773151381120000000',
  body: { stringValue: 'claude_code.api_request' },
  attributes: attrs,
  ...extra,
});

const byName = (rows: RawRecord[], name: string) => rows.filter((r) => r.name === name);

describe('AnyValue decoding', () => {
  it('decodes every AnyValue shape', () => {
    expect(decodeAnyValue({ stringValue: 'x' })).toBe('x');
    expect(decodeAnyValue({ intValue: '10' })).toBe(10);
    expect(decodeAnyValue({ intValue: 10 })).toBe(10);
    expect(decodeAnyValue({ intValue: '12345678901234567890' })).toBe('12345678901234567890');
    expect(decodeAnyValue({ doubleValue: 637.704 })).toBe(637.704);
    expect(decodeAnyValue({ boolValue: false })).toBe(false);
    expect(decodeAnyValue({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } })).toBe('["a",2]');
    expect(decodeAnyValue({ kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } })).toBe('{"k":"v"}');
    expect(decodeAnyValue({})).toBeNull();
  });

  it('derives the column mapping from RAW_RECORD', () => {
    for (const c of RAW_RECORD.columns) {
      const keys = (c as { otel?: readonly string[] }).otel ?? [];
      for (const k of keys) expect(COLUMN_OF_KEY.get(k)?.column).toBe(c.name);
    }
    expect(COLUMN_OF_KEY.get('type')?.column).toBe('metric_type');
  });

  it('coerces numbers and booleans, keeps non-conforming values in the map', () => {
    const m = mapAttributes(
      new Map<string, string | number | boolean>([
        ['input_tokens', '30'],
        ['duration_ms', 'n/a'],
        ['status_code', 529],
        ['success', 'false'],
        ['attempt', '1.5'],
        ['service.version', '2.1.50'],
        ['app.version', '2.1.49'],
      ]),
    );
    expect(m.columns.input_tokens).toBe(30);
    expect(m.columns.duration_ms).toBeUndefined();
    expect(m.attributes.duration_ms).toBe('n/a');
    expect(m.columns.status_code).toBe(529);
    expect(m.columns.success).toBe(false);
    expect(m.columns.attempt).toBeUndefined();
    expect(m.attributes.attempt).toBe('1.5');
    // app.version is listed first for app_version; a differing alias is kept, not lost.
    expect(m.columns.app_version).toBe('2.1.49');
    expect(m.attributes['service.version']).toBe('2.1.50');
  });

  it('recognises content keys', () => {
    for (const k of [
      'prompt',
      'prompt_text',
      'response',
      'completion',
      'tool_input',
      'tool_parameters',
      'tool_output',
      'body',
      'content',
      'messages',
      'system_prompt',
      'gen_ai.content',
    ])
      expect(isContentKey(k)).toBe(true);
    for (const k of ['prompt_length', 'prompt.id', 'tool_name', 'error']) expect(isContentKey(k)).toBe(false);
  });
});

describe('OTLP logs fixture', () => {
  const res = decodePayload(fixture('claude-code-logs.json'));
  const rows = res.records;

  it('flattens every event without errors', () => {
    expect(res.errors).toEqual([]);
    expect(rows.map((r) => r.name)).toEqual([
      'claude_code.user_prompt',
      'claude_code.api_request',
      'claude_code.api_request',
      'claude_code.api_error',
      'claude_code.tool_decision',
      'claude_code.tool_result',
    ]);
    for (const r of rows) {
      expect(r.signal).toBe('event');
      expect(Object.keys(r)).toEqual(RAW_RECORD.columns.map((c) => c.name));
    }
  });

  it('lands numbers from stringValue, intValue (string and number) and doubleValue as numbers', () => {
    const [a, b] = byName(rows, 'claude_code.api_request');
    expect(a).toMatchObject({
      model: MODEL,
      input_tokens: 1234, // stringValue "1234"
      output_tokens: 567, // intValue "567"
      cache_read_tokens: 8900, // intValue 8900
      cache_creation_tokens: 120, // stringValue "120"
      cost_usd: 0.0123, // stringValue
      duration_ms: 1834,
      ttft_ms: 412.5, // doubleValue
      event_sequence: 2,
      query_source: 'repl_main_thread',
      speed: 'normal',
      effort: 'medium',
      request_id: 'req_01HZXK3Q9V2B7M4N6P8R0T2W4Y',
      event_time: Date.parse('2026-03-10T14:03:04.876Z'),
    });
    expect(b).toMatchObject({
      cost_usd: 0.0041,
      duration_ms: 958,
      input_tokens: 310,
      output_tokens: 88,
      cache_read_tokens: 12000,
      cache_creation_tokens: 0,
      ttft_ms: 301,
    });
    // No event.timestamp on the second one: timeUnixNano.
    expect(b!.event_time).toBe(Date.parse('2026-03-10T14:03:09.500Z'));
    const err = byName(rows, 'claude_code.api_error')[0]!;
    expect(err).toMatchObject({ status_code: 529, attempt: 2, duration_ms: 2210.75, error: 'Overloaded' });
    const prompt = byName(rows, 'claude_code.user_prompt')[0]!;
    expect(prompt.prompt_length).toBe(42);
    expect(prompt.event_time).toBe(Date.parse('2026-03-10T14:03:01.120Z'));
    const tool = byName(rows, 'claude_code.tool_result')[0]!;
    expect(tool).toMatchObject({ tool_name: 'Edit', success: true, duration_ms: 87, decision_source: 'config' });
    const decision = byName(rows, 'claude_code.tool_decision')[0]!;
    expect(decision).toMatchObject({ tool_name: 'Edit', decision: 'accept', decision_source: 'config' });
  });

  it('merges resource attributes into every row', () => {
    for (const r of rows)
      expect(r).toMatchObject({
        service_name: 'claude-code',
        app_version: '2.1.50',
        os_type: 'darwin',
        host_arch: 'arm64',
        department: 'engineering',
        team_id: 'platform',
        cost_center: 'eng-123',
        session_id: '5f0c1a2e-7b7d-4a3e-9c1f-2d8e6b4a9c10',
        user_email: 'dana.dev@example.com',
        terminal_type: 'vscode',
      });
  });

  it('keeps unknown attributes in the map as strings', () => {
    const a = byName(rows, 'claude_code.api_request')[0]!;
    // cost_usd_micros (12300) became cost_usd (issue 17); it agrees with cost_usd, so nothing else is kept.
    expect(a.cost_usd).toBe(0.0123);
    expect(a.attributes).not.toHaveProperty('cost_usd_micros');
    expect(a.attributes).not.toHaveProperty('cost_usd');
    expect(a.attributes).toMatchObject({
      client_request_id: 'c0ffee00-1234-4abc-9def-000000000001',
      'workspace.host_paths': '["/Users/dana/src/billing"]',
      'os.version': '24.3.0',
    });
    const tool = byName(rows, 'claude_code.tool_result')[0]!;
    expect(tool.attributes).toMatchObject({ decision_type: 'accept', tool_result_size_bytes: '2048' });
    // event.name / event.timestamp became name / event_time
    expect(a.attributes).not.toHaveProperty('event.name');
    expect(a.attributes).not.toHaveProperty('event.timestamp');
  });

  it('drops content attributes and counts them; keeps them when opted in, with the same ids', () => {
    expect(res.droppedContent).toBe(2);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('<REDACTED>');
    expect(text).not.toContain('SECRET_TAX_TABLE_LOOKUP');
    const kept = decodePayload(fixture('claude-code-logs.json'), { keepContentAttributes: true });
    expect(kept.droppedContent).toBe(0);
    expect(byName(kept.records, 'claude_code.user_prompt')[0]!.attributes!.prompt).toBe('<REDACTED>');
    expect(byName(kept.records, 'claude_code.tool_result')[0]!.attributes!.tool_parameters).toContain('SECRET_TAX_TABLE_LOOKUP');
    expect(kept.records.map((r) => r.record_id)).toEqual(rows.map((r) => r.record_id));
  });

  it('gives deterministic, distinct record ids', () => {
    const again = decodePayload(fixture('claude-code-logs.json'));
    expect(again.records.map((r) => r.record_id)).toEqual(rows.map((r) => r.record_id));
    for (const r of rows) expect(r.record_id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(rows.map((r) => r.record_id)).size).toBe(rows.length);
    const base = rows[1]!;
    const { record_id: _id, ...rest } = base;
    expect(recordId(rest)).toBe(base.record_id);
    expect(recordId({ ...rest, input_tokens: 1235 })).not.toBe(base.record_id);
    expect(recordId({ ...rest, event_time: rest.event_time! + 1 })).not.toBe(base.record_id);
    expect(recordId({ ...rest, attributes: { ...rest.attributes, extra: 'x' } })).not.toBe(base.record_id);
    expect(recordId({ ...rest, attributes: { ...rest.attributes, prompt: 'hello' } })).toBe(base.record_id);
    expect(canonicalIdentity(rest)).not.toContain('record_id');
  });
});

describe('OTLP logs edge cases', () => {
  it('record attributes win over resource attributes', () => {
    const r = decodePayload(
      json(logsRequest([logRecord([s('event.name', 'api_request'), s('department', 'research')])], [s('department', 'engineering'), s('cost_center', 'c-1')])),
    );
    expect(r.records[0]).toMatchObject({ department: 'research', cost_center: 'c-1', name: 'claude_code.api_request' });
  });

  it('names events from event.name (prefixed), else eventName, else the body', () => {
    const r = decodePayload(
      json(
        logsRequest([
          logRecord([s('event.name', 'claude_code.tool_result')]),
          logRecord([], { body: { stringValue: 'claude_code.user_prompt' } }),
          logRecord([], { eventName: 'claude_code.api_error' }),
        ]),
      ),
    );
    expect(r.records.map((x) => x.name)).toEqual(['claude_code.tool_result', 'claude_code.user_prompt', 'claude_code.api_error']);
  });

  it('uses observedTimeUnixNano last and reports a record with no usable timestamp', () => {
    const r = decodePayload(
      json(
        logsRequest([
          logRecord([s('event.name', 'a')], { timeUnixNano: undefined, observedTimeUnixNano: '1773151381000000000' }),
          logRecord([s('event.name', 'b'), s('event.timestamp', 'not a date')], { timeUnixNano: '0' }),
        ]),
      ),
    );
    expect(r.records).toHaveLength(1);
    expect(r.records[0]!.event_time).toBe(1773151381000);
    expect(r.errors).toEqual([
      { where: 'resourceLogs[0].scopeLogs[0].logRecords[1]', reason: 'log record 1 in resourceLogs[0].scopeLogs[0] has no timestamp' },
    ]);
  });

  it('names the no-timestamp fixture problem', () => {
    const r = decodePayload(fixture('bad/no-timestamp.json'));
    expect(r.records).toEqual([]);
    expect(r.errors[0]!.reason).toBe('log record 0 in resourceLogs[0].scopeLogs[0] has no timestamp');
  });
});

describe('OTLP metrics', () => {
  const res = decodePayload(fixture('claude-code-metrics.json'));
  const rows = res.records;

  it('flattens every sum datapoint', () => {
    expect(res.errors).toEqual([]);
    expect(rows).toHaveLength(15);
    for (const r of rows) expect(r.signal).toBe('metric');
  });

  it('carries value, type, times and temporality', () => {
    const tokens = byName(rows, 'claude_code.token.usage').filter((r) => r.temporality === 'delta');
    expect(tokens.map((r) => [r.metric_type, r.value])).toEqual([
      ['input', 1544],
      ['output', 655],
      ['cacheRead', 20900],
      ['cacheCreation', 120],
    ]);
    for (const r of tokens) {
      expect(r.model).toBe(MODEL);
      expect(r.event_time).toBe(Date.parse('2026-03-10T14:04:00Z'));
      expect(r.start_time).toBe(Date.parse('2026-03-10T14:03:00Z'));
    }
    expect(byName(rows, 'claude_code.cost.usage')[0]!.value).toBe(0.0164);
    expect(byName(rows, 'claude_code.lines_of_code.count').map((r) => [r.metric_type, r.value])).toEqual([
      ['added', 120],
      ['removed', 30],
    ]);
    expect(byName(rows, 'claude_code.active_time.total').map((r) => [r.metric_type, r.value])).toEqual([
      ['user', 312.4],
      ['cli', 95.25],
    ]);
    expect(byName(rows, 'claude_code.commit.count')[0]!.value).toBe(2);
    expect(byName(rows, 'claude_code.pull_request.count')[0]!.value).toBe(1);
    expect(byName(rows, 'claude_code.session.count')[0]!.attributes).toMatchObject({ start_type: 'fresh' });
    const cumulative = rows.filter((r) => r.temporality === 'cumulative');
    expect(cumulative.map((r) => r.value)).toEqual([5000, 7250]);
    expect(cumulative[0]).toMatchObject({ department: 'finance', team_id: 'ledger', cost_center: 'fin-042', os_type: 'linux', user_id: 'u-cumulative' });
    expect(cumulative[0]!.start_time).toBe(Date.parse('2026-03-10T13:00:00Z'));
  });

  it('handles gauges, counts histograms as unsupported, reports datapoints without value or time', () => {
    const req = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ timeUnixNano: 1773151381000000000, asInt: 7 }] } },
                {
                  name: 'h',
                  histogram: {
                    aggregationTemporality: 1,
                    dataPoints: [
                      { timeUnixNano: '1773151381000000000', count: '3' },
                      { timeUnixNano: '1773151381000000000', count: '1' },
                    ],
                  },
                },
                { name: 'c', sum: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1773151381000000000' }, { asDouble: 1 }] } },
              ],
            },
          ],
        },
      ],
    };
    const r = decodePayload(json(req));
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({ name: 'g', value: 7, temporality: null, event_time: 1773151381000 });
    expect(r.unsupported).toBe(2);
    expect(r.errors.map((e) => e.reason)).toEqual([
      'datapoint 0 of c in resourceMetrics[0].scopeMetrics[0] has no value',
      'datapoint 1 of c in resourceMetrics[0].scopeMetrics[0] has no timestamp',
    ]);
  });
});

describe('CloudWatch Logs subscription payloads', () => {
  const emf = {
    OTelLib: 'com.anthropic.claude_code',
    'session.id': 's-1',
    'user.email': 'emf@example.com',
    model: MODEL,
    type: 'input',
    'service.name': 'claude-code',
    Version: '1',
    _aws: {
      Timestamp: 1773151440000,
      CloudWatchMetrics: [{ Namespace: 'ClaudeCode', Dimensions: [['OTelLib']], Metrics: [{ Name: 'claude_code.token.usage', Unit: 'tokens' }] }],
    },
    'claude_code.token.usage': 1234,
  };
  const cwLog = {
    body: 'claude_code.api_request',
    attributes: {
      'event.name': 'api_request',
      'event.timestamp': '2026-03-10T14:03:04.876Z',
      'session.id': 's-1',
      input_tokens: '77',
      cost_usd: 0.5,
      prompt: 'secret prompt',
    },
    scope: { name: 'com.anthropic.claude_code.events', version: '2.1.50' },
    resource: { 'service.name': 'claude-code', department: 'eng' },
  };
  const cwLogNoTs = { body: 'claude_code.user_prompt', attributes: { 'event.name': 'user_prompt', prompt_length: 5 }, resource: {} };
  const payload = (events: unknown[], messageType = 'DATA_MESSAGE') => cloudWatchPayload(events, messageType, 1773151399000);

  it('decodes EMF and awscloudwatchlogs log-record messages', () => {
    const r = decodePayload(payload([emf, cwLog, cwLogNoTs]));
    expect(r.errors).toEqual([]);
    expect(r.kind).toBe('data');
    expect(r.records).toHaveLength(3);
    const [m, e, p] = r.records;
    expect(m).toMatchObject({
      signal: 'metric',
      name: 'claude_code.token.usage',
      value: 1234,
      temporality: 'delta',
      metric_type: 'input',
      model: MODEL,
      session_id: 's-1',
      user_email: 'emf@example.com',
      event_time: 1773151440000,
      service_name: 'claude-code',
    });
    expect(m!.attributes).toEqual({ OTelLib: 'com.anthropic.claude_code' });
    expect(e).toMatchObject({
      signal: 'event',
      name: 'claude_code.api_request',
      input_tokens: 77,
      cost_usd: 0.5,
      department: 'eng',
      event_time: Date.parse('2026-03-10T14:03:04.876Z'),
    });
    expect(p).toMatchObject({ name: 'claude_code.user_prompt', prompt_length: 5, event_time: 1773151399002 });
    expect(r.droppedContent).toBe(1);
    expect(JSON.stringify(r.records)).not.toContain('secret prompt');
  });

  it('recognises CONTROL_MESSAGE', () => {
    const r = decodePayload(payload([], 'CONTROL_MESSAGE'));
    expect(r.kind).toBe('control');
    expect(r.records).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  it('reports a truncated gzip and bad messages with their location', () => {
    const gz = payload([emf]);
    expect(decodePayload(gz.subarray(0, gz.length - 12)).errors).toEqual([{ where: '$', reason: 'truncated gzip: unexpected end of file' }]);
    const r = decodePayload(payload([emf, 'plain text line', { hello: 1 }]));
    expect(r.records).toHaveLength(1);
    expect(r.errors.map((e) => e.where)).toEqual(['logEvents[1]', 'logEvents[2]']);
    expect(r.errors[0]!.reason).toMatch(/^logEvents\[1\]\.message is not JSON: /);
    expect(r.errors[1]!.reason).toContain(UNKNOWN_SIGNAL);
  });

  it('EMF: one row per metric present, arrays summed, stats counted as unsupported', () => {
    const doc = {
      ...emf,
      _aws: {
        Timestamp: 1773151440000,
        CloudWatchMetrics: [
          {
            Namespace: 'n',
            Dimensions: [],
            Metrics: [{ Name: 'claude_code.token.usage' }, { Name: 'claude_code.cost.usage' }, { Name: 'absent' }, { Name: 'h' }],
          },
        ],
      },
      'claude_code.cost.usage': [0.25, 0.5],
      h: { Max: 1, Min: 0, Count: 2, Sum: 1 },
    };
    const r = flattenEmf(doc);
    expect(r.records.map((x) => [x.name, x.value])).toEqual([
      ['claude_code.token.usage', 1234],
      ['claude_code.cost.usage', 0.75],
    ]);
    expect(r.unsupported).toBe(1);
    expect(r.records[0]!.attributes).not.toHaveProperty('h');
  });
});

describe('payload recognition and errors', () => {
  it('reads JSON Lines of requests, naming the bad line', () => {
    const good = JSON.stringify(logsRequest([logRecord([s('event.name', 'api_request')])]));
    const text = `${good}\n{"resourceLogs": [\n${JSON.stringify({ _aws: { Timestamp: 1773151440000, CloudWatchMetrics: [{ Metrics: [{ Name: 'm' }] }] }, m: 2 })}\n`;
    const r = decodePayload(new TextEncoder().encode(text));
    expect(r.records.map((x) => x.name)).toEqual(['claude_code.api_request', 'm']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.where).toBe('line 2');
    expect(r.errors[0]!.reason).toMatch(/^not JSON: .* at line 2/);
  });

  it('names unreadable fixtures', () => {
    expect(decodePayload(fixture('bad/not-json.json')).errors[0]!.reason).toMatch(/^not JSON: Unexpected token/);
    expect(decodePayload(fixture('bad/truncated.json')).errors[0]!.reason).toMatch(/^not JSON: Unexpected end of JSON input.* at line \d+/);
    expect(decodePayload(fixture('bad/unknown-signal.json')).errors).toEqual([{ where: '$', reason: UNKNOWN_SIGNAL }]);
    expect(decodePayload(new TextEncoder().encode('{\n  "a": 1\n  "b": 2\n}')).errors[0]!.reason).toBe(
      "not JSON: Expected ',' or '}' after property value at line 3 column 3",
    );
  });

  it('accepts gzip OTLP bodies and treats an empty payload as zero rows', () => {
    const r = decodePayload(gzipSync(Buffer.from(JSON.stringify(logsRequest([logRecord([s('event.name', 'x')])])))));
    expect(r.records).toHaveLength(1);
    expect(decodePayload(new Uint8Array())).toMatchObject({ kind: 'data', records: [], errors: [] });
  });
});
