/** SHA-256 digests and the file list every export manifest carries. */
import { createHash } from 'node:crypto';

export const sha256Hex = (body: Uint8Array | string) => createHash('sha256').update(body).digest('hex');

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

export const bytesOf = (body: Uint8Array | string) => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

export function manifestFile(name: string, body: Uint8Array | string): ManifestFile {
  const bytes = bytesOf(body);
  return { name, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

/** A manifest's bytes: two-space JSON and a final newline (its digest is over exactly these bytes). */
export const manifestBytes = (manifest: object) => new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
