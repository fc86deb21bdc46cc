/**
 * The agent-worker microservice as real processes (`node dist/src/worker/main.js`) against a real nats-server -js
 * and redis-server, with the API in this process (no in-process worker): dispatch, load sharing, cancel across
 * processes, crash recovery (SIGKILL), the watchdog, graceful shutdown (SIGTERM).
 *
 * JOB_STALL_TIMEOUT_MS is 1500 (the queue's ack wait; the watchdog acts after 2 × that). Latencies are measured
 * and printed, never asserted tightly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { TokenAssembler } from '@jobstream/sdk';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { openSse, type SseResponse } from '../support/sse-client.js';
import { sleep, waitFor } from '../support/wait.js';
import { pingWorkers, spawnWorker, type WorkerProcess } from '../support/worker-process.js';

const STALL_MS = 1500;

let app: NatsTestApp;
let workerEnv: Record<string, string>;
const workers: WorkerProcess[] = [];
const measured: Record<string, number[]> = {};
const measure = (what: string, ms: number) => (measured[what] ??= []).push(ms);

async function worker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = await spawnWorker({ ...workerEnv, ...env });
  workers.push(w);
  return w;
}

async function createJob(input: Record<string, unknown>): Promise<string> {
  const r = await app.api('/v1/jobs', { body: { agent: 'echo', input } });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

const stream = (id: string): Promise<SseResponse> => openSse(`${app.url}/v1/jobs/${id}/stream`);
const events = (s: SseResponse): JobEvent[] => s.events();
const isTerminal = (e: JobEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
const ended = (s: SseResponse, ms = 30_000) =>
  s.until((items) => items.some((i) => i.kind === 'event' && isTerminal(i.event)), ms);
const tokens = (s: SseResponse, attempt?: number) =>
  events(s).filter((e) => e.type === 'token' && (attempt === undefined || e.attempt === attempt)).length;

/** The worker whose ping lists the job as running (polls until one does). */
async function holderOf(jobId: string): Promise<string> {
  const holder = await waitFor(
    async () => (await pingWorkers(app.nats.url)).find((p) => p.running_jobs.includes(jobId)),
    {
      intervalMs: 50,
      message: `a worker to report running ${jobId}`,
    },
  );
  return holder.worker_id;
}

/** The text a client assembles (attempts honoured), and checks that events are dense and attempts never interleave. */
function assembled(evs: JobEvent[]): string {
  const a = new TokenAssembler();
  evs.forEach((e, i) => {
    expect(e.seq).toBe(i + 1);
    a.apply(e);
  });
  let attempt = 0;
  for (const e of evs) {
    expect(e.attempt).toBeGreaterThanOrEqual(attempt); // no event of an older attempt after a newer one
    attempt = e.attempt;
  }
  // one `status: running` per attempt
  const running = evs.filter((e) => e.type === 'status' && e.status === 'running').map((e) => e.attempt);
  expect(running).toEqual([...new Set(running)]);
  return a.text;
}

beforeAll(async () => {
  app = await startNatsTestApp({ EMBEDDED_WORKER: 'false', JOB_STALL_TIMEOUT_MS: String(STALL_MS) });
  workerEnv = {
    NATS_URL: app.nats.url,
    REDIS_URL: app.redis.url,
    JOB_STALL_TIMEOUT_MS: String(STALL_MS),
    WORKER_CONCURRENCY: '4',
    WORKER_SHUTDOWN_GRACE_MS: '5000',
  };
  // a worker that announced echo and left: echo is a known agent (creates are accepted), with no live worker
  await (await spawnWorker(workerEnv)).stop('SIGTERM');
}, 60_000);

afterEach(async () => {
  // every test leaves no worker behind (the next one starts from a clean fleet)
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
});

