/**
 * Processes of a bench run: a private nats-server (JetStream, monitoring port) and redis-server on free loopback
 * ports (never the machine's 4222 / 6379), jobstream API processes, the ceiling and peer servers, client processes.
 * Everything started here is killed when the runner exits, whatever happened.
 */
import { spawn, fork } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncLocalStorage } from 'node:async_hooks';
import { newChatStats } from './chat-client.mjs';
import { addWire } from './stats-wire.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const children = new Set();
/** The chat client counters summed across client processes. */
const CHAT_COUNTERS = 'clients finished exact gaps dups drops resumes failed tokens events'.split(' ');
const dirs = new Set();

/**
 * The scenario a piece of async work belongs to (`{ name, deadline }`), set by the runner for each scenario. Every
 * process started inside a scenario is tagged with it, so a scenario over its budget can be killed (its processes)
 * without touching the shared ones (NATS, Redis, the shared clients) or the next scenario.
 */
export const scenarioScope = new AsyncLocalStorage();

function track(child) {
  child.scope = scenarioScope.getStore() ?? null;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills (SIGKILL) every process started within `scope`. */
export function killScope(scope) {
  for (const c of children) {
    if (c.scope !== scope) continue;
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function until(what, fn, timeoutMs = Number(process.env.BENCH_READY_MS) || 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function stopChild(child, signal = 'SIGTERM', graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

export async function startNats() {
  const port = await freePort();
  const mport = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'jobstream-bench-nats-'));
  dirs.add(dir);
  const child = track(
    spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(mport), '-sd', dir], {
      stdio: 'ignore',
    }),
  );
  const monitorUrl = `http://127.0.0.1:${mport}`;
  await until('nats-server', async () => (await fetch(`${monitorUrl}/healthz`)).ok);
  return { url: `nats://127.0.0.1:${port}`, monitorUrl, pid: child.pid, stop: () => stopChild(child) };
}

export async function startRedis() {
  const port = await freePort();
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    }),
  );
  const url = `redis://127.0.0.1:${port}`;
  const { connect } = await import('node:net');
  await until(
    'redis-server',
    () =>
      new Promise((res) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          res(true);
        });
        s.on('error', () => res(false));
      }),
  );
  return { url, pid: child.pid, stop: () => stopChild(child) };
}

/** A jobstream API process (`node dist/src/main.js`) with an in-process worker on the NATS engine. */
export async function startApi({ nats, redis, env = {}, nodeArgs = [] }) {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        EMBEDDED_WORKER: 'true',
        PLAYGROUND: 'false',
        HEARTBEAT_MS: '15000',
        // a benchmark measures the path, not the per-tenant protections
        RATE_LIMIT_CREATE_PER_MIN: '0',
        MAX_STREAMS_PER_TENANT: '0',
        MAX_STREAMS: '0',
        ...env,
      },
    }),
  );
  let err = '';
  child.stderr.on('data', (b) => (err = (err + b).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await until('jobstream API', async () => {
      if (child.exitCode !== null) throw Object.assign(new Error(`API exited: ${err}`), { fatal: true });
      return (await fetch(`${url}/v1/jobs?limit=1`)).ok;
    });
  } catch (e) {
    throw new Error(`${e.message}\n${err}`, { cause: e });
  }
  return { url, port, pid: child.pid, child, stop: () => stopChild(child), stderr: () => err };
}

/** A jobstream worker process (`node dist/src/worker/main.js`); ready once it logs the agents it serves. */
export async function startWorker({ nats, redis, env = {}, nodeArgs = [] }) {
  const child = track(
    spawn(process.execPath, [...nodeArgs, 'dist/src/worker/main.js'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        LOG_LEVEL: 'info',
        ...env,
      },
    }),
  );
  let out = '';
  child.stdout.on('data', (b) => (out = (out + b).slice(-8000)));
  child.stderr.on('data', (b) => (out = (out + b).slice(-8000)));
  await until('jobstream worker', async () => {
    if (child.exitCode !== null) throw Object.assign(new Error(`worker exited: ${out}`), { fatal: true });
    return out.includes('serving agents');
  });
  return { pid: child.pid, child, stop: () => stopChild(child) };
}

