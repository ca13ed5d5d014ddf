/**
 * No runtime import cycle under functions/ (issue 19): the module graph esbuild resolves from every
 * entry point (each function's handler, the CLI, the generator's worker), type-only imports left out
 * as esbuild drops them, must be acyclic. A cycle makes module initialisation order-dependent (a
 * `const` read before it is set) and the layers (cli -> jobs -> domain -> ports -> adapters) blur.
 * The failure names each cycle, module by module.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

/** The entry points: functions/<name>/handler.ts, functions/cli/main.ts, and every module the generator starts as a worker. */
function entryPoints(): string[] {
  const dirs = readdirSync(join(ROOT, 'functions'), { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'lib' && d.name !== 'cli');
  return [...dirs.map((d) => join('functions', d.name, 'handler.ts')), 'functions/cli/main.ts', 'functions/lib/generator/worker.ts'];
}

/** The runtime import graph (static and dynamic imports) of the project's own modules. */
async function importGraph(): Promise<Map<string, string[]>> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: entryPoints(),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: 'out',
    logLevel: 'silent',
  });
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries((result.metafile as Metafile).inputs)) {
    if (file.includes('node_modules')) continue;
    graph.set(
      file,
      input.imports.filter((i) => !i.external && !i.path.includes('node_modules')).map((i) => i.path),
    );
  }
  return graph;
}

/** Every elementary cycle's strongly connected component (Tarjan), as a readable chain. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

describe('the runtime import graph of functions/', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('has no cycle', async () => {
    const graph = await importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph).map((c) => c.join(' <-> '))).toEqual([]);
  }, 60_000);
});
