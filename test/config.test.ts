/**
 * functions/lib/config/load.ts: where the config comes from (embedded default, a file found by name,
 * --config, --lake), and what a user sees when it is wrong (the field path and the bad value).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ConfigError, loadConfig, parseConfig, readConfigFile } from '../functions/lib/config/load';
import { ConfigSchema } from '../functions/lib/config/schema';

const EXAMPLE = fileURLToPath(new URL('../fixtures/config/cclake.config.example.yaml', import.meta.url));

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cclake-config-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** The ConfigError message thrown by `fn` (fails the test when nothing, or something else, is thrown). */
function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('where the config comes from', () => {
  it('no file: the embedded local default (lake ./lake under cwd, duckdb, html, raw/, cclake, UTC)', () => {
    const cwd = tempDir();
    const { config, source } = loadConfig({ cwd });
    expect(source).toBeNull();
    expect(config.lake).toEqual({ local: { path: path.join(cwd, 'lake') } });
    expect(config.engine).toBe('duckdb');
    expect(config.publisher).toBe('html');
    expect(config.raw).toEqual({ prefix: 'raw/', errorPrefix: 'raw-errors/', profile: 'cclake', streamName: 'cclake-telemetry' });
    expect(config.reporting.timeZone).toBe('UTC');
    expect(config.ingest.keepContentAttributes).toBe(false);
    expect(config.orgDirectory.key).toBe('reference/org-directory.csv');
    expect(config.prices).toEqual({ book: 'default', version: 'negotiated', rows: [], discounts: [], driftThreshold: 0.05 });
    expect(config.compliance.attributionThreshold).toBe(0.95);
    expect(config.privacy.minGroupSize).toBe(5);
  });

  it('a cclake.config.yaml in cwd is found by name', () => {
    const cwd = tempDir();
    const file = write(cwd, 'cclake.config.yaml', 'reporting:\n  timeZone: Europe/Berlin\nraw:\n  prefix: telemetry/raw/\n');
    const { config, source } = loadConfig({ cwd });
    expect(source).toBe(file);
    expect(config.reporting.timeZone).toBe('Europe/Berlin');
    expect(config.raw.prefix).toBe('telemetry/raw/');
    expect(config.raw.profile).toBe('cclake'); // untouched sections keep their defaults
    expect(config.lake).toEqual({ local: { path: path.join(cwd, 'lake') } });
  });

  it('a cclake.config.json in cwd is found by name', () => {
    const cwd = tempDir();
    const file = write(cwd, 'cclake.config.json', JSON.stringify({ raw: { profile: 'bedrock-guidance', prefix: 'data/' }, engine: 'duckdb' }));
    const { config, source } = loadConfig({ cwd });
    expect(source).toBe(file);
    expect(config.raw.profile).toBe('bedrock-guidance');
    expect(config.raw.prefix).toBe('data/');
  });

  it('--config FILE wins over a cclake.config.* in cwd (and a relative path is relative to cwd)', () => {
    const cwd = tempDir();
    write(cwd, 'cclake.config.yaml', 'reporting:\n  timeZone: Europe/Berlin\n');
    const other = write(cwd, 'conf/team.yaml', 'reporting:\n  timeZone: Asia/Tokyo\n');
    const { config, source } = loadConfig({ cwd, configFile: 'conf/team.yaml' });
    expect(source).toBe(other);
    expect(config.reporting.timeZone).toBe('Asia/Tokyo');
  });

  it('--lake overrides the configured lake, even an S3 one, and resolves against cwd', () => {
    const cwd = tempDir();
    write(cwd, 'cclake.config.yaml', 'lake:\n  s3:\n    bucket: acme-telemetry\nreporting:\n  timeZone: Asia/Tokyo\n');
    expect(loadConfig({ cwd }).config.lake).toMatchObject({ s3: { bucket: 'acme-telemetry', prefix: '' } });
    const { config } = loadConfig({ cwd, lake: 'elsewhere/lake' });
    expect(config.lake).toEqual({ local: { path: path.join(cwd, 'elsewhere', 'lake') } });
    expect(config.reporting.timeZone).toBe('Asia/Tokyo'); // the rest of the file still applies
    const abs = path.join(tempDir(), 'abs-lake');
    expect(loadConfig({ cwd, lake: abs }).config.lake).toEqual({ local: { path: abs } });
  });

  it("a relative local lake path resolves against the config file's folder, not cwd", () => {
    const cwd = tempDir();
    const confDir = path.join(cwd, 'deploy', 'conf');
    write(confDir, 'lake.yaml', 'lake:\n  local:\n    path: ../data/lake\n');
    const { config } = loadConfig({ cwd, configFile: 'deploy/conf/lake.yaml' });
    expect(config.lake).toEqual({ local: { path: path.join(cwd, 'deploy', 'data', 'lake') } });
    // an absolute one is left alone
    const abs = path.join(cwd, 'abs');
    write(confDir, 'abs.json', JSON.stringify({ lake: { local: { path: abs } } }));
    expect(readConfigFile(path.join(confDir, 'abs.json')).lake).toEqual({ local: { path: abs } });
  });

  it('an empty file is the default, with the lake beside the file', () => {
    const cwd = tempDir();
    const confDir = path.join(cwd, 'conf');
    write(confDir, 'empty.yaml', '# nothing configured yet\n');
    const { config, source } = loadConfig({ cwd, configFile: 'conf/empty.yaml' });
    expect(source).toBe(path.join(confDir, 'empty.yaml'));
    expect(config.lake).toEqual({ local: { path: path.join(confDir, 'lake') } });
    expect(config.engine).toBe('duckdb');
  });
});

