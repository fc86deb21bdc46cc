import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_TYPES, TERMINAL_EVENT_TYPES } from '@jobstream/contracts';
import { loadPlaygroundAssets, PLAYGROUND_PUBLIC_DIR } from './playground.assets.js';

const sri = (s: string) => `sha384-${createHash('sha384').update(s, 'utf8').digest('base64')}`;

/** A copy of the real public/ folder to break. */
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobstream-playground-'));
  cpSync(PLAYGROUND_PUBLIC_DIR, dir, { recursive: true });
  return dir;
}

describe('playground assets', () => {
  it('fills the page from the files and the contracts: SRI hashes of the served bytes, the event types as data', () => {
    const a = loadPlaygroundAssets();
    expect(a.js).toBe(readFileSync(join(PLAYGROUND_PUBLIC_DIR, 'playground.js'), 'utf8'));
    expect(a.css).toBe(readFileSync(join(PLAYGROUND_PUBLIC_DIR, 'playground.css'), 'utf8'));
    expect(a.html).toContain(`<script src="/playground/playground.js" integrity="${sri(a.js)}"></script>`);
    expect(a.html).toContain(`<link rel="stylesheet" href="/playground/playground.css" integrity="${sri(a.css)}">`);
    const data = /<script type="application\/json" id="jobstream-contracts">([^<]*)<\/script>/.exec(a.html)![1]!;
    expect(JSON.parse(data)).toEqual({
      event_types: [...EVENT_TYPES],
      terminal_event_types: [...TERMINAL_EVENT_TYPES],
    });
    expect(a.html).not.toMatch(/\{\{/);
    expect(a.csp).toMatch(/script-src 'self'; style-src 'self'/);
  });

  it('refuses to start without its files, saying how to get them', () => {
    const dir = copy();
    try {
      rmSync(join(dir, 'playground.js'));
      expect(() => loadPlaygroundAssets(dir)).toThrow(
        /playground\.js is missing in .*ENOENT.*npm run build.*PLAYGROUND=false/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a template whose slots do not match (unknown or missing)', () => {
    const dir = copy();
    try {
      const html = readFileSync(join(dir, 'index.html'), 'utf8');
      writeFileSync(join(dir, 'index.html'), html.replace('</body>', '{{NOPE}}</body>'));
      expect(() => loadPlaygroundAssets(dir)).toThrow(/unknown slot \{\{NOPE\}\}/);
      writeFileSync(join(dir, 'index.html'), html.replace('{{CONTRACTS_JSON}}', '[]'));
      expect(() => loadPlaygroundAssets(dir)).toThrow(/lacks the slot\(s\) \{\{CONTRACTS_JSON\}\}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
