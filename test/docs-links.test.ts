/**
 * A clone of the repository stands alone: every relative link in its documentation (README.md, the
 * README of each top-level folder, and docs/*.md) names a file or folder that exists inside the
 * repository. A link out of it (`../<folder>/…`) fails even when the target happens to exist beside
 * this checkout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../', import.meta.url));

/** README.md, `<folder>/README.md` of each top-level folder, and docs/*.md, relative to the repository. */
function documentationFiles(): string[] {
  const files = ['README.md'];
  for (const entry of readdirSync(REPO, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    if (existsSync(path.join(REPO, entry.name, 'README.md'))) files.push(`${entry.name}/README.md`);
  }
  for (const f of readdirSync(path.join(REPO, 'docs'))) if (f.endsWith('.md')) files.push(`docs/${f}`);
  return files;
}

/** The relative link targets of a Markdown text (inline links and reference definitions), outside code. */
function relativeLinks(markdown: string): string[] {
  const text = markdown
    .replace(/^(```|~~~)[\s\S]*?^\1/gm, '') // fenced code blocks
    .replace(/`[^`\n]*`/g, '``'); // inline code: `a](b)` in code is not a link
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!),
  ];
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#'));
}

/** Why a link from `file` (relative to the repository) does not resolve inside it, or null. */
function brokenLink(file: string, target: string): string | null {
  const resolved = path.resolve(REPO, path.dirname(file), decodeURIComponent(target.split('#')[0]!));
  const inside = path.relative(REPO, resolved);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return `${file}: ${target} points outside the repository`;
  if (!existsSync(resolved)) return `${file}: ${target} does not exist`;
  return null;
}

describe('documentation links', () => {
  const files = documentationFiles();

  it('finds the documentation, and links in it', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/contracts.md', 'quicksight-templates/README.md']));
    expect(files.flatMap((f) => relativeLinks(readFileSync(path.join(REPO, f), 'utf8'))).length).toBeGreaterThan(2);
  });

  it('every relative link resolves to a file or folder inside the repository', () => {
    const broken = files.flatMap((f) => relativeLinks(readFileSync(path.join(REPO, f), 'utf8')).map((t) => brokenLink(f, t))).filter((x) => x !== null);
    expect(broken).toEqual([]);
  });

  it('the check refuses a link out of the repository, a missing file, and reads links the way Markdown does', () => {
    const md = [
      'See [`../outside/SPEC.md`](../outside/SPEC.md) and [the config](fixtures/config/cclake.config.example.yaml#L3).',
      '[missing]: docs/nowhere.md',
      'Not links: `[a](in-code.md)`, [site](https://example.com), [here](#quick-start).',
      '```',
      '[fenced](fenced.md)',
      '```',
    ].join('\n');
    expect(relativeLinks(md)).toEqual(['../outside/SPEC.md', 'fixtures/config/cclake.config.example.yaml#L3', 'docs/nowhere.md']);
    expect(relativeLinks(md).map((t) => brokenLink('README.md', t))).toEqual([
      'README.md: ../outside/SPEC.md points outside the repository',
      null,
      'README.md: docs/nowhere.md does not exist',
    ]);
    // Relative to the linking file's folder, and never above the repository even if the target exists.
    expect(brokenLink('docs/contracts.md', '../README.md')).toBeNull();
    expect(brokenLink('docs/contracts.md', 'README.md')).toBe('docs/contracts.md: README.md does not exist');
    expect(existsSync(path.dirname(path.resolve(REPO)))).toBe(true);
    expect(brokenLink('README.md', '..')).toBe('README.md: .. points outside the repository');
  });
});
