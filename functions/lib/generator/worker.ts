/** Worker-thread entry for `generate`: computes one partition and posts its objects to the parent, which writes them. */
import { parentPort, workerData } from 'node:worker_threads';
import { generatePartition, type PartitionPlan } from '../jobs/generate';

const port = parentPort!;
try {
  const result = await generatePartition(
    async (key, bytes) => port.postMessage({ type: 'object', key, bytes }),
    workerData as PartitionPlan,
    () => port.postMessage({ type: 'day' }),
  );
  port.postMessage({ type: 'done', result });
} catch (err) {
  port.postMessage({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
}
