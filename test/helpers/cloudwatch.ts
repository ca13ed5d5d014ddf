/** A CloudWatch Logs subscription payload as Firehose receives it: gzip of the subscription JSON. */
import { gzipSync } from 'node:zlib';

export function cloudWatchPayload(messages: unknown[], messageType = 'DATA_MESSAGE', firstTimestamp = 1773151440000): Buffer {
  return gzipSync(
    JSON.stringify({
      messageType,
      owner: '123456789012',
      logGroup: '/aws/claude-code/metrics',
      logStream: 'otel-stream',
      subscriptionFilters: ['cclake'],
      logEvents: messages.map((m, i) => ({
        id: String(31953106606966983378809025079804211143289615424298221568n + BigInt(i)),
        timestamp: firstTimestamp + i,
        message: typeof m === 'string' ? m : JSON.stringify(m),
      })),
    }),
  );
}
