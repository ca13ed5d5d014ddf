/**
 * The compliance evidence report on a hand-built lake (issue 7): every control of CONTRACTS section 3
 * per team, with status, counts and example record ids that agree with compliance_daily; no content
 * anywhere in the report although the lake holds a logged prompt; the SQL text and checksums; the
 * chain of manifests, which `export verify` walks and which breaks on one changed byte; Object Lock
 * on every object when configured (and the exact PutObject request S3 receives).
 *
 * The lake, period 2026-11-02..03 (UTC), policy: sonnet only, residency 'us.', MCP server github.
 *  - u1 (alpha, CC-A) on the 2nd: two approved us. sonnet requests, an opus request (not approved),
 *    an MCP call to server evilcorp, a switch to bypassPermissions, a tool use rejected by a policy
 *    hook, a user prompt event whose attributes hold the prompt text. On the 3rd: one request.
 *  - u2 (beta, no cost center): an eu. sonnet request (residency) costing $0.02 (attribution).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { modelCheckedMock } from './helpers/aws-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '../schemas/raw-record';
import { main } from '../functions/cli/main';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import type { Config } from '../functions/lib/config/schema';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { renderEvidencePdf } from '../functions/lib/exports/evidence-render';
import { compact } from '../functions/lib/jobs/compact';
import { exportEvidence, type EvidenceReport } from '../functions/lib/jobs/evidence';
import { verifyExports } from '../functions/lib/jobs/export-verify';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import type { ObjectStore, PutOptions } from '../functions/lib/store/port';
import { S3ObjectStore } from '../functions/lib/store/s3';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-evidence-test-');
afterAll(() => tmp.cleanup());

const CONFIG_INPUT = {
  compliance: { approvedModels: ['*claude-sonnet-4*'], allowedResidencyPrefixes: ['us.' as const], mcpAllowlist: ['github'], attributionThreshold: 0.9 },
  evidence: { examplesPerControl: 2 },
};
const config = parseConfig(CONFIG_INPUT);
const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const SONNET_EU = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS_US = 'us.anthropic.claude-opus-4-1-20250805-v1:0';
const SECRET = 'SECRET PROMPT TEXT: the merger closes friday';
const NOW = Date.parse('2026-11-04T06:00:00Z');

const event = (iso: string, user: string, name: string, extra: Partial<RawRecord> = {}) =>
  rec(iso, user, { name: `claude_code.${name}`, model: null, input_tokens: null, output_tokens: null, cost_usd: null, attributes: {}, ...extra });

const records = {
  ok1: rec('2026-11-02T09:00:00Z', 'u1', { model: SONNET_US, attributes: {} }),
  ok2: rec('2026-11-02T09:01:00Z', 'u1', { model: SONNET_US, attributes: {} }),
  opus: rec('2026-11-02T09:02:00Z', 'u1', { model: OPUS_US, attributes: {} }),
  mcp: event('2026-11-02T09:03:00Z', 'u1', 'tool_result', { tool_name: 'mcp_tool', success: true, attributes: { 'mcp_server.name': 'evilcorp' } }),
  bypass: event('2026-11-02T09:04:00Z', 'u1', 'permission_mode_changed', { attributes: { to_mode: 'bypassPermissions', from_mode: 'default' } }),
  rejected: event('2026-11-02T09:05:00Z', 'u1', 'tool_decision', { tool_name: 'Bash', decision: 'reject', decision_source: 'hook' }),
  prompt: event('2026-11-02T09:06:00Z', 'u1', 'user_prompt', { prompt_length: 44, attributes: { prompt: SECRET } }),
  eu: rec('2026-11-02T10:00:00Z', 'u2', { model: SONNET_EU, cost_usd: 0.02, attributes: {} }),
  day2: rec('2026-11-03T09:00:00Z', 'u1', { model: SONNET_US, attributes: {} }),
};

async function fixtureLake(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(tmp.make());
  mkdirSync(path.join(store.root, 'reference'), { recursive: true });
  writeFileSync(
    path.join(store.root, 'reference', 'org-directory.csv'),
    [
      'user_email,user_id,team,department,cost_center,valid_from,valid_to',
      'u1@example.com,u1,alpha,eng,CC-A,2026-01-01,',
      'u2@example.com,u2,beta,eng,,2026-01-01,',
    ].join('\n') + '\n',
  );
  await putRaw(store, '2026-11-03T10:05:00Z', Object.values(records));
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  await compact(store, catalog, config, { now: Date.parse('2026-11-03T11:00:00Z') });
  const engine = await LocalQueryEngine.open(store, config);
  try {
    await rollup(store, catalog, engine, config, { now: Date.parse('2026-11-04T02:00:00Z') });
  } finally {
    engine.close();
  }
  return store;
}

async function runEvidence(store: ObjectStore & { root?: string }, local: LocalObjectStore, from: string, to: string, now = NOW, c: Config = config) {
  const engine = await LocalQueryEngine.open(local, c);
  try {
    return await exportEvidence(store, engine, c, { from, to, now });
  } finally {
    engine.close();
  }
}

const read = (store: LocalObjectStore, key: string) => readFileSync(path.join(store.root, key));

describe('compliance evidence', () => {
  let store: LocalObjectStore;
  let report: EvidenceReport;
  let prefix: string;

  beforeAll(async () => {
    store = await fixtureLake();
    const s = await runEvidence(store, store, '2026-11-02', '2026-11-03');
    prefix = s.location;
    report = JSON.parse(read(store, `${prefix}evidence.json`).toString('utf8')) as EvidenceReport;
  }, 60_000);

  it('reports every control per team, with status, counts and example record ids that agree with compliance_daily', () => {
    expect(prefix).toBe('reports/evidence/seq=000001_2026-11-02_2026-11-03/');
    expect(report.summary.teams).toEqual(['ALL', 'alpha', 'beta']);
    const teamControls = [
      'approved_models',
      'data_residency',
      'attribution_coverage',
      'no_content_logged',
      'bypass_permissions',
      'mcp_allowlist',
      'policy_rejections',
    ];
    expect(report.controls.map((r) => `${r.team}:${r.control_id}`)).toEqual([
      ...[...teamControls, 'telemetry_freshness'].map((c) => `ALL:${c}`),
      ...teamControls.map((c) => `alpha:${c}`),
      ...teamControls.map((c) => `beta:${c}`),
    ]);
    const get = (team: string, control: string) => report.controls.find((r) => r.team === team && r.control_id === control)!;
    const brief = (team: string, control: string) => {
      const r = get(team, control);
      return [r.status, r.days, r.days_failed, r.evaluated, r.violations, r.findings, r.consistent, r.examples.map((e) => e.record_id ?? `${e.dt}T${e.hour}`)];
    };
    expect(brief('alpha', 'approved_models')).toEqual(['fail', 2, 1, 4, 1, 1, true, [records.opus.record_id]]);
    expect(brief('alpha', 'mcp_allowlist')).toEqual(['fail', 2, 1, 1, 1, 1, true, [records.mcp.record_id]]);
    expect(brief('alpha', 'bypass_permissions')).toEqual(['fail', 2, 1, 1, 1, 1, true, [records.bypass.record_id]]);
    expect(brief('alpha', 'no_content_logged')).toEqual(['fail', 2, 1, 8, 1, 1, true, [records.prompt.record_id]]);
    expect(brief('alpha', 'policy_rejections')).toEqual(['pass', 2, 0, 1, 0, 1, true, [records.rejected.record_id]]);
    expect(get('alpha', 'policy_rejections').examples[0]!.finding).toBe('evidence');
    expect(brief('alpha', 'data_residency')).toEqual(['pass', 2, 0, 4, 0, 0, true, []]);
    expect(brief('alpha', 'attribution_coverage')).toEqual(['pass', 2, 0, 2, 0, 0, null, []]);
    expect(brief('beta', 'data_residency')).toEqual(['fail', 1, 1, 1, 1, 1, true, [records.eu.record_id]]);
    expect(brief('beta', 'attribution_coverage')).toEqual(['fail', 1, 1, 1, 1, 1, null, [records.eu.record_id]]);
    expect(brief('beta', 'approved_models')).toEqual(['pass', 1, 0, 1, 0, 0, true, []]);
    // The organization: the first examples across teams, two at most (config evidence.examplesPerControl).
    expect(brief('ALL', 'approved_models')).toEqual(['fail', 2, 1, 5, 1, 1, true, [records.opus.record_id]]);
    expect(get('ALL', 'data_residency').failed_days).toEqual(['2026-11-02']);
    // Freshness: 24 hours a day; records in 2 hours on the 2nd and 1 on the 3rd, so 45 missing hours.
    expect(brief('ALL', 'telemetry_freshness')).toEqual(['fail', 2, 2, 48, 45, 45, true, ['2026-11-02T00', '2026-11-02T01']]);
    expect(report.summary).toMatchObject({ results: 22, passed: 9, failed: 13, no_data: 0, inconsistent: 0 });
    expect(report.summary.failing.map((f) => `${f.team}:${f.control_id}`)).toEqual([
      // The organization: on the 2nd only $0.03 of $0.05 carried a cost center (threshold 0.9).
      'ALL:approved_models',
      'ALL:data_residency',
      'ALL:attribution_coverage',
      'ALL:no_content_logged',
      'ALL:bypass_permissions',
      'ALL:mcp_allowlist',
      'ALL:telemetry_freshness',
      'alpha:approved_models',
      'alpha:no_content_logged',
      'alpha:bypass_permissions',
      'alpha:mcp_allowlist',
      'beta:data_residency',
      'beta:attribution_coverage',
    ]);
    expect(report.freshness).toMatchObject({
      period_records: 9,
      period_days_with_records: 2,
      period_newest_event_time: '2026-11-03T09:00:00.000Z',
      days_without_data: [],
      rollup_behind: [],
    });
    expect(report.freshness.newest_compaction).toMatch(/^2026-|^20\d\d-/);
    expect(report.row_counts).toMatchObject({ curated_records: 9, findings: 7 });
  });

  it('names the SQL behind every result with its text, SHA-256 and the engine', () => {
    const queries = report.sql.filter((q) => q.kind === 'query');
    expect(queries.map((q) => q.name)).toEqual(['evidence_controls', 'evidence_examples', 'evidence_freshness', 'evidence_newest', 'evidence_hours']);
    for (const q of report.sql) expect(q.sha256).toBe(createHash('sha256').update(q.text).digest('hex'));
    for (const q of queries) expect(q).toMatchObject({ engine: 'duckdb (local)', query_id: null });
    expect(report.sql.find((q) => q.kind === 'model')).toMatchObject({
      name: 'compliance_daily',
      file: 'sql/models/V049__compliance_daily.sql',
      version: 49,
      days: ['2026-11-02', '2026-11-03'],
    });
    expect(report.sql.find((q) => q.kind === 'view')).toMatchObject({ name: 'compliance_findings', file: 'sql/views/R__31_compliance_findings.sql' });
  });

  it('never carries content: the prompt in the lake is in none of the report files', () => {
    expect(read(store, `${prefix}evidence.json`).toString('utf8')).not.toContain('SECRET');
    expect(read(store, `${prefix}evidence.html`).toString('utf8')).not.toContain('SECRET');
    const pdf = path.join(store.root, prefix, 'evidence.pdf');
    expect(read(store, `${prefix}evidence.pdf`).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // (the lake does hold it: the check would catch a leak)
    expect(JSON.stringify(records.prompt.attributes)).toContain('SECRET');
    expect(statSync(pdf).mode & 0o222).toBe(0); // written read-only: Object Lock's local stand-in
  });

  it('renders the same PDF bytes for the same report (fixed dates, no run-time ids)', async () => {
    const a = await renderEvidencePdf(report);
    const b = await renderEvidencePdf(report);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(read(store, `${prefix}evidence.pdf`))).toBe(true);
  });

  it('chains reports by manifest digest; verify walks the chain and names the first changed byte', async () => {
    const lake = await fixtureLake();
    const first = await runEvidence(lake, lake, '2026-11-02', '2026-11-02');
    const second = await runEvidence(lake, lake, '2026-11-03', '2026-11-03', NOW + 60_000);
    expect(first.previous).toBeNull();
    const firstManifest = read(lake, `${first.location}manifest.json`);
    expect(second.previous).toEqual({ seq: 1, location: first.location, manifest_sha256: createHash('sha256').update(firstManifest).digest('hex') });
    expect(first.manifestSha256).toBe(second.previous!.manifest_sha256);
    const ok = await verifyExports(lake);
    expect(ok.problems).toEqual([]);
    expect(ok.evidence).toMatchObject({ reports: 2, files: 6, head: { seq: 2, manifestSha256: second.manifestSha256 } });

    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    expect(await main(['export', 'verify', '--lake', lake.root], io)).toBe(0);
    expect(out.join('\n')).toContain(`evidence chain head: report 2, manifest sha256 ${second.manifestSha256}`);

    // One flipped bit in the middle of report 1's PDF.
    const pdf = path.join(lake.root, first.location, 'evidence.pdf');
    const original = readFileSync(pdf);
    const changed = Buffer.from(original);
    changed[Math.floor(changed.length / 2)]! ^= 0x01;
    chmodSync(pdf, 0o644);
    writeFileSync(pdf, changed);
    expect(await main(['export', 'verify', '--lake', lake.root], io)).toBe(1);
    expect(err.at(-1)).toMatch(
      /^cclake: verification failed \(1 problem\(s\)\); first: evidence report 1 \(reports\/evidence\/seq=000001_2026-11-02_2026-11-02\/\): evidence\.pdf changed: sha256 /,
    );
    writeFileSync(pdf, original);

    // One changed byte in report 1's manifest (its digests rewritten to match would pass file by
    // file): report 2's link names it.
    const manifestFile = path.join(lake.root, first.location, 'manifest.json');
    chmodSync(manifestFile, 0o644);
    writeFileSync(manifestFile, firstManifest.toString('utf8').replace('"seq": 1', '"seq":  1'));
    const broken = await verifyExports(lake);
    expect(broken.problems).toEqual([
      {
        where: 'evidence report 1',
        file: 'manifest.json',
        message: expect.stringMatching(/^report 1's manifest\.json changed: its sha256 is [0-9a-f]{64}, report 2 recorded [0-9a-f]{64}$/),
      },
    ]);
  }, 60_000);

  it('writes every object under S3 Object Lock when configured, and the PutObject request carries mode, date and checksum', async () => {
    // The job on a lake configured for S3 with Object Lock: every write asks for the lock.
    const lake = await fixtureLake();
    const locked = parseConfig({ ...CONFIG_INPUT, lake: { s3: { bucket: 'cclake-evidence', objectLock: { mode: 'COMPLIANCE', retentionDays: 2555 } } } });
    const puts: { key: string; options?: PutOptions }[] = [];
    const recording: ObjectStore = Object.assign(Object.create(lake) as LocalObjectStore, {
      put: (key: string, body: Uint8Array | string, options?: PutOptions) => (puts.push({ key, options }), lake.put(key, body, options)),
      putIfAbsent: (key: string, body: Uint8Array | string, options?: PutOptions) => (puts.push({ key, options }), lake.putIfAbsent(key, body, options)),
    });
    const s = await runEvidence(recording, lake, '2026-11-02', '2026-11-03', NOW, locked);
    const retainUntil = new Date(NOW + 2555 * 86_400_000);
    const reportPuts = puts.filter((p) => p.key.startsWith('reports/'));
    expect(reportPuts.map((p) => p.key.slice(s.location.length))).toEqual(['evidence.json', 'evidence.html', 'evidence.pdf', 'manifest.json']);
    for (const p of reportPuts) expect(p.options?.objectLock).toEqual({ mode: 'COMPLIANCE', retainUntil });
    expect(s.objectLock).toEqual({ mode: 'COMPLIANCE', retain_until: retainUntil.toISOString() });

    // The S3 adapter turns that into PutObject with the lock headers and a SHA-256 checksum (S3
    // requires Content-MD5 or an x-amz-checksum header on an Object Lock write).
    const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const s3 = modelCheckedMock(client);
    s3.on(PutObjectCommand).resolves({});
    const s3store = new S3ObjectStore({ client, bucket: 'cclake-evidence', prefix: 'lake/' });
    const body = new TextEncoder().encode('{"seq": 1}\n');
    await s3store.put('reports/evidence/seq=000001_a_b/evidence.json', body, {
      contentType: 'application/json',
      objectLock: { mode: 'COMPLIANCE', retainUntil },
    });
    await s3store.putIfAbsent('reports/evidence/seq=000001_a_b/manifest.json', body, {
      contentType: 'application/json',
      objectLock: { mode: 'COMPLIANCE', retainUntil },
    });
    await s3store.put('reports/plain.json', body);
    const sha = createHash('sha256').update(body).digest('base64');
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      {
        Bucket: 'cclake-evidence',
        Key: 'lake/reports/evidence/seq=000001_a_b/evidence.json',
        Body: body,
        ContentType: 'application/json',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: retainUntil,
        ChecksumSHA256: sha,
      },
      {
        Bucket: 'cclake-evidence',
        Key: 'lake/reports/evidence/seq=000001_a_b/manifest.json',
        Body: body,
        ContentType: 'application/json',
        IfNoneMatch: '*',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: retainUntil,
        ChecksumSHA256: sha,
      },
      { Bucket: 'cclake-evidence', Key: 'lake/reports/plain.json', Body: body, ContentType: undefined },
    ]);
  }, 60_000);
});
