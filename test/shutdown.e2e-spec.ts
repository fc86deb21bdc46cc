/**
 * Graceful shutdown of the real process: `node dist/src/main.js` (built here), an SSE stream on a slow echo job and
 * a long-poll in flight, then SIGTERM. The stream must end cleanly with a retry hint, the long-poll must be
 * answered, new connections refused, and the process must exit 0 (its hard timeout, 10 s, would exit 1).
 * And `npm run start:api` as a user runs it: SIGTERM to npm must end the server, not leave it on the port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openSse } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

const ROOT = path.resolve(process.cwd());
const AUTH = { Authorization: 'Bearer key-acme-shutdown-1' };

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

/** Resolves once a TCP connect to the port is refused (bounded). */
async function refused(port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

beforeAll(() => {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'pipe',
  });
}, 90_000);

describe('graceful shutdown (child process)', () => {
  let child: ChildProcess | null = null;
  let port: number;
  let out = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    port = await freePort();
    child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        API_KEYS: 'acme:key-acme-shutdown-1',
        HEARTBEAT_MS: '500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
    const until = Date.now() + 20_000;
    while (!out.includes('jobstream API listening')) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`the API did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 90_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('on SIGTERM ends open streams with a retry hint, answers in-flight requests, refuses new connections and exits 0', async () => {
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', input: { message: 'tick '.repeat(60), delay_ms: 100 } }),
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string; stream_url: string };
    const stream = await openSse(base + job.stream_url, { headers: AUTH });
    expect(stream.status).toBe(200);
    await stream.until((items) => items.filter((i) => i.kind === 'event' && i.type === 'token').length >= 2);
    // a long-poll in flight: it must be answered, not cut
    const waiting = fetch(`${base}/v1/jobs/${job.id}/wait?timeout_s=60`, { headers: AUTH });
    await new Promise((r) => setTimeout(r, 100));

    child!.kill('SIGTERM');

    // the stream ends (cleanly, not hung or reset), with the retry hint and a comment after the last event
    expect(await stream.ended).toBe('ended');
    const tail = stream.items.slice(stream.items.findLastIndex((i) => i.kind === 'event') + 1);
    expect(tail).toEqual(
      expect.arrayContaining([
        { kind: 'retry', ms: 1000 },
        { kind: 'comment', text: expect.stringContaining('shutting down') },
      ]),
    );
    expect(stream.events().some((e) => e.type === 'done')).toBe(false);

    // the long-poll gets the job as it is
    const w = await waiting;
    expect(w.status).toBe(200);
    expect(((await w.json()) as { status: string }).status).toBe('running');

    // no new connections while the worker drains the running job
    expect(await refused(port, 5_000)).toBe(true);
    expect(child!.exitCode).toBeNull(); // refused by a live process (the worker drain takes seconds), not a dead one

    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(out).not.toContain('exiting'); // the hard-timeout path was not taken
    // every request had ended when the worker's drain (seconds) began: no false "requests still running" warning
    expect(out).not.toContain('requests still running');
    // the shutdown was logged as JSON
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('SIGTERM: shutting down'))).toBe(true);
    expect(lines.some((l) => l.msg === 'SIGTERM: shut down cleanly')).toBe(true);
    expect(
      lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(`jobstream API listening on ${base} (`)),
    ).toBe(true);
    expect(lines.some((l) => l.msg === 'job created' && l.job_id === job.id && l.tenant === 'acme')).toBe(true);
  }, 30_000);
});

/** Pids of every process below `pid` (from /proc: Linux, like the CI machines). */
function descendants(pid: number): { pid: number; comm: string; cmdline: string }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we listed
    }
  }
  const out: { pid: number; comm: string; cmdline: string }[] = [];
  const below = (p: number): boolean => p === pid || (parent.has(p) && p > 1 && below(parent.get(p)!));
  for (const [p, pp] of parent) {
    if (p === pid || !below(pp)) continue;
    try {
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      out.push({ pid: p, comm, cmdline: readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run start:api', () => {
  let npm: ChildProcess | null = null;
  let server: number | null = null;

  afterAll(() => {
    if (npm && npm.exitCode === null) npm.kill('SIGKILL');
    if (server !== null && alive(server)) process.kill(server, 'SIGKILL');
  });

  it('SIGTERM to npm ends the node server too: the port is free and no orphan is left', async () => {
    const port = await freePort();
    let out = '';
    // --ignore-scripts skips prestart's build (done above); the script itself still runs
    npm = spawn('npm', ['run', 'start:api', '--ignore-scripts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('jobstream API listening') || npm!.exitCode !== null, {
      timeoutMs: 30_000,
      message: () => `the API to start:\n${out}`,
    });
    // HOST unset: bound to every interface, and the log says so (not a loopback URL alone)
    expect(out).toContain(`jobstream API listening on 0.0.0.0:${port} (every interface; http://127.0.0.1:${port} from`);
    // the node process itself (without `exec`, a `sh -c` between npm and node shows the same command line)
    // (told apart by its program: `comm` is the main thread's name, "node" on Node 22 but "MainThread" on Node 24)
    const node = descendants(npm.pid!).find(
      (p) => path.basename(p.cmdline.split(' ')[0] ?? '') === 'node' && p.cmdline.includes('dist/src/main.js'),
    );
    expect(node).toBeDefined();
    server = node!.pid;

    npm.kill('SIGTERM');

    await waitFor(() => !alive(server!), { timeoutMs: 15_000, message: `the server (pid ${server}) to exit` });
    expect(await refused(port, 5_000)).toBe(true);
    await waitFor(() => npm!.exitCode !== null || npm!.signalCode !== null, { message: 'npm to exit' });
    expect(out).toContain('SIGTERM: shut down cleanly');
  }, 60_000);
});
