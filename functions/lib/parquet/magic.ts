/** Cheap checks that a local file can be a Parquet file, before any reader opens it. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Why the file cannot be Parquet (empty, no PAR1 magic at either end), or null when it may be. */
export function parquetMagicProblem(file: string): string | null {
  const size = statSync(file).size;
  if (size === 0) return 'empty object (0 bytes)';
  if (size < 12) return `not a Parquet file (${size} bytes)`;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    readSync(fd, tail, 0, 4, size - 4);
    if (head.toString('latin1') !== 'PAR1') return 'not a Parquet file (no PAR1 magic at the start)';
    if (tail.toString('latin1') !== 'PAR1') return 'truncated Parquet file (no footer: PAR1 magic missing at the end)';
    return null;
  } finally {
    closeSync(fd);
  }
}
