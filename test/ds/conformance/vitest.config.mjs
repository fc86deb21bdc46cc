// The conformance CLI runs vitest on its test file inside node_modules, which vitest 4 excludes by default: the CLI
// runs with this directory as its working directory, so vitest takes this config and finds the file.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const pkg = dirname(createRequire(import.meta.url).resolve('@durable-streams/server-conformance-tests/package.json'));

export default {
  test: {
    dir: join(pkg, 'dist'),
    include: ['test-runner.js'],
    exclude: [],
    // the suite sets no per-test time, so vitest's 5 s default applies: on a loaded 2-core machine the property tests
    // (many appends and reads each) can pass it on JetStream; a time budget is not what the suite checks
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
};
