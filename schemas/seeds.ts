/**
 * Seed tables: small reference tables the rollup stage writes from the configuration and the org
 * directory CSV, so the SQL joins them on Athena and DuckDB alike (no SQL is ever built by pasting
 * config values into it). Each is rewritten only when its content changes.
 */
import type { TableDef } from './columns';
import { ORG_DIRECTORY } from './org-directory';

/**
 * The prices of the model ids seen in the lake, effective-dated, USD per million tokens: the list-price
 * book (schemas/price-book.ts) with the configured negotiated rates, resolved per id (one row per id
 * and stretch of days with one price, the pattern being the id itself), both context tiers in the row.
 */
export const PRICES = {
  name: 'prices',
  doc: 'Model prices per model id seen, effective-dated, USD per million tokens',
  columns: [
    {
      name: 'version',
      type: 'string',
      nullable: false,
      doc: 'The book version (list-<as of>), with the discount applied, or config prices.version for an override row',
    },
    {
      name: 'model_pattern',
      type: 'string',
      nullable: false,
      doc: 'The rule that priced the id: the configured glob, or the book model version (and Bedrock profile)',
    },
    { name: 'model_like', type: 'string', nullable: false, doc: 'The model id as a LIKE pattern matching it exactly (escape character \\)' },
    { name: 'valid_from', type: 'date', nullable: false, doc: 'First day the price applies (inclusive)' },
    { name: 'valid_to', type: 'date', doc: 'First day it no longer applies (exclusive); null = open' },
    { name: 'input', type: 'double', nullable: false, doc: 'Input tokens' },
    { name: 'output', type: 'double', nullable: false, doc: 'Output tokens' },
    { name: 'cache_read', type: 'double', nullable: false, doc: 'Cache read tokens' },
    { name: 'cache_creation', type: 'double', nullable: false, doc: 'Cache creation tokens' },
    { name: 'source', type: 'string', doc: 'The rule that priced the id and where its price comes from (both tiers where they differ)' },
    {
      name: 'long_above_tokens',
      type: 'int64',
      doc: 'A request whose input + cache read + cache creation tokens exceed this pays the long_ prices (LONG_CONTEXT_THRESHOLD_TOKENS); null: the id has no long-context price',
    },
    { name: 'long_input', type: 'double', nullable: false, doc: 'Input tokens of a long-context request (= input where there is no long price)' },
    { name: 'long_output', type: 'double', nullable: false, doc: 'Output tokens of a long-context request' },
    { name: 'long_cache_read', type: 'double', nullable: false, doc: 'Cache read tokens of a long-context request' },
    { name: 'long_cache_creation', type: 'double', nullable: false, doc: 'Cache creation tokens of a long-context request' },
  ],
} as const satisfies TableDef;

/** The configured ROI assumptions (config `roi`): one row, the version every ROI row names. */
export const ROI_ASSUMPTIONS = {
  name: 'roi_assumptions',
  doc: 'Configured ROI assumptions: hours saved per unit of work and the loaded hourly rate',
  columns: [
    { name: 'version', type: 'string', nullable: false, doc: 'Assumptions version (config roi.version)' },
    { name: 'loaded_hourly_rate_usd', type: 'double', nullable: false, doc: 'Value of one hour saved' },
    { name: 'hours_per_accepted_edit', type: 'double', nullable: false, doc: 'Hours saved per accepted edit' },
    { name: 'hours_per_commit', type: 'double', nullable: false, doc: 'Hours saved per commit' },
    { name: 'hours_per_pull_request', type: 'double', nullable: false, doc: 'Hours saved per pull request' },
    { name: 'hours_per_line_added', type: 'double', nullable: false, doc: 'Hours saved per line added' },
    { name: 'hours_per_active_hour', type: 'double', nullable: false, doc: 'Hours saved per active hour' },
  ],
} as const satisfies TableDef;

/** The configured compliance policy (config `compliance`): one row per allowed value. */
export const COMPLIANCE_POLICY = {
  name: 'compliance_policy',
  doc: 'Configured compliance policy: approved models, residency prefixes, regions, MCP allowlist, thresholds',
  columns: [
    { name: 'policy', type: 'string', nullable: false, doc: 'approved_model | residency_prefix | region | mcp_server | attribution_threshold' },
    { name: 'value', type: 'string', nullable: false, doc: 'The allowed value (a glob for approved_model)' },
    { name: 'value_like', type: 'string', doc: 'For globs: the value as a LIKE pattern (escape character \\)' },
    { name: 'number', type: 'double', doc: 'For thresholds: the number' },
  ],
} as const satisfies TableDef;

/** The configured monthly budgets (config `budgets`): one row per team or cost center with a budget. */
export const BUDGETS = {
  name: 'budgets',
  doc: 'Configured monthly budgets per team and cost center, USD of the cost as billed',
  columns: [
    { name: 'entity_type', type: 'string', nullable: false, doc: 'team | cost_center' },
    { name: 'entity', type: 'string', nullable: false, doc: 'The team or cost center, as user_daily names it' },
    { name: 'monthly_usd', type: 'double', nullable: false, doc: 'The budget of every calendar month (reporting time zone)' },
  ],
} as const satisfies TableDef;

/** The configured minimum group size (config `privacy.minGroupSize`): one row, read by the leadership views. */
export const MIN_GROUP_SIZE = {
  name: 'min_group_size',
  doc: "Configured minimum group size k: leadership views merge groups of fewer than k people into 'other teams'",
  columns: [{ name: 'k', type: 'int64', nullable: false, doc: 'Minimum people behind a team row of a leadership view (1: no merging)' }],
} as const satisfies TableDef;

export const SEED_TABLES = [ORG_DIRECTORY, PRICES, ROI_ASSUMPTIONS, COMPLIANCE_POLICY, BUDGETS, MIN_GROUP_SIZE] as const;
