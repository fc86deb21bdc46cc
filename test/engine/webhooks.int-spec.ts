/**
 * Webhooks on the production engine (JetStream + Redis, real servers from the harness): the shared suite, plus what
 * only a multi-process deployment can show — pending deliveries survive a restart of the delivering API process,
 * a job that ends while no API process runs is still announced (durable feed consumer), and with two API
 * processes each job event becomes exactly one delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisJobStore } from '@jobstream/job-store';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { waitFor } from '../support/wait.js';
import { startReceiver } from '../support/webhook-receiver.js';
import { spawnWorker } from '../support/worker-process.js';
import { spawnApi } from '../support/api-process.js';
import { WEBHOOK_TEST_ENV, verify, webhooksSuite } from '../suites/webhooks.suite.js';

webhooksSuite('JetStream + Redis', (env) => startNatsTestApp(env));

describe('webhooks across API processes (JetStream + Redis)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  const apps: TestApp[] = [];
  const KEY = 'acme-key-0001';
  const auth = { Authorization: `Bearer ${KEY}` };
  const env = (extra: Record<string, string> = {}) => ({
    ...WEBHOOK_TEST_ENV,
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    ...extra,
  });
  const start = async (extra: Record<string, string> = {}) => {
    const a = await startTestApp(env(extra));
    apps.push(a);
    return a;
  };
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => {});
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });
  const clean = async (app: TestApp) => {
    for (const w of (await app.api('/v1/webhooks', { headers: auth })).body.items)
      await app.api(`/v1/webhooks/${w.id}`, { method: 'DELETE', headers: auth });
  };

  it('finishes the retries of a delivery after the delivering process restarted', async () => {
    const rx = await startReceiver();
    rx.script(500, 500, 200);
    // tries 2 and 3 come 2 s after the previous one: the first process is gone by then
    const a = await start({ EMBEDDED_WORKER: 'true', WEBHOOK_RETRY_SCHEDULE: '2s,2s,2s' });
    const hook = await a.api('/v1/webhooks', { body: { url: rx.url, events: ['job.completed'] }, headers: auth });
    const job = await a.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'survive me' } }, headers: auth });
    await rx.waitFor(1);
    await a.close();
    const seenBeforeRestart = rx.received.length;
    expect(seenBeforeRestart).toBeLessThan(3);

    const b = await start({ EMBEDDED_WORKER: 'true', WEBHOOK_RETRY_SCHEDULE: '2s,2s,2s' });
    const got = await rx.waitFor(3, 20_000);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(verify(hook.body.secret, got[2]!).data.job).toMatchObject({ id: job.body.id, status: 'completed' });
    const d = await waitFor(
      async () => {
        const r = await b.api(`/v1/webhooks/${hook.body.id}/deliveries`, { headers: auth });
        return r.body.items?.[0]?.status === 'delivered' ? r.body.items[0] : null;
      },
      { retryErrors: true },
    );
    expect(d.attempts.map((x: any) => x.status_code)).toEqual([500, 500, 200]);
    await clean(b);
    await b.close();
    await rx.close();
  }, 60_000);

  it('takes over a try whose process was SIGKILLed mid-try (leased claim), and delivers it', async () => {
    const rx = await startReceiver();
    rx.script('hang'); // the first try never gets an answer: the process dies while it waits
    const crashEnv = {
      ...WEBHOOK_TEST_ENV,
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      EMBEDDED_WORKER: 'true',
      WEBHOOK_TIMEOUT_MS: '10000',
      WEBHOOK_LEASE_MARGIN_MS: '500',
      WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s',
    };
    const victim = await spawnApi(crashEnv);
    const call = async (base: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method: body ? 'POST' : 'GET',
        headers: { ...auth, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const hook = await call(victim.url, '/v1/webhooks', { url: rx.url, events: ['job.completed'] });
    expect(hook.status).toBe(201);
    const job = await call(victim.url, '/v1/jobs', { agent: 'echo', input: { message: 'crash during the try' } });
    await rx.waitFor(1); // the try is in flight (the receiver holds it)
    await victim.stop('SIGKILL');

    // another API process takes the delivery up once the dead process's lease (10 s timeout + 0.5 s) has run out
    const b = await start({ EMBEDDED_WORKER: 'true', WEBHOOK_TIMEOUT_MS: '10000', WEBHOOK_LEASE_MARGIN_MS: '500' });
    const got = await rx.waitFor(2, 30_000);
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
    expect(verify(hook.body.secret, got[1]!).data.job).toMatchObject({ id: job.body.id, status: 'completed' });
    const d = await waitFor(
      async () => {
        const r = await b.api(`/v1/webhooks/${hook.body.id}/deliveries`, { headers: auth });
        return r.body.items?.[0]?.status === 'delivered' ? r.body.items[0] : null;
      },
      { retryErrors: true },
    );
    // the killed try was never recorded: the log has the one that completed
    expect(d.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: 200 })]);
    await clean(b);
    await b.close();
    await rx.close();
  }, 60_000);

  it('announces a job that ended while no API process ran (durable feed consumer)', async () => {
    const rx = await startReceiver();
    const worker = await spawnWorker({ NATS_URL: nats.url, REDIS_URL: redis.url, API_KEYS: WEBHOOK_TEST_ENV.API_KEYS });
    try {
      const a = await start({ EMBEDDED_WORKER: 'false' });
      const hook = await a.api('/v1/webhooks', { body: { url: rx.url, events: ['job.completed'] }, headers: auth });
      const job = await a.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'tick '.repeat(20), delay_ms: 50 } },
        headers: auth,
      });
      await a.close(); // the job goes on in the worker process and ends while no API process runs
      // the job ends in the worker (seen in the shared job store) while no API process runs
      const store = await RedisJobStore.create({ url: redis.url, retentionMs: 60_000, idempotencyTtlMs: 60_000 });
      await waitFor(async () => (await store.get(job.body.id))?.status === 'completed', {
        message: 'the job to complete',
        timeoutMs: 20_000,
        retryErrors: true,
      });
      await store.close();
      expect(rx.received).toHaveLength(0);
      const b = await start({ EMBEDDED_WORKER: 'false' });
      const [r] = await rx.waitFor(1, 20_000);
      expect(verify(hook.body.secret, r!).data.job).toMatchObject({ id: job.body.id, status: 'completed' });
      await clean(b);
      await b.close();
    } finally {
      await worker.stop('SIGTERM');
      await rx.close();
    }
  }, 60_000);

  it('with two API processes, makes exactly one delivery per job event', async () => {
    const rx = await startReceiver();
    const a = await start({ EMBEDDED_WORKER: 'true' });
    const b = await start({ EMBEDDED_WORKER: 'true' });
    const hook = await a.api('/v1/webhooks', { body: { url: rx.url, events: ['job.completed'] }, headers: auth });
    const n = 12;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const via = i % 2 ? a : b;
      ids.push(
        (await via.api('/v1/jobs', { body: { agent: 'echo', input: { message: `job ${i}` } }, headers: auth })).body.id,
      );
    }
    await rx.waitFor(n, 20_000);
    const log = await waitFor(
      async () => {
        const r = await b.api(`/v1/webhooks/${hook.body.id}/deliveries?limit=100`, { headers: auth });
        return r.body.items?.length >= n && r.body.items.every((d: any) => d.status === 'delivered')
          ? r.body.items
          : null;
      },
      { retryErrors: true },
    );
    expect(log).toHaveLength(n);
    expect(new Set(log.map((d: any) => d.job_id))).toEqual(new Set(ids));
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(n);
    await clean(a);
    await rx.close();
  }, 60_000);

  it('answers 503 with Retry-After while Redis is down, and works again when it is back', async () => {
    const a = await start({ EMBEDDED_WORKER: 'true' });
    await redis.stop();
    for (const r of [
      await a.api('/v1/webhooks', { headers: auth }),
      await a.api('/v1/webhooks', { body: { url: 'https://93.184.215.14/x', events: ['job.failed'] }, headers: auth }),
    ]) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('service_unavailable');
      expect(r.headers.get('retry-after')).toBeTruthy();
    }
    await redis.restart();
    await waitFor(async () => (await a.api('/v1/webhooks', { headers: auth })).status === 200, {
      message: 'the store to reconnect',
      timeoutMs: 20_000,
      retryErrors: true,
    });
  }, 60_000);
});
