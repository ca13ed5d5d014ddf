/**
 * S3 object store: the lake lives under `s3://bucket/prefix`. Keys handed in are relative to the
 * lake root; this adapter prepends the prefix on the way out and strips it from listed keys.
 *
 * Every request goes through one explicit retry policy (exponential backoff with full jitter) for
 * throttling and transient failures. The S3Client is injected, so its own retry settings are the
 * caller's business; `s3StoreFromConfig` builds a client that leaves retrying to this adapter.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorFacts, isTransient, retryPolicy, ServiceOperationError, withRetry, type RetryOptions, type RetryPolicy } from '../util/retry';
import { assertValidKey, ObjectNotFoundError, type DeleteFailure, type ObjectInfo, type ObjectStore, type PutOptions, type VersionedObject } from './port';

const MiB = 1024 * 1024;
/** S3's floor for every multipart part but the last. */
const MIN_PART_BYTES = 5 * MiB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;

export type { RetryOptions };

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** '' or a key prefix ending in '/'. */
  prefix: string;
  /** Files larger than this are uploaded as multipart. Default 64 MiB. */
  multipartThresholdBytes?: number;
  /** Multipart part size; raised to 5 MiB and to whatever keeps a file within 10,000 parts. Default 8 MiB. */
  partSizeBytes?: number;
  retry?: RetryOptions;
}

/** S3's own error codes worth another attempt, beyond the generic throttling and timeout ones. */
const S3_TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  // The signer corrects its clock offset from this response, so the next attempt can succeed.
  'RequestTimeTooSkewed',
  // A concurrent conditional write on the same key was in flight; S3 asks the caller to retry.
  'ConditionalRequestConflict',
]);

