/**
 * The HTTP worker protocol on JetStream + Redis: the shared suite, and two API processes that agree on one lease
 * (a worker's requests reaching either process, as behind a load balancer).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { WORKER_ENV, workerCalls, workerHttpSuite } from '../suites/worker-http.suite.js';

workerHttpSuite('JetStream + Redis', (env) => startNatsTestApp(env));

describe('two API processes, one lease', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const env = { ...WORKER_ENV, NATS_URL: nats.url, REDIS_URL: redis.url, EMBEDDED_WORKER: 'false' };
    [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  it('a lease taken on one process is continued, repeated and refused alike on the other', async () => {
    const wa = workerCalls(a.api);
    const wb = workerCalls(b.api);
    await wa.claim(['shared'], 0);
    const job = (await wb.create('shared')).body;
    const lease = (await wa.claim(['shared'], 5)).body;
    expect(lease.job_id).toBe(job.id);
    expect((await wb.append(lease.lease_id, 0, [{ type: 'token', text: 'a' }])).status).toBe(200);
    expect((await wa.append(lease.lease_id, 0, [{ type: 'token', text: 'a' }])).status).toBe(204);
    const gap = await wa.append(lease.lease_id, 2, [{ type: 'token', text: 'b' }]);
    expect(gap.body.error).toMatchObject({ code: 'producer_seq_gap', expected: 1 });
    expect((await wa.heartbeat(lease.lease_id)).status).toBe(200);
    const done = [{ type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'a' } }];
    expect((await wa.append(lease.lease_id, 1, done)).status).toBe(200);
    expect((await wb.append(lease.lease_id, 1, done)).status).toBe(204);
    expect((await wb.append(lease.lease_id, 2, [{ type: 'token', text: 'c' }])).status).toBe(410);
    expect((await wb.events(job.id)).map((e) => e.type)).toEqual(['status', 'status', 'token', 'done']);
    expect((await wa.job(job.id)).body.status).toBe('completed');
  });
});

describe('HTTP worker appends across Redis and NATS outages', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let app: TestApp;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis({ persist: true })]);
    app = await startTestApp({ ...WORKER_ENV, NATS_URL: nats.url, REDIS_URL: redis.url, EMBEDDED_WORKER: 'false' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  it('an outage is a 503 with Retry-After and appends nothing; the same batch under the same number lands once', async () => {
    const w = workerCalls(app.api);
    await w.claim(['outage'], 0);
    const job = (await w.create('outage')).body;
    const lease = (await w.claim(['outage'], 5)).body;
    expect((await w.append(lease.lease_id, 0, [{ type: 'token', text: 'a' }])).status).toBe(200);

    const batch1 = [
      { type: 'token', text: 'b' },
      { type: 'token', text: 'c' },
    ];
    await redis.stop();
    const down = await w.append(lease.lease_id, 1, batch1);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    await redis.restart();
    // the worker's rule: the same batch under the same number until it is settled
    await waitFor(async () => (await w.append(lease.lease_id, 1, batch1)).status === 200, { timeoutMs: 20_000 });

    const batch2 = [{ type: 'token', text: 'd' }];
    await nats.stop();
    const noLog = await w.append(lease.lease_id, 2, batch2);
    expect(noLog.status).toBe(503);
    await nats.restart();
    await waitFor(
      async () => {
        const r = await w.append(lease.lease_id, 2, batch2);
        return r.status === 200 || r.status === 204;
      },
      { timeoutMs: 30_000 },
    );
    const done = [{ type: 'done', usage: { input_tokens: 0, output_tokens: 4 }, output: { text: 'abcd' } }];
    await waitFor(async () => (await w.append(lease.lease_id, 3, done)).status === 200, { timeoutMs: 20_000 });
    const events = await w.events(job.id);
    // once each: batch 1's two tokens are one merged event (the same merge on every try of that batch)
    expect(events.filter((e) => e.type === 'token').map((e) => e.text)).toEqual(['a', 'bc', 'd']);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect((await w.job(job.id)).body.status).toBe('completed');
  }, 120_000);
});
