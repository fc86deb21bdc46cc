/**
 * Interactive jobs (v1.1) with real worker processes on JetStream + Redis, the API in this process with no
 * in-process worker: a waiting job holds no worker slot (a worker with WORKER_CONCURRENCY=1 runs other jobs
 * meanwhile, and its ping lists no running job); the job survives the SIGKILL of the worker that asked and a restart
 * of the API while it waits, and another worker continues it — same attempt, dense seq, exact text — while viewers
 * resume across the wait. The watchdog never takes a waiting job for a lost worker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { openSse, readAll, tokenText, type SseResponse } from '../support/sse-client.js';
import { sleep, waitFor } from '../support/wait.js';
import { pingWorkers, spawnWorker, type WorkerProcess } from '../support/worker-process.js';

const STALL_MS = 1500;
const MESSAGE = 'Delete the 14 stale branches of the payments repository? ';

let nats: RunningNats;
let redis: RunningServer;
let api: TestApp;
const workers: WorkerProcess[] = [];
const measured: Record<string, number[]> = {};
const measure = (what: string, ms: number) => (measured[what] ??= []).push(Math.round(ms));

const startApi = () =>
  startTestApp({
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    EMBEDDED_WORKER: 'false',
    JOB_STALL_TIMEOUT_MS: String(STALL_MS),
  });
const worker = async (env: Record<string, string> = {}) => {
  const w = await spawnWorker({
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    JOB_STALL_TIMEOUT_MS: String(STALL_MS),
    ...env,
  });
  workers.push(w);
  return w;
};
const create = async (input: Record<string, unknown>) => {
  const r = await api.api('/v1/jobs', { body: { agent: 'echo', input } });
  expect(r.status).toBe(201);
  return r.body.id as string;
};
const isWaiting = (items: SseResponse['items']) =>
  items.some(
    (i) =>
      i.kind === 'event' && i.event.type === 'status' && (i.event as JobEvent<'status'>).status === 'waiting_for_input',
  );
function expectDenseOneAttempt(events: JobEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(new Set(events.map((e) => e.attempt))).toEqual(new Set([1]));
}

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  api = await startApi();
}, 60_000);

afterEach(async () => {
  // every test starts with no worker: the one that asked is the only one
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
});

afterAll(async () => {
  const lines = Object.entries(measured).map(([k, v]) => `  ${k}: [${v.join(', ')}] ms`);
  console.log(`interactive jobs with worker processes (JOB_STALL_TIMEOUT_MS=${STALL_MS}):\n${lines.join('\n')}`);
  await api?.close();
  await Promise.all([nats?.destroy(), redis?.destroy()]);
});

describe('interactive jobs with worker processes', () => {
  it('a waiting job holds no worker slot: WORKER_CONCURRENCY=1 runs other jobs meanwhile, ping lists no running job', async () => {
    const w = await worker({ WORKER_CONCURRENCY: '1' });
    const id = await create({ message: MESSAGE, ask: { after: 3 } });
    const s = await openSse(`${api.url}/v1/jobs/${id}/stream`);
    await s.until(isWaiting, 30_000);
    const req = s.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
    // the worker lets go of it: its ping lists no running job
    const ping = await waitFor(
      async () => {
        const p = (await pingWorkers(nats.url)).find((x) => x.worker_id === w.id);
        return p?.running_jobs.length === 0 ? p : null;
      },
      { intervalMs: 50, message: 'the worker to report no running job' },
    );
    expect(ping).toMatchObject({ concurrency: 1, running_jobs: [] });
    // its only slot is free: three other jobs run to the end while the first one waits
    const others = await Promise.all([1, 2, 3].map((n) => create({ message: `other job ${n} `, delay_ms: 5 })));
    for (const [n, other] of others.entries()) {
      const done = await readAll(`${api.url}/v1/jobs/${other}/stream`);
      expect(done.events().at(-1)).toMatchObject({ type: 'done', output: { text: `other job ${n + 1} ` } });
    }
    expect((await api.api(`/v1/jobs/${id}`)).body.status).toBe('waiting_for_input');

    const answeredAt = Date.now();
    expect(
      (await api.api(`/v1/jobs/${id}/input`, { body: { request_id: req.request_id, input: { approved: true } } }))
        .status,
    ).toBe(202);
    await s.until(
      (items) => items.some((i) => i.kind === 'event' && i.event.type === 'token' && i.event.seq > req.seq),
      30_000,
    );
    measure('answer → next token (idle worker, same process)', Date.now() - answeredAt);
    await s.ended;
    expectDenseOneAttempt(s.events());
    expect(tokenText(s.events())).toBe(MESSAGE);
    expect(s.events().at(-1)).toMatchObject({ type: 'done', output: { text: MESSAGE } });
  }, 90_000);

  it('the worker that asked is SIGKILLed and the API restarts while the job waits; another worker continues it for every viewer', async () => {
    const first = await worker();
    const id = await create({ message: MESSAGE, ask: { after: 5, prompt: 'Delete them?' }, delay_ms: 2 });
    const a = await openSse(`${api.url}/v1/jobs/${id}/stream`);
    await a.until(isWaiting, 30_000);
    const waitingSince = Date.now();
    const req = a.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
    expect(req).toMatchObject({ kind: 'approval', prompt: 'Delete them?' });
    const seenByA = a.events();
    const lastSeen = seenByA.at(-1)!;

    first.kill('SIGKILL');
    await first.exited;
    a.close();
    await api.close(); // the API restarts while the job waits
    api = await startApi();

    // Longer than the watchdog's stale limit (2 × the stall timeout, plus a sweep): a waiting job is not "lost".
    while (Date.now() - waitingSince < 3 * STALL_MS + 1000) {
      const job = (await api.api(`/v1/jobs/${id}`)).body;
      expect(job).toMatchObject({
        status: 'waiting_for_input',
        attempt: 1,
        pending_input: { request_id: req.request_id },
      });
      await sleep(200); // pacing the checks through a fixed span, not a synchronization
    }
    const b = await openSse(`${api.url}/v1/jobs/${id}/stream`, { headers: { 'Last-Event-ID': lastSeen.id } });
    const c = await openSse(`${api.url}/v1/jobs/${id}/stream`); // a newcomer from the start

    await worker(); // a new worker; nobody holds the waiting job
    const answeredAt = Date.now();
    expect(
      (await api.api(`/v1/jobs/${id}/input`, { body: { request_id: req.request_id, input: { approved: true } } }))
        .status,
    ).toBe(202);
    await b.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'token'), 30_000);
    measure('answer → next token (another worker process, after SIGKILL + API restart)', Date.now() - answeredAt);
    await Promise.all([b.ended, c.ended]);
    const full = c.events();
    expectDenseOneAttempt(full);
    expect(tokenText(full)).toBe(MESSAGE);
    expect([...seenByA, ...b.events()]).toEqual(full);
    expect(full.at(-1)).toMatchObject({ type: 'done', output: { text: MESSAGE }, usage: { output_tokens: 9 } });
    expect(full.filter((e) => e.type === 'input_required')).toHaveLength(1);
    expect(full.filter((e) => e.type === 'attempt')).toHaveLength(0);
  }, 120_000);

  it('cancel of a waiting job needs no worker: it ends at once even with every worker gone', async () => {
    const w = await worker();
    const id = await create({ message: 'cancel me while I wait', ask: { after: 2 } });
    const s = await openSse(`${api.url}/v1/jobs/${id}/stream`);
    await s.until(isWaiting, 30_000);
    await w.stop('SIGKILL');
    const r = await api.api(`/v1/jobs/${id}/cancel`, { body: { reason: 'no longer needed' } });
    expect(r.body).toMatchObject({ status: 'cancelled' });
    await s.ended;
    expect(s.events().at(-1)).toMatchObject({
      type: 'cancelled',
      reason: 'no longer needed',
      usage: { output_tokens: 2 },
    });
    expectDenseOneAttempt(s.events());
  }, 60_000);

  it('answers racing through two API processes: exactly one is accepted, one input_received, one continuation', async () => {
    await worker();
    const other = await startApi();
    try {
      const id = await create({ message: 'two doors, one answer', ask: { after: 1 } });
      const s = await openSse(`${other.url}/v1/jobs/${id}/stream`);
      await s.until(isWaiting, 30_000);
      const req = s.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? other : api).api(`/v1/jobs/${id}/input`, {
            body: { request_id: req.request_id, input: { approved: i < 5 } },
          }),
        ),
      );
      expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
      const winner = answers.findIndex((a) => a.status === 202) < 5;
      for (const [i, a] of answers.entries()) {
        if (a.status === 202) continue;
        // the same input as the winner's: 200; the other one: 409 already_answered
        expect(a.status).toBe(i < 5 === winner ? 200 : 409);
      }
      await s.ended;
      const events = s.events();
      expectDenseOneAttempt(events);
      expect(events.filter((e) => e.type === 'input_received')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'status' && (e as JobEvent<'status'>).status === 'running')).toHaveLength(
        winner ? 2 : 1,
      );
      expect(events.at(-1)?.type).toBe(winner ? 'done' : 'cancelled');
    } finally {
      await other.close();
    }
  }, 60_000);
});