/** A request that failed for good: names the operation and the object, keeps S3's error code and status. */
export class S3OperationError extends ServiceOperationError {
  constructor(operation: string, target: string, attempts: number, cause: unknown) {
    super(operation, target, attempts, cause);
    this.name = 'S3OperationError';
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof S3OperationError && (err.status === 404 || err.code === 'NoSuchKey' || err.code === 'NotFound');
}

function isPreconditionFailed(err: unknown): boolean {
  return err instanceof S3OperationError && (err.status === 412 || err.code === 'PreconditionFailed');
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly multipartThresholdBytes: number;
  private readonly partSizeBytes: number;
  private readonly retry: RetryPolicy;

  constructor(options: S3ObjectStoreOptions) {
    const { prefix } = options;
    if (prefix !== '' && (!prefix.endsWith('/') || prefix.startsWith('/'))) {
      throw new Error(`invalid S3 key prefix ${JSON.stringify(prefix)}: expected '' or segments ending in '/', such as 'lake/'`);
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.location = `s3://${options.bucket}/${prefix}`;
    this.multipartThresholdBytes = options.multipartThresholdBytes ?? 64 * MiB;
    this.partSizeBytes = Math.max(MIN_PART_BYTES, options.partSizeBytes ?? 8 * MiB);
    this.retry = retryPolicy(options.retry);
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    const Key = this.fullKey(key);
    await this.withRetry('PutObject', Key, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: options?.contentType, ...objectLockParams(body, options) })),
    );
  }

  async putIfAbsent(key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const Key = this.fullKey(key);
    // If an attempt fails ambiguously (connection reset) after S3 stored the object, the retry sees 412
    // and reports false: nobody believes they won, which is the safe side for create-once markers.
    try {
      await this.withRetry('PutObject', Key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: body,
            ContentType: options?.contentType,
            IfNoneMatch: '*',
            ...objectLockParams(body, options),
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  async putIfVersion(key: string, body: Uint8Array | string, expect: string | null, options?: PutOptions): Promise<string | null> {
    const Key = this.fullKey(key);
    // `If-Match` on the ETag the caller read, or `If-None-Match: *` for the first version; a 412
    // means another writer got there first. A 409 (a concurrent conditional write in flight) is
    // retried, as S3 asks, and then meets the same condition again.
    const condition = expect === null ? { IfNoneMatch: '*' } : { IfMatch: expect };
    try {
      const out = await this.withRetry('PutObject', Key, () =>
        this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: options?.contentType, ...condition, ...objectLockParams(body, options) }),
        ),
      );
      return out.ETag ?? '';
    } catch (err) {
      if (isPreconditionFailed(err)) return null;
      throw err;
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | null> {
    const Key = this.fullKey(key);
    try {
      return await this.withRetry('GetObject', Key, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        if (!out.ETag) throw new Error(`GetObject ${Key} returned no ETag: a compare-and-swap needs one`);
        return { body: await bodyBytes(out), version: out.ETag };
      });
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async localFile(key: string, scratchPath: string): Promise<string> {
    await this.getToFile(key, scratchPath);
    return scratchPath;
  }

  async putFile(key: string, localPath: string, options?: PutOptions): Promise<void> {
    const Key = this.fullKey(key);
    const { size } = await fs.stat(localPath);
    if (size <= this.multipartThresholdBytes) {
      // Small enough to hold in memory, which also makes every retry re-send identical bytes.
      const body = await fs.readFile(localPath);
      await this.withRetry('PutObject', Key, () =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: options?.contentType })),
      );
      return;
    }
    const partSize = Math.max(this.partSizeBytes, Math.ceil(size / MAX_PARTS));
    // Every request of the upload (create, each part, complete) is retried on its own through this
    // client, so a transient failure of one part costs that part, not the upload. A part that fails
    // for good makes lib-storage abort the upload; should that abort fail too (a role without
    // s3:AbortMultipartUpload), the part's error is still the one reported, and the bucket's
    // abort-incomplete-multipart-uploads lifecycle rule removes the leftover parts.
    let abortError: unknown;
    const client = Object.create(this.client) as S3Client;
    client.send = ((command: Parameters<S3Client['send']>[0]) => {
      const send = () => this.client.send(command);
      if (command instanceof AbortMultipartUploadCommand) {
        return send().catch((err: unknown) => {
          abortError = err;
          return {};
        });
      }
      return withRetry(this.retry, send, { retryable: (err) => isTransient(err, S3_TRANSIENT_NAMES), giveUp: (err) => err as Error });
    }) as S3Client['send'];
    const Body = createReadStream(localPath);
    try {
      await new Upload({ client, params: { Bucket: this.bucket, Key, Body, ContentType: options?.contentType }, partSize, queueSize: 4 }).done();
    } catch (err) {
      const failure = new S3OperationError('MultipartUpload', `s3://${this.bucket}/${Key}`, 1, err);
      if (abortError !== undefined) failure.message += ` (aborting the upload failed too: ${errorFacts(abortError).name}: ${errorFacts(abortError).message})`;
      throw failure;
    } finally {
      Body.destroy(); // a failed upload may stop reading mid-file; release the descriptor
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.fullKey(key);
    return this.mapNotFound(key, () =>
      // Reading the body inside the attempt means a connection dropped mid-body is retried too.
      this.withRetry('GetObject', Key, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        return bodyBytes(out);
      }),
    );
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start)) {
      throw new Error(`invalid byte range ${start}-${end} for ${key}`);
    }
    const Key = this.fullKey(key);
    // Always an explicit first-last range: suffix ranges (`bytes=-N`) are not what callers mean here.
    const Range = `bytes=${start}-${end}`;
    return this.mapNotFound(key, () =>
      this.withRetry('GetObject', `${Key} (${Range})`, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
        return bodyBytes(out);
      }),
    );
  }

  async getToFile(key: string, localPath: string): Promise<void> {
    const Key = this.fullKey(key);
    await this.mapNotFound(key, () =>
      this.withRetry('GetObject', Key, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        if (!(out.Body instanceof Readable)) throw new Error(`GetObject ${Key} returned no readable body`);
        // The file is opened only once S3 answered, so a missing key never clobbers localPath.
        try {
          await pipeline(out.Body, createWriteStream(localPath));
        } catch (err) {
          await fs.rm(localPath, { force: true });
          throw err;
        }
      }),
    );
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.fullKey(key);
    try {
      const out = await this.withRetry('HeadObject', Key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key })));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Same rule as the local store: the folder part of the prefix must be a valid key.
    const slash = prefix.lastIndexOf('/');
    if (slash > 0) assertValidKey(prefix.slice(0, slash));
    const Prefix = this.prefix + prefix;
    let ContinuationToken: string | undefined;
    do {
      const token = ContinuationToken;
      const page = await this.withRetry('ListObjectsV2', Prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        // Zero-byte `folder/` markers (as the S3 console creates) are not objects of the lake.
        if (!o.Key?.startsWith(this.prefix) || o.Key.endsWith('/')) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0), ...(o.ETag ? { etag: o.ETag } : {}) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(keys: readonly string[]): Promise<{ deleted: string[]; failed: DeleteFailure[] }> {
    const deleted: string[] = [];
    const failed: DeleteFailure[] = [];
    const byFullKey = new Map<string, string>();
    for (const key of keys) {
      try {
        byFullKey.set(this.fullKey(key), key);
      } catch (err) {
        failed.push({ key, code: 'InvalidKey', message: (err as Error).message });
      }
    }
    const fullKeys = [...byFullKey.keys()];
    for (let i = 0; i < fullKeys.length; i += DELETE_BATCH) {
      const batch = fullKeys.slice(i, i + DELETE_BATCH);
      const result = await this.deleteBatch(batch);
      for (const fullKey of batch) {
        const key = byFullKey.get(fullKey) ?? fullKey;
        const failure = result.get(fullKey);
        if (failure) failed.push({ key, ...failure });
        else deleted.push(key);
      }
    }
    return { deleted, failed };
  }

  /** Deletes up to 1000 full keys; returns the failures by full key. Never throws. */
  private async deleteBatch(batch: string[]): Promise<Map<string, Omit<DeleteFailure, 'key'>>> {
    const failures = new Map<string, Omit<DeleteFailure, 'key'>>();
    const target = batch.length === 1 ? batch[0]! : `${batch.length} keys from ${batch[0]}`;
    try {
      // Quiet: S3 reports only the keys it could not delete; absent keys count as deleted.
      const out = await this.withRetry('DeleteObjects', target, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      for (const e of out.Errors ?? []) {
        if (e.Key !== undefined) failures.set(e.Key, { code: e.Code ?? 'Unknown', message: e.Message ?? '' });
      }
    } catch (err) {
      const { name, message } = errorFacts(err instanceof S3OperationError ? err.cause : err);
      for (const key of batch) failures.set(key, { code: name, message });
    }
    return failures;
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  private async mapNotFound<T>(key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(this.location, key);
      throw err;
    }
  }

  /**
   * Runs one request, retrying transient failures with full-jitter exponential backoff. Any final
   * failure (non-transient, or out of attempts) becomes an S3OperationError naming what failed.
   */
  private withRetry<T>(operation: string, key: string, attempt: () => Promise<T>): Promise<T> {
    return withRetry(this.retry, attempt, {
      retryable: (err) => isTransient(err, S3_TRANSIENT_NAMES),
      giveUp: (err, attempts) => new S3OperationError(operation, `s3://${this.bucket}/${key}`, attempts, err),
    });
  }
}

/**
 * PutObject parameters for an Object Lock write: the mode and retain-until date, and the body's
 * SHA-256 (S3 refuses an Object Lock PUT without Content-MD5 or an x-amz-checksum-* header, and
 * with this one it also checks the bytes it stored are the bytes sent).
 */
function objectLockParams(body: Uint8Array | string, options?: PutOptions) {
  if (!options?.objectLock) return {};
  return {
    ObjectLockMode: options.objectLock.mode,
    ObjectLockRetainUntilDate: options.objectLock.retainUntil,
    ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
  };
}

async function bodyBytes(out: GetObjectCommandOutput): Promise<Uint8Array> {
  if (!out.Body) return new Uint8Array(0);
  return out.Body.transformToByteArray();
}

export interface S3LakeConfig {
  bucket: string;
  prefix: string;
  region?: string;
  multipartThresholdMiB: number;
}

/**
 * Builds the store for a `lake.s3` config section. The client makes one attempt per request:
 * retries are this adapter's job, and stacking the SDK's retries under ours would multiply them.
 */
export function s3StoreFromConfig(cfg: S3LakeConfig): S3ObjectStore {
  const client = new S3Client({ ...(cfg.region ? { region: cfg.region } : {}), maxAttempts: 1 });
  return new S3ObjectStore({
    client,
    bucket: cfg.bucket,
    prefix: cfg.prefix,
    multipartThresholdBytes: cfg.multipartThresholdMiB * MiB,
  });
}
