/**
 * The published SDK, as a consumer gets it: `npm pack` @jobstream/sdk and @jobstream/contracts (the one workspace
 * package it needs; published too), install the tarballs into a fresh project with `npm install --offline`, then
 *   (a) a plain Node ESM script imports the SDK by name and uses it,
 *   (b) a .ts file type-checks against the shipped .d.ts with this repository's tsc (nodenext, strict), and a file
 *       with a deliberate type error fails,
 *   (c) esbuild bundles it for the browser: no Node built-ins, no zod.
 * No registry: their two registry dependencies (eventsource-parser at runtime; zod, which the contracts' event types
 * are inferred from) are packed from this repository's node_modules and installed from those tarballs too.
 * The integration project's globalSetup (test/harness/build-once.mjs) has built libs/*\/dist.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

// npm run by `npm test` exports npm_config_* / npm_package_* for the repository; the consumer project must not see them
// (npm_config_cache stays: the offline install reads that cache).
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || /^npm_config_cache$/i.test(k)) env[k] = v;
  return env;
}

let tmp = '';
let app = '';

async function npm(args: string[], cwd: string) {
  return run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 16 << 20 });
}

async function tscIn(dir: string, files: string[]) {
  const args = [
    tsc,
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--strict',
    '--noEmit',
    '--target',
    'es2022',
    '--lib',
    'es2023,dom',
    '--skipLibCheck',
    'false',
    ...files,
  ];
  try {
    const { stdout } = await run(process.execPath, args, { cwd: dir });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'jobstream-sdk-tarball-'));
  const packs = join(tmp, 'packs');
  app = join(tmp, 'app');
  await run('mkdir', ['-p', packs, app]);
  await npm(
    ['pack', '--ignore-scripts', '--pack-destination', packs, '-w', '@jobstream/contracts', '-w', '@jobstream/sdk'],
    repo,
  );
  const ours = (await readdir(packs)).filter((f) => f.endsWith('.tgz'));
  expect(ours.sort()).toEqual(['jobstream-contracts-0.1.0.tgz', 'jobstream-sdk-0.1.0.tgz']);
  for (const dep of ['zod', 'eventsource-parser'])
    await npm(['pack', '--ignore-scripts', '--pack-destination', packs, join(repo, 'node_modules', dep)], repo);
  const tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'sdk-consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  await npm(
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...tarballs],
    app,
  );
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the @jobstream/sdk tarball', () => {
  it('ships only dist, README and package.json, and depends on no unpublished workspace package', async () => {
    const installed = JSON.parse(
      (
        await run(
          process.execPath,
          ['-e', 'process.stdout.write(require("fs").readFileSync("node_modules/@jobstream/sdk/package.json","utf8"))'],
          { cwd: app },
        )
      ).stdout,
    ) as { private?: boolean; dependencies: Record<string, string> };
    expect(installed.private).toBeUndefined();
    expect(Object.keys(installed.dependencies).sort()).toEqual(['@jobstream/contracts', 'eventsource-parser']);
    const files = await readdir(join(app, 'node_modules/@jobstream/sdk'));
    expect(files.sort()).toEqual(['README.md', 'dist', 'package.json']);
    const dist = await readdir(join(app, 'node_modules/@jobstream/sdk/dist'));
    expect(dist).toContain('index.d.ts');
    expect(dist.filter((f) => /spec|testing|tsbuildinfo/.test(f))).toEqual([]);
  });

  it('(a) runs from a plain Node ESM script', async () => {
    await writeFile(
      join(app, 'main.mjs'),
      `import { createClient, reduceJobEvents, initialJobState, isTerminalEvent, JobstreamError } from '@jobstream/sdk';
const client = createClient({ baseUrl: 'http://127.0.0.1:9', fetch: async () => new Response('{"error":{"code":"not_found","message":"no such job"}}', { status: 404, headers: { 'content-type': 'application/json' } }) });
let caught;
try { await client.jobs.get('job_x'); } catch (e) { caught = e; }
const state = reduceJobEvents([{ job_id: 'job_x', seq: 1, ts: '2026-01-01T00:00:00.000Z', attempt: 1, type: 'token', text: 'hi' }], initialJobState());
console.log(JSON.stringify({ create: typeof client.jobs.create, err: caught instanceof JobstreamError, status: caught?.status, text: state.text, terminal: isTerminalEvent({ type: 'done' }) }));
`,
    );
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ create: 'function', err: true, status: 404, text: 'hi', terminal: true });
  }, 30_000);

  it('(b) type-checks with tsc --module nodenext --strict, and rejects a type error', async () => {
    await writeFile(
      join(app, 'good.ts'),
      `import { createClient, type JobEvent, type JobstreamClient, type Job } from '@jobstream/sdk';
const client: JobstreamClient = createClient({ baseUrl: 'http://localhost:3000', apiKey: 'k' });
export function text(e: JobEvent): string { return e.type === 'token' ? e.text : ''; }
export async function status(id: string): Promise<Job['status']> { return (await client.jobs.get(id)).status; }
`,
    );
    await writeFile(
      join(app, 'bad.ts'),
      `import { createClient, type JobEvent } from '@jobstream/sdk';
createClient({ baseUrl: 42 });
export function text(e: JobEvent): string { return e.text; }
`,
    );
    // One tsc run over both files (no @types/node: the SDK's types need only the DOM lib); skipLibCheck off, so the
    // shipped .d.ts (and zod's, which the event types come from) are checked too.
    const { code, out } = await tscIn(app, ['good.ts', 'bad.ts']);
    expect(code).not.toBe(0);
    const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !l.startsWith('bad.ts('))).toEqual([]); // nothing in good.ts or in any .d.ts
    expect(errors).toEqual([
      expect.stringMatching(/^bad\.ts\(2,\d+\): error TS2322/), // baseUrl: number
      expect.stringMatching(/^bad\.ts\(3,\d+\): error TS2339/), // `text` does not exist on every JobEvent
    ]);
  }, 60_000);

  it('(c) bundles for the browser with esbuild: no Node built-ins, no zod', async () => {
    await writeFile(
      join(app, 'browser.mjs'),
      `import { createClient, subscribeJobStream, reduceJobEvent, initialJobState } from '@jobstream/sdk';
const client = createClient({ baseUrl: location.origin });
subscribeJobStream('job_x', { onEvent: (e) => reduceJobEvent(initialJobState(), e) }, { client });
`,
    );
    const result = await build({
      entryPoints: [join(app, 'browser.mjs')],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('createParser'); // eventsource-parser is bundled in
    expect(code).toMatch(/function reduceJobEvent\b/);
    expect(code).not.toMatch(/["'`]node:/);
    expect(code).not.toMatch(
      /require\(\s*["'`](fs|path|http|https|net|tls|crypto|os|stream|zlib|url|util|child_process|events|buffer)["'`]\s*\)/,
    );
    expect(code).not.toMatch(/\bzod\b|ZodError/);
  }, 30_000);
});
