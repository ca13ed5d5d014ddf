/**
 * Input profile `bedrock-guidance`: the Glue table `metrics` written by the AWS sample "Guidance for
 * Claude Code with Amazon Bedrock" under `data/year=/month=/day=/hour=/` (CONTRACTS section 1).
 * cclake reads it as raw input and maps each row onto the raw record.
 */
import type { RowOf, TableDef } from './columns';

export const BEDROCK_GUIDANCE_METRICS = {
  name: 'metrics',
  doc: 'AWS guidance sample: one row per EMF metric datapoint',
  columns: [
    { name: 'timestamp', type: 'int64', doc: 'Epoch milliseconds' },
    { name: 'user_id', type: 'string', doc: 'user.id' },
    { name: 'session_id', type: 'string', doc: 'session.id' },
    { name: 'model', type: 'string', doc: 'Model id' },
    { name: 'type', type: 'string', doc: 'Metric type attribute' },
    { name: 'token_usage', type: 'double', doc: 'claude_code.token.usage value' },
    { name: 'terminal_type', type: 'string', doc: 'terminal.type' },
    { name: 'organization_id', type: 'string', doc: 'organization.id' },
    { name: 'otel_lib', type: 'string', doc: 'Instrumentation library' },
    { name: 'user_email', type: 'string', doc: 'user.email' },
    { name: 'user_account_uuid', type: 'string', doc: 'user.account_uuid' },
  ],
} as const satisfies TableDef;

export type BedrockGuidanceRow = RowOf<typeof BEDROCK_GUIDANCE_METRICS>;
