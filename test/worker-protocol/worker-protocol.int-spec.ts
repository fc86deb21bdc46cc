/**
 * Conformance of docs/worker-protocol.md: a worker written from the document alone (raw-worker.ts: plain `nats` and
 * `ioredis` calls) serves an agent of its own for a real API process (`node dist/src/main.js`, no built-in worker)
 * on a real nats-server -js and redis-server. Clients use only the public API (REST + SSE).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connect, type NatsError } from 'nats';
import { echoInputJsonSchema, type JobEvent } from '@jobstream/contracts';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { openSse, type SseResponse } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';
import { spawnWorker } from '../support/worker-process.js';
import { RawWorker, type RawWorkerOptions } from './raw-worker.js';

/**
 * The ack wait (heartbeats every second); the watchdog ends a silent job after twice that. A killed worker's job is
 * taken over after the ack wait plus at most one idle poll (1 s), well before the watchdog.
 */
const STALL_MS = 3000;
const KEY = 'key-acme-prod-0123456789';
const AGENT = 'rawecho';

let nats: RunningNats;
let redis: RunningServer;
let api: ApiProcess;
const workers: RawWorker[] = [];

async function worker(
  opts: Partial<Pick<RawWorkerOptions, 'agent' | 'definition' | 'concurrency' | 'listenControl' | 'beforePark'>> = {},
): Promise<RawWorker> {
  const w = await RawWorker.start({
    natsUrl: nats.url,
    redisUrl: redis.url,
    agent: AGENT,
    stallMs: STALL_MS,
    retentionMs: 86_400_000,
    ...opts,
  });
  workers.push(w);
  return w;
}

