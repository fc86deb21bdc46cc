// Jest globalSetup of the integration project: builds the workspace packages (libs/*/dist, with .d.ts) and the app
// (dist/) — the worker processes the suites spawn and the SDK tarball test run the built code. `tsc -b` is
// incremental: when nothing changed since the last build it only checks timestamps and writes nothing. Then, as
// `npm run build` does, scripts/copy-assets.mjs copies the files the app reads at run time (the playground's).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyAssets } from '../../scripts/copy-assets.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function buildOnce() {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  copyAssets();
}
