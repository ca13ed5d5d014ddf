/**
 * The erase function: `cclake erase` on AWS (the right to erasure, functions/lib/jobs/erase.ts).
 * Not scheduled: an operator invokes it synchronously (RequestResponse) with
 * `{ "user": "EMAIL|ID" }` or `{ "user": "EMAIL|ID", "dryRun": true }`, nothing else. Thin: read
 * the config, run the job, log one summary line (file keys and counts, never the identity), return
 * the summary. It has no on-failure destination and Lambda does not retry a synchronous call, so
 * the person's identifier stays out of any queue; a failed run is finished by invoking it again.
 */
import { z } from 'zod';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { erase, type EraseSummary } from '../lib/jobs/erase';
import type { RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';

export const EraseEvent = z.strictObject({
  user: z.string({ error: 'the person to erase: an e-mail, user id or account uuid' }).trim().min(1, { error: 'a non-empty e-mail, user id or account uuid' }),
  dryRun: z.boolean({ error: 'true or false' }).optional(),
});
export type EraseEvent = z.infer<typeof EraseEvent>;

/** The run's EMF metrics: files found and changed (an erasure that changed files is worth a look in the receipt). */
export function eraseMetrics(s: EraseSummary): RunMetric[] {
  return [
    ['FilesHoldingPerson', 'Count', s.holdings.length],
    ['FilesUnreadable', 'Count', s.unreadable.length],
    ['Locked', 'Count', s.status === 'locked' ? 1 : 0],
  ];
}

export const handler = scheduledHandler({
  job: 'erase',
  event: { schema: EraseEvent, shape: 'an object such as { "user": "dev@example.com" } or { "user": "dev@example.com", "dryRun": true }' },
  metrics: eraseMetrics,
  run: async ({ event, runId, logger }) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const summary = await erase(store, catalogFromConfig(config, store), config, {
      user: event.user,
      dryRun: event.dryRun === true,
      runId,
      tmpDir: process.env.CCLAKE_TMP_DIR ?? '/tmp',
    });
    const byZone: Record<string, number> = {};
    for (const h of summary.holdings) byZone[`${h.zone} ${h.action}`] = (byZone[`${h.zone} ${h.action}`] ?? 0) + 1;
    const { holdings, ...rest } = summary;
    logger.info('erase run', { ...rest, files: holdings.length, byZone });
    return summary;
  },
});

/** The event as the function accepts it; anything else throws naming the problem. */
export const parseEraseEvent = handler.parseEvent;
