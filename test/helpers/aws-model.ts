/**
 * Every AWS request a test sends is checked against the vendored service models, so a request AWS
 * would reject fails the test that sent it instead of passing a permissive mock.
 *
 * - `modelCheckedMock(ClientClassOrInstance)` replaces `mockClient` from aws-sdk-client-mock: each
 *   command the mocked client receives is validated first; a violation rejects the send with an
 *   AwsModelViolationError (as AWS rejects it with a ValidationException), also after `reset()`.
 * - `installRealClientValidation()` (done for every test file by aws-model-setup.ts) validates the
 *   commands real SDK clients send, e.g. to s3rver, before they leave the process.
 * - Every violation is also recorded, and aws-model-setup.ts fails the test after it ends if any
 *   was, so an adapter that swallows the error still cannot hide it.
 */
import { createRequire } from 'node:module';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type { Client, MetadataBearer } from '@smithy/types';
import { CLIENT_MODELS, loadServiceModel, serviceOfClient } from './aws-model-loader';
import type { ModelSession } from './aws-model-rules';
import { formatViolations, newModelSession, validateInput, type ValidateOptions, type Violation } from './aws-model-validate';

export { validateInput, formatViolations, newModelSession, serviceLabel, type Violation, type ValidateOptions } from './aws-model-validate';
export { loadServiceModel, serviceOfClient } from './aws-model-loader';

export class AwsModelViolationError extends Error {
  // The name AWS gives its own rejection of a malformed request.
  override readonly name = 'ValidationException';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
  constructor(
    readonly service: string,
    readonly operation: string,
    readonly violations: Violation[],
  ) {
    super(`request violates the AWS service model:\n${formatViolations(service, operation, violations)}`);
  }
}

export interface ModelCheckOptions {
  /** Deprecated members (`Shape.Member`) or operations the test knowingly lets the adapter send. */
  allowDeprecated?: readonly string[];
}

/**
 * The QuickSight dataset members of the legacy data preparation experience, deprecated since
 * 2025-10-23 ("Only used in the legacy data preparation experience") in favour of
 * DataPrepConfiguration/SemanticModelConfiguration. The publisher still builds its datasets with them.
 */
export const QUICKSIGHT_LEGACY_DATA_PREP: readonly string[] = [
  'CreateDataSetRequest.LogicalTableMap',
  'CreateDataSetRequest.RowLevelPermissionDataSet',
  'UpdateDataSetRequest.LogicalTableMap',
  'UpdateDataSetRequest.RowLevelPermissionDataSet',
];

let session: ModelSession = newModelSession();
const recorded: string[] = [];

/** Starts a new session (what earlier requests created) and returns the violations recorded since the last call. */
export function takeRecordedViolations(): string[] {
  session = newModelSession();
  return recorded.splice(0);
}

/** The violations of an SDK command sent through a client of class `clientName` (e.g. `S3Client`). */
export function commandViolations(
  clientName: string,
  command: unknown,
  options: ModelCheckOptions = {},
): { service: string; operation: string; violations: Violation[] } {
  const service = serviceOfClient(clientName);
  const ctor = (command as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
  if (!ctor.endsWith('Command')) throw new Error(`${clientName}.send was given ${ctor || typeof command}, not an SDK command`);
  const operation = ctor.slice(0, -'Command'.length);
  const input = (command as { input?: unknown }).input;
  const validateOptions: ValidateOptions = { session, ...(options.allowDeprecated ? { allowDeprecated: options.allowDeprecated } : {}) };
  let violations = validateInput(service, operation, input, validateOptions);
  if (service === 's3' && sentByLibStorage()) {
    // lib-storage's Upload spreads its PutObject-style params into CreateMultipartUpload, UploadPart and
    // CompleteMultipartUpload; the SDK serializes only each operation's own members, so those extra
    // PutObject members are dropped, not sent.
    const putObject = loadServiceModel('s3').shapes.PutObjectRequest!.members!;
    violations = violations.filter((v) => !(v.kind === 'unknown' && v.path in putObject));
  }
  return { service, operation, violations };
}

function sentByLibStorage(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  try {
    return /[\\/]@aws-sdk[\\/]lib-storage[\\/]/.test(new Error().stack ?? '');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The error to reject a command with, or null when the model accepts it; violations are recorded. */
function check(clientName: string, command: unknown, options: ModelCheckOptions): AwsModelViolationError | null {
  const { service, operation, violations } = commandViolations(clientName, command, options);
  if (violations.length === 0) return null;
  recorded.push(formatViolations(service, operation, violations));
  return new AwsModelViolationError(service, operation, violations);
}

type ClassOrInstance<T> = T | { prototype: T };

/**
 * `mockClient` with every received command validated against the service model first. Use it for
 * every mocked AWS client in tests (test/aws-model.test.ts fails on a direct `mockClient`).
 */
export function modelCheckedMock<TInput extends object, TOutput extends MetadataBearer, TConfiguration>(
  client: ClassOrInstance<Client<TInput, TOutput, TConfiguration>>,
  options: ModelCheckOptions = {},
): AwsStub<TInput, TOutput, TConfiguration> {
  const clientName = typeof client === 'function' ? (client as { name: string }).name : (client as object).constructor.name;
  serviceOfClient(clientName); // fail now, not at the first send, for a client with no vendored model
  const mock = mockClient(client);
  // sinon's stub calls its own `invoke` for every call, after `on(...)` fakes are set up too.
  const hook = () => {
    const stub = mock.send as unknown as { invoke: (func: unknown, thisValue: unknown, args: unknown[]) => unknown };
    const invoke = stub.invoke;
    stub.invoke = function (this: unknown, func, thisValue, args) {
      const rejected = check(clientName, args[0], options);
      if (rejected) return Promise.reject(rejected);
      return invoke.call(this, func, thisValue, args);
    };
  };
  hook();
  const reset = mock.reset.bind(mock);
  mock.reset = () => {
    reset(); // replaces the stub with a new one
    hook();
    return mock;
  };
  return mock;
}

const REAL_SEND_PATCHED = Symbol.for('cclake.awsModelValidation');

/**
 * Validates the commands of every real (not mocked) SDK v3 client before it signs and sends them,
 * by wrapping `send` of the Smithy base class all AWS clients extend. Idempotent.
 */
export function installRealClientValidation(): void {
  const requireFromSdk = createRequire(createRequire(import.meta.url).resolve('@aws-sdk/client-s3'));
  const base = (requireFromSdk('@smithy/core/client') as { Client: { prototype: Record<string | symbol, unknown> } }).Client.prototype;
  if (base[REAL_SEND_PATCHED]) return;
  const send = base.send as (this: object, command: unknown, ...rest: unknown[]) => unknown;
  base.send = function (this: object, command: unknown, ...rest: unknown[]) {
    const clientName = this.constructor.name;
    // Clients with no vendored model (STS and SSO, used by credential providers) pass unchecked.
    const rejected = CLIENT_MODELS[clientName] ? check(clientName, command, {}) : null;
    if (rejected) {
      const cb = rest.find((x): x is (err: unknown) => void => typeof x === 'function');
      if (cb) return void cb(rejected);
      return Promise.reject(rejected);
    }
    return send.call(this, command, ...rest);
  };
  base[REAL_SEND_PATCHED] = true;
}
