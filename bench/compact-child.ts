/** Child process for the compaction bench: compacts one lake, prints timing, summary and peak RSS as JSON. */
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import { compact } from '../functions/lib/jobs/compact';
import { LocalObjectStore } from '../functions/lib/store/local';

const lake = process.argv[2]!;
/** Optional second argument: DuckDB memory limit in MiB (default: the config default). */
const memoryLimitMiB = process.argv[3] ? Number(process.argv[3]) : undefined;
const store = new LocalObjectStore(lake);
const t = performance.now();
const config = parseConfig(memoryLimitMiB ? { compaction: { memoryLimitMiB } } : {});
const summary = await compact(store, catalogFromConfig(config, store), config);
const seconds = (performance.now() - t) / 1000;
// maxRSS is in KiB on Linux.
console.log(
  JSON.stringify({
    seconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    summary: {
      rowsIn: summary.rowsIn,
      rowsOut: summary.rowsOut,
      phasesMs: summary.phasesMs,
      dts: summary.dts.map((d) => ({ files: d.files, bytes: d.bytes })),
    },
  }),
);
