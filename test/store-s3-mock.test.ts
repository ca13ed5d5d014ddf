/**
 * Exact request shapes and retry behaviour of S3ObjectStore, against aws-sdk-client-mock (no
 * network). Covers what s3rver cannot: conditional writes, throttling, per-key delete errors.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { modelCheckedMock } from './helpers/aws-model';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listAll, ObjectNotFoundError } from '../functions/lib/store/port';
import { S3ObjectStore, S3OperationError, s3StoreFromConfig, type RetryOptions } from '../functions/lib/store/s3';

const MiB = 1024 * 1024;

function s3Error(name: string, status: number, message = `${name} (simulated)`): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`socket hang up (${code})`), { code });
}

/** A GetObject body as the SDK hands it out in Node: a Readable with the transform helpers. */
function body(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  const stream = Readable.from([Buffer.from(bytes)]);
  return Object.assign(stream, {
    transformToByteArray: async () => bytes,
    transformToString: async () => Buffer.from(bytes).toString(),
    transformToWebStream: () => {
      throw new Error('not used');
    },
  });
}

const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const s3 = modelCheckedMock(client);
let sleeps: number[];

function makeStore(retry: RetryOptions = {}, extra: { multipartThresholdBytes?: number; partSizeBytes?: number } = {}) {
  return new S3ObjectStore({
    client,
    bucket: 'lake-bucket',
    prefix: 'lake/',
    retry: { sleep: async (ms) => void sleeps.push(ms), ...retry },
    ...extra,
  });
}

