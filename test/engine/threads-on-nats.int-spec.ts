/**
 * Conversations, job management and share links on JetStream + Redis: the shared e2e suites, then what only a real
 * multi-process deployment shows — two API processes on one NATS and one Redis: races between them decided by the
 * store, a turn accepted by a process that dies still starting, share revocation seen by the other process at once,
 * and nothing of a deleted thread or job left in Redis or JetStream.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { API_SUBJECTS, EVENTS_STREAM } from '@jobstream/contracts';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { openSse, type SseResponse } from '../support/sse-client.js';
import { jobManagementSuite } from '../suites/job-management.suite.js';
import { threadsSuite } from '../suites/threads.suite.js';

threadsSuite('JetStream + Redis', (env) => startNatsTestApp(env));
jobManagementSuite('JetStream + Redis', (env) => startNatsTestApp(env));

const KEY = 'acme-key-0001';
const H = { Authorization: `Bearer ${KEY}` };
const SLOW = { message: 'one two three four five six seven eight nine ten', delay_ms: 100, repeat: 10 };
/** A turn that cannot end on its own while a test acts on it (60 s after its first token): only a cancel ends it. */
const HELD = { message: 'hold on', delay_ms: 60_000 };

describe('two API processes on one NATS and one Redis', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let a: TestApp;
  let b: TestApp;
  let raw: Redis;
  let nc: NatsConnection;
  const start = () =>
    startTestApp({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      EMBEDDED_WORKER: 'true',
      API_KEYS: `acme:${KEY}`,
      WORKER_CONCURRENCY: '4',
    });
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    [a, b] = await Promise.all([start(), start()]);
    raw = new Redis(redis.url);
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    raw?.disconnect();
    await nc?.close();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });
  const post = (app: TestApp, path: string, body: unknown) => app.api(path, { body, headers: H });
  const get = (app: TestApp, path: string) => app.api(path, { headers: H });
  const wait = async (app: TestApp, id: string) => (await get(app, `/v1/jobs/${id}/wait?timeout_s=25`)).body;
  const thread = async (app: TestApp) => (await post(app, '/v1/threads', { agent: 'echo' })).body.id as string;

  it('lets exactly one of two simultaneous turns win under reject', async () => {
    // turns that cannot end on their own during the race (a 60 s pause after the first token): a loser can only
    // have lost to an active turn, however slow the machine
    const HOLD = { message: 'hold on', delay_ms: 60_000 };
    for (let i = 0; i < 8; i++) {
      const id = await thread(a);
      const [ra, rb] = await Promise.all([
        post(a, `/v1/threads/${id}/jobs`, { input: HOLD }),
        post(b, `/v1/threads/${id}/jobs`, { input: HOLD }),
      ]);
      expect([ra.status, rb.status].sort()).toEqual([201, 409]);
      const loser = ra.status === 409 ? ra : rb;
      expect(loser.body.error.code).toBe('thread_busy');
      const winner = ra.status === 201 ? ra : rb;
      expect(winner.body.turn).toBe(1);
      const turns = (await get(b, `/v1/threads/${id}/jobs`)).body.items;
      expect(turns.map((j: any) => j.id)).toEqual([winner.body.id]);
      await post(a, `/v1/jobs/${winner.body.id}/cancel`, {});
      expect((await wait(a, winner.body.id)).status).toBe('cancelled');
    }
  });

  it('numbers simultaneous enqueued turns densely and runs them one at a time', async () => {
    const id = await thread(a);
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post(i % 2 ? a : b, `/v1/threads/${id}/jobs`, {
          input: { message: `m${i}`, delay_ms: 20 },
          if_busy: 'enqueue',
        }),
      ),
    );
    expect(rs.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(rs.map((r) => r.body.turn).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    const jobs = [];
    for (const r of rs.sort((x, y) => x.body.turn - y.body.turn)) jobs.push(await wait(a, r.body.id));
    for (let i = 1; i < jobs.length; i++)
      expect(Date.parse(jobs[i].started_at)).toBeGreaterThanOrEqual(Date.parse(jobs[i - 1].finished_at));
  });

  it('interrupts a turn running through the other process', async () => {
    const id = await thread(a);
    const t1 = (await post(a, `/v1/threads/${id}/jobs`, { input: HELD })).body;
    await waitFor(async () => (await get(b, `/v1/jobs/${t1.id}`)).body.status === 'running', {
      message: 'turn 1 running',
      timeoutMs: 20_000,
    });
    const t2 = (await post(b, `/v1/threads/${id}/jobs`, { input: { message: 'new question' }, if_busy: 'interrupt' }))
      .body;
    const [d1, d2] = [await wait(a, t1.id), await wait(b, t2.id)];
    expect(d1.status).toBe('cancelled');
    expect((await get(a, `/v1/jobs/${t1.id}/events?limit=1000`)).body.events.at(-1)).toMatchObject({
      type: 'cancelled',
      reason: 'interrupted',
    });
    expect(d2.status).toBe('completed');
    expect(Date.parse(d2.started_at)).toBeGreaterThanOrEqual(Date.parse(d1.finished_at));
  });

  it('ends the streams of a share revoked on one process, open on the other, within 5 s of the answer', async () => {
    const j = (await post(a, '/v1/jobs', { agent: 'echo', input: HELD })).body;
    const s = (await post(a, `/v1/jobs/${j.id}/shares`, {})).body;
    const onB = await openSse(b.url + s.stream_url);
    const onA = await openSse(a.url + s.stream_url);
    expect([onB.status, onA.status]).toEqual([200, 200]);
    try {
      expect((await a.api(`/v1/jobs/${j.id}/shares/${s.id}`, { method: 'DELETE', headers: H })).status).toBe(204);
      const t0 = Date.now();
      const within5s = (x: SseResponse) =>
        Promise.race([x.ended, new Promise((r) => setTimeout(() => r('still open'), 5_000).unref())]);
      expect(await Promise.all([within5s(onB), within5s(onA)])).toEqual(['ended', 'ended']);
      process.stdout.write(`share revoked on A → its streams on A and B ended in ${Date.now() - t0} ms\n`);
    } finally {
      onA.close();
      onB.close();
      await post(a, `/v1/jobs/${j.id}/cancel`, {});
    }
  });

  it('sees a share revoked on one process refused on the other at once', async () => {
    const j = (await post(a, '/v1/jobs', { agent: 'echo', input: { message: 'for the public' } })).body;
    await wait(a, j.id);
    const s = (await post(a, `/v1/jobs/${j.id}/shares`, {})).body;
    expect((await b.api(s.job_url)).status).toBe(200);
    expect((await b.api(s.events_url)).status).toBe(200);
    expect((await a.api(`/v1/jobs/${j.id}/shares/${s.id}`, { method: 'DELETE', headers: H })).status).toBe(204);
    expect((await b.api(s.job_url)).status).toBe(401);
    expect((await b.api(s.events_url)).status).toBe(401);
    expect((await fetch(b.url + s.stream_url)).status).toBe(401);
    // only the digest is stored
    const keys = await raw.keys('*share*');
    const values = await Promise.all(
      keys.map(async (k) => JSON.stringify((await raw.type(k)) === 'hash' ? await raw.hgetall(k) : await raw.get(k))),
    );
    expect(values.join('')).not.toContain(s.token);
  });

  it('leaves nothing of a deleted thread or job in Redis or JetStream', async () => {
    const id = await thread(b);
    const turns = [];
    for (const message of ['first turn', 'second turn']) {
      const r = await post(b, `/v1/threads/${id}/jobs`, { input: { message } }).then((x) => x.body);
      turns.push(await wait(b, r.id));
    }
    await post(a, `/v1/jobs/${turns[0].id}/shares`, {});
    const single = (
      await a.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'solo' } },
        headers: { ...H, 'Idempotency-Key': 'solo-1' },
      })
    ).body;
    await wait(a, single.id);
    await post(a, `/v1/jobs/${single.id}/shares`, {});
    const ids = [id, single.id, ...turns.map((t) => t.id)];
    const traces = async () => {
      const keys = await raw.keys('*');
      const found: string[] = [];
      for (const k of keys) {
        const type = await raw.type(k);
        const body =
          type === 'string'
            ? await raw.get(k)
            : type === 'hash'
              ? JSON.stringify(await raw.hgetall(k))
              : type === 'zset'
                ? (await raw.zrange(k, '0', '-1')).join(',')
                : type === 'list'
                  ? (await raw.lrange(k, 0, -1)).join(',')
                  : '';
        for (const x of ids) if (k.includes(x) || (body ?? '').includes(x)) found.push(`${k} → ${x}`);
      }
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: '>' });
      for (const subject of Object.keys(info.state.subjects ?? {}))
        for (const x of ids) if (subject.includes(x)) found.push(`subject ${subject}`);
      return found;
    };
    expect((await traces()).length).toBeGreaterThan(0);
    expect((await b.api(`/v1/threads/${id}`, { method: 'DELETE', headers: H })).status).toBe(204);
    expect((await a.api(`/v1/jobs/${single.id}`, { method: 'DELETE', headers: H })).status).toBe(204);
    expect(await traces()).toEqual([]);
    for (const app of [a, b]) {
      expect((await get(app, `/v1/threads/${id}`)).status).toBe(404);
      for (const x of ids.slice(1)) expect((await get(app, `/v1/jobs/${x}`)).status).toBe(404);
    }
  });

  it('creates threads and turns by NATS request-reply, with the REST rules', async () => {
    const req = async (subject: string, payload: unknown) => {
      const m = await nc.request(subject, new TextEncoder().encode(JSON.stringify(payload)), { timeout: 5_000 });
      return JSON.parse(new TextDecoder().decode(m.data));
    };
    const t = await req(API_SUBJECTS.threadsCreate, { api_key: KEY, agent: 'echo', metadata: { via: 'nats' } });
    expect(t.thread).toMatchObject({ agent: 'echo', status: 'idle', turns: 0, metadata: { via: 'nats' } });
    const first = await req(API_SUBJECTS.threadJobsCreate, {
      api_key: KEY,
      thread_id: t.thread.id,
      input: HELD,
      idempotency_key: 'n-1',
    });
    expect(first).toMatchObject({ created: true, job: { thread_id: t.thread.id, turn: 1 } });
    expect(
      await req(API_SUBJECTS.threadJobsCreate, {
        api_key: KEY,
        thread_id: t.thread.id,
        input: HELD,
        idempotency_key: 'n-1',
      }),
    ).toMatchObject({
      created: false,
      job: { id: first.job.id },
    });
    expect(
      (await req(API_SUBJECTS.threadJobsCreate, { api_key: KEY, thread_id: t.thread.id, input: { message: 'x' } }))
        .error.code,
    ).toBe('thread_busy');
    const second = await req(API_SUBJECTS.threadJobsCreate, {
      api_key: KEY,
      thread_id: t.thread.id,
      input: { message: 'over nats' },
      if_busy: 'interrupt',
    });
    expect(second.job.turn).toBe(2);
    expect((await wait(b, second.job.id)).status).toBe('completed');
    expect((await wait(b, first.job.id)).status).toBe('cancelled');
    expect((await req(API_SUBJECTS.threadsCreate, { api_key: KEY, agent: 'nope' })).error.code).toBe('unknown_agent');
    expect((await req(API_SUBJECTS.threadsCreate, { api_key: 'wrong', agent: 'echo' })).error.code).toBe(
      'unauthorized',
    );
    expect(
      (await req(API_SUBJECTS.threadJobsCreate, { api_key: KEY, thread_id: 'thr_nope', input: {} })).error.code,
    ).toBe('not_found');
    expect((await req(API_SUBJECTS.threadJobsCreate, { api_key: KEY, input: {} })).error.code).toBe('invalid_request');
  });

  it('answers 503 with Retry-After while Redis is down, and works again when it is back', async () => {
    const id = await thread(a);
    await redis.stop();
    try {
      for (const r of [
        await post(a, '/v1/threads', { agent: 'echo' }),
        await get(a, `/v1/threads/${id}`),
        await post(b, `/v1/threads/${id}/jobs`, { input: { message: 'x' } }),
        await get(b, '/v1/threads'),
      ]) {
        expect([r.status, r.body.error?.code, r.headers.get('retry-after')]).toEqual([503, 'service_unavailable', '2']);
      }
    } finally {
      await redis.restart();
    }
    await waitFor(async () => (await post(a, '/v1/threads', { agent: 'echo' })).status === 201, {
      message: 'the API to reach Redis again',
      timeoutMs: 20_000,
    });
  });

  it('starts an enqueued turn even when the process that accepted it is gone', async () => {
    const id = await thread(a);
    const t1 = (await post(a, `/v1/threads/${id}/jobs`, { input: { ...SLOW, repeat: 2 } })).body;
    const t2 = (await post(a, `/v1/threads/${id}/jobs`, { input: { message: 'after a is gone' }, if_busy: 'enqueue' }))
      .body;
    await a.close();
    const d1 = await wait(b, t1.id);
    const d2 = await wait(b, t2.id);
    expect(d1.status).toBe('completed');
    expect(d2.status).toBe('completed');
    expect(d2.turn).toBe(2);
  });
});
