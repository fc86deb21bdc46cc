/**
 * The repository's Markdown links stay inside the repository and lead somewhere: every relative link names a file
 * that exists (no `../` out of the tree), and every `#anchor` into a Markdown file names one of its headings.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function markdownFiles(): string[] {
  const files = ['README.md', 'bench/README.md', 'clients/python/README.md'];
  for (const f of readdirSync(join(ROOT, 'docs'))) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const d of readdirSync(join(ROOT, 'libs')))
    if (existsSync(join(ROOT, 'libs', d, 'README.md'))) files.push(`libs/${d}/README.md`);
  return files.filter((f) => existsSync(join(ROOT, f)));
}

/** The text outside code: fenced blocks and inline code spans removed. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('Markdown links', () => {
  it('lead to files and headings inside the repository', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto: — the web, not a path
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const abs = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
        const rel = relative(ROOT, abs);
        if (rel.startsWith('..') || path.startsWith('/')) {
          broken.push(`${file}: ${target} (outside the repository)`);
          continue;
        }
        if (!existsSync(abs)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor && abs.endsWith('.md') && statSync(abs).isFile()) {
          if (!anchors(readFileSync(abs, 'utf8')).has(decodeURIComponent(anchor)))
            broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
