/**
 * What every phase of a compaction run shares: the lake, the staging engine (DuckDB on disk in the
 * run's scratch folder), the config, and where the time goes (`mark(phase)` adds the time since the
 * previous mark to the summary's `phasesMs`).
 */
import type { Config } from '../config/schema';
import type { DuckDBEngine } from '../engine/duckdb';
import type { Pseudonymiser } from '../privacy/pseudonym';
import type { ObjectStore } from '../store/port';

export interface CompactionContext {
  store: ObjectStore;
  engine: DuckDBEngine;
  config: Config;
  /** The run's scratch folder (see staging.ts). */
  work: string;
  runId: string;
  mark: (phase: string) => void;
  /** Privacy mode: new rows are written with pseudonyms (compaction/pseudonymise.ts); null in named mode. */
  pseudonymiser: Pseudonymiser | null;
}

/**
 * Staging bucket width: copies of a record share its event time, so they always share a bucket.
 * A slice is a run of whole buckets, so the bucket bounds the smallest slice: one minute keeps
 * slices at their memory-derived size (`sliceRows`) until a minute holds more: 189 million events
 * a day at the default 512 MiB.
 */
export const BUCKET_MS = 60_000;
