/**
 * The published worker package, as a user in another repository gets it: `npm pack` @jobstream/worker and the
 * workspace packages it needs, install the tarballs into a fresh project with `npm install --offline` (their
 * registry dependencies — nats, ioredis, ajv, … — are packed from this repository's node_modules, so no registry is
 * involved), define an agent in the project's own file, and serve it with `createWorker` in the project's own
 * process against a real nats-server -js and redis-server and a real jobstream API process (`dist/src/main.js`,
 * which has no worker of its own on NATS). A job of that agent is created and streamed with the SDK.
 * The integration project's globalSetup (test/harness/build-once.mjs) has built libs/*\/dist and dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, streamJobUntilComplete, type JobstreamClient } from '@jobstream/sdk';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const WORKSPACES = [
  'contracts',
  'event-log',
  'job-queue',
  'nats',
  'redis',
  'job-store',
  'thread-store',
  'job-domain',
  'worker',
];
const KEY = 'tarball-test-key-0123456789';

/** npm's own npm_* variables of a `npm test` run must not leak into the consumer project (the cache may). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || /^npm_config_cache$/i.test(k)) env[k] = v;
  return env;
}

const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 16 << 20 });

/** Where `name` resolves from `fromDir`, as Node would (the nearest node_modules up to the repository). */
function resolveDir(name: string, fromDir: string): string {
  const root = repo.replace(/\/$/, '');
  for (let dir = fromDir; dir.startsWith(root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === dirname(dir)) break;
  }
  throw new Error(`cannot resolve ${name} from ${fromDir}`);
}

/** The registry packages (directories) the workspace packages need at run time, transitively. */
async function registryClosure(): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (pkgDir: string) => {
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (name.startsWith('@jobstream/')) continue;
      let dir: string;
      try {
        dir = resolveDir(name, pkgDir);
      } catch (err) {
        if (pkg.optionalDependencies?.[name]) continue; // an optional dependency not installed here
        throw err;
      }
      if (seen.has(dir)) continue;
      seen.add(dir);
      await visit(dir);
    }
  };
  for (const w of WORKSPACES) await visit(join(repo, 'libs', w));
  return [...seen];
}

let tmp = '';
let app = '';
let nats: RunningNats;
let redis: RunningServer;
let api: ApiProcess;
let client: JobstreamClient;
const children = new Set<ChildProcess>();

