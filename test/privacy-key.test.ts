/**
 * Privacy mode's key (functions/lib/privacy/key.ts): read from an environment variable, a file, SSM
 * Parameter Store (SecureString, decrypted) or Secrets Manager (through Parameter Store's
 * /aws/reference/secretsmanager/ path), once per process for the AWS sources; every SSM request is
 * checked against the published SSM service model. And the config that selects it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../functions/lib/config/load';
import { PrivacyKeyError, pseudonymiserFor } from '../functions/lib/privacy/key';
import { Pseudonymiser, PSEUDONYM_PATTERN } from '../functions/lib/privacy/pseudonym';
import { modelCheckedMock } from './helpers/aws-model';

const ssm = modelCheckedMock(SSMClient);
const dir = mkdtempSync(path.join(tmpdir(), 'cclake-privacy-key-'));
const KEY = 'a privacy key of more than sixteen bytes';
const pseudonymous = (key: object) => parseConfig({ privacy: { mode: 'pseudonymous', key }, aws: { region: 'eu-central-1' } });

beforeEach(() => ssm.reset());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pseudonym', () => {
  it('is u_ and 32 hex of HMAC-SHA256(key, identity): stable under one key, different under another', () => {
    const a = new Pseudonymiser(Buffer.from(KEY));
    const p = a.of('dev@acme.example');
    expect(p).toMatch(PSEUDONYM_PATTERN);
    expect(a.of('dev@acme.example')).toBe(p);
    expect(a.of('other@acme.example')).not.toBe(p);
    expect(new Pseudonymiser(Buffer.from(`${KEY}!`)).of('dev@acme.example')).not.toBe(p);
    // HMAC-SHA256 cut to 128 bits: RFC 4231 test case 1 (key 20 bytes of 0x0b, data "Hi There").
    expect(new Pseudonymiser(Buffer.alloc(20, 0x0b)).of('Hi There')).toBe('u_b0344c61d8db38535ca8afceaf0bf12b');
  });

  it('refuses a key shorter than 16 bytes', () => {
    expect(() => new Pseudonymiser(Buffer.from('short'))).toThrow(/at least 16/);
  });
});

describe('config privacy', () => {
  it('defaults to named mode without a key', () => {
    expect(parseConfig({}).privacy).toEqual({ mode: 'named', minGroupSize: 5 });
  });

  it('pseudonymous mode without a key is refused, naming privacy.key', () => {
    expect(() => parseConfig({ privacy: { mode: 'pseudonymous' } })).toThrow(ConfigError);
    expect(() => parseConfig({ privacy: { mode: 'pseudonymous' } })).toThrow(/privacy\.key/);
  });

  it('an unknown key source is refused', () => {
    expect(() => parseConfig({ privacy: { mode: 'pseudonymous', key: { source: 'vault', name: 'x' } } })).toThrow(/privacy\.key/);
  });

  it('named mode has no pseudonymiser and reads no key', async () => {
    expect(pseudonymiserFor(parseConfig({}))).toBeNull();
    expect(ssm.calls()).toHaveLength(0);
  });
});

describe('key sources', () => {
  it('an environment variable; unset or too short, a clear error naming it', async () => {
    process.env.CCLAKE_KEY_T1 = KEY;
    const p = await pseudonymiserFor(pseudonymous({ source: 'env', name: 'CCLAKE_KEY_T1' }))!;
    expect(p.of('x')).toBe(new Pseudonymiser(Buffer.from(KEY)).of('x'));
    delete process.env.CCLAKE_KEY_T1;
    await expect(pseudonymiserFor(pseudonymous({ source: 'env', name: 'CCLAKE_KEY_T1' }))!).rejects.toThrow(
      /environment variable CCLAKE_KEY_T1 is empty or not set/,
    );
    process.env.CCLAKE_KEY_T1 = 'tiny';
    await expect(pseudonymiserFor(pseudonymous({ source: 'env', name: 'CCLAKE_KEY_T1' }))!).rejects.toThrow(/4 bytes, at least 16/);
    delete process.env.CCLAKE_KEY_T1;
  });

  it('a file (surrounding white space ignored); a missing file names its path', async () => {
    const file = path.join(dir, 'key');
    writeFileSync(file, `${KEY}\n`);
    const p = await pseudonymiserFor(pseudonymous({ source: 'file', name: file }))!;
    expect(p.of('x')).toBe(new Pseudonymiser(Buffer.from(KEY)).of('x'));
    await expect(pseudonymiserFor(pseudonymous({ source: 'file', name: path.join(dir, 'nope') }))!).rejects.toThrow(/cannot read file .*nope/);
  });

  it('SSM Parameter Store: GetParameter with decryption, once per process', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/cclake/ci/privacy-key', WithDecryption: true })
      .resolves({ Parameter: { Name: '/cclake/ci/privacy-key', Value: KEY } });
    const config = pseudonymous({ source: 'ssm', name: '/cclake/ci/privacy-key' });
    const p = await pseudonymiserFor(config)!;
    expect(p.of('x')).toBe(new Pseudonymiser(Buffer.from(KEY)).of('x'));
    await pseudonymiserFor(config)!;
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(ssm.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: '/cclake/ci/privacy-key', WithDecryption: true });
  });

  it('Secrets Manager, through /aws/reference/secretsmanager/', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/aws/reference/secretsmanager/cclake/ci/privacy-key', WithDecryption: true })
      .resolves({ Parameter: { Name: '/aws/reference/secretsmanager/cclake/ci/privacy-key', Value: KEY } });
    const p = await pseudonymiserFor(pseudonymous({ source: 'secretsmanager', name: 'cclake/ci/privacy-key' }))!;
    expect(p.of('x')).toBe(new Pseudonymiser(Buffer.from(KEY)).of('x'));
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('a missing parameter fails with its name, and is not remembered: the next invocation reads again', async () => {
    ssm.on(GetParameterCommand).rejectsOnce(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const config = pseudonymous({ source: 'ssm', name: '/cclake/ci/missing-key' });
    await expect(pseudonymiserFor(config)!).rejects.toThrow(PrivacyKeyError);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: KEY } });
    await expect(pseudonymiserFor(config)!).resolves.toBeInstanceOf(Pseudonymiser);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('an empty SecureString is refused', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '   ' } });
    await expect(pseudonymiserFor(pseudonymous({ source: 'ssm', name: '/cclake/ci/empty-key' }))!).rejects.toThrow(/ssm \/cclake\/ci\/empty-key is empty/);
  });
});
