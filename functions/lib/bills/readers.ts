/**
 * The bill files cclake imports, read into bill lines (schemas/bills.ts), keeping only Claude usage:
 *
 *  - AWS Data Exports CUR 2.0 (Parquet, or CSV, gzip-compressed or not): rows of Amazon Bedrock
 *    (`line_item_product_code` AmazonBedrock, or a product name of the Marketplace's "Amazon Bedrock
 *    Edition") that name Claude in the usage type, product or description; tax lines left out. Billed
 *    is `line_item_net_unblended_cost` where the export has it (after discounts), else
 *    `line_item_unblended_cost`; list is `pricing_public_on_demand_cost`. Tags from the
 *    `resource_tags` map (a JSON object in CSV) or the legacy `resource_tags_*` columns.
 *  - The AWS FOCUS 1.x export (same encodings): rows whose ServiceName is Amazon Bedrock and that name
 *    Claude; billed is BilledCost, list ListCost, the account SubAccountId (else BillingAccountId),
 *    the usage type `x_UsageType` (else ChargeDescription); tax (ChargeCategory Tax) left out.
 *  - The Anthropic Admin API cost report (`GET /v1/organizations/cost_report`) JSON exactly as the
 *    API returns it: `data[]` day buckets (`starting_at`, `ending_at`) with `results[]` whose
 *    `amount` is a decimal string in cents ("123.45" is USD 1.2345). The report names no
 *    organization: the account is config `bills.anthropicAccount`; the workspace goes in `principal`.
 *
 * The format is recognised from the content (Parquet magic, gzip magic, JSON, the CSV header), not
 * the file name. Any row that cannot be read throws a BillFileError naming the file, row and column.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { formatDecimal, parseDecimal } from '../exports/money';
import { arrowToRows, parquetToArrow } from '../parquet/io';
import { normalizeModelId } from '../prices/model-id';
import { bedrockModel, bedrockTokenType } from './bedrock-usage';
import { BillFileError, type BillTokenType, type ParsedBill } from './line';

export interface ReadOptions {
  /** The account of Anthropic cost report lines (the report does not name the organization). */
  anthropicAccount: string;
}

type Cell = unknown;
type Row = Record<string, Cell>;

const EXACT = 15;

/** An amount as exact decimal text (USD), from a CSV cell's text or a Parquet number. */
function exactOf(v: Cell): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isFinite(n)) return null;
    let s = String(n);
    if (/e/i.test(s) || (s.split('.')[1]?.length ?? 0) > EXACT) s = n.toFixed(EXACT);
    return formatDecimal(parseDecimal(s, EXACT), EXACT);
  }
  const text = String(v).trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const [, frac = ''] = text.split('.');
    return formatDecimal(parseDecimal(frac.length > EXACT ? Number(text).toFixed(EXACT) : text, EXACT), EXACT);
  }
  if (/^-?\d+(\.\d+)?[eE][-+]?\d+$/.test(text)) return exactOf(Number(text));
  return null;
}

/** Epoch ms of a Parquet timestamp or a CSV date/time (no zone: UTC, as the exports write them). */
function timeOf(v: Cell): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  const text = String(v).trim();
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (!m) return null;
  const t = Date.parse(m[2] ? `${m[1]}T${m[2]}${m[3] ?? 'Z'}` : `${m[1]}T00:00:00Z`);
  return Number.isNaN(t) ? null : t;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const str = (v: Cell): string | null => (v === null || v === undefined || String(v).trim() === '' ? null : String(v).trim());

/** A map cell: a Parquet map (an object), or a JSON object in CSV. */
function mapOf(v: Cell): Record<string, string> | null {
  if (v === null || v === undefined || v === '') return null;
  let o: unknown = v;
  if (typeof v === 'string') {
    try {
      o = JSON.parse(v);
    } catch {
      return null;
    }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o as Record<string, unknown>)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
}

interface Table {
  columns: string[];
  rows: Row[];
  /** How errors name each row: `row N` (1-based, header excluded), with its line in a CSV file. */
  rowNames: string[];
}

function readTable(file: string, bytes: Uint8Array): Table {
  if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 4)) === 'PAR1') {
    let t: ReturnType<typeof parquetToArrow>;
    try {
      t = parquetToArrow(bytes);
    } catch (err) {
      throw new BillFileError(file, null, `not a readable Parquet file (${(err as Error).message})`);
    }
    const rows = arrowToRows<Row>(t);
    return { columns: t.schema.fields.map((f) => f.name), rows, rowNames: rows.map((_, i) => `row ${i + 1}`) };
  }
  const text = new TextDecoder().decode(bytes);
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, bom: true, info: true }) as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new BillFileError(file, e.lines ? `line ${e.lines}` : null, `not a readable CSV file (${e.message})`);
  }
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const columns = (parse(header, { columns: false }) as string[][])[0] ?? [];
  return { columns, rows: records.map((r) => r.record), rowNames: records.map((r, i) => `row ${i + 1} (line ${r.info.lines})`) };
}

const digestOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Reads one bill file; `name` is how lines name their source. */
export function readBillFile(name: string, raw: Uint8Array, options: ReadOptions): ParsedBill {
  if (raw.length === 0) throw new BillFileError(name, null, 'empty file');
  const digest = digestOf(raw);
  let bytes = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (err) {
      throw new BillFileError(name, null, `not a readable gzip file (${(err as Error).message})`);
    }
  }
  const first = new TextDecoder()
    .decode(bytes.subarray(0, 64))
    .replace(/^\uFEFF/, '')
    .trimStart()[0];
  if (first === '{' || first === '[') return readAnthropicCostReport(name, bytes, digest, options);
  const table = readTable(name, bytes);
  const has = new Set(table.columns);
  if (has.has('line_item_usage_account_id')) return readCur(name, table, digest);
  if (has.has('BilledCost')) return readFocus(name, table, digest);
  throw new BillFileError(
    name,
    null,
    'not a CUR 2.0 export (no line_item_usage_account_id column), a FOCUS export (no BilledCost column) or an Anthropic cost report (not JSON)',
  );
}

function required(file: string, table: Table, columns: string[]): void {
  const missing = columns.filter((c) => !table.columns.includes(c));
  if (missing.length) throw new BillFileError(file, null, `missing column(s) ${missing.join(', ')}`);
}

/** Accessors of one row that name the row and column in their errors. */
function cells(file: string, row: Row, rowName: string) {
  const where = (column: string) => `${rowName} column ${column}`;
  return {
    str: (c: string) => str(row[c]),
    money: (c: string, need: boolean): string | null => {
      const v = row[c];
      if (v === null || v === undefined || v === '') {
        if (need) throw new BillFileError(file, where(c), 'no amount');
        return null;
      }
      const x = exactOf(v);
      if (x === null) throw new BillFileError(file, where(c), `not a number: ${JSON.stringify(v)}`);
      return x;
    },
    number: (c: string): number | null => {
      const v = row[c];
      if (v === null || v === undefined || v === '') return null;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new BillFileError(file, where(c), `not a number: ${JSON.stringify(v)}`);
      return n;
    },
    time: (c: string, need: boolean): number | null => {
      const v = row[c];
      if (v === null || v === undefined || v === '') {
        if (need) throw new BillFileError(file, where(c), 'no date');
        return null;
      }
      const t = timeOf(v);
      if (t === null) throw new BillFileError(file, where(c), `not a date: ${JSON.stringify(v)}`);
      return t;
    },
    fail: (c: string, problem: string): never => {
      throw new BillFileError(file, where(c), problem);
    },
  };
}

function checkUsd(c: ReturnType<typeof cells>, column: string, value: string | null): string {
  const currency = value ?? 'USD';
  if (currency !== 'USD') c.fail(column, `billing currency ${currency}: cclake imports USD bills only`);
  return currency;
}

function tagsOf(row: Row, mapColumn: string, prefix: string | null): Record<string, string> | null {
  const tags: Record<string, string> = { ...(mapOf(row[mapColumn]) ?? {}) };
  if (prefix)
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith(prefix) && str(v) !== null) tags[k.slice(prefix.length)] = String(v);
    }
  return Object.keys(tags).length ? tags : null;
}