afterAll(async () => {
  await app?.close();
  const lines = Object.entries(measured).map(([k, v]) => {
    const sorted = [...v].sort((a, b) => a - b);
    return `  ${k}: n=${v.length} min=${sorted[0]} median=${sorted[Math.floor(sorted.length / 2)]} max=${sorted.at(-1)} ms  [${v.join(', ')}]`;
  });
  console.log(
    `worker latencies (JOB_STALL_TIMEOUT_MS=${STALL_MS}, heartbeat every 1000 ms, watchdog after ${2 * STALL_MS} ms):\n${lines.join('\n')}`,
  );
});

describe('agent-worker processes', () => {
  it('a job created while no worker runs waits, and runs once a worker starts', async () => {
    const id = await createJob({ message: 'waited for a worker ', delay_ms: 5 });
    await sleep(1_000); // a window for a negative check (no worker runs, so it stays queued), not a synchronization
    expect((await app.api(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'queued', waiting_for_worker: true });
    const s = await stream(id);
    await worker();
    await ended(s);
    expect(events(s).at(-1)).toMatchObject({ type: 'done', attempt: 1 });
    expect(assembled(events(s))).toBe('waited for a worker ');
  }, 60_000);

  it('two workers share the load, and no job runs twice or at two places at once', async () => {
    const a = await worker({ WORKER_CONCURRENCY: '2' });
    const b = await worker({ WORKER_CONCURRENCY: '2' });
    const message = 'one two three four five six seven eight ';
    const ids = await Promise.all(Array.from({ length: 8 }, () => createJob({ message, delay_ms: 80 })));
    const streams = await Promise.all(ids.map(stream));
    const seenBy = new Map<string, Set<string>>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pings = await pingWorkers(app.nats.url, 150);
        const round = new Map<string, string>();
        for (const p of pings) {
          expect(p.running_jobs.length).toBeLessThanOrEqual(2); // bounded concurrency
          for (const j of p.running_jobs) {
            expect(round.get(j) ?? p.worker_id).toBe(p.worker_id); // never held by two workers at once
            round.set(j, p.worker_id);
            if (!seenBy.has(p.worker_id)) seenBy.set(p.worker_id, new Set());
            seenBy.get(p.worker_id)!.add(j);
          }
        }
      }
    })();
    await Promise.all(streams.map((s) => ended(s)));
    sampling = false;
    await sampler;
    for (const s of streams) {
      const evs = events(s);
      expect(evs.filter((e) => e.type === 'attempt')).toEqual([]);
      expect(evs.filter((e) => e.type === 'status' && e.status === 'running')).toHaveLength(1);
      expect(evs.at(-1)).toMatchObject({ type: 'done', attempt: 1, output: { text: message } });
      expect(assembled(evs)).toBe(message);
    }
    expect(seenBy.get(a.id)?.size ?? 0).toBeGreaterThan(0);
    expect(seenBy.get(b.id)?.size ?? 0).toBeGreaterThan(0);
    // each job was seen on one worker only
    const owners = ids.map((id) => [a.id, b.id].filter((w) => seenBy.get(w)?.has(id)).length);
    for (const n of owners) expect(n).toBeLessThanOrEqual(1);
    expect(await a.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await b.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('cancel reaches a job while queued and while running in a worker process', async () => {
    // queued, no worker: the API cancels it itself; a worker started later never runs it
    const queued = await createJob({ message: 'never runs' });
    const qs = await stream(queued);
    expect((await app.api(`/v1/jobs/${queued}/cancel`, { body: { reason: 'not needed' } })).status).toBe(202);
    await ended(qs);
    expect(events(qs).map((e) => e.type)).toEqual(['status', 'cancelled']);

    await worker();
    for (let i = 0; i < 5; i++) {
      // ~40 s of tokens: the cancel always lands mid-job, however slow the machine (the test ends at the cancel)
      const id = await createJob({ message: 'a b c d e f g h i j k l m n o p q r s t', repeat: 20, delay_ms: 100 });
      const s = await stream(id);
      await s.until((items) => items.filter((x) => x.kind === 'event' && x.event.type === 'token').length >= 2);
      const t0 = performance.now();
      expect((await app.api(`/v1/jobs/${id}/cancel`, { body: { reason: `stop ${i}` } })).status).toBe(202);
      await ended(s);
      measure('cancel: POST /cancel -> cancelled at the SSE client', Math.round(performance.now() - t0));
      const last = events(s).at(-1)!;
      expect(last).toMatchObject({ type: 'cancelled', reason: `stop ${i}` });
      expect((last as JobEvent<'cancelled'>).usage.output_tokens).toBe(tokens(s));
      expect(tokens(s)).toBeLessThan(400);
      expect((await app.api(`/v1/jobs/${id}`)).body.status).toBe('cancelled');
    }
    // the queued job's message reached the worker before the five jobs after it, and it found it cancelled and dropped it
    const after = await app.api(`/v1/jobs/${queued}/events`);
    expect(after.body.events.map((e: JobEvent) => e.type)).toEqual(['status', 'cancelled']);
  }, 90_000);

  it('a worker killed (SIGKILL) mid-job: another worker retries it with an attempt event, and the text is exact', async () => {
    await worker({ WORKER_CONCURRENCY: '1' });
    await worker({ WORKER_CONCURRENCY: '1' });
    const message = 'the quick brown fox jumps over the lazy dog and keeps on running ';
    for (let round = 0; round < 2; round++) {
      // ~6 s per attempt: the kill (after the 3rd token and a ping round) lands mid-job even on a busy machine
      const id = await createJob({ message, repeat: 8, delay_ms: 60 });
      const s = await stream(id);
      await s.until((items) => items.filter((x) => x.kind === 'event' && x.event.type === 'token').length >= 3);
      const holder = await holderOf(id);
      const victim = workers.find((w) => w.id === holder)!;
      const t0 = performance.now();
      victim.kill('SIGKILL');
      await s.until((items) =>
        items.some((x) => x.kind === 'event' && x.event.type === 'token' && x.event.attempt === 2),
      );
      measure('crash: SIGKILL -> first token of the retry at the SSE client', Math.round(performance.now() - t0));
      await ended(s);
      const evs = events(s);
      expect(evs.filter((e) => e.type === 'attempt')).toMatchObject([{ attempt: 2, reason: 'worker_lost' }]);
      expect(evs.at(-1)).toMatchObject({ type: 'done', attempt: 2, output: { text: message.repeat(8) } });
      expect(assembled(evs)).toBe(message.repeat(8));
      expect((await app.api(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'completed', attempt: 2 });
      // a fresh worker replaces the victim for the next round
      workers.splice(workers.indexOf(victim), 1);
      await worker({ WORKER_CONCURRENCY: '1' });
    }
  }, 120_000);

  it('ends the job with worker_lost when its attempts are spent', async () => {
    // both workers are up before the job exists, and the job would run for minutes: it cannot finish before the
    // kill, however slow the machine (was: a second worker spawned mid-job, which a busy machine let the job outrun)
    await worker({ MAX_ATTEMPTS: '1' });
    await worker({ MAX_ATTEMPTS: '1' });
    const id = await createJob({ message: 'a b c d e f g h i j k l m n o p', repeat: 100, delay_ms: 100 });
    const s = await stream(id);
    await s.until((items) => items.some((x) => x.kind === 'event' && x.event.type === 'token'));
    const holder = await holderOf(id);
    const victim = workers.find((w) => w.id === holder)!;
    victim.kill('SIGKILL');
    await ended(s);
    const last = events(s).at(-1)!;
    expect(last).toMatchObject({ type: 'error', code: 'worker_lost' });
    expect(events(s).filter((e) => e.type === 'attempt')).toEqual([]);
    expect((await app.api(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'worker_lost' } });
  }, 60_000);

  it('the watchdog ends a job whose only worker was killed, with no worker left', async () => {
    const only = await worker();
    const id = await createJob({ message: 'a b c d e f g h i j k l m n o p', repeat: 100, delay_ms: 100 }); // minutes
    const s = await stream(id);
    await s.until((items) => items.some((x) => x.kind === 'event' && x.event.type === 'token'));
    const t0 = performance.now();
    only.kill('SIGKILL');
    await ended(s, 20_000);
    measure(
      'watchdog: SIGKILL of the only worker -> worker_lost at the SSE client',
      Math.round(performance.now() - t0),
    );
    expect(events(s).at(-1)).toMatchObject({ type: 'error', code: 'worker_lost', retryable: true, attempt: 1 });
    expect((await app.api(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'worker_lost' } });
  }, 60_000);

  it('SIGTERM mid-job: the job is handed back and finished by another worker; the worker exits 0', async () => {
    // both workers run before the job exists (spawning one mid-job let a busy machine finish the job first);
    // the holder is the one that leaves, the other takes over after the hand-back
    await worker({ WORKER_SHUTDOWN_GRACE_MS: '300' });
    await worker({ WORKER_SHUTDOWN_GRACE_MS: '300' });
    const message = 'handed back from one worker to the next one without losing a word ';
    // ~8 s: it surely outlives the SIGTERM (after the 3rd token and a ping round) plus the 300 ms grace, busy machine or not
    const id = await createJob({ message, repeat: 8, delay_ms: 80 });
    const s = await stream(id);
    await s.until((items) => items.filter((x) => x.kind === 'event' && x.event.type === 'token').length >= 3);
    const holder = await holderOf(id);
    const leaving = workers.find((w) => w.id === holder)!;
    const t0 = performance.now();
    const exit = leaving.stop('SIGTERM');
    await s
      .until((items) => items.some((x) => x.kind === 'event' && x.event.type === 'token' && x.event.attempt === 2))
      .catch((err: unknown) => {
        throw new Error(
          `${String(err)}\n${JSON.stringify(events(s).map((e) => [e.type, e.attempt]))}\n${leaving.output().slice(-3000)}`,
        );
      });
    measure('shutdown: SIGTERM (grace 300 ms) -> first token of the next attempt', Math.round(performance.now() - t0));
    expect(await exit).toEqual({ code: 0, signal: null });
    measure('shutdown: SIGTERM -> worker exit (grace 300 ms, job handed back)', Math.round(performance.now() - t0));
    await ended(s);
    const evs = events(s);
    expect(evs.filter((e) => e.type === 'attempt')).toMatchObject([{ attempt: 2, reason: 'worker_shutdown' }]);
    expect(evs.filter((e) => e.type === 'status').map((e) => [(e as JobEvent<'status'>).status, e.attempt])).toEqual([
      ['queued', 1],
      ['running', 1],
      ['queued', 2],
      ['running', 2],
    ]);
    expect(evs.filter((e) => isTerminal(e))).toHaveLength(1);
    expect(evs.at(-1)).toMatchObject({ type: 'done', attempt: 2, output: { text: message.repeat(8) } });
    expect(assembled(evs)).toBe(message.repeat(8));
  }, 60_000);

  it('SIGTERM mid-job with time to spare: the job finishes within the grace period', async () => {
    const leaving = await worker({ WORKER_SHUTDOWN_GRACE_MS: '5000' });
    const message = 'short enough to finish ';
    const id = await createJob({ message, delay_ms: 150 });
    const s = await stream(id);
    await s.until((items) => items.some((x) => x.kind === 'event' && x.event.type === 'token'));
    const t0 = performance.now();
    expect(await leaving.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    measure('shutdown: SIGTERM -> worker exit (job finished within the grace)', Math.round(performance.now() - t0));
    await ended(s);
    expect(events(s).filter((e) => e.type === 'attempt')).toEqual([]);
    expect(events(s).at(-1)).toMatchObject({ type: 'done', attempt: 1, output: { text: message } });
  }, 60_000);
});