describe('errors name the field path and the bad value', () => {
  const cases: { name: string; yaml: string; field: string; value: string }[] = [
    { name: 'unknown time zone', yaml: 'reporting:\n  timeZone: Mars/Olympus\n', field: 'reporting.timeZone', value: '"Mars/Olympus"' },
    { name: 'bad S3 bucket name', yaml: 'lake:\n  s3:\n    bucket: Bad_Bucket\n', field: 'lake.s3.bucket', value: '"Bad_Bucket"' },
    { name: 'threshold above 1', yaml: 'compliance:\n  attributionThreshold: 1.5\n', field: 'compliance.attributionThreshold', value: '1.5' },
    { name: 'unknown raw profile', yaml: 'raw:\n  profile: splunk\n', field: 'raw.profile', value: '"splunk"' },
    {
      name: 'negative price',
      yaml: 'prices:\n  version: v1\n  rows:\n    - {model: "*sonnet*", validFrom: 2026-01-01, input: 3, output: -15, cacheRead: 0.3, cacheCreation: 3.75}\n',
      field: 'prices.rows.0.output',
      value: '-15',
    },
    { name: 'bad raw prefix', yaml: 'raw:\n  prefix: raw\n', field: 'raw.prefix', value: '"raw"' },
    { name: 'wrong engine', yaml: 'engine: spark\n', field: 'engine', value: '"spark"' },
    {
      name: 'impossible price date',
      yaml: 'prices:\n  version: v1\n  rows:\n    - {model: "*sonnet*", validFrom: 2026-02-30, input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75}\n',
      field: 'prices.rows.0.validFrom',
      value: '"2026-02-30"',
    },
    {
      name: 'price row ending before it starts',
      yaml: 'prices:\n  version: v1\n  rows:\n    - {model: "*sonnet*", validFrom: 2026-03-01, validTo: 2026-01-01, input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75}\n',
      field: 'prices.rows.0.validTo',
      value: '"2026-01-01"',
    },
    { name: 'non-integer retention', yaml: 'retention:\n  rawDays: 7.5\n', field: 'retention.rawDays', value: '7.5' },
    { name: 'minimum group size below 1', yaml: 'privacy:\n  minGroupSize: 0\n', field: 'privacy.minGroupSize', value: '0' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.field} and ${c.value}`, () => {
      const cwd = tempDir();
      const file = write(cwd, 'cclake.config.yaml', c.yaml);
      const msg = configErrorOf(() => loadConfig({ cwd }));
      expect(msg).toContain(file);
      const line = msg.split('\n').find((l) => l.trim().startsWith(`${c.field}:`));
      expect(line, msg).toBeDefined();
      expect(line).toContain(c.value);
    });
  }

  it('an unknown top-level key (lakes) is named, not ignored', () => {
    const cwd = tempDir();
    write(cwd, 'cclake.config.yaml', 'lakes:\n  local:\n    path: ./x\n');
    const msg = configErrorOf(() => loadConfig({ cwd }));
    expect(msg).toMatch(/unknown field\(s\) "lakes"/);
  });

  it('an unknown nested key is named with its section', () => {
    const msg = configErrorOf(() => parseConfig({ reporting: { timezone: 'UTC' } }));
    expect(msg).toMatch(/reporting: unknown field\(s\) "timezone"/);
  });

  it('every problem is listed, one per line', () => {
    const msg = configErrorOf(() => parseConfig({ reporting: { timeZone: 'Mars/Olympus' }, compliance: { attributionThreshold: -1 }, engine: 'spark' }));
    const lines = msg.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(':')[0]).sort()).toEqual(['compliance.attributionThreshold', 'engine', 'reporting.timeZone']);
  });

  it('invalid YAML names the file', () => {
    const cwd = tempDir();
    const file = write(cwd, 'cclake.config.yaml', 'reporting:\n  timeZone: "UTC\n  engine: [duckdb\n');
    const msg = configErrorOf(() => loadConfig({ cwd }));
    expect(msg).toContain(file);
    expect(msg).toMatch(/not valid YAML/);
  });

  it('invalid JSON names the file', () => {
    const cwd = tempDir();
    const file = write(cwd, 'cclake.config.json', '{"engine": "duckdb",}');
    const msg = configErrorOf(() => loadConfig({ cwd }));
    expect(msg).toContain(file);
    expect(msg).toMatch(/not valid JSON/);
  });

  it('a YAML document that is not a mapping is rejected', () => {
    const cwd = tempDir();
    write(cwd, 'cclake.config.yaml', '- duckdb\n- html\n');
    const msg = configErrorOf(() => loadConfig({ cwd }));
    expect(msg).toMatch(/\(top level\)/);
  });

  it('a missing --config file is a ConfigError naming the path', () => {
    const cwd = tempDir();
    const msg = configErrorOf(() => loadConfig({ cwd, configFile: 'nope.yaml' }));
    expect(msg).toContain(path.join(cwd, 'nope.yaml'));
  });
});

/** Every field path the schema knows (a union counts as covered when one of its options is). */
type Walk = { paths: string[]; unions: { at: string; options: string[][] }[] };
function schemaPaths(schema: z.ZodType, at: string, out: Walk): void {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return schemaPaths(def.innerType as z.ZodType, at, out);
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) schemaPaths(v, at ? `${at}.${k}` : k, out);
      return;
    case 'array':
      return schemaPaths(def.element as z.ZodType, `${at}[]`, out);
    case 'union': {
      const options = (def.options as z.ZodType[]).map((o) => {
        const w: Walk = { paths: [], unions: [] };
        schemaPaths(o, at, w);
        return w.paths;
      });
      out.unions.push({ at, options });
      return;
    }
    default:
      out.paths.push(at);
  }
}

/** Every leaf path present in a parsed YAML value. */
function dataPaths(v: unknown, at: string, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const e of v) {
      if (e && typeof e === 'object') dataPaths(e, `${at}[]`, out);
      else out.add(`${at}[]`);
    }
    if (v.length === 0) out.add(`${at}[]`);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) dataPaths(x, at ? `${at}.${k}` : k, out);
  } else out.add(at);
}

describe('fixtures/config/cclake.config.example.yaml: the documented full example', () => {
  it('parses, and every value in it is taken as written', () => {
    const config = readConfigFile(EXAMPLE);
    expect(config.lake).toEqual({
      s3: {
        bucket: 'acme-claude-code-telemetry',
        prefix: 'cclake/',
        region: 'us-east-1',
        multipartThresholdMiB: 64,
        objectLock: { mode: 'COMPLIANCE', retentionDays: 2555 },
      },
    });
    expect(config.raw).toEqual({
      prefix: 'raw/',
      errorPrefix: 'raw-errors/',
      profile: 'cclake',
      streamName: 'cclake-telemetry',
      sources: [
        { profile: 'bedrock-guidance', prefix: 'data/', until: '2026-01-01' },
        { profile: 'cclake', prefix: 'raw/' },
      ],
    });
    // unquoted YAML dates stay YYYY-MM-DD strings
    expect(config.prices).toEqual({
      book: 'default',
      version: 'acme-2026',
      discounts: [{ provider: 'bedrock', model: 'claude-opus-4-*', validFrom: '2026-01-01', validTo: '2027-01-01', percent: 12 }],
      rows: [
        {
          model: '*claude-haiku-4-5*',
          validFrom: '2026-06-01',
          validTo: '2027-06-01',
          input: 0.9,
          output: 4.5,
          cacheRead: 0.09,
          cacheCreation: 1.125,
          long: { input: 1.8, output: 6.75, cacheRead: 0.18, cacheCreation: 2.25 },
        },
      ],
      driftThreshold: 0.05,
    });
    expect(config.roi).toEqual({
      version: 'v2',
      loadedHourlyRateUsd: 120,
      hoursSaved: { perAcceptedEdit: 0.05, perCommit: 0.25, perPullRequest: 1, perLineAdded: 0.002, perActiveHour: 0 },
    });
    expect(config.compliance.allowedResidencyPrefixes).toEqual(['us.', 'global.']);
    expect(config.compliance.mcpAllowlist).toEqual(['github', 'atlassian', 'context7']);
    expect(config.reporting.timeZone).toBe('America/New_York');
    expect(config.retention).toEqual({ rawDays: 90, curatedDays: 730, quarantineDays: 30, generationGraceMinutes: 60 });
    expect(config.privacy).toEqual({ mode: 'pseudonymous', minGroupSize: 5, key: { source: 'ssm', name: '/cclake/prod/privacy-key' } });
    expect(config.engine).toBe('athena');
    expect(config.publisher).toBe('quicksight');
    expect(config.aws.athena.outputLocation).toBe('s3://acme-athena-results/cclake/');
    expect(config.aws.quicksight.accountId).toBe('123456789012');
    expect(config.aws.quicksight.principals).toHaveLength(2);
  });

  it('shows every field of every section the schema has (so it stays complete documentation)', () => {
    const raw = parseYaml(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
    const walk: Walk = { paths: [], unions: [] };
    schemaPaths(ConfigSchema, '', walk);
    // the walk itself sees the schema (guards against a walker that silently finds nothing)
    expect(walk.paths).toEqual(
      expect.arrayContaining(['engine', 'prices.rows[].cacheCreation', 'aws.quicksight.principals[]', 'roi.hoursSaved.perActiveHour']),
    );
    expect(walk.unions.map((u) => u.at)).toEqual(['lake']);
    expect(walk.unions[0]!.options).toContainEqual(expect.arrayContaining(['lake.s3.objectLock.retentionDays']));
    const present = new Set<string>();
    dataPaths(raw, '', present);
    expect(walk.paths.filter((p) => !present.has(p))).toEqual([]);
    for (const u of walk.unions) {
      const covered = u.options.some((o) => o.every((p) => present.has(p)));
      expect(covered, `${u.at}: no option fully shown (options: ${JSON.stringify(u.options)})`).toBe(true);
    }
    // and nothing in the example that the schema does not know (strict objects would reject it anyway)
    const known = new Set([...walk.paths, ...walk.unions.flatMap((u) => u.options.flat())]);
    expect([...present].filter((p) => !known.has(p))).toEqual([]);
  });

  it('is found by name when copied into a working folder as cclake.config.yaml', () => {
    const cwd = tempDir();
    write(cwd, 'cclake.config.yaml', readFileSync(EXAMPLE, 'utf8'));
    const { config, source } = loadConfig({ cwd });
    expect(source).toBe(path.join(cwd, 'cclake.config.yaml'));
    expect(config.engine).toBe('athena');
    // --lake still turns it into a local run
    expect(loadConfig({ cwd, lake: 'l' }).config.lake).toEqual({ local: { path: path.join(cwd, 'l') } });
  });
});