interface WorkerChild {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startUserWorker(): WorkerChild {
  const child = spawn(process.execPath, ['worker.mjs'], {
    cwd: app,
    env: {
      PATH: process.env.PATH ?? '',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return { child, output: () => out, exited };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'jobstream-worker-tarball-'));
  const packs = join(tmp, 'packs');
  app = join(tmp, 'app');
  await mkdir(packs);
  await mkdir(join(app, 'agents'), { recursive: true });
  await npm(
    ['pack', '--ignore-scripts', '--pack-destination', packs, ...WORKSPACES.flatMap((w) => ['-w', `@jobstream/${w}`])],
    repo,
  );
  const ours = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).sort();
  expect(ours).toEqual(WORKSPACES.map((w) => `jobstream-${w}-0.1.0.tgz`).sort());
  await npm(['pack', '--ignore-scripts', '--pack-destination', packs, ...(await registryClosure())], repo);
  const tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'my-agents', version: '1.0.0', private: true, type: 'module' }),
  );
  await npm(
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...tarballs],
    app,
  );
  // the user's agent, in its own file
  await writeFile(
    join(app, 'agents', 'shout.mjs'),
    `import { defineAgent, abortableDelay } from '@jobstream/worker';

export const shout = defineAgent({
  name: 'shout',
  description: 'Says the message back, louder',
  inputSchema: {
    type: 'object',
    properties: { message: { type: 'string', maxLength: 200 }, delay_ms: { type: 'integer', minimum: 0 } },
    required: ['message'],
    additionalProperties: false,
  },
  async *run(ctx) {
    const words = ctx.input.message.toUpperCase().split(' ');
    for (const w of words) {
      await abortableDelay(ctx.input.delay_ms ?? 0, ctx.signal).catch(() => {});
      if (ctx.signal.aborted) return;
      yield { type: 'token', text: w + ' ' };
      ctx.usage.output_tokens++;
    }
    yield { type: 'done', usage: { ...ctx.usage }, output: { text: words.join(' ') } };
  },
});
`,
  );
  await writeFile(
    join(app, 'worker.mjs'),
    `import { createWorker } from '@jobstream/worker';
import { shout } from './agents/shout.mjs';

const worker = createWorker({ agents: [shout], natsUrl: process.env.NATS_URL, redisUrl: process.env.REDIS_URL, concurrency: 2 });
await worker.start();
console.log('worker ready ' + worker.id);
process.once('SIGTERM', () => {
  worker.stop().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
});
`,
  );
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  api = await spawnApi({
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    API_KEYS: `acme:${KEY}`,
  });
  client = createClient({ baseUrl: api.url, apiKey: KEY });
}, 240_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await api?.stop();
  await Promise.all([nats?.destroy(), redis?.destroy()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the @jobstream/worker tarball', () => {
  it('installs with its workspace dependencies from tarballs, shipping dist and README', async () => {
    const files = await readdir(join(app, 'node_modules/@jobstream/worker'));
    expect(files.sort()).toEqual(['README.md', 'dist', 'package.json']);
    const dist = await readdir(join(app, 'node_modules/@jobstream/worker/dist'));
    expect(dist).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'runtime.js']));
    expect(dist.filter((f) => /spec|testing|tsbuildinfo/.test(f))).toEqual([]);
  });

  it('type-checks a TypeScript agent against the shipped .d.ts (nodenext, strict), and rejects a type error', async () => {
    await writeFile(
      join(app, 'typed.ts'),
      `import { createWorker, defineAgent, type AgentContext, type Worker } from '@jobstream/worker';
export const greet = defineAgent<{ name: string }>({
  name: 'greet',
  inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  async *run(ctx: AgentContext & { input: { name: string } }) {
    yield { type: 'token', text: 'hello ' + ctx.input.name };
    yield { type: 'done', usage: ctx.usage, output: { text: 'hello' } };
  },
});
export const worker: Worker = createWorker({ agents: [greet], natsUrl: 'nats://h:4222', redisUrl: 'redis://h:6379' });
`,
    );
    await writeFile(
      join(app, 'bad.ts'),
      `import { defineAgent } from '@jobstream/worker';
export const bad = defineAgent({ name: 'bad', async *run() { yield { type: 'token', txt: 'x' }; } });
`,
    );
    const args = [
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--strict',
      '--noEmit',
      '--target',
      'es2022',
    ];
    let out = '';
    let code = 0;
    try {
      await run(process.execPath, [tsc, ...args, '--lib', 'es2023', '--skipLibCheck', 'typed.ts', 'bad.ts'], {
        cwd: app,
      });
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      code = err.code ?? 1;
      out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
    expect(code).not.toBe(0);
    const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith('bad.ts('))).toEqual([]); // typed.ts is clean
  }, 60_000);

  it("serves the project's own agent: announced, validated, run end to end, cancelled; withdrawn on SIGTERM", async () => {
    const w = startUserWorker();
    try {
      await waitFor(
        () => {
          if (w.child.exitCode !== null) throw new Error(`the worker exited:\n${w.output()}`);
          return /worker ready/.test(w.output());
        },
        {
          timeoutMs: 30_000,
          message: () => `the worker to start:\n${w.output()}`,
        },
      );
      // announced to the catalogue through NATS: the API lists it and validates creates against its schema
      const listed = await client.agents.list();
      expect(listed.items.find((a) => a.name === 'shout')).toMatchObject({
        description: 'Says the message back, louder',
        workers: 1,
        input_schema: { required: ['message'] },
      });
      const refused = await client.jobs.create({ agent: 'shout', input: { message: 5 } }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 400, code: 'invalid_request' });

      // a job end to end, streamed over SSE by the SDK
      const job = await client.jobs.create({ agent: 'shout', input: { message: 'hello from a tarball' } });
      const { text, job: final } = await streamJobUntilComplete(job.id, { client });
      expect(text).toBe('HELLO FROM A TARBALL ');
      expect(final).toMatchObject({ status: 'completed', attempt: 1, usage: { output_tokens: 4 } });
      const events = await client.jobs.events(job.id);
      // consecutive token events as one: tokens that came while an append was in flight share an event
      expect(events.events.map((e) => e.type).filter((t, i, all) => t !== 'token' || all[i - 1] !== 'token')).toEqual([
        'status',
        'status',
        'token',
        'done',
      ]);

      // cancel reaches the agent in the user's process
      const slow = await client.jobs.create({
        agent: 'shout',
        input: { message: 'a b c d e f g h i j k l m n o p', delay_ms: 200 },
      });
      await waitFor(async () => (await client.jobs.get(slow.id)).status === 'running', { timeoutMs: 15_000 });
      await client.jobs.cancel(slow.id, { reason: 'enough' });
      const cancelled = await client.jobs.wait(slow.id, { timeoutS: 15 });
      expect(cancelled).toMatchObject({ status: 'cancelled' });
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
    const after = await client.agents.list();
    expect(after.items.find((a) => a.name === 'shout')).toMatchObject({ workers: 0 });
  }, 90_000);
});
