/**
 * `cclake doctor`: the read-only checks of functions/lib/doctor against the configured account.
 * Exit 0 when every check is ok (or not used by this config), 1 when something is missing, wrong or
 * unreadable, 2 when it cannot start (no credentials, no region, a local lake, bad config).
 * The AWS SDK clients are loaded only when the command runs, so the rest of the CLI starts fast.
 */
import { Option, type Command } from 'commander';
import type { CheckResult, DoctorReport } from '../lib/doctor/checks';
import { JobError, load, UsageError, withGlobals, type GlobalOpts, type Io } from './common';

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', missing: 'MISSING', wrong: 'WRONG', unknown: 'UNKNOWN', skipped: 'skipped' };

export function printDoctorReport(io: Io, r: DoctorReport): void {
  io.out(`account ${r.account} (${r.callerArn}), region ${r.region}, lake ${r.lake}`);
  const width = Math.max(...r.checks.map((c) => c.title.length));
  for (const c of r.checks) {
    io.out(`${LABEL[c.status].padEnd(8)} ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix) io.out(`${' '.repeat(9)}fix: ${c.fix}`);
  }
}

export const failing = (r: DoctorReport) => r.checks.filter((c) => c.status !== 'ok' && c.status !== 'skipped');

export function registerDoctorCommand(program: Command, io: Io): void {
  withGlobals(program.command('doctor'))
    .description("check the AWS account's prerequisites (QuickSight, Athena, the bucket, Glue, SNS) read-only, each with its fix")
    .option('--stage <stage>', "the deployed stage: also check the stack's topics cclake-<stage>-alerts and -alarms")
    .option('--quicksight-role <role>', 'the role QuickSight uses, when not aws-quicksight-service-role-v0 (name or ARN)')
    .option('--topic <arn>', 'another SNS topic to check (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--format <fmt>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: GlobalOpts & { stage?: string; quicksightRole?: string; topic?: string[]; format: 'text' | 'json' }) => {
      const loaded = await load(o);
      const { runDoctor, DoctorSetupError } = await import('../lib/doctor/checks');
      const { doctorClientsFor } = await import('../lib/doctor/clients');
      let report: DoctorReport;
      try {
        report = await runDoctor(loaded.config, doctorClientsFor(loaded.config), { stage: o.stage, quicksightRole: o.quicksightRole, topics: o.topic });
      } catch (err) {
        if (err instanceof DoctorSetupError) throw new UsageError(err.message);
        throw err;
      }
      if (o.format === 'json') io.out(JSON.stringify(report, null, 2));
      else printDoctorReport(io, report);
      const bad = failing(report);
      if (bad.length) throw new JobError(`${bad.length} of ${report.checks.length} check(s) not ok: ${bad.map((c) => c.title).join(', ')}`);
      if (o.format === 'text')
        io.out(`all ${report.checks.length} checks ok${report.checks.some((c) => c.status === 'skipped') ? ' or not used by this config' : ''}`);
    });
}