beforeEach(() => {
  s3.reset();
  sleeps = [];
  // Full jitter draws uniformly below the cap; pin the draw to the middle so delays are predictable.
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('S3ObjectStore configuration', () => {
  it('reports its location and checks the prefix', () => {
    expect(makeStore().location).toBe('s3://lake-bucket/lake/');
    expect(new S3ObjectStore({ client, bucket: 'b', prefix: '' }).location).toBe('s3://b/');
    expect(() => new S3ObjectStore({ client, bucket: 'b', prefix: 'lake' })).toThrow(/invalid S3 key prefix/);
    expect(() => new S3ObjectStore({ client, bucket: 'b', prefix: '/lake/' })).toThrow(/invalid S3 key prefix/);
  });

  it('builds a store from the lake.s3 config section', () => {
    const store = s3StoreFromConfig({ bucket: 'acme-lake', prefix: 'cclake/', region: 'eu-west-1', multipartThresholdMiB: 16 });
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.location).toBe('s3://acme-lake/cclake/');
  });
});

describe('S3ObjectStore request shapes', () => {
  it('paginates ListObjectsV2 with the store prefix and continuation tokens, stripping the prefix', async () => {
    const at = new Date('2026-01-02T03:04:05Z');
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: 'lake/raw/a', Size: 1, LastModified: at },
          { Key: 'lake/raw/b', Size: 2, LastModified: at },
        ],
        IsTruncated: true,
        NextContinuationToken: 'token-1',
      })
      .resolvesOnce({ Contents: [{ Key: 'lake/raw/c', Size: 3, LastModified: at }], IsTruncated: true, NextContinuationToken: 'token-2' })
      .resolvesOnce({ Contents: [{ Key: 'lake/raw/d', Size: 4, LastModified: at }, { Key: 'lake/raw/folder/' }], IsTruncated: false });

    const listed = await listAll(makeStore(), 'raw/');

    expect(listed).toEqual([
      { key: 'raw/a', size: 1, lastModified: at },
      { key: 'raw/b', size: 2, lastModified: at },
      { key: 'raw/c', size: 3, lastModified: at },
      { key: 'raw/d', size: 4, lastModified: at },
    ]);
    const inputs = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Bucket: 'lake-bucket', Prefix: 'lake/raw/', ContinuationToken: undefined },
      { Bucket: 'lake-bucket', Prefix: 'lake/raw/', ContinuationToken: 'token-1' },
      { Bucket: 'lake-bucket', Prefix: 'lake/raw/', ContinuationToken: 'token-2' },
    ]);
  });

  it('retries a throttled page without restarting the listing', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'lake/a', Size: 1 }], IsTruncated: true, NextContinuationToken: 't1' })
      .rejectsOnce(s3Error('SlowDown', 503))
      .resolvesOnce({ Contents: [{ Key: 'lake/b', Size: 1 }], IsTruncated: false });

    expect((await listAll(makeStore(), '')).map((o) => o.key)).toEqual(['a', 'b']);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.ContinuationToken)).toEqual([undefined, 't1', 't1']);
  });

  it('asks for an explicit byte range', async () => {
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i + 10);
    s3.on(GetObjectCommand).resolves({ Body: body(bytes) });

    expect(await makeStore().getRange('curated/part-0.parquet', 10, 19)).toEqual(bytes);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'lake-bucket',
      Key: 'lake/curated/part-0.parquet',
      Range: 'bytes=10-19',
    });
    await expect(makeStore().getRange('k', 5, 4)).rejects.toThrow(/invalid byte range/);
    await expect(makeStore().getRange('k', -8, -1)).rejects.toThrow(/invalid byte range/);
  });

  it('maps NoSuchKey to ObjectNotFoundError and HeadObject 404 to null, without retrying', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ $metadata: { httpStatusCode: 404 }, message: 'NotFound' }));
    const store = makeStore();

    const err = await store.get('raw/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectNotFoundError);
    expect((err as Error).message).toBe('object not found: s3://lake-bucket/lake/raw/missing');
    expect(await store.head('raw/missing')).toBeNull();
    expect(s3.calls()).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('heads an object', async () => {
    const at = new Date('2026-03-01T00:00:00Z');
    s3.on(HeadObjectCommand, { Bucket: 'lake-bucket', Key: 'lake/raw/a' }).resolves({ ContentLength: 42, LastModified: at });
    expect(await makeStore().head('raw/a')).toEqual({ key: 'raw/a', size: 42, lastModified: at });
  });

  it('puts with content type in one request', async () => {
    s3.on(PutObjectCommand).resolves({});
    await makeStore().put('state/cursor.json', '{}', { contentType: 'application/json' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'lake-bucket',
      Key: 'lake/state/cursor.json',
      Body: '{}',
      ContentType: 'application/json',
    });
  });

  it('putIfAbsent sends If-None-Match: * and maps 412 to false', async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejectsOnce(s3Error('PreconditionFailed', 412));
    const store = makeStore();

    expect(await store.putIfAbsent('locks/job.lock', 'me')).toBe(true);
    expect(await store.putIfAbsent('locks/job.lock', 'someone else')).toBe(false);
    const inputs = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toMatchObject({ Bucket: 'lake-bucket', Key: 'lake/locks/job.lock', Body: 'me', IfNoneMatch: '*' });
    expect(sleeps).toEqual([]);
  });

  it('putIfAbsent retries 409 ConditionalRequestConflict', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).resolvesOnce({});

    expect(await makeStore().putIfAbsent('locks/job.lock', 'me')).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('putIfAbsent returns false when the retry of a conflict finds the key taken', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).rejectsOnce(s3Error('PreconditionFailed', 412));
    expect(await makeStore().putIfAbsent('locks/job.lock', 'me')).toBe(false);
  });

  it('putIfVersion sends If-None-Match: * for a first version and If-Match with the ETag read after it; 412 is a lost race', async () => {
    s3.on(PutObjectCommand).resolvesOnce({ ETag: '"e1"' }).resolvesOnce({ ETag: '"e2"' }).rejectsOnce(s3Error('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolvesOnce({ Body: body(new TextEncoder().encode('one')), ETag: '"e1"' });
    const store = makeStore();

    expect(await store.putIfVersion('_cclake/commits/t/dt=1.json', 'one', null, { contentType: 'application/json' })).toBe('"e1"');
    const read = (await store.getVersioned('_cclake/commits/t/dt=1.json'))!;
    expect(read.version).toBe('"e1"');
    expect(await store.putIfVersion('_cclake/commits/t/dt=1.json', 'two', read.version)).toBe('"e2"');
    expect(await store.putIfVersion('_cclake/commits/t/dt=1.json', 'stale', '"e1"')).toBeNull();
    const inputs = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({
      Bucket: 'lake-bucket',
      Key: 'lake/_cclake/commits/t/dt=1.json',
      Body: 'one',
      IfNoneMatch: '*',
      ContentType: 'application/json',
    });
    expect(inputs[0]!.IfMatch).toBeUndefined();
    expect(inputs[1]).toMatchObject({ Key: 'lake/_cclake/commits/t/dt=1.json', Body: 'two', IfMatch: '"e1"' });
    expect(inputs[1]!.IfNoneMatch).toBeUndefined();
    expect(inputs[2]).toMatchObject({ Body: 'stale', IfMatch: '"e1"' });
    expect(sleeps).toEqual([]);
  });

  it('putIfVersion retries 409 ConditionalRequestConflict with the same condition', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).resolvesOnce({ ETag: '"e2"' });
    expect(await makeStore().putIfVersion('c.json', 'two', '"e1"')).toBe('"e2"');
    const inputs = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.IfMatch)).toEqual(['"e1"', '"e1"']);
  });

  it('getVersioned maps a missing key to null; localFile downloads to the scratch path', async () => {
    s3.on(GetObjectCommand, { Key: 'lake/missing.json' }).rejects(new NoSuchKey({ message: 'no', $metadata: { httpStatusCode: 404 } }));
    s3.on(GetObjectCommand, { Key: 'lake/raw/a.parquet' }).resolves({ Body: body(new TextEncoder().encode('PAR1')), ETag: '"x"' });
    const store = makeStore();
    expect(await store.getVersioned('missing.json')).toBeNull();
    const dir = await mkdtemp(path.join(tmpdir(), 'cclake-s3-local-'));
    try {
      const file = await store.localFile('raw/a.parquet', path.join(dir, '0.parquet'));
      expect(file).toBe(path.join(dir, '0.parquet'));
      expect(await readFile(file, 'utf8')).toBe('PAR1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('deletes in batches of 1000 with Quiet and surfaces per-key errors', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `tmp/k${String(i).padStart(4, '0')}`);
    s3.on(DeleteObjectsCommand)
      .resolvesOnce({})
      .resolvesOnce({
        Errors: [
          { Key: 'lake/tmp/k1001', Code: 'AccessDenied', Message: 'Access Denied' },
          { Key: 'lake/tmp/k1500', Code: 'InternalError', Message: 'We encountered an internal error.' },
        ],
      })
      .resolvesOnce({ Deleted: [] });

    const { deleted, failed } = await makeStore().delete(keys);

    const inputs = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.Delete?.Objects?.length)).toEqual([1000, 1000, 500]);
    expect(inputs.every((i) => i.Bucket === 'lake-bucket' && i.Delete?.Quiet === true)).toBe(true);
    expect(inputs[0]?.Delete?.Objects?.[0]).toEqual({ Key: 'lake/tmp/k0000' });
    expect(inputs[2]?.Delete?.Objects?.at(-1)).toEqual({ Key: 'lake/tmp/k2499' });
    expect(failed).toEqual([
      { key: 'tmp/k1001', code: 'AccessDenied', message: 'Access Denied' },
      { key: 'tmp/k1500', code: 'InternalError', message: 'We encountered an internal error.' },
    ]);
    expect(deleted).toHaveLength(2498);
    expect(deleted).not.toContain('tmp/k1001');
  });

  it('marks a whole batch failed when DeleteObjects itself fails, keeping other batches', async () => {
    const keys = Array.from({ length: 1200 }, (_, i) => `tmp/k${i}`);
    s3.on(DeleteObjectsCommand)
      .resolvesOnce({})
      .rejectsOnce(s3Error('AccessDenied', 403, 'Access Denied'));

    const { deleted, failed } = await makeStore().delete([...keys, '../escape']);

    expect(deleted).toEqual(keys.slice(0, 1000));
    expect(failed[0]).toMatchObject({ key: '../escape', code: 'InvalidKey' });
    expect(failed.slice(1)).toEqual(keys.slice(1000).map((key) => ({ key, code: 'AccessDenied', message: 'Access Denied' })));
  });

  it('makes no request when deleting nothing', async () => {
    expect(await makeStore().delete([])).toEqual({ deleted: [], failed: [] });
    expect(s3.calls()).toHaveLength(0);
  });

  it('puts small files in one PutObject and large ones as multipart parts', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cclake-s3-mock-'));
    try {
      await writeFile(path.join(dir, 'small'), 'small file');
      await writeFile(path.join(dir, 'large'), new Uint8Array(11 * MiB));
      s3.on(PutObjectCommand).resolves({});
      s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
      s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
      s3.on(CompleteMultipartUploadCommand).resolves({});
      const store = makeStore({}, { multipartThresholdBytes: 5 * MiB, partSizeBytes: 1 }); // part size is raised to 5 MiB

      await store.putFile('small.bin', path.join(dir, 'small'));
      const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
      expect(put).toMatchObject({ Bucket: 'lake-bucket', Key: 'lake/small.bin' });
      expect(Buffer.from(put?.Body as Uint8Array).toString()).toBe('small file');

      await store.putFile('large.bin', path.join(dir, 'large'), { contentType: 'application/octet-stream' });
      expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
        Bucket: 'lake-bucket',
        Key: 'lake/large.bin',
        ContentType: 'application/octet-stream',
      });
      const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
      expect(parts.map((p) => p.PartNumber).sort()).toEqual([1, 2, 3]);
      expect(parts.every((p) => p.UploadId === 'upload-1' && p.Key === 'lake/large.bin')).toBe(true);
      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1); // only the small file
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streams getToFile to disk and leaves no partial file when the download fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cclake-s3-mock-'));
    try {
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
      const broken = new Readable({
        read() {
          this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        },
      });
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: body(bytes) })
        .resolves({ Body: broken as unknown as GetObjectCommandOutput['Body'] });
      const store = makeStore({ maxAttempts: 1 });

      await store.getToFile('curated/a.parquet', path.join(dir, 'a'));
      expect(new Uint8Array(await readFile(path.join(dir, 'a')))).toEqual(bytes);

      await expect(store.getToFile('curated/b.parquet', path.join(dir, 'b'))).rejects.toThrow(/GetObject .*curated\/b.parquet.*ECONNRESET/);
      await expect(readFile(path.join(dir, 'b'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('S3ObjectStore retries', () => {
  it('retries 503 SlowDown with growing backoff, then succeeds', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error('SlowDown', 503)).rejectsOnce(s3Error('SlowDown', 503)).resolvesOnce({});

    await makeStore({ baseDelayMs: 100 }).put('raw/a', 'x');

    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // caps 100 then 200, jitter pinned at half
  });

  it.each([
    ['InternalError', s3Error('InternalError', 500)],
    ['ThrottlingException', s3Error('ThrottlingException', 400)],
    ['TooManyRequestsException', s3Error('TooManyRequestsException', 429)],
    ['RequestTimeout', s3Error('RequestTimeout', 400)],
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ETIMEDOUT', networkError('ETIMEDOUT')],
  ])('retries %s', async (_name, error) => {
    s3.on(GetObjectCommand)
      .rejectsOnce(error)
      .resolves({ Body: body(new Uint8Array([1, 2, 3])) });
    expect(await makeStore().get('raw/a')).toEqual(new Uint8Array([1, 2, 3]));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('caps each backoff at maxDelayMs', async () => {
    vi.mocked(Math.random).mockReturnValue(0.999);
    s3.on(HeadObjectCommand).rejects(s3Error('SlowDown', 503));

    await expect(makeStore({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 300 }).head('raw/a')).rejects.toThrow(S3OperationError);
    expect(sleeps).toEqual([99, 199, 299, 299, 299]);
  });

  it('does not retry AccessDenied', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403, 'Access Denied'));

    const err = await makeStore()
      .put('raw/a', 'x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3OperationError);
    expect(err).toMatchObject({ code: 'AccessDenied', status: 403, attempts: 1, operation: 'PutObject' });
    expect((err as Error).message).toBe('PutObject s3://lake-bucket/lake/raw/a failed: AccessDenied: Access Denied');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('gives up after maxAttempts with an error naming the operation and key', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('InternalError', 500, 'We encountered an internal error.'));

    const err = await makeStore({ maxAttempts: 4 })
      .get('curated/sessions/part-7.parquet')
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(S3OperationError);
    expect((err as Error).message).toBe(
      'GetObject s3://lake-bucket/lake/curated/sessions/part-7.parquet failed after 4 attempts: InternalError: We encountered an internal error.',
    );
    expect((err as S3OperationError).cause).toBeInstanceOf(S3ServiceException);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('retries DeleteObjects as a whole before marking its keys failed', async () => {
    s3.on(DeleteObjectsCommand).rejects(s3Error('SlowDown', 503, 'Please reduce your request rate.'));

    const { deleted, failed } = await makeStore({ maxAttempts: 3 }).delete(['a', 'b']);

    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(3);
    expect(deleted).toEqual([]);
    expect(failed).toEqual([
      { key: 'a', code: 'SlowDown', message: 'Please reduce your request rate.' },
      { key: 'b', code: 'SlowDown', message: 'Please reduce your request rate.' },
    ]);
  });
});