async function call(path: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${api.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function create(input: Record<string, unknown>): Promise<string> {
  const r = await call('/v1/jobs', { agent: AGENT, input });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

const stream = (id: string): Promise<SseResponse> =>
  openSse(`${api.url}/v1/jobs/${id}/stream`, { headers: { Authorization: `Bearer ${KEY}` } });
const isTerminal = (e: JobEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
const ended = (s: SseResponse) => s.until((items) => items.some((i) => i.kind === 'event' && isTerminal(i.event)));
const text = (evs: JobEvent[]) =>
  evs
    .filter((e) => e.type === 'token')
    .map((e) => (e as JobEvent<'token'>).text)
    .join('');

/** Dense seqs from 1, and the types in order (tokens folded into one `token*`). */
function shape(evs: JobEvent[]): string[] {
  evs.forEach((e, i) => expect(e.seq).toBe(i + 1));
  const out: string[] = [];
  for (const e of evs) {
    const name = e.type === 'status' ? `status:${(e as JobEvent<'status'>).status}` : e.type;
    if (name === 'token' && out.at(-1) === 'token*') continue;
    out.push(name === 'token' ? 'token*' : name);
  }
  return out;
}

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  api = await spawnApi({
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    EMBEDDED_WORKER: 'false',
    API_KEYS: `acme.prod:${KEY}`,
    JOB_STALL_TIMEOUT_MS: String(STALL_MS),
    RATE_LIMIT_CREATE_PER_MIN: '0',
  });
}, 60_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await api?.stop();
  await Promise.all([nats?.destroy(), redis?.destroy()]);
});

describe('the NATS worker protocol (docs/worker-protocol.md)', () => {
  it('announces an agent: listed with its live worker, creates validated against its schema', async () => {
    expect((await call('/v1/jobs', { agent: AGENT, input: { message: 'x' } })).body).toMatchObject({
      error: { code: 'unknown_agent' },
    });
    const w = await worker();
    const listed = await waitFor(async () =>
      ((await call('/v1/agents')).body.items as { name: string; workers: number }[]).find(
        (a) => a.name === AGENT && a.workers === 1,
      ),
    );
    expect(listed).toMatchObject({ description: expect.stringContaining('documented NATS subjects') });
    const bad = await call('/v1/jobs', { agent: AGENT, input: { message: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('message') });
    await w.stop(); // withdraws: no live worker left
    await waitFor(async () =>
      ((await call('/v1/agents')).body.items as { name: string; workers: number }[]).some(
        (a) => a.name === AGENT && a.workers === 0,
      ),
    );
  });

  it('runs a job through heartbeats longer than the ack wait; the client streams it exactly', async () => {
    const w = await worker();
    const message = 'exactly once, in order, through in-progress acks and store heartbeats ';
    const words = message.match(/\S+\s*/g)!.length;
    const id = await create({ message, delay_ms: 700 }); // 7 s: past the ack wait (3 s) and the watchdog (6 s)
    const s = await stream(id);
    await ended(s);
    const evs = s.events();
    expect(shape(evs)).toEqual(['status:queued', 'status:running', 'token*', 'done']);
    expect(text(evs)).toBe(message);
    expect(evs.every((e) => e.attempt === 1)).toBe(true);
    expect(evs.at(-1)).toMatchObject({ type: 'done', output: { text: message }, usage: { output_tokens: words } });
    // dispatched on the tenant's subject token; delivered once (the in-progress acks kept it)
    expect(w.deliveries).toEqual([{ subject: `jobstream.dispatch.${AGENT}.acme%2Eprod`, jobId: id, delivered: 1 }]);
    // the repeated first append (a lost ack) was a duplicate: the event stored the first time
    expect(w.repeats).toHaveLength(1);
    expect(w.repeats[0]!.again).toEqual(w.repeats[0]!.first);
    const job = (await call(`/v1/jobs/${id}`)).body;
    expect(job).toMatchObject({ status: 'completed', attempt: 1, error: null, usage: { output_tokens: words } });
    expect(job.finished_at).toBe(evs.at(-1)!.ts);
    expect(job.last_event_id).toBe(evs.at(-1)!.id);
    // the record left the running index; the tenant's completed list has it
    const r = new Redis(redis.url);
    try {
      expect(await r.zscore('jobstream:active', id)).toBeNull();
      expect(await r.zscore('jobstream:list:completed:acme.prod', id)).toBe('0');
      expect(await r.pttl(`jobstream:job:${id}`)).toBeGreaterThan(0);
    } finally {
      r.disconnect();
    }
    // resuming from a cursor gives exactly the rest
    const mid = evs[4]!;
    const resumed = await openSse(`${api.url}/v1/jobs/${id}/stream`, {
      headers: { Authorization: `Bearer ${KEY}`, 'Last-Event-ID': mid.id },
    });
    await ended(resumed);
    expect(resumed.events().map((e) => e.seq)).toEqual(evs.slice(5).map((e) => e.seq));
  });

  it('refuses an append with a stale expected sequence (the fence every writer relies on)', async () => {
    await worker();
    const id = await create({ message: 'fenced ' });
    const s = await stream(id);
    await ended(s);
    const nc = await connect({ servers: nats.url });
    try {
      const js = nc.jetstream();
      const stale = (s.events().at(-1)!.id.split('-').map(Number)[1] ?? 0) - 1;
      const err = await js
        .publish(`jobstream.events.${id}`, new TextEncoder().encode('{}'), { expect: { lastSubjectSequence: stale } })
        .then(
          () => null,
          (e: unknown) => e as NatsError,
        );
      expect(err?.api_error?.err_code).toBe(10071);
    } finally {
      await nc.close();
    }
  });

  it.each([
    ['the control subject', true],
    ["the record's cancel_reason (the message lost)", false],
  ])('cancels a running job through %s', async (_how, listenControl) => {
    await worker({ listenControl });
    const id = await create({
      message: 'a b c d e f g h i j k l m n o p q r s t u v w x y z '.repeat(4),
      delay_ms: 100,
    });
    const s = await stream(id);
    await s.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'token'));
    expect((await call(`/v1/jobs/${id}/cancel`, { reason: 'user left' })).status).toBe(202);
    await ended(s);
    const evs = s.events();
    const last = evs.at(-1) as JobEvent<'cancelled'>;
    expect(last).toMatchObject({ type: 'cancelled', reason: 'user left', attempt: 1 });
    expect(last.usage.output_tokens).toBe(evs.filter((e) => e.type === 'token').length);
    expect(shape(evs)).toEqual(['status:queued', 'status:running', 'token*', 'cancelled']);
    const job = await waitFor(async () => {
      const j = (await call(`/v1/jobs/${id}`)).body;
      return j.status === 'cancelled' && j;
    });
    expect(job.finished_at).toBe(last.ts);
  });

  it('parks on input_required and continues the same attempt after the answer', async () => {
    const w = await worker();
    const id = await create({ message: 'hello there, how are you ', ask_after: 2 });
    const s = await stream(id);
    await s.until((items) =>
      items.some((i) => i.kind === 'event' && i.event.type === 'status' && i.event.status === 'waiting_for_input'),
    );
    const asked = s.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
    expect(asked).toMatchObject({ kind: 'text', prompt: 'your name?' });
    const waiting = (await call(`/v1/jobs/${id}`)).body;
    expect(waiting).toMatchObject({ status: 'waiting_for_input', pending_input: { request_id: asked.request_id } });
    const bad = await call(`/v1/jobs/${id}/input`, { request_id: asked.request_id, input: { text: 7 } });
    expect(bad.status).toBe(400);
    const answered = await call(`/v1/jobs/${id}/input`, { request_id: asked.request_id, input: { text: 'Ada' } });
    expect(answered.status).toBe(202);
    await ended(s);
    const evs = s.events();
    expect(shape(evs)).toEqual([
      'status:queued',
      'status:running',
      'token*',
      'input_required',
      'status:waiting_for_input',
      'input_received',
      'status:queued',
      'status:running',
      'token*',
      'done',
    ]);
    expect(text(evs)).toBe('hello there, Ada how are you ');
    expect(evs.every((e) => e.attempt === 1)).toBe(true);
    expect((await call(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'completed', attempt: 1, pending_input: null });
    // two deliveries: the first dispatch, then the answer's
    expect(w.deliveries.map((d) => d.jobId)).toEqual([id, id]);
  });

  it('goes on in the same run when the answer comes before the job is parked', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked!: (rid: string) => void;
    const question = new Promise<string>((r) => (asked = r));
    const w = await worker({
      beforePark: async (rid) => {
        asked(rid);
        await held;
      },
    });
    const id = await create({ message: 'hello there, how are you ', ask_after: 2 });
    const s = await stream(id);
    const rid = await question;
    // recorded before it was appended: the running job already shows its question, and takes the answer
    expect((await call(`/v1/jobs/${id}`)).body).toMatchObject({
      status: 'running',
      pending_input: { request_id: rid },
    });
    expect((await call(`/v1/jobs/${id}/input`, { request_id: rid, input: { text: 'Ada' } })).status).toBe(202);
    release();
    await ended(s);
    const evs = s.events();
    expect(shape(evs)).toEqual([
      'status:queued',
      'status:running',
      'token*',
      'input_required',
      'input_received',
      'status:running',
      'token*',
      'done',
    ]);
    expect(text(evs)).toBe('hello there, Ada how are you ');
    expect(w.deliveries.map((d) => d.jobId)).toEqual([id]); // one run: never parked, never dispatched again
    expect((await call(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('shares the dispatch consumers with the built-in worker: a mixed fleet serves one agent', async () => {
    // the raw worker announces the built-in echo's definition (the last announce wins: they must agree)
    const raw = await worker({
      agent: 'echo',
      concurrency: 1,
      definition: { description: 'echo, served by a worker in another language', input_schema: echoInputJsonSchema },
    });
    const builtIn = await spawnWorker({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      JOB_STALL_TIMEOUT_MS: String(STALL_MS),
      WORKER_CONCURRENCY: '2',
    });
    try {
      await waitFor(async () =>
        ((await call('/v1/agents')).body.items as { name: string; workers: number }[]).some(
          (a) => a.name === 'echo' && a.workers === 2,
        ),
      );
      const message = 'one job of eight ';
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await call('/v1/jobs', { agent: 'echo', input: { message, delay_ms: 150 } });
        expect(r.status).toBe(201);
        ids.push(r.body.id as string);
      }
      for (const id of ids) {
        const s = await stream(id);
        await ended(s);
        expect(shape(s.events())).toEqual(['status:queued', 'status:running', 'token*', 'done']);
        expect(text(s.events())).toBe(message);
      }
      // both took jobs from the same consumer, each job once
      const byRaw = new Set(raw.deliveries.map((d) => d.jobId));
      expect(byRaw.size).toBe(raw.deliveries.length);
      expect(byRaw.size).toBeGreaterThan(0);
      expect(byRaw.size).toBeLessThan(ids.length);
    } finally {
      await builtIn.stop('SIGTERM');
    }
  });

  it("retries a killed worker's job as attempt 2 on another worker", async () => {
    const first = await worker();
    const message = 'one two three four five six seven eight nine ten ';
    const id = await create({ message, delay_ms: 200 });
    const s = await stream(id);
    await s.until((items) => items.filter((i) => i.kind === 'event' && i.event.type === 'token').length >= 2);
    await first.kill(); // no ack, no end: the message comes back after the ack wait
    workers.splice(workers.indexOf(first), 1);
    const second = await worker();
    await ended(s);
    const evs = s.events();
    expect(shape(evs)).toEqual([
      'status:queued',
      'status:running',
      'token*',
      'attempt',
      'status:running',
      'token*',
      'done',
    ]);
    expect(evs.find((e) => e.type === 'attempt')).toMatchObject({ attempt: 2, reason: 'worker_lost' });
    expect(text(evs.filter((e) => e.attempt === 2))).toBe(message);
    expect(evs.at(-1)).toMatchObject({ type: 'done', attempt: 2 });
    expect(second.deliveries[0]).toMatchObject({ jobId: id, delivered: 2 });
    expect((await call(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'completed', attempt: 2 });
  });
});
