/**
 * The SDK must stay browser-safe: no Node built-ins, no Node globals, and only *type* imports from the contracts
 * (their runtime modules pull in zod) — except the snapshot reducer and the terminal list, which import no zod
 * themselves (checked in `libs/contracts/src/snapshot.spec.ts`). This reads the SDK's own sources and checks their imports.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));

describe('browser safety of libs/sdk/src', () => {
  it.each(sources)('%s imports only the SDK, eventsource-parser and contract types', (file) => {
    const text = readFileSync(join(here, file), 'utf8');
    const imports = [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({
      type: !!m[2],
      from: m[3]!,
    }));
    for (const i of imports) {
      if (i.from.startsWith('./')) continue;
      if (i.from === 'eventsource-parser') continue;
      if (i.from === '@jobstream/contracts/snapshot' || i.from === '@jobstream/contracts/terminal') continue;
      expect({ file, ...i }).toEqual({
        file,
        from: expect.stringMatching(/^@jobstream\/contracts\/(events|job|errors|cursor|threads)$/),
        type: true,
      });
    }
    expect(text).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
  });
});
