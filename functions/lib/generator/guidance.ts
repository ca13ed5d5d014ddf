/**
 * The simulated activity as the AWS guidance's pipeline would have delivered it (`generate --profile
 * bedrock-guidance`): only the `claude_code.token.usage` datapoints survive (its Lambda keeps nothing
 * else), each as one `metrics` row written the way that Lambda writes it: `timestamp` epoch ms,
 * `token_usage` a delta (the collector's awsemf exporter turns a cumulative series into increments;
 * here the first point of a series counts in full, so the totals are the activity's own and can be
 * compared with a cclake-profile lake of the same seed), and '' for every absent property.
 */
import type { BedrockGuidanceRow } from '../../../schemas/bedrock-guidance';
import type { RawRecord } from '../../../schemas/raw-record';

/** The instrumentation scope Claude Code's metrics carry (EMF property `OTelLib`). */
export const GENERATED_OTEL_LIB = 'com.anthropic.claude_code';

/**
 * The token datapoints among one developer-day's records, in that order, as guidance rows, with the
 * index of the record each came from (so the caller can keep its delivery delay).
 */
export function guidanceRows(rows: readonly RawRecord[]): { row: BedrockGuidanceRow; from: number }[] {
  const out: { row: BedrockGuidanceRow; from: number }[] = [];
  /** Last cumulative value per series (session, model, type, series start). */
  const last = new Map<string, number>();
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.event_time! - rows[b]!.event_time! || a - b);
  for (const i of order) {
    const r = rows[i]!;
    if (r.signal !== 'metric' || r.name !== 'claude_code.token.usage' || r.value === null) continue;
    let value = r.value;
    if (r.temporality === 'cumulative') {
      const key = `${r.session_id}|${r.model}|${r.metric_type}|${r.start_time}`;
      value = r.value - (last.get(key) ?? 0);
      last.set(key, r.value);
    }
    out.push({
      from: i,
      row: {
        timestamp: r.event_time!,
        user_id: r.user_id ?? '',
        session_id: r.session_id ?? '',
        model: r.model ?? '',
        type: r.metric_type ?? '',
        token_usage: value,
        terminal_type: r.terminal_type ?? '',
        organization_id: r.organization_id ?? '',
        otel_lib: GENERATED_OTEL_LIB,
        user_email: r.user_email ?? '',
        user_account_uuid: r.user_account_uuid ?? '',
      },
    });
  }
  return out;
}
