/**
 * `cclake export verify`: recomputes the SHA-256 of every file of every committed export and checks
 * it against the manifest that lists it, and walks the chains: each evidence report's manifest names
 * the previous report's manifest digest (so a changed byte anywhere in an earlier report, its
 * manifest included, breaks the link after it), and each chargeback revision names the one before.
 *
 * The newest evidence manifest is the head of the chain: nothing later vouches for it, so its digest
 * is printed for keeping elsewhere (and on S3 Object Lock keeps it from changing at all).
 */
import { performance } from 'node:perf_hooks';
import { sha256Hex, type ManifestFile } from '../exports/digest';
import { listAll, ObjectNotFoundError, type ObjectStore } from '../store/port';
import { CHARGEBACK_PREFIX, type ChargebackManifest } from './chargeback';
import { listReports, type EvidenceManifest } from './evidence';

export interface VerifyProblem {
  /** The report or revision, e.g. 'evidence report 2 (reports/evidence/seq=000002_…/)'. */
  where: string;
  file?: string;
  message: string;
}

export interface VerifySummary {
  evidence: { reports: number; files: number; head: { seq: number; location: string; manifestSha256: string } | null; incomplete: string[] };
  chargeback: { months: number; revisions: number; preliminary: number; files: number };
  problems: VerifyProblem[];
  durationMs: number;
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function getOrNull(store: ObjectStore, key: string): Promise<Uint8Array | null> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

/** Checks a manifest's files in `prefix`: every one present with its size and digest, nothing else beside them. */
async function checkFiles(store: ObjectStore, prefix: string, files: ManifestFile[], where: string, problems: VerifyProblem[]): Promise<number> {
  const present = new Set((await listAll(store, prefix)).map((o) => o.key.slice(prefix.length)).filter((k) => !k.includes('/')));
  for (const f of files) {
    const bytes = await getOrNull(store, `${prefix}${f.name}`);
    if (!bytes) problems.push({ where, file: f.name, message: `${f.name} is missing` });
    else {
      const digest = sha256Hex(bytes);
      if (digest !== f.sha256 || bytes.length !== f.bytes) {
        problems.push({
          where,
          file: f.name,
          message: `${f.name} changed: sha256 ${digest} (${bytes.length} bytes), its manifest says ${f.sha256} (${f.bytes} bytes)`,
        });
      }
    }
    present.delete(f.name);
  }
  present.delete('manifest.json');
  for (const extra of [...present].sort()) problems.push({ where, file: extra, message: `${extra} is not in the manifest` });
  return files.length;
}

export async function verifyExports(store: ObjectStore): Promise<VerifySummary> {
  const started = performance.now();
  const problems: VerifyProblem[] = [];
  const summary: VerifySummary = {
    evidence: { reports: 0, files: 0, head: null, incomplete: [] },
    chargeback: { months: 0, revisions: 0, preliminary: 0, files: 0 },
    problems,
    durationMs: 0,
  };

  // Evidence: the chain of reports.
  const { committed, incomplete } = await listReports(store);
  summary.evidence.incomplete = incomplete.map((r) => r.prefix);
  let prev = null as { seq: number; digest: string } | null;
  for (const r of committed) {
    const where = `evidence report ${r.seq} (${r.prefix})`;
    const body = (await store.get(`${r.prefix}manifest.json`))!;
    const digest = sha256Hex(body);
    let m: EvidenceManifest;
    try {
      m = JSON.parse(decode(body)) as EvidenceManifest;
    } catch {
      problems.push({ where, file: 'manifest.json', message: 'manifest.json is not valid JSON (changed)' });
      prev = { seq: r.seq, digest };
      continue;
    }
    const expectedSeq: number = (prev?.seq ?? 0) + 1;
    if (r.seq !== expectedSeq)
      problems.push({ where, message: prev && r.seq === prev.seq ? `sequence number ${r.seq} is used twice` : `report ${expectedSeq} is missing before it` });
    if (m.seq !== r.seq || m.period?.from !== r.from || m.period?.to !== r.to)
      problems.push({ where, file: 'manifest.json', message: `manifest.json names report ${m.seq} for ${m.period?.from}..${m.period?.to}, not the folder's` });
    if (prev) {
      if (!m.previous || m.previous.manifest_sha256 !== prev.digest) {
        problems.push({
          where: `evidence report ${prev.seq}`,
          file: 'manifest.json',
          message: `report ${prev.seq}'s manifest.json changed: its sha256 is ${prev.digest}, report ${r.seq} recorded ${m.previous?.manifest_sha256 ?? 'no previous digest'}`,
        });
      }
    } else if (m.previous)
      problems.push({ where, file: 'manifest.json', message: `the first report names a previous report (${m.previous.seq}) that is not in the lake` });
    summary.evidence.files += await checkFiles(store, r.prefix, m.files ?? [], where, problems);
    summary.evidence.reports++;
    summary.evidence.head = { seq: r.seq, location: r.prefix, manifestSha256: digest };
    prev = { seq: r.seq, digest };
  }

  // Chargeback: each month's revisions, chained, and any preliminary snapshot.
  const byMonth = new Map<string, { revisions: number[]; preliminary: boolean }>();
  for (const o of await listAll(store, CHARGEBACK_PREFIX)) {
    const m = /^exports\/chargeback\/month=(\d{4}-\d{2})\/(?:rev=(\d{3,})|(preliminary))\/manifest\.json$/.exec(o.key);
    if (!m) continue;
    const e = byMonth.get(m[1]!) ?? { revisions: [], preliminary: false };
    if (m[2]) e.revisions.push(Number(m[2]));
    else e.preliminary = true;
    byMonth.set(m[1]!, e);
  }
  for (const [month, e] of [...byMonth].sort(([a], [b]) => (a < b ? -1 : 1))) {
    summary.chargeback.months++;
    let before = null as { revision: number; digest: string } | null;
    for (const n of e.revisions.sort((a, b) => a - b)) {
      const prefix = `${CHARGEBACK_PREFIX}month=${month}/rev=${String(n).padStart(3, '0')}/`;
      const where = `chargeback ${month} revision ${n} (${prefix})`;
      const body = await store.get(`${prefix}manifest.json`);
      const digest = sha256Hex(body);
      let m: ChargebackManifest | null = null;
      try {
        m = JSON.parse(decode(body)) as ChargebackManifest;
      } catch {
        problems.push({ where, file: 'manifest.json', message: 'manifest.json is not valid JSON (changed)' });
      }
      if (n !== (before?.revision ?? 0) + 1) problems.push({ where, message: `revision ${(before?.revision ?? 0) + 1} is missing before it` });
      if (m) {
        if (before && m.previous_revision?.manifest_sha256 !== before.digest) {
          problems.push({
            where: `chargeback ${month} revision ${before.revision}`,
            file: 'manifest.json',
            message: `revision ${before.revision}'s manifest.json changed: its sha256 is ${before.digest}, revision ${n} recorded ${m.previous_revision?.manifest_sha256 ?? 'none'}`,
          });
        }
        summary.chargeback.files += await checkFiles(store, prefix, m.files ?? [], where, problems);
      }
      summary.chargeback.revisions++;
      before = { revision: n, digest };
    }
    if (e.preliminary) {
      const prefix = `${CHARGEBACK_PREFIX}month=${month}/preliminary/`;
      const m = JSON.parse(decode(await store.get(`${prefix}manifest.json`))) as ChargebackManifest;
      summary.chargeback.files += await checkFiles(store, prefix, m.files ?? [], `chargeback ${month} preliminary snapshot (${prefix})`, problems);
      summary.chargeback.preliminary++;
    }
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}
