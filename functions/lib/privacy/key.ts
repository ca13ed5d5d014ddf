/**
 * Privacy mode's HMAC key (config `privacy.key`), read once per process (a Lambda's cold start):
 * from an environment variable or a file locally, from SSM Parameter Store (SecureString, with
 * decryption) or Secrets Manager on AWS. Secrets Manager is read through Parameter Store's
 * `/aws/reference/secretsmanager/<secret>` reference, so one client (and one model-checked request
 * shape) serves both. The key never leaves the process: it is not logged and not written to the lake.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema';
import { Pseudonymiser } from './pseudonym';

export type KeySource = NonNullable<Config['privacy']['key']>;

export class PrivacyKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivacyKeyError';
  }
}

/** What reads an SSM parameter (the SDK's SSMClient.send in production). */
export type SsmSend = (command: unknown) => Promise<{ Parameter?: { Value?: string } }>;

/** The SSM parameter name a key source reads (Secrets Manager through its Parameter Store reference). */
export function ssmParameterName(source: KeySource): string {
  if (source.source === 'ssm') return source.name;
  if (source.source === 'secretsmanager') return `/aws/reference/secretsmanager/${source.name}`;
  throw new RangeError(`${source.source} is not an AWS key source`);
}

const where = (s: KeySource) => (s.source === 'env' ? `environment variable ${s.name}` : `${s.source} ${s.name}`);

function checked(value: string | undefined, source: KeySource): Uint8Array {
  const key = (value ?? '').trim();
  if (!key) throw new PrivacyKeyError(`privacy key: ${where(source)} is empty or not set`);
  if (Buffer.byteLength(key) < 16) throw new PrivacyKeyError(`privacy key: ${where(source)} holds ${Buffer.byteLength(key)} bytes, at least 16 are needed`);
  return Buffer.from(key, 'utf8');
}

/** Reads the key from its source; `send` is the SSM client's (created here when not given). */
export async function readPrivacyKey(source: KeySource, send?: SsmSend, region?: string): Promise<Uint8Array> {
  switch (source.source) {
    case 'env':
      return checked(process.env[source.name], source);
    case 'file': {
      let text: string;
      try {
        text = readFileSync(source.name, 'utf8');
      } catch (err) {
        throw new PrivacyKeyError(`privacy key: cannot read file ${source.name}: ${(err as Error).message}`);
      }
      return checked(text, source);
    }
    default: {
      const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
      const sender = send ?? ((c: unknown) => new SSMClient(region ? { region } : {}).send(c as InstanceType<typeof GetParameterCommand>));
      let out: { Parameter?: { Value?: string } };
      try {
        out = await sender(new GetParameterCommand({ Name: ssmParameterName(source), WithDecryption: true }));
      } catch (err) {
        throw new PrivacyKeyError(`privacy key: cannot read ${where(source)}: ${(err as Error).name}: ${(err as Error).message}`);
      }
      return checked(out.Parameter?.Value, source);
    }
  }
}

let cached: { source: string; pseudonymiser: Promise<Pseudonymiser> } | null = null;

/**
 * The pseudonymiser of privacy mode (null in named mode). A key in Parameter Store or Secrets
 * Manager is read once per process and source (a Lambda's cold start, not every run); an
 * environment variable or a file is read each time (cheap, and a rotated file is seen at once).
 */
export function pseudonymiserFor(config: Config, send?: SsmSend): Promise<Pseudonymiser> | null {
  if (config.privacy.mode !== 'pseudonymous') return null;
  const source = config.privacy.key;
  if (!source) throw new PrivacyKeyError('privacy mode pseudonymous needs privacy.key');
  const read = () => readPrivacyKey(source, send, config.aws.region).then((k) => new Pseudonymiser(k));
  if (source.source === 'env' || source.source === 'file' || send) return read();
  const id = JSON.stringify(source);
  if (!cached || cached.source !== id) {
    const pseudonymiser = read();
    // A failed read is not kept: the next invocation tries again.
    pseudonymiser.catch(() => {
      if (cached?.pseudonymiser === pseudonymiser) cached = null;
    });
    cached = { source: id, pseudonymiser };
  }
  return cached.pseudonymiser;
}
