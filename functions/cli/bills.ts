/**
 * `cclake import bill FILE...` (CONTRACTS section 5): imports CUR 2.0 / FOCUS exports and Anthropic
 * cost reports into `bill_lines` (functions/lib/jobs/import-bill.ts). Wired into the program by main.ts.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ImportBillSummary } from '../lib/jobs/import-bill';
import { JobError, load, withGlobals, type GlobalOpts, type Io } from './common';

export function printImportBillSummary(io: Io, location: string, s: ImportBillSummary): void {
  for (const f of s.files) io.out(`${f.file}: ${f.format}, ${f.lines} Claude line(s)${f.skipped ? `, ${f.skipped} other row(s) left out` : ''}`);
  for (const b of s.bills)
    io.out(
      `bill ${b.billId}: ${b.status === 'unchanged' ? `unchanged, revision ${b.revision} (nothing written)` : `${b.status}, revision ${b.revision}`}; ${b.lines} line(s), billed ${b.billedUsd} USD`,
    );
  if (!s.bills.length) io.out('no Claude lines in these files: nothing imported');
  if (s.unknownModels.length) io.out(`model not recognised (imported with model null): ${s.unknownModels.join(', ')}`);
  if (s.bills.some((b) => b.status !== 'unchanged')) io.out(`bill_lines at ${location}${s.location}`);
  for (const e of s.catalogErrors) io.err(`catalog: ${e}`);
}

export function registerImportCommands(program: Command, io: Io): void {
  const imp = program.command('import').description('bring outside data into the lake: bills');
  withGlobals(imp.command('bill'))
    .description('import AWS Data Exports (CUR 2.0 or FOCUS; Parquet, CSV or CSV.gz) and Anthropic Admin API cost reports (JSON)')
    .argument('<files...>', 'bill files')
    .action(async (files: string[], o: GlobalOpts) => {
      const loaded = await load(o);
      const { storeFromConfig } = await import('../lib/store/from-config');
      const { catalogFromConfig } = await import('../lib/catalog/from-config');
      const { BillImportError, importBills } = await import('../lib/jobs/import-bill');
      const store = await storeFromConfig(loaded.config);
      const read = [];
      for (const name of files) {
        try {
          read.push({ name, bytes: new Uint8Array(await readFile(name)) });
        } catch (err) {
          throw new JobError(`${name}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was imported`);
        }
      }
      let summary: ImportBillSummary;
      try {
        summary = await importBills(store, await catalogFromConfig(loaded.config, store), loaded.config, read);
      } catch (err) {
        if (err instanceof BillImportError) throw new JobError(err.message);
        throw err;
      }
      if (summary.status === 'locked') throw new JobError(`the lake is locked by ${summary.lockedBy}; nothing was imported, run again later`);
      printImportBillSummary(io, store.location, summary);
    });
}
