// Copies the non-TypeScript files the built app reads at run time into dist/, beside the compiled modules that read
// them (tsc copies only what it compiles). Part of `npm run build`, after tsc; re-runnable; no dependencies.
//   node scripts/copy-assets.mjs
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Source folder → folder under dist/ (the same relative path, as tsc lays out the modules). */
export const ASSET_DIRS = ['src/playground/public'];

export function copyAssets(from = root, to = `${root}dist/`) {
  for (const dir of ASSET_DIRS) {
    const src = `${from}${dir}`;
    if (!existsSync(src)) throw new Error(`copy-assets: ${src} is missing`);
    const dest = `${to}${dir}`;
    rmSync(dest, { recursive: true, force: true }); // no stale file survives a rename or a delete
    cpSync(src, dest, { recursive: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) copyAssets();
