#!/usr/bin/env node
/**
 * Builds the CLI into dist/ (run by `npm install` through `prepare`, or `npm run build`): one ESM
 * bundle of functions/cli/main.ts plus split chunks for what its commands import on demand, so
 * `cclake` starts without compiling TypeScript. Packages stay external (node_modules is beside it).
 * Sources find their files (sql/, fixtures/, the generator's worker, the page runtime) relative to
 * `import.meta.url`; in the bundle that expression is each source file's own URL, so those paths
 * still resolve in the source tree. bin/cclake.mjs falls back to tsx when dist/ is missing or older
 * than a source file.
 */
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'dist');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without devDependencies: the CLI runs the sources through tsx instead.
  console.error('cclake build: esbuild is not installed; the CLI will run from source through tsx');
  process.exit(0);
}

const sourceUrl = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs|js)$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = path.relative(outdir, args.path).split(path.sep).join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'functions/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  plugins: [sourceUrl],
});
