/**
 * The curated events table (`events_curated` in the catalog; the `events` view adds attribution): raw records deduplicated by record_id and partitioned by event date
 * (`dt`, in the reporting time zone). Files carry exactly the raw record's columns (plus any column a
 * newer table version added); `dt` lives in the partition path.
 */
import type { TableDef } from './columns';
import { RAW_RECORD } from './raw-record';

export const CURATED_EVENTS = {
  name: 'events_curated',
  doc: 'Claude Code telemetry, deduplicated, one partition per event date',
  columns: RAW_RECORD.columns,
  partitionKeys: [{ name: 'dt', type: 'date', nullable: false, doc: 'Event date in the reporting time zone' }],
} as const satisfies TableDef;

/** Lake key prefix of the curated table. */
export const CURATED_EVENTS_PREFIX = 'curated/events/';
