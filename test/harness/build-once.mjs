// Jest globalSetup of the integration project: builds dist/ (the worker processes the suites spawn run the built
// code) unless dist/ is already newer than every source file — the same two steps as `npm run build`: tsc, then
// scripts/copy-assets.mjs (the playground's files).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASSET_DIRS, copyAssets } from '../../scripts/copy-assets.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

function newest(dir, all = false) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p, all));
    else if (all || e.name.endsWith('.ts')) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

export default function buildOnce() {
  const entry = join(root, 'dist/src/worker/main.js');
  const sources = Math.max(
    newest(join(root, 'src')),
    newest(join(root, 'libs')),
    ...ASSET_DIRS.map((d) => newest(join(root, d), true)),
    statSync(join(root, 'tsconfig.build.json')).mtimeMs,
  );
  const assetsThere = ASSET_DIRS.every((d) => existsSync(join(root, 'dist', d)));
  if (existsSync(entry) && assetsThere && statSync(entry).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  copyAssets();
}