/** A helper server (ceiling / peer) forked from bench/. */
export async function startHelper(file, env = {}, execArgv = []) {
  const child = track(
    fork(join(ROOT, 'bench', file), [], {
      env: { ...process.env, ...env },
      execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (c) => reject(new Error(`${file} exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid, stop: () => stopChild(child) };
}

/** Client processes; `open` spreads connections across them. */
export async function startClients(n) {
  const procs = [];
  for (let i = 0; i < n; i++) {
    const child = track(
      fork(join(ROOT, 'bench', 'lib', 'client-proc.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    let seq = 0;
    const waiting = new Map();
    child.on('message', (m) => {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m);
      else w.reject(new Error(m.error));
    });
    const rpc = (msg) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        waiting.set(id, { resolve, reject });
        child.send({ ...msg, id });
      });
    procs.push({ child, rpc, pid: child.pid });
  }
  return {
    procs,
    /** Opens the connections; throws if more than `tolerate` (a fraction) of them failed. Resolves to the count opened. */
    async open(port, paths, mode = 'count', parallel = 50, tolerate = 0) {
      // `port` may be a list (several API processes): path i goes to port i mod n, so every job's clients are split
      const ports = Array.isArray(port) ? port : [port];
      const per = procs.map(() => []);
      paths.forEach((p, i) => per[i % procs.length].push([ports[i % ports.length], p]));
      const rs = await Promise.all(procs.map((p, i) => p.rpc({ cmd: 'open', targets: per[i], mode, parallel })));
      const opened = rs.reduce((a, r) => a + r.opened, 0);
      const errors = rs.flatMap((r) => r.errors);
      if (opened < paths.length * (1 - tolerate))
        throw new Error(`opened ${opened}/${paths.length} connections: ${errors.join('; ')}`);
      return opened;
    },
    async stats() {
      const rs = await Promise.all(procs.map((p) => p.rpc({ cmd: 'stats' })));
      const out = { opened: 0, failed: 0, ended: 0, tokens: 0, bytes: 0, first: Infinity, last: 0, hist: null };
      for (const r of rs) addWire(out, r, ['opened', 'failed', 'ended', 'tokens', 'bytes']);
      return out;
    },
    /** Starts chat clients (bench/lib/chat-client.mjs), spread across the processes; returns at once. */
    async chat(specs, deadlineMs, parallel = 50) {
      const per = procs.map(() => []);
      specs.forEach((s, i) => per[i % procs.length].push(s));
      await Promise.all(procs.map((p, i) => p.rpc({ cmd: 'chat', specs: per[i], deadlineMs, parallel })));
    },
    async chatReset() {
      await Promise.all(procs.map((p) => p.rpc({ cmd: 'chatReset' })));
    },
    async chatStats() {
      const rs = await Promise.all(procs.map((p) => p.rpc({ cmd: 'chatStats' })));
      const out = { running: false, ...newChatStats() };
      for (const r of rs) {
        out.running ||= r.running;
        out.errors.push(...r.errors);
        addWire(out, r, CHAT_COUNTERS);
      }
      return out;
    },
    async close() {
      await Promise.all(procs.map((p) => p.rpc({ cmd: 'close' })));
    },
    async stop() {
      for (const p of procs) stopChild(p.child, 'SIGKILL');
    },
  };
}

/** Resident set size of a process, in KiB. */
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time (user + system) of a process, in ms. */
export function cpuMs(pid) {
  const [user, sys] = cpuSplitMs(pid);
  return user + sys;
}

/** [user, system] CPU time of a process, in ms. */
export function cpuSplitMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime (fields 14, 15); CLK_TCK = 100 on Linux
  return [Number(f[11]) * 10, Number(f[12]) * 10];
}
