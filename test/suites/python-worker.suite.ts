/**
 * A Python-defined agent served by the Python package's `run_worker` (clients/python, Debian's python3, standard
 * library only) over the HTTP worker protocol, against the real app: jobs created and streamed by the TypeScript
 * SDK and by the Python client, an approval answered mid-job, a cancel, and a worker killed mid-job (the job is
 * retried as the next attempt by another worker).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient, type JobEvent } from '@jobstream/sdk';
import type { TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { PKG, PYTHON, runPython } from '../support/python.js';

const KEY = 'python-worker-e2e-tenant-key-0001';
const WORKER_KEY = 'python-worker-e2e-worker-key-0123456789';
const MESSAGE = 'Agents from anywhere: a Python worker streams every token once, in order, ünïcödé ✓ included.';

interface PyWorker {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const workers = new Set<PyWorker>();

/** `examples/echo_agent.py` (agent `py-echo`) as a real process. */
function startPythonWorker(app: TestApp, id: string): PyWorker {
  const child = spawn(PYTHON, ['examples/echo_agent.py'], {
    cwd: PKG,
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: join(PKG, 'src'),
      PYTHONDONTWRITEBYTECODE: '1',
      JOBSTREAM_URL: app.url,
      JOBSTREAM_WORKER_KEY: WORKER_KEY,
      CONCURRENCY: '4',
      SHUTDOWN_GRACE_S: '1',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const w: PyWorker = {
    child,
    output: () => `[${id}]\n${out}`,
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
  };
  workers.add(w);
  void w.exited.then(() => workers.delete(w));
  return w;
}

const python = (code: string, env: Record<string, string>) => runPython(['-c', code], env, 60_000);

const textOf = (events: JobEvent[], attempt?: number) =>
  events
    .filter((e) => e.type === 'token' && (attempt === undefined || e.attempt === attempt))
    .map((e) => (e as JobEvent<'token'>).text)
    .join('');

export function pythonWorkerSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`Python worker (clients/python run_worker) against the real app (${engine})`, () => {
    let app: TestApp;
    let worker: PyWorker;
    let sdk: ReturnType<typeof createClient>;

    beforeAll(async () => {
      app = await start({
        API_KEYS: `acme:${KEY}`,
        WORKER_KEYS: `py:${WORKER_KEY}`,
        WORKER_LEASE_S: '3',
        MAX_ATTEMPTS: '3',
      });
      sdk = createClient({ baseUrl: app.url, apiKey: KEY });
      worker = startPythonWorker(app, 'first');
      await waitFor(async () => (await sdk.agents.list()).items.find((a) => a.name === 'py-echo' && a.workers > 0), {
        timeoutMs: 30_000,
      });
    }, 60_000);
    afterEach(() => {
      for (const w of workers) if (w.child.exitCode !== null) workers.delete(w);
    });
    afterAll(async () => {
      for (const w of workers) {
        w.child.kill('SIGTERM');
        await w.exited;
      }
      await app?.close();
    });

    const collect = async (jobId: string, onEvent?: (e: JobEvent) => Promise<void> | void) => {
      const out: JobEvent[] = [];
      for await (const e of sdk.jobs.stream(jobId)) {
        out.push(e as JobEvent);
        await onEvent?.(e as JobEvent);
      }
      return out;
    };

    it('is announced with its schema, and runs a job the TypeScript SDK creates and streams', async () => {
      const listed = (await sdk.agents.list()).items.find((a) => a.name === 'py-echo')!;
      expect(listed.input_schema).toMatchObject({ type: 'object', required: ['message'] });
      const bad = await app.api('/v1/jobs', {
        body: { agent: 'py-echo', input: { nope: 1 } },
        headers: { Authorization: `Bearer ${KEY}` },
      });
      expect(bad.status).toBe(400);
      const job = await sdk.jobs.create({ agent: 'py-echo', input: { message: MESSAGE, delay_ms: 1 } });
      const events = await collect(job.id);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(textOf(events)).toBe(MESSAGE);
      expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: MESSAGE } });
      expect((await sdk.jobs.get(job.id)).status).toBe('completed');
    }, 60_000);

    it('runs a job the Python client creates and streams', async () => {
      const r = await python(
        [
          'import json, os',
          'from jobstream import Client',
          'c = Client(os.environ["URL"], os.environ["KEY"])',
          'job = c.create("py-echo", {"message": os.environ["MSG"], "delay_ms": 2})',
          'events = list(c.stream(job["id"]))',
          'print(json.dumps({"id": job["id"], "text": "".join(e.text for e in events if e.type == "token"),',
          '  "seqs": [e.seq for e in events], "last": events[-1].type}))',
        ].join('\n'),
        { URL: app.url, KEY, MSG: MESSAGE },
      );
      if (r.code !== 0) throw new Error(`python client failed:\n${r.stderr}`);
      const out = JSON.parse(r.stdout) as { id: string; text: string; seqs: number[]; last: string };
      expect(out.text).toBe(MESSAGE);
      expect(out.last).toBe('done');
      expect(out.seqs).toEqual(out.seqs.map((_, i) => i + 1));
      expect((await sdk.jobs.get(out.id)).status).toBe('completed');
    }, 60_000);

    it('asks for an approval over HTTP: the job parks, the SDK answers, the agent continues from history', async () => {
      const job = await sdk.jobs.create({
        agent: 'py-echo',
        input: { message: MESSAGE, delay_ms: 1, ask: { after: 3, prompt: 'Go on?' } },
      });
      const events = await collect(job.id, async (e) => {
        if (e.type === 'input_required') {
          expect(e).toMatchObject({ kind: 'approval', prompt: 'Go on?' });
          await waitFor(async () => (await sdk.jobs.get(job.id)).status === 'waiting_for_input');
          await sdk.jobs.input(job.id, { request_id: e.request_id, input: { approved: true } });
        }
      });
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === 'input_required')).toHaveLength(1);
      expect(types.indexOf('input_required')).toBeLessThan(types.indexOf('input_received'));
      expect(textOf(events)).toBe(MESSAGE); // nothing emitted twice after the answer
      expect(events.at(-1)!.type).toBe('done');
      expect(new Set(events.map((e) => e.attempt))).toEqual(new Set([1]));
    }, 60_000);

    it('a cancel reaches the Python agent: it stops and the job ends cancelled with its usage', async () => {
      const long = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
      const job = await sdk.jobs.create({ agent: 'py-echo', input: { message: long, delay_ms: 50 } });
      let cancelled = false;
      const events = await collect(job.id, async (e) => {
        if (e.type === 'token' && !cancelled) {
          cancelled = true;
          await sdk.jobs.cancel(job.id, { reason: 'python, stop' });
        }
      });
      expect(events.at(-1)).toMatchObject({ type: 'cancelled', reason: 'python, stop' });
      expect((events.at(-1) as JobEvent<'cancelled'>).usage.output_tokens).toBeGreaterThanOrEqual(1);
      expect(textOf(events).length).toBeLessThan(long.length);
      expect((await sdk.jobs.get(job.id)).status).toBe('cancelled');
    }, 60_000);

    it('a Python worker killed mid-job: its lease lapses and another worker runs the job as the next attempt', async () => {
      const long = Array.from({ length: 40 }, (_, i) => `t${i}`).join(' ');
      const job = await sdk.jobs.create({ agent: 'py-echo', input: { message: long, delay_ms: 100 } });
      let killed = false;
      let second: PyWorker | null = null;
      const events = await collect(job.id, (e) => {
        if (e.type === 'token' && !killed && textOf([e]).length > 0) {
          killed = true;
          worker.child.kill('SIGKILL');
          second = startPythonWorker(app, 'second');
        }
      });
      expect(killed).toBe(true);
      expect(second).not.toBeNull();
      const attempt = events.find((e) => e.type === 'attempt') as JobEvent<'attempt'> | undefined;
      expect(attempt).toMatchObject({ attempt: 2, reason: 'worker_lost' });
      expect(textOf(events, 2)).toBe(long); // the new attempt from the start; attempt 1's tokens are void
      expect(events.at(-1)).toMatchObject({ type: 'done', attempt: 2 });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const j = await sdk.jobs.get(job.id);
      expect(j).toMatchObject({ status: 'completed', attempt: 2 });
    }, 90_000);
  });
}
