/**
 * Graceful shutdown of the real process: `node dist/src/main.js` (built here), an SSE stream on a slow echo job and
 * a long-poll in flight, then SIGTERM. The stream must end cleanly with a retry hint, the long-poll must be
 * answered, new connections refused, and the process must exit 0 (its hard timeout, 10 s, would exit 1).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { openSse } from './support/sse-client.js';

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

describe('graceful shutdown (child process)', () => {
  let child: ChildProcess | null = null;
  let port: number;
  let out = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
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
    // the shutdown was logged as JSON
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('SIGTERM: shutting down'))).toBe(true);
    expect(lines.some((l) => l.msg === 'SIGTERM: shut down cleanly')).toBe(true);
    expect(lines.some((l) => l.msg === 'job created' && l.job_id === job.id && l.tenant === 'acme')).toBe(true);
  }, 30_000);
});
