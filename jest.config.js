// Jest 30 + ts-jest in native ESM mode (run through `npm test`, which sets --experimental-vm-modules).
// The workspace packages (@jobstream/<dir> = libs/<dir>) run from their TypeScript sources in tests, as in
// `npm run typecheck` (the "@jobstream/source" export condition): @jobstream/<dir> -> libs/<dir>/src/index.ts and a
// subpath export @jobstream/<dir>/<name> -> libs/<dir>/src/<name>.ts. Processes that tests spawn run the built dist/.
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@jobstream/([^/]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^@jobstream/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2.ts',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
};

// Long suites that CI runs after `npm test` (`npm run test:extended`), so that `npm test` stays under 10 minutes on a
// 2-core machine: the Durable Streams protocol's own conformance suite (332 tests, run on each engine) and the
// tarball tests that install the packed SDK and worker packages into a fresh project.
const EXTENDED = [
  '/test/ds/ds-conformance\\.e2e-spec\\.ts$',
  '/test/ds/ds-conformance-on-nats\\.int-spec\\.ts$',
  '/test/packaging/',
];
const notExtended =
  process.env.JOBSTREAM_EXTENDED === '1' ? {} : { testPathIgnorePatterns: ['/node_modules/', ...EXTENDED] };

export default {
  projects: [
    // Unit specs live beside the code; they never need a broker.
    { ...common, displayName: 'unit', roots: ['<rootDir>/src', '<rootDir>/libs'], testMatch: ['**/*.spec.ts'] },
    // End-to-end suites boot the real app on a free port; integration suites start their own
    // nats-server and redis-server from the binaries on PATH.
    { ...common, ...notExtended, displayName: 'e2e', roots: ['<rootDir>/test'], testMatch: ['**/*.e2e-spec.ts'] },
    // Integration suites run against a real nats-server -js and redis-server that test/harness starts on free ports.
    // Suites that spawn worker processes run the built dist/: globalSetup builds it when a source is newer.
    {
      ...common,
      ...notExtended,
      displayName: 'integration',
      roots: ['<rootDir>/test', '<rootDir>/libs', '<rootDir>/src'],
      testMatch: ['**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/harness/build-once.mjs',
    },
    // `npm run soak:cluster` only: long randomized failover rounds on a real 3-node NATS cluster.
    ...(process.env.JOBSTREAM_SOAK
      ? [
          {
            ...common,
            displayName: 'soak',
            roots: ['<rootDir>/test'],
            testMatch: ['**/*.soak-spec.ts'],
            globalSetup: '<rootDir>/test/harness/build-once.mjs',
          },
        ]
      : []),
  ],
  testTimeout: 30000,
  // Two workers on the 2-core machines: most suites wait on child processes (nats-server, redis-server, workers) and
  // sockets, so one worker left a core idle (quiet machine: 522 s with one worker). Every suite starts its own
  // servers on free loopback ports, so suites in parallel never share a broker.
  maxWorkers: 2,
};
