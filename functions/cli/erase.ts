/**
 * `cclake erase --user EMAIL|ID [--dry-run]` (CONTRACTS section 5): the right to erasure
 * (functions/lib/jobs/erase.ts). `--dry-run` lists every file holding the person with its row
 * counts and changes nothing. Wired into the program by main.ts.
 */
import type { Command } from 'commander';
import type { EraseSummary } from '../lib/jobs/erase';
import { JobError, load, withGlobals, type GlobalOpts, type Io } from './common';

const n = (x: number) => x.toLocaleString('en-US');

export function printEraseSummary(io: Io, location: string, s: EraseSummary): void {
  if (s.status === 'locked') {
    io.out(`erase skipped: another run holds the lake lock (${s.lockedBy}); run again after it`);
    return;
  }
  if (s.status === 'already erased') {
    io.out(`nothing holds this person at ${location} (${n(s.searched)} objects searched): already erased (erasure ${s.erasureId}); nothing written`);
    return;
  }
  const verb = s.status === 'dry-run' ? 'would change' : 'changed';
  io.out(
    `${s.status === 'dry-run' ? 'dry run: ' : ''}${s.holdings.length} file(s) at ${location} hold the person (${s.identityValues} identity value(s); ${n(s.searched)} objects searched); ${verb}:`,
  );
  for (const h of s.holdings) {
    const rows = h.rows === null ? `${n(h.matched)} place(s)` : `${n(h.matched)} of ${n(h.rows)} row(s)`;
    io.out(`  ${h.zone.padEnd(10)} ${h.key}  ${h.reason ?? rows}  -> ${h.action}${h.table && !h.live ? ' (not live)' : ''}`);
  }
  for (const k of s.unreadable) io.err(`not searched (not readable as Parquet, text or PDF): ${k}`);
  if (s.status === 'dry-run') {
    io.out('  nothing changed (dry run)');
    return;
  }
  io.out(`  erasure ${s.erasureId}${s.resumed ? ' (finished an interrupted run)' : ''}: tombstone recorded; compaction drops this person's late data`);
  if (s.receipt) io.out(`  receipt: evidence report ${s.receipt.seq} at ${location}${s.receipt.location} (manifest sha256 ${s.receipt.manifestSha256})`);
}

export function registerEraseCommand(program: Command, io: Io): void {
  withGlobals(program.command('erase'))
    .description('erase a person from every zone (raw, curated, rollups, anomalies, exports, dashboards), with a receipt in the evidence chain')
    .requiredOption('--user <id>', 'the person: e-mail, user id or account uuid (every id of theirs is found from it)')
    .option('--dry-run', 'list every file holding the person, with row counts, and change nothing')
    .action(async (o: GlobalOpts & { user: string; dryRun?: boolean }) => {
      const loaded = await load(o);
      const { storeFromConfig } = await import('../lib/store/from-config');
      const store = await storeFromConfig(loaded.config);
      const { catalogFromConfig } = await import('../lib/catalog/from-config');
      const { erase } = await import('../lib/jobs/erase');
      const summary = await erase(store, await catalogFromConfig(loaded.config, store), loaded.config, { user: o.user, dryRun: o.dryRun });
      printEraseSummary(io, store.location, summary);
      if (summary.status === 'locked') throw new JobError('the lake lock is held by another run');
    });
}
