/**
 * `cclake export chargeback | evidence | verify` (CONTRACTS section 5): the finance and compliance
 * deliverables. Wired into the program by main.ts; the summaries are printed here.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../lib/config/schema';
import type { QueryEngine } from '../lib/engine/port';
import { isMonth } from '../lib/exports/periods';
// The jobs (DuckDB, the AWS SDK, the PDF renderer) are imported by the command that runs them, so the CLI starts fast.
import type { ChargebackSummary } from '../lib/jobs/chargeback';
import type { EvidenceSummary } from '../lib/jobs/evidence';
import type { VerifySummary } from '../lib/jobs/export-verify';
import type { ObjectStore } from '../lib/store/port';
import { isIsoDate } from '../lib/util/dates';
import { JobError, load, UsageError, withGlobals, type GlobalOpts, type Io } from './common';

const monthArg = (v: string) => {
  if (!isMonth(v)) throw new InvalidArgumentError(`--month must be a month YYYY-MM, got ${JSON.stringify(v)}`);
  return v;
};
const dateArg = (name: string) => (v: string) => {
  if (!isIsoDate(v)) throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
  return v;
};

const n = (x: string | number) => Number(x).toLocaleString('en-US');
const short = (sha: string) => `${sha.slice(0, 16)}…`;

export function printChargebackSummary(io: Io, location: string, s: ChargebackSummary): void {
  const where = s.location ? `${location}${s.location}` : '';
  if (s.status === 'no data') {
    io.out(`chargeback ${s.month}: no data and no revision yet; nothing written`);
    return;
  }
  const t = s.totals!;
  if (s.status === 'unchanged') io.out(`chargeback ${s.month}: unchanged, revision ${s.revision} (nothing written) at ${where}`);
  else if (s.status === 'preliminary')
    io.out(`chargeback ${s.month}: PRELIMINARY snapshot (the month is not closed: it ends ${s.closesAt}); ${s.rows} line(s) at ${where}`);
  else {
    const why = s.reasons.map((r) => (r === 'bill' ? 'the bill imported or revised after the close' : 'data that arrived after the close')).join(' and ');
    io.out(
      `chargeback ${s.month}: revision ${s.revision} written (${s.revision === 1 ? `${s.rows} line(s)` : `${s.adjustmentRows} adjustment line(s) for ${why}`}) at ${where}`,
    );
  }
  const tu = s.trueUp;
  if (tu) {
    io.out(
      `  billed ${t.cumulativeBilledCost} USD in all${s.revision && s.revision > 1 ? ` (${t.billedCost} in this revision)` : ''}: the bills' ${tu.billedCost} USD ` +
        `(${tu.bills.map((b) => `${b.billId} rev ${b.revision}`).join(', ')}) allocated by priced usage share; list ${t.cumulativeListCost} USD; ` +
        `lake priced cost ${t.lakePricedCost} USD (exact ${t.lakePricedCostExact}), billed minus priced ${t.difference}`,
    );
    if (tu.unallocated.lines)
      io.out(`  unallocated: ${tu.unallocated.billedCostExact} USD billed for ${tu.unallocated.models.join(', ')} with no priced usage`);
  } else
    io.out(
      `  billed ${t.cumulativeBilledCost} USD in all${s.revision && s.revision > 1 ? ` (${t.billedCost} in this revision)` : ''}, list ${t.cumulativeListCost} USD; ` +
        `lake priced cost ${t.lakePricedCost} USD (exact ${t.lakePricedCostExact}): reconciled, difference ${t.difference}`,
    );
  io.out(`  tokens ${n(t.tokens)}; Claude Code reported ${t.reportedCost} USD (its client-side estimate)`);
  if (s.unpriced.lines)
    io.out(
      `  not priced: ${s.unpriced.lines} line(s), ${n(s.unpriced.tokens)} tokens of ${s.unpriced.models.join(', ')} (reported ${s.unpriced.reportedCost} USD): not billed, shown in ListCost`,
    );
  for (const f of s.files) io.out(`  ${f.name.padEnd(14)} ${n(f.bytes).padStart(10)} bytes  sha256 ${short(f.sha256)}`);
  for (const w of s.warnings) io.err(`warning: ${w}`);
}

export function printEvidenceSummary(io: Io, location: string, s: EvidenceSummary): void {
  io.out(`evidence ${s.period.from}..${s.period.to}: report ${s.seq} at ${location}${s.location}`);
  const st = s.status;
  io.out(
    `  ${st.passed + st.failed + st.noData} results (control x team): ${st.passed} pass, ${st.failed} fail, ${st.noData} without data${st.inconsistent ? `, ${st.inconsistent} whose findings disagree with the daily counts` : ''}`,
  );
  if (s.failing.length) io.out(`  failing: ${s.failing.map((f) => `${f.control_id} (${f.team})`).join(', ')}`);
  io.out(
    `  ${s.previous ? `chained to report ${s.previous.seq} (its manifest sha256 ${short(s.previous.manifest_sha256)})` : 'first report of the chain'}; this manifest sha256 ${s.manifestSha256}`,
  );
  io.out(
    `  protection: ${s.objectLock ? `${s.objectLock.mode}${s.objectLock.retain_until ? ` until ${s.objectLock.retain_until}` : ''}` : 'none (no lake.s3.objectLock configured)'}`,
  );
  for (const f of s.files) io.out(`  ${f.name.padEnd(14)} ${n(f.bytes).padStart(10)} bytes  sha256 ${short(f.sha256)}`);
  const engines = [...new Set(s.queries.map((q) => (q.queryId ? `athena ${q.queryId}` : 'duckdb (local)')))];
  io.out(`  ${s.queries.length} queries on ${engines.length > 3 ? `athena (${engines.length} query ids in the report)` : engines.join(', ')}`);
}

export function printVerifySummary(io: Io, location: string, s: VerifySummary): void {
  const e = s.evidence;
  const c = s.chargeback;
  io.out(
    `checked ${e.reports} evidence report(s) (${e.files} files) and ${c.revisions} chargeback revision(s) of ${c.months} month(s)` +
      `${c.preliminary ? ` plus ${c.preliminary} preliminary snapshot(s)` : ''} (${c.files} files) at ${location}`,
  );
  if (e.head) io.out(`  evidence chain head: report ${e.head.seq}, manifest sha256 ${e.head.manifestSha256} (keep it: nothing later vouches for it)`);
  for (const p of e.incomplete) io.out(`  incomplete (no manifest, not part of the chain): ${p}`);
  if (!s.problems.length) io.out('  every file matches its manifest and every chain link holds');
  for (const p of s.problems) io.err(`problem: ${p.where}: ${p.message}`);
}

const storeFromConfig = async (config: Config) => (await import('../lib/store/from-config')).storeFromConfig(config);

async function withEngine<T>(config: Config, store: ObjectStore, run: (engine: QueryEngine) => Promise<T>): Promise<T> {
  const { engineFromConfig } = await import('../lib/engine/from-config');
  const engine = await engineFromConfig(config, store);
  try {
    return await run(engine);
  } finally {
    engine.close();
  }
}

export function registerExportCommands(program: Command, io: Io): void {
  const exp = program.command('export').description('the finance and compliance deliverables: chargeback, evidence, verify');

  withGlobals(exp.command('chargeback'))
    .description('write the FOCUS-shaped finance export of a closed month (a new revision when data arrived after the close)')
    .option(
      '--month <month>',
      'the month, YYYY-MM (default: the last closed month, reporting time zone, then the chargeback.revisitMonths before it)',
      monthArg,
    )
    .option('--preliminary', 'export a month that is not closed yet, as a snapshot that is not final (never a revision)')
    .action(async (o: GlobalOpts & { month?: string; preliminary?: boolean }) => {
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const { exportChargebackMonths, MonthNotClosedError } = await import('../lib/jobs/chargeback');
      // As the scheduled function: --month alone, else the last closed month and the revisited ones.
      const run = await withEngine(loaded.config, store, (engine) =>
        exportChargebackMonths(store, engine, loaded.config, { month: o.month, preliminary: o.preliminary }),
      );
      for (const summary of run.months) printChargebackSummary(io, store.location, summary);
      const [first, ...more] = run.failed;
      if (!first) return;
      if (!run.months.length && run.failed.every((f) => f.error instanceof MonthNotClosedError)) throw new UsageError(first.error.message);
      if (!more.length && o.month) throw first.error;
      throw new JobError(`chargeback failed for ${run.failed.map((f) => `${f.month}: ${f.error.message}`).join(' | ')}`);
    });

  withGlobals(exp.command('evidence'))
    .description('write the compliance evidence report for a period (JSON, HTML, PDF), chained to the previous report')
    .option('--from <date>', 'first day, YYYY-MM-DD (default: evidence.periodDays days ending yesterday)', dateArg('--from'))
    .option('--to <date>', 'last day, YYYY-MM-DD', dateArg('--to'))
    .action(async (o: GlobalOpts & { from?: string; to?: string }) => {
      if (!!o.from !== !!o.to) throw new UsageError('give both --from and --to, or neither (the configured period ending yesterday)');
      if (o.from && o.to && o.to < o.from) throw new UsageError(`--to ${o.to} is before --from ${o.from}`);
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const { defaultEvidencePeriod, exportEvidence } = await import('../lib/jobs/evidence');
      const period = o.from && o.to ? { from: o.from, to: o.to } : defaultEvidencePeriod(loaded.config);
      const summary = await withEngine(loaded.config, store, (engine) => exportEvidence(store, engine, loaded.config, period));
      printEvidenceSummary(io, store.location, summary);
    });

  withGlobals(exp.command('verify'))
    .description("check every evidence report's digest chain and every export file against its manifest")
    .action(async (o: GlobalOpts) => {
      const loaded = await load(o);
      const store = await storeFromConfig(loaded.config);
      const { verifyExports } = await import('../lib/jobs/export-verify');
      const summary = await verifyExports(store);
      printVerifySummary(io, store.location, summary);
      if (summary.problems.length) {
        const first = summary.problems[0]!;
        throw new JobError(`verification failed (${summary.problems.length} problem(s)); first: ${first.where}: ${first.message}`);
      }
    });
}
