/**
 * A real S3-compatible HTTP server (s3rver) on 127.0.0.1 for store tests.
 *
 * s3rver runs in a child Node process started with `--openssl-legacy-provider`: it encrypts
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through the legacy
 * provider, so without the flag every listing past 1000 keys fails with "digital envelope
 * routines::unsupported". Providers are loaded at process start (no runtime API), and vitest's
 * forked workers do not inherit a NODE_OPTIONS set from inside a test, so a child with its own
 * flag is the one setup that works whatever way the tests are launched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  client: S3Client;
  close(): Promise<void>;
}

// CommonJS, run with `node -e` in the child. It exits when the parent goes away (IPC disconnect),
// so a crashed test run leaves no server behind.
const CHILD_SOURCE = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIR,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.run().then(
  (addr) => process.send({ port: addr.port }),
  (err) => { console.error(err); process.exit(1); },
);
process.on('disconnect', () => { server.close().catch(() => {}).finally(() => process.exit(0)); });
`;

export async function startS3rver(options: { bucket?: string } = {}): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'cclake-test';
  const directory = await mkdtemp(path.join(tmpdir(), 'cclake-s3rver-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
    S3RVER_DIR: directory,
    S3RVER_BUCKET: bucket,
  };
  delete env.NODE_OPTIONS; // vitest's own loader flags are not for this child

  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SOURCE], {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  let port: number;
  try {
    port = await waitForPort(child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw err;
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    // s3rver checks signatures against its one dummy account.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // s3rver predates flexible checksums: aws-chunked bodies with trailing CRCs would be stored verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  return {
    endpoint,
    bucket,
    client,
    async close() {
      client.destroy();
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function waitForPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within 15 s\n${stderr()}`)), 15_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`s3rver exited during start-up (code ${code}, signal ${signal})\n${stderr()}`)));
    child.once('message', (msg: { port?: unknown }) => {
      clearTimeout(timer);
      if (typeof msg.port === 'number') resolve(msg.port);
      else reject(new Error(`unexpected message from s3rver: ${JSON.stringify(msg)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
