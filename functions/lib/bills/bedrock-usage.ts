/**
 * What a Bedrock bill line charges, read from its usage type (and product name): the Claude model
 * version and the token type. AWS spells them in CUR 2.0 and the FOCUS export's `x_UsageType` as
 *   USE1-Claude4.6Sonnet-input-tokens, USE1-Claude4.6Sonnet-output-tokens,
 *   USE1-Claude4.6Sonnet-cache-read-input-token-count, USE1-Claude4.6Sonnet-cache-write-input-token-count
 * (a region code, the model as `Claude<version><family>`, the token type; cross-region and service
 * tier variants add words after it, bedrock-mantle spells `-mantle-input-tokens-…`), and on the
 * older AWS Marketplace lines as `USE1-MP:USE1_InputTokenCount-Units` with the model in the product
 * name (`Claude 3.5 Sonnet (Amazon Bedrock Edition)`). The model becomes the id the price book
 * names (claude-sonnet-4-6, claude-3-5-haiku) through the one normalisation (prices/model-id.ts); a
 * line whose model cannot be read keeps model null and the import reports its usage type.
 */
import { normalizeModelId } from '../prices/model-id';
import type { BillTokenType } from './line';

/** Token type from a usage type; null when it names none (a fee, a tax, an unknown spelling). */
export function bedrockTokenType(usageType: string | null): BillTokenType | null {
  if (!usageType) return null;
  const u = usageType.toLowerCase().replace(/_/g, '-');
  if (/cache-?read-?input-?token/.test(u)) return 'cache_read';
  if (/cache-?write-?input-?token/.test(u)) return 'cache_creation';
  if (/(^|[-:])input-?token/.test(u)) return 'input';
  if (/(^|[-:])output-?token/.test(u)) return 'output';
  return null;
}

const FAMILY_FIRST = /claude[\s_-]*(opus|sonnet|haiku)[\s_-]*(\d+(?:[.-]\d+)?)(?![\d])/i;
const VERSION_FIRST = /claude[\s_-]*(\d+(?:[.-]\d+)?)[\s_-]*(opus|sonnet|haiku)/i;

/**
 * The model version a usage type or product name names (`Claude4.1Opus`, `Claude Sonnet 4.5`,
 * `Claude 3.5 Haiku`), as the price book names it; null when there is none.
 */
export function bedrockModel(text: string | null): string | null {
  if (!text) return null;
  const m = VERSION_FIRST.exec(text);
  const f = m ? null : FAMILY_FIRST.exec(text);
  if (!m && !f) return null;
  const family = (m ? m[2]! : f![1]!).toLowerCase();
  const version = (m ? m[1]! : f![2]!).replace(/[.-]/g, '-');
  const major = Number(version.split('-')[0]);
  // Claude 4 and later name the family first (claude-opus-4-1); Claude 3.x the version first (claude-3-5-haiku).
  const id = major >= 4 ? `claude-${family}-${version}` : `claude-${version}-${family}`;
  return normalizeModelId(`anthropic.${id}`).key;
}
