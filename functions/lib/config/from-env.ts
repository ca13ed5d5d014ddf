/**
 * Config for a deployed function: the whole config as JSON in `CCLAKE_CONFIG` (serverless.yml
 * fills it from the operator's config file), validated exactly as the CLI validates a file.
 */
import { ConfigError, parseConfig } from './load';
import type { Config } from './schema';

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = env.CCLAKE_CONFIG;
  if (!raw) throw new ConfigError('CCLAKE_CONFIG is not set: it must hold the cclake config as JSON');
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`CCLAKE_CONFIG is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(data, 'CCLAKE_CONFIG');
}