function readCur(file: string, table: Table, digest: string): ParsedBill {
  required(file, table, ['line_item_usage_account_id', 'line_item_usage_type', 'line_item_usage_start_date', 'line_item_unblended_cost']);
  const hasNet = table.columns.includes('line_item_net_unblended_cost');
  const out: ParsedBill = { format: 'cur2', lines: [], skipped: 0, unknownModels: [] };
  table.rows.forEach((row, i) => {
    const n = i + 1;
    const c = cells(file, row, table.rowNames[i]!);
    const product = mapOf(row.product) ?? {};
    const productCode = c.str('line_item_product_code') ?? product.servicecode ?? c.str('product_servicecode');
    const productName = c.str('product_product_name') ?? product.product_name ?? null;
    const usageType = c.str('line_item_usage_type');
    const description = c.str('line_item_line_item_description');
    const productModel = product.model ?? product.model_id ?? null;
    const bedrock = productCode === 'AmazonBedrock' || /bedrock/i.test(productName ?? '');
    const claude = /claude/i.test([usageType, productName, description, productModel].join(' '));
    if (!bedrock || !claude || c.str('line_item_line_item_type') === 'Tax') {
      out.skipped++;
      return;
    }
    const account = c.str('line_item_usage_account_id') ?? c.fail('line_item_usage_account_id', 'no account id');
    const start = c.time('line_item_usage_start_date', true)!;
    const period = c.time('bill_billing_period_start_date', false);
    const billed = (hasNet ? c.money('line_item_net_unblended_cost', false) : null) ?? c.money('line_item_unblended_cost', true)!;
    const model = bedrockModel(productModel) ?? bedrockModel(usageType) ?? bedrockModel(productName) ?? bedrockModel(description);
    if (!model) out.unknownModels.push(usageType ?? productName ?? description ?? '(none)');
    const tokenType = bedrockTokenType(usageType);
    out.lines.push({
      provider: 'bedrock',
      account,
      month: dayOf(period ?? start).slice(0, 7),
      usage_date: dayOf(start),
      model,
      model_id: productModel ?? productName ?? usageType,
      usage_type: usageType,
      token_type: tokenType,
      usage_quantity: tokenType ? c.number('line_item_usage_amount') : null,
      principal: c.str('line_item_iam_principal'),
      tags: tagsOf(row, 'resource_tags', 'resource_tags_'),
      billed_usd: Number(billed),
      billed_usd_exact: billed,
      list_usd: table.columns.includes('pricing_public_on_demand_cost') ? numberOrNull(c.money('pricing_public_on_demand_cost', false)) : null,
      currency: checkUsd(c, 'line_item_currency_code', c.str('line_item_currency_code')),
      bill_id: '',
      source_file: file,
      source_digest: digest,
      source_row: n,
    });
  });
  return withBillIds(out);
}

function readFocus(file: string, table: Table, digest: string): ParsedBill {
  required(file, table, ['BilledCost', 'ChargePeriodStart', 'ServiceName']);
  if (!table.columns.includes('SubAccountId') && !table.columns.includes('BillingAccountId'))
    throw new BillFileError(file, null, 'missing column(s) SubAccountId or BillingAccountId');
  const out: ParsedBill = { format: 'focus', lines: [], skipped: 0, unknownModels: [] };
  table.rows.forEach((row, i) => {
    const n = i + 1;
    const c = cells(file, row, table.rowNames[i]!);
    const usageType = c.str('x_UsageType') ?? c.str('ChargeDescription');
    const texts = [c.str('x_UsageType'), c.str('ChargeDescription'), c.str('SkuId'), c.str('ResourceName'), c.str('SkuPriceDetails')];
    const bedrock = /bedrock/i.test(c.str('ServiceName') ?? '') || c.str('x_ServiceCode') === 'AmazonBedrock';
    if (!bedrock || !/claude/i.test(texts.join(' ')) || c.str('ChargeCategory') === 'Tax') {
      out.skipped++;
      return;
    }
    const account = c.str('SubAccountId') ?? c.str('BillingAccountId') ?? c.fail('SubAccountId', 'no account id (SubAccountId or BillingAccountId)');
    const start = c.time('ChargePeriodStart', true)!;
    const period = c.time('BillingPeriodStart', false);
    const billed = c.money('BilledCost', true)!;
    let model: string | null = null;
    for (const t of texts) model ??= bedrockModel(t);
    if (!model) out.unknownModels.push(usageType ?? '(none)');
    const tokenType = bedrockTokenType(c.str('x_UsageType')) ?? bedrockTokenType(c.str('ChargeDescription'));
    out.lines.push({
      provider: 'bedrock',
      account,
      month: dayOf(period ?? start).slice(0, 7),
      usage_date: dayOf(start),
      model,
      model_id: c.str('ResourceName') ?? c.str('SkuId') ?? usageType,
      usage_type: usageType,
      token_type: tokenType,
      usage_quantity: tokenType ? c.number('ConsumedQuantity') : null,
      principal: c.str('x_IamPrincipal'),
      tags: tagsOf(row, 'Tags', null),
      billed_usd: Number(billed),
      billed_usd_exact: billed,
      list_usd: numberOrNull(c.money('ListCost', false)),
      currency: checkUsd(c, 'BillingCurrency', c.str('BillingCurrency')),
      bill_id: '',
      source_file: file,
      source_digest: digest,
      source_row: n,
    });
  });
  return withBillIds(out);
}

