/**
 * One explicit retry policy for AWS SDK v3 calls: exponential backoff with full jitter, retrying
 * throttling and transient failures only. Adapters build their clients with the SDK's own retries
 * off (maxAttempts 1), so the two never stack.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryOptions {
  /** Total attempts including the first; default 6. */
  maxAttempts?: number;
  /** Backoff cap for the first retry; doubles each attempt. Default 200 ms. */
  baseDelayMs?: number;
  /** Upper bound for any single backoff. Default 10 s. */
  maxDelayMs?: number;
  /** Injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
}

export type RetryPolicy = Required<RetryOptions>;

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxAttempts: Math.max(1, options.maxAttempts ?? 6),
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    sleep: options.sleep ?? ((ms) => delay(ms)),
  };
}

/** Full jitter: uniform in [0, min(max, base * 2^(attempt-1))). */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>): number {
  return Math.floor(Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

/** Throttling and timeout error names any AWS service (and the SDK itself) may answer with. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

export interface ErrorFacts {
  /** The service's error code (S3's `Code`, the exception name), or a bare Node error's code. */
  name: string;
  message: string;
  status: number | undefined;
  code: string | undefined;
}

export function errorFacts(err: unknown): ErrorFacts {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // Prefer S3's Code; a bare Node error (`Error` with code ECONNRESET) is better known by its code.
  const plainName = typeof e.name === 'string' ? e.name : 'Error';
  const name = typeof e.Code === 'string' ? e.Code : plainName === 'Error' && code ? code : plainName;
  return { name, message: typeof e.message === 'string' ? e.message : String(err), status: e.$metadata?.httpStatusCode, code };
}

/** Whether an error code names a throttling or transient failure: the generic ones plus a service's own. */
export function isTransientName(name: string, serviceNames: ReadonlySet<string> = new Set()): boolean {
  return TRANSIENT_NAMES.has(name) || serviceNames.has(name);
}

/** Whether an SDK v3 error (or a network error under it) is worth another attempt. */
export function isTransient(err: unknown, serviceNames?: ReadonlySet<string>): boolean {
  if ((err as { $retryable?: unknown } | null)?.$retryable) return true;
  const { name, status, code } = errorFacts(err);
  return isTransientName(name, serviceNames) || (status !== undefined && TRANSIENT_STATUS.has(status)) || (code !== undefined && NETWORK_CODES.has(code));
}

/** A request that failed for good: names the operation and its target, keeps the service's error code and status. */
export class ServiceOperationError extends Error {
  /** The service's error code (`AccessDenied`, `EntityNotFoundException`, ...) or the underlying error's name. */
  readonly code: string;
  readonly status: number | undefined;

  constructor(
    readonly operation: string,
    readonly target: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    const facts = errorFacts(cause);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(`${operation} ${target} failed${tries}: ${facts.name}: ${facts.message}`, { cause });
    this.name = 'ServiceOperationError';
    this.code = facts.name;
    this.status = facts.status;
  }
}

export interface RetryHooks<T> {
  /** Whether a thrown error is worth another attempt. */
  retryable: (err: unknown) => boolean;
  /** The error to throw once an attempt failed for good. */
  giveUp: (err: unknown, attempts: number) => Error;
  /**
   * Whether a result that came back asks for another attempt (a batch with entries throttled);
   * when attempts run out, that last result is returned as it is.
   */
  again?: (result: T) => boolean;
}

/** Runs `attempt` until it succeeds, backing off between attempts, within the policy's attempt budget. */
export async function withRetry<T>(policy: RetryPolicy, attempt: () => Promise<T>, hooks: RetryHooks<T>): Promise<T> {
  for (let n = 1; ; n++) {
    let result: T;
    try {
      result = await attempt();
    } catch (err) {
      if (n >= policy.maxAttempts || !hooks.retryable(err)) throw hooks.giveUp(err, n);
      await policy.sleep(backoffMs(n, policy));
      continue;
    }
    if (n >= policy.maxAttempts || !hooks.again?.(result)) return result;
    await policy.sleep(backoffMs(n, policy));
  }
}
