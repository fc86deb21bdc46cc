/**
 * The worker process never loads the API: `node dist/src/worker/main.js` in a fresh process, with a module loader
 * hook that records every module the process loads, up to the point where it tries to reach NATS (it gets as far
 * as the dynamic import of the NATS engine, then fails to connect to a port that closes every connection). None of the recorded
 * modules may be part of the API app (AppModule, the API bootstrap and entry point, any API feature, the HTTP-side
 * platform). `npm run lint:deps` checks the same statically (rule `worker-process-never-loads-the-api`); this checks
 * what Node actually loads.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST_SRC = fileURLToPath(new URL('../../dist/src/', import.meta.url));
const MAIN = join(DIST_SRC, 'worker/main.js');

/** The API app's modules (paths under dist/src/), as in .dependency-cruiser.cjs. */
const API_MODULE =
  /^(jobs|threads|job-management|shares|webhooks|playground|docs|health|auth|metrics|limits|sse)\/|^(app\.module|bootstrap|main)\.js$|^lifecycle\/(lifecycle\.module|shutdown\.service)\.js$/;

/**
 * A loopback port that refuses NATS: held by this test for its whole duration (so no other suite's nats-server can
 * take it meanwhile), every connection closed at once.
 */
async function refusingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = createServer((socket) => socket.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return { port, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

async function modulesLoadedByWorker(): Promise<{ loaded: string[]; code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'jobstream-graph-'));
  const nats = await refusingPort();
  try {
    const out = join(dir, 'loaded.txt');
    writeFileSync(out, '');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
let out;
export async function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(out, url + '\\n');
  return next(url, context);
}
`,
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)}, import.meta.url, { data: { out: ${JSON.stringify(out)} } });
`,
    );
    const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, MAIN], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', NATS_URL: `nats://127.0.0.1:${nats.port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const distUrl = pathToFileURL(DIST_SRC).href;
    const loaded = readFileSync(out, 'utf8')
      .split('\n')
      .filter((u) => u.startsWith(distUrl))
      .map((u) => u.slice(distUrl.length));
    return { loaded: [...new Set(loaded)].sort(), code, output };
  } finally {
    await nats.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the worker process module graph', () => {
  it('loads the worker app, the worker core and the NATS engine, and nothing of the API', async () => {
    const { loaded, code, output } = await modulesLoadedByWorker();
    // it got as far as connecting to NATS (so the whole graph, dynamic imports included, was loaded) and failed there
    expect(output).toMatch(/cannot connect to NATS/);
    expect(code).toBe(1);
    // the hook saw the worker's own modules (the check below is not vacuous)
    expect(loaded).toEqual(
      expect.arrayContaining([
        'worker/main.js',
        'worker/worker.bootstrap.js',
        'worker/worker.module.js',
        'worker-core/worker-core.module.js',
        'worker-core/worker.service.js',
        'config/worker.config.js',
        'engine/nats-engine.js',
        'watchdog/job-watchdog.js',
      ]),
    );
    expect(loaded.filter((m) => API_MODULE.test(m))).toEqual([]);
    expect(loaded).not.toContain('config/config.js'); // the API's config (API_KEYS, PORT, CORS …)
  }, 60_000);
});
