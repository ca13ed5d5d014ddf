/** What a function writes to CloudWatch Logs (stdout and stderr), for the tests of its log lines and EMF metrics. */
import { vi } from 'vitest';

/** Everything the functions write to stdout and stderr during `fn`, one parsed JSON document per line. */
export async function captureStdout(fn: () => Promise<unknown>): Promise<{ lines: Record<string, any>[]; error?: unknown }> {
  const chunks: string[] = [];
  // Powertools writes INFO and EMF to stdout and WARN/ERROR to stderr: both are CloudWatch Logs on Lambda.
  const capture = (chunk: any) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  let error: unknown;
  try {
    await fn();
  } catch (err) {
    error = err;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const lines = chunks
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l));
  return { lines, error };
}
