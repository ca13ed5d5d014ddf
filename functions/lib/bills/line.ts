/**
 * One bill line as a reader produces it (schemas/bills.ts BILL_LINES without what the import adds:
 * the revision, the import time and the partition), and the error every reader throws for a bad
 * file, naming the file, the row and the column.
 */
import type { RowOf } from '../../../schemas/columns';
import type { BILL_LINES } from '../../../schemas/bills';

export type BillTokenType = 'input' | 'output' | 'cache_read' | 'cache_creation';
export type BillProvider = 'bedrock' | 'anthropic';

export type BillLineRow = RowOf<typeof BILL_LINES> & { dt: string };
export type BillLine = Omit<BillLineRow, 'bill_revision' | 'imported_at' | 'dt'>;

/** A file cclake cannot import: `where` names the row (and column) when the problem is in one. */
export class BillFileError extends Error {
  constructor(
    readonly file: string,
    readonly where: string | null,
    problem: string,
  ) {
    super(`${file}${where ? `: ${where}` : ''}: ${problem}`);
    this.name = 'BillFileError';
  }
}

/** What a reader returns: the lines it kept, and what it could not read a model from. */
export interface ParsedBill {
  format: 'cur2' | 'focus' | 'anthropic-cost-report';
  lines: BillLine[];
  /** Rows of the file that are not Claude usage (other services, taxes): left out. */
  skipped: number;
  /** Usage types / descriptions of kept lines whose model could not be read (model null). */
  unknownModels: string[];
}
