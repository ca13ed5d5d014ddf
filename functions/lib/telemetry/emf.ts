/**
 * CloudWatch Embedded Metric Format (as the collector's `awsemf` exporter writes it) -> metric rows.
 * One row per metric name declared in `_aws.CloudWatchMetrics[].Metrics[].Name` whose value is
 * present; every other top-level property (dimensions and labels such as `session.id`, `type`,
 * `OTelLib`) is an attribute, mapped to columns exactly as OTLP attributes are.
 *
 * Temporality: `delta`. awsemf passes DELTA sums through unchanged and converts CUMULATIVE sums to
 * deltas itself (dropping the first point as the baseline), and Claude Code's default temporality
 * is delta, so every EMF counter value is an increment for its export interval. EMF cannot say
 * whether a value was a gauge; Claude Code has no gauges, so none are assumed.
 *
 * A metric value given as an array (EMF allows up to 100 values per name) is summed: for delta
 * counters that is the total for the event. Stats objects (`{Max, Min, Count, Sum}`, histograms and
 * summaries) are counted as unsupported. The legacy v0 layout (top-level `CloudWatchMetrics` and a
 * string `Timestamp`) is accepted too.
 */
import { attrsFromPlainObject, type AttrMap } from './attributes';
import { buildRecord, emptyResult, type FlattenOptions, type FlattenResult } from './otlp';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export function isEmf(x: unknown): x is Obj {
  if (!isObj(x)) return false;
  if (isObj(x._aws) && Array.isArray(x._aws.CloudWatchMetrics)) return true;
  return Array.isArray(x.CloudWatchMetrics) && x.Timestamp !== undefined; // EMF v0
}

function timestampOf(x: unknown): number | null {
  const n = typeof x === 'number' ? x : typeof x === 'string' && /^\d+$/.test(x.trim()) ? Number(x) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : null;
}

function metricNames(directives: unknown): string[] {
  const names: string[] = [];
  if (!Array.isArray(directives)) return names;
  for (const d of directives) {
    if (!isObj(d) || !Array.isArray(d.Metrics)) continue;
    for (const m of d.Metrics) {
      const n = isObj(m) ? m.Name : typeof m === 'string' ? m : undefined;
      if (typeof n === 'string' && n !== '' && !names.includes(n)) names.push(n);
    }
  }
  return names;
}

/** EMF metric value: number, numeric string, or an array of those (summed); null when unusable. */
function metricValueOf(v: unknown): number | null | 'stats' {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  if (Array.isArray(v)) {
    let sum = 0;
    for (const x of v) {
      const n = metricValueOf(x);
      if (typeof n !== 'number') return null;
      sum += n;
    }
    return v.length > 0 ? sum : null;
  }
  if (isObj(v)) return 'stats';
  return null;
}

const EMF_META = new Set(['_aws', 'Version']);
const EMF_V0_META = new Set(['CloudWatchMetrics', 'Timestamp']);

/**
 * @param where location used in error messages (e.g. `logEvents[3]`)
 * @param fallbackTimeMs used when the document carries no timestamp (the CloudWatch event time)
 */
export function flattenEmf(doc: Obj, opts: FlattenOptions = {}, where = '$', fallbackTimeMs: number | null = null): FlattenResult {
  const out = emptyResult();
  const v1 = isObj(doc._aws);
  const aws = v1 ? (doc._aws as Obj) : doc;
  const names = metricNames(aws.CloudWatchMetrics);
  const eventTime = timestampOf(aws.Timestamp) ?? fallbackTimeMs;
  if (eventTime === null) {
    out.errors.push({ where, reason: `EMF document at ${where} has no _aws.Timestamp` });
    return out;
  }
  const nameSet = new Set(names);
  const props: Obj = {};
  for (const [k, v] of Object.entries(doc)) {
    if (nameSet.has(k) || EMF_META.has(k) || (!v1 && EMF_V0_META.has(k))) continue;
    props[k] = v;
  }
  const attrs: AttrMap = attrsFromPlainObject(props);
  for (const name of names) {
    if (!(name in doc)) continue; // declared but not present: nothing to record
    const value = metricValueOf(doc[name]);
    if (value === 'stats') {
      out.unsupported++;
      continue;
    }
    if (value === null) {
      out.errors.push({ where, reason: `EMF metric ${name} at ${where} has a non-numeric value` });
      continue;
    }
    const r = buildRecord({ signal: 'metric', name, eventTime, startTime: null, value, temporality: 'delta' }, attrs, opts);
    out.records.push(r.record);
    out.droppedContent += r.droppedContent;
  }
  return out;
}
