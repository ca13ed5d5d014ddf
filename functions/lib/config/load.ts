/** Finds, parses and validates the config file; turns zod issues into messages naming field and value. */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, type Config } from './schema';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const CONFIG_FILE_NAMES = ['cclake.config.yaml', 'cclake.config.yml', 'cclake.config.json'];

export interface LoadedConfig {
  config: Config;
  /** The file it came from; null for the embedded default. */
  source: string | null;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  const got = 'input' in issue ? `, got ${describe(issue.input)}` : '';
  return `${where}: ${issue.message}${got}`;
}

/** Validates an already-parsed object (from a file, or a test). */
export function parseConfig(data: unknown, source = 'config'): Config {
  const result = ConfigSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(`invalid ${source}:\n` + result.error.issues.map((i) => '  ' + formatIssue(i)).join('\n'));
  }
  return result.data;
}

export function readConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const config = parseConfig(data, `config file ${file}`);
  // A relative local lake path is relative to the config file, not to wherever the command runs.
  if ('local' in config.lake && !path.isAbsolute(config.lake.local.path)) {
    config.lake = { local: { path: path.resolve(path.dirname(file), config.lake.local.path) } };
  }
  return config;
}

/**
 * `--config FILE` wins; else `cclake.config.*` in `cwd`; else the embedded default.
 * `--lake DIR` then overrides the lake location with a local folder.
 */
export function loadConfig(options: { configFile?: string; lake?: string; cwd?: string } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  let source: string | null = null;
  let config: Config;
  if (options.configFile) {
    source = path.resolve(cwd, options.configFile);
    config = readConfigFile(source);
  } else {
    const found = CONFIG_FILE_NAMES.map((n) => path.join(cwd, n)).find((p) => existsSync(p));
    if (found) {
      source = found;
      config = readConfigFile(found);
    } else {
      config = parseConfig({}, 'embedded default config');
      config.lake = { local: { path: path.resolve(cwd, 'lake') } };
    }
  }
  if (options.lake) config.lake = { local: { path: path.resolve(cwd, options.lake) } };
  return { config, source };
}
