/**
 * Imported bills (`cclake import bill`): the lines of the invoices that exist for Claude usage, as
 * their providers publish them, reduced to one normalised row per bill line. Sources: AWS Data Exports
 * (CUR 2.0 and the FOCUS 1.x export) rows for Amazon Bedrock, and the Anthropic Admin API cost report.
 * One table for every source, so the reconciliation view and the chargeback true-up read one thing.
 *
 * A bill document is identified by `bill_id` (provider, account and month); importing a file whose
 * content differs from the one already imported for the same bill makes a new `bill_revision`
 * (1, 2, …), never an in-place change: the chargeback of a closed month then issues a new revision.
 */
import type { TableDef } from './columns';

/** Lake key prefix of the bill lines: one partition per billing month (`dt` = its first day), replaced a generation at a time. */
export const BILL_LINES_PREFIX = 'bills/lines/';

export const BILL_LINES = {
  name: 'bill_lines',
  doc: 'Imported bill lines (CUR 2.0 / FOCUS Bedrock rows, Anthropic cost report), one row per line',
  columns: [
    { name: 'provider', type: 'string', nullable: false, doc: 'bedrock (AWS bill) | anthropic (Anthropic Admin API cost report)' },
    { name: 'account', type: 'string', nullable: false, doc: 'AWS usage account id, or the Anthropic organization (or workspace) id' },
    { name: 'month', type: 'string', nullable: false, doc: "Billing period, 'YYYY-MM' (UTC)" },
    { name: 'usage_date', type: 'date', doc: 'Day of the usage the line charges, when the bill has it' },
    {
      name: 'model',
      type: 'string',
      doc: 'Model version after normalisation (as the price book names it, e.g. claude-opus-4-1); null when the line names none',
    },
    { name: 'model_id', type: 'string', doc: 'The model or product as the bill spells it' },
    {
      name: 'usage_type',
      type: 'string',
      doc: 'The bill’s usage type (CUR line_item_usage_type, FOCUS SkuPriceDetails/ChargeDescription, Anthropic token type)',
    },
    { name: 'token_type', type: 'string', doc: 'input | output | cache_read | cache_creation, when the line is for one token type' },
    { name: 'usage_quantity', type: 'double', doc: 'Tokens the line charges, when the bill states them' },
    { name: 'principal', type: 'string', doc: 'IAM principal (CUR line_item_iam_principal) or API key / workspace, when the bill has it' },
    { name: 'tags', type: 'map<string,string>', doc: 'Resource or cost-allocation tags on the line' },
    { name: 'billed_usd', type: 'double', nullable: false, doc: 'What the company pays for the line (net, after discounts), USD' },
    {
      name: 'billed_usd_exact',
      type: 'string',
      nullable: false,
      doc: 'billed_usd as an exact decimal string (no binary rounding), what the true-up allocates',
    },
    { name: 'list_usd', type: 'double', doc: 'List (undiscounted) amount of the line, when the bill has it' },
    { name: 'currency', type: 'string', nullable: false, doc: 'Billing currency (USD)' },
    { name: 'bill_id', type: 'string', nullable: false, doc: 'The bill document: <provider>:<account>:<month>' },
    { name: 'bill_revision', type: 'int32', nullable: false, doc: 'Revision of that bill (1 = first import; a changed re-import adds one)' },
    { name: 'source_file', type: 'string', nullable: false, doc: 'File the line came from (name as imported)' },
    { name: 'source_digest', type: 'string', nullable: false, doc: 'sha256 of the source file’s bytes' },
    { name: 'source_row', type: 'int64', nullable: false, doc: 'Row (1-based, header excluded) or JSON path index of the line in its file' },
    { name: 'imported_at', type: 'timestamp', nullable: false, doc: 'When the import committed' },
  ],
  // Partitioned like every generation table (generations/), by the billing month's first day.
  partitionKeys: [{ name: 'dt', type: 'date', nullable: false, doc: 'First day of the billing month (UTC): the partition one import replaces' }],
} as const satisfies TableDef;