const ANTHROPIC_TOKEN_TYPES: Record<string, BillTokenType> = {
  uncached_input_tokens: 'input',
  output_tokens: 'output',
  cache_read_input_tokens: 'cache_read',
  'cache_creation.ephemeral_5m_input_tokens': 'cache_creation',
  'cache_creation.ephemeral_1h_input_tokens': 'cache_creation',
};

function readAnthropicCostReport(file: string, bytes: Uint8Array, digest: string, options: ReadOptions): ParsedBill {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new BillFileError(file, null, `not valid JSON (${(err as Error).message})`);
  }
  const report = doc as { data?: unknown; has_more?: unknown };
  if (!report || typeof report !== 'object' || !Array.isArray(report.data))
    throw new BillFileError(file, null, 'not an Anthropic cost report: no data[] array (the JSON of GET /v1/organizations/cost_report)');
  const out: ParsedBill = { format: 'anthropic-cost-report', lines: [], skipped: 0, unknownModels: [] };
  let index = 0;
  report.data.forEach((bucket: unknown, b) => {
    const at = (k: string) => `data[${b}].${k}`;
    const bk = bucket as { starting_at?: unknown; results?: unknown };
    if (!bk || typeof bk !== 'object') throw new BillFileError(file, `data[${b}]`, 'not an object');
    const start = typeof bk.starting_at === 'string' ? timeOf(bk.starting_at.replace(/(\.\d+)?Z$/, 'Z')) : null;
    if (start === null) throw new BillFileError(file, at('starting_at'), `not an RFC 3339 time: ${JSON.stringify(bk.starting_at)}`);
    if (!Array.isArray(bk.results)) throw new BillFileError(file, at('results'), 'not an array');
    bk.results.forEach((r: unknown, j) => {
      index++;
      const where = (k: string) => `data[${b}].results[${j}].${k}`;
      const res = (r ?? {}) as Record<string, unknown>;
      const amount = res.amount;
      if (typeof amount !== 'string' || !/^-?\d+(\.\d+)?$/.test(amount.trim()))
        throw new BillFileError(file, where('amount'), `not a decimal string of cents: ${JSON.stringify(amount)}`);
      const frac = amount.trim().split('.')[1] ?? '';
      if (frac.length > EXACT - 2) throw new BillFileError(file, where('amount'), `more than ${EXACT - 2} decimal places of a cent: ${amount}`);
      // Cents to dollars, exactly: units of 10^-13 cents are units of 10^-15 dollars.
      const billed = formatDecimal(parseDecimal(amount, EXACT - 2), EXACT);
      const currency = typeof res.currency === 'string' ? res.currency : 'USD';
      if (currency !== 'USD') throw new BillFileError(file, where('currency'), `currency ${currency}: cclake imports USD bills only`);
      const rawModel = typeof res.model === 'string' && res.model ? res.model : null;
      const tokenTypeRaw = typeof res.token_type === 'string' ? res.token_type : null;
      const tokenType = tokenTypeRaw ? (ANTHROPIC_TOKEN_TYPES[tokenTypeRaw] ?? null) : null;
      const costType = typeof res.cost_type === 'string' ? res.cost_type : null;
      const model = rawModel ? normalizeModelId(rawModel).key : null;
      if (!model && (costType === 'tokens' || costType === null)) out.unknownModels.push(String(res.description ?? tokenTypeRaw ?? '(none)'));
      const month = dayOf(start).slice(0, 7);
      const tags: Record<string, string> = {};
      for (const k of ['service_tier', 'context_window', 'inference_geo', 'cost_type'] as const) if (typeof res[k] === 'string') tags[k] = res[k] as string;
      out.lines.push({
        provider: 'anthropic',
        account: options.anthropicAccount,
        month,
        usage_date: dayOf(start),
        model,
        model_id: rawModel ?? (typeof res.description === 'string' ? res.description : null),
        usage_type: tokenTypeRaw ?? costType,
        token_type: tokenType,
        usage_quantity: null,
        principal: typeof res.workspace_id === 'string' ? res.workspace_id : null,
        tags: Object.keys(tags).length ? tags : null,
        billed_usd: Number(billed),
        billed_usd_exact: billed,
        list_usd: null,
        currency,
        bill_id: '',
        source_file: file,
        source_digest: digest,
        source_row: index,
      });
    });
  });
  return withBillIds(out);
}

const numberOrNull = (x: string | null) => (x === null ? null : Number(x));

function withBillIds(p: ParsedBill): ParsedBill {
  for (const l of p.lines) l.bill_id = `${l.provider}:${l.account}:${l.month}`;
  return p;
}
