/**
 * Model ids as Claude Code reports them, reduced to the model version the price book names:
 *   us.anthropic.claude-opus-4-1-20250805-v1:0  -> bedrock, regional, claude-opus-4-1
 *   global.anthropic.claude-sonnet-4-5-20250929-v1:0 -> bedrock, global, claude-sonnet-4-5
 *   claude-opus-4-6[1m]                          -> anthropic, claude-opus-4-6, context tier [1m]
 * Bedrock ARNs, geographic/global inference-profile prefixes, the `anthropic.` prefix, `-v1:0`
 * suffixes, date stamps and context suffixes go; what is left must equal a book row's model
 * exactly (no family patterns), so Opus 4.1 is never priced as Opus 4.5.
 */

export type Provider = 'anthropic' | 'bedrock' | 'vertex';
/** Bedrock: `global.` profiles vs geographic (`us.`, `eu.`, ...) profiles and in-region ids; elsewhere `any`. */
export type Profile = 'global' | 'regional' | 'any';

export interface ModelRef {
  raw: string;
  /** The model version, e.g. `claude-opus-4-1`. */
  key: string;
  provider: Provider;
  profile: Profile;
  /** A context suffix such as `[1m]`, from the id or from the record's `context_tier` column. */
  contextTier: string | null;
}

const ARN = /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:[a-z-]+\/(.+)$/;
const GEO_PREFIX = /^(global|us|us-gov|eu|apac|jp|au|ca)\./;
const CONTEXT_SUFFIX = /\[([^\]]+)\]$/;

export function normalizeModelId(raw: string, contextTier: string | null = null): ModelRef {
  let s = raw.trim().toLowerCase();
  let tier = contextTier?.trim() || null;
  const arn = ARN.exec(s);
  if (arn) s = arn[1]!;
  const ctx = CONTEXT_SUFFIX.exec(s);
  if (ctx) {
    tier ??= `[${ctx[1]}]`;
    s = s.slice(0, ctx.index);
  }
  let provider: Provider = 'anthropic';
  let profile: Profile = 'any';
  const geo = GEO_PREFIX.exec(s);
  if (geo) {
    provider = 'bedrock';
    profile = geo[1] === 'global' ? 'global' : 'regional';
    s = s.slice(geo[0].length);
  }
  if (s.startsWith('anthropic.')) {
    provider = 'bedrock';
    if (profile === 'any') profile = 'regional'; // an in-region (on-demand) Bedrock id
    s = s.slice('anthropic.'.length);
  }
  s = s.replace(/-v\d+(:\d+)?$/, '');
  const vertex = /@\d{8}$/.exec(s);
  if (vertex) {
    provider = 'vertex';
    s = s.slice(0, vertex.index);
  }
  s = s.replace(/-\d{8}$/, '').replace(/-latest$/, '');
  // The API's `-0` aliases of the first Claude 4 models.
  s = s.replace(/^(claude-(?:opus|sonnet)-4)-0$/, '$1');
  return { raw, key: s, provider, profile, contextTier: tier };
}
