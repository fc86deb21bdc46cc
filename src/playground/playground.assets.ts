/**
 * The playground's files — `public/index.html`, `playground.css`, `playground.js` — read once at start, from
 * `public/` next to this module: `dist/src/playground/public/` in the build (`scripts/copy-assets.mjs` copies them
 * there), `src/playground/public/` when the sources run under ts-jest.
 *
 * The page is served at `/`, its script and style under `/playground/`. The CSP allows scripts and styles from this
 * origin only (no inline code at all), and the page pins both files by their SRI hash, computed here from the bytes
 * it serves. The event types the page listens for come from the contracts, put into the page as a JSON data block
 * (not a script: the CSP does not apply to it and nothing executes it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, TERMINAL_EVENT_TYPES } from '@jobstream/contracts';

export const PLAYGROUND_ASSETS = Symbol('PLAYGROUND_ASSETS');

/** Where the files are read from by default. */
export const PLAYGROUND_PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/** URL paths of the two subresources (the HTML names them; the controller serves them). */
export const PLAYGROUND_JS_PATH = '/playground/playground.js';
export const PLAYGROUND_CSS_PATH = '/playground/playground.css';

/** Requests and subresources only from this origin; no inline code, frames, forms, plugins or base-uri tricks. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** What the page knows of the contracts (the script reads it from `#jobstream-contracts`). */
export const PLAYGROUND_CONTRACTS = { event_types: EVENT_TYPES, terminal_event_types: TERMINAL_EVENT_TYPES } as const;

export interface PlaygroundAssets {
  readonly html: string;
  readonly js: string;
  readonly css: string;
  readonly csp: string;
}

/** The SRI value of a text as served (UTF-8). */
const sri = (text: string) => `sha384-${createHash('sha384').update(text, 'utf8').digest('base64')}`;

function read(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    throw new Error(
      `the playground's ${name} is missing in ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}): ` +
        '`npm run build` copies src/playground/public/ into dist/; or set PLAYGROUND=false',
      { cause: err },
    );
  }
}

/** Fills each `{{NAME}}` slot of the template; every slot must be known and used (a stale template fails at start). */
function fill(template: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const out = template.replace(/\{\{([A-Z_]+)\}\}/g, (slot, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`the playground's index.html has an unknown slot ${slot}`);
    used.add(name);
    return v;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length)
    throw new Error(`the playground's index.html lacks the slot(s) ${unused.map((k) => `{{${k}}}`).join(', ')}`);
  return out;
}

/** JSON safe inside a `<script type="application/json">` element (no `</script>` or `<!--` can appear in it). */
const jsonForHtml = (v: unknown) =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

export function loadPlaygroundAssets(dir: string = PLAYGROUND_PUBLIC_DIR): PlaygroundAssets {
  const js = read(dir, 'playground.js');
  const css = read(dir, 'playground.css');
  const html = fill(read(dir, 'index.html'), {
    JS_INTEGRITY: sri(js),
    CSS_INTEGRITY: sri(css),
    CONTRACTS_JSON: jsonForHtml(PLAYGROUND_CONTRACTS),
  });
  return { html, js, css, csp: PLAYGROUND_CSP };
}
