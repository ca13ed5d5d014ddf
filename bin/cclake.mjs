#!/usr/bin/env node
// The CLI runs the bundle `npm install` built into dist/ (scripts/build.mjs), and the TypeScript
// sources through tsx when there is none, when a source file is newer than it (editing never runs
// stale code) or when CCLAKE_FROM_SOURCE is set.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Newest modification time of the .ts files under these folders. */
function newestSource(dirs) {
  let newest = 0;
  for (const dir of dirs) {
    for (const e of readdirSync(root + dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts')) newest = Math.max(newest, statSync(`${e.parentPath}/${e.name}`).mtimeMs);
    }
  }
  return newest;
}

function builtMain() {
  if (process.env.CCLAKE_FROM_SOURCE) return null;
  try {
    const built = statSync(root + 'dist/main.mjs').mtimeMs;
    return newestSource(['functions', 'schemas']) <= built ? '../dist/main.mjs' : null;
  } catch {
    return null;
  }
}

const built = builtMain();
let main;
if (built) ({ main } = await import(built));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../functions/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
