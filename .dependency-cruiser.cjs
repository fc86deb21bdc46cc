/**
 * The layering of jobstream, checked by `npm run lint:deps` (dependency-cruiser):
 *
 *   API app (src/<features>, app.module, bootstrap, main) ──▶ worker core (src/worker-core) ◀── worker app (src/worker)
 *                         └──────────────▶ shared platform (config, engine, watchdog, logging, tracing, …) ◀──┘
 *   libs/* ◀── everything; libs never import the apps. libs/job-domain (dispatch, ending, dedup ids, caps, threads) is
 *   below the platform and the worker; the platform never imports the worker core or the worker app.
 *
 * - The API never imports the worker app, and the worker app never imports the API (directly or through anything
 *   else: the worker process must not load AppModule or any API feature).
 * - The worker core imports neither app.
 * - No circular dependencies (type-only imports included).
 * - Tests (specs, test/, testing/ helpers) may import anything.
 */
// src/ds/store/ (the Durable Streams metadata port and drivers) is built by the engine: shared, not API
const API_FEATURES =
  '^src/(jobs|threads|job-management|shares|webhooks|playground|docs|health|auth|ag-ui|agents|ds/(?!store/)|worker-api/(?!leases/))';
const API_ROOT = '^src/(app\\.module|bootstrap|main)\\.ts$';
const API = `${API_FEATURES}|${API_ROOT}`;
/** The API's HTTP-side platform (Prometheus endpoint, request limits, SSE writers, HTTP shutdown): API-only too. */
const API_HTTP =
  '^src/(metrics|limits|sse)/|^src/lifecycle/(lifecycle\\.module|shutdown\\.service)\\.ts$|^src/common/(all-exceptions\\.filter|client-error|zod-validation\\.pipe)\\.ts$';
const WORKER_APP = '^src/worker/';
const WORKER_CORE = '^src/worker-core/';
const TESTS = '(\\.spec|\\.int-spec|\\.e2e-spec|\\.soak-spec)\\.ts$|^test/|/testing/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Modules must not depend on themselves through others (type-only imports included): split the shared part out.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'api-not-to-worker-app',
      severity: 'error',
      comment: 'The API imports the worker core (src/worker-core), never the worker app (src/worker).',
      from: { path: API, pathNot: TESTS },
      to: { path: WORKER_APP },
    },
    {
      name: 'worker-app-not-to-api',
      severity: 'error',
      comment: 'The worker app builds its own module graph: no API feature, AppModule or API bootstrap.',
      from: { path: WORKER_APP, pathNot: TESTS },
      to: { path: API },
    },
    {
      name: 'worker-process-never-loads-the-api',
      severity: 'error',
      comment: 'Nothing the worker entry point reaches, directly or through shared code, may be part of the API app.',
      from: { path: '^src/worker/main\\.ts$' },
      to: { path: `${API}|${API_HTTP}`, reachable: true },
    },
    {
      name: 'worker-core-not-to-apps',
      severity: 'error',
      comment: 'The worker core is imported by both apps and imports neither.',
      from: { path: WORKER_CORE, pathNot: TESTS },
      to: { path: `${API}|${WORKER_APP}` },
    },
    {
      name: 'shared-not-to-apps',
      severity: 'error',
      comment:
        'Shared platform code (config, engine, watchdog, logging, tracing, …) is imported by both apps and imports neither.',
      from: { path: '^src/', pathNot: `${API}|${API_HTTP}|${WORKER_APP}|${WORKER_CORE}|${TESTS}` },
      to: { path: `${API}|${WORKER_APP}` },
    },
    {
      name: 'platform-not-to-worker-core',
      severity: 'error',
      comment:
        'Shared platform code (engine, watchdog, config, …) sits below the worker: it takes the job domain from @jobstream/job-domain, never from the worker app or the worker core.',
      from: { path: '^src/', pathNot: `${API}|${API_HTTP}|${WORKER_APP}|${WORKER_CORE}|${TESTS}` },
      to: { path: `${WORKER_CORE}|${WORKER_APP}` },
    },
    {
      name: 'job-domain-below-the-worker',
      severity: 'error',
      comment: 'The job domain is used by the API, the platform and the worker: it imports none of them.',
      from: { path: '^libs/job-domain/', pathNot: TESTS },
      to: { path: '^libs/(worker|sdk)/' },
    },
    {
      name: 'libs-not-to-src',
      severity: 'error',
      comment: 'Libraries (future @jobstream/* packages) never import the apps.',
      from: { path: '^libs/', pathNot: TESTS },
      to: { path: '^src/' },
    },
    {
      name: 'hot-cache-behind-replay-source',
      severity: 'error',
      comment:
        "The hot window is read through the ReplaySource only: the live hub fills it through its FeedWindow interface (no import), and the app builds it from the package index (in src/, eslint's no-restricted-imports keeps it in jobs.module).",
      from: { path: '^libs/event-log/src/', pathNot: `^libs/event-log/src/(replay-source|index)\\.ts$|${TESTS}` },
      to: { path: '^libs/event-log/src/hot-cache\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // built output (dist/, libs/*/dist/) is not source
    exclude: { path: '(^|/)(dist|node_modules|coverage)/' },
    // type-only imports count: a type cycle is still a design cycle
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // '@jobstream/source': the workspace packages' own sources (libs/*/package.json exports), once libs are packages
      conditionNames: ['@jobstream/source', 'import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
