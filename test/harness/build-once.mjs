// Jest globalSetup of the integration project: builds the workspace packages (libs/*/dist, with .d.ts) and the app
// (dist/) — the worker processes the suites spawn and the SDK tarball test run the built code. `tsc -b` is
// incremental: when nothing changed since the last build it only checks timestamps and writes nothing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function buildOnce() {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
