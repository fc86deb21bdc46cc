/**
 * Tenant-safety attacks on the production engine (JetStream + a real redis-server): the shared quota, rate-limit
 * and webhook-fairness suites, quotas counted across two API processes, and the NATS request-reply creates taking
 * from the same rate limit as REST.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { API_SUBJECTS } from '@jobstream/contracts';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { openSse } from '../support/sse-client.js';
import { spawnWorker } from '../support/worker-process.js';
import { waitFor } from '../support/wait.js';
import { QUOTA_ENV, quotasSuite } from '../suites/quotas.suite.js';
import { webhookFairnessSuite } from '../suites/webhook-fairness.suite.js';

webhookFairnessSuite('JetStream + Redis', (env) => startNatsTestApp(env));
quotasSuite('JetStream + Redis', (env) => startNatsTestApp(env));

describe('tenant safety across API processes (JetStream + Redis)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  const apps: TestApp[] = [];
  let nc: NatsConnection;
  const ACME = { Authorization: 'Bearer acme-key-0001' };
  const GLOBEX = { Authorization: 'Bearer globex-key-0002' };
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const env = {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      API_KEYS: QUOTA_ENV.API_KEYS,
      TENANT_MAX_ACTIVE_JOBS: '4',
      RATE_LIMIT_CREATE_PER_MIN: '6',
      MAX_STREAMS_PER_TENANT: '2',
    };
    // a worker that announced echo and left: echo is a known agent, and with no live worker every job stays
    // queued (and holds its place); then two API processes on one Redis
    await (await spawnWorker({ NATS_URL: nats.url, REDIS_URL: redis.url })).stop('SIGTERM');
    apps.push(await startTestApp(env), await startTestApp(env));
    nc = await connect({ servers: nats.url });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    for (const a of apps) await a.close().catch(() => {});
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  const natsCreate = async (api_key: string, message: string): Promise<any> => {
    const m = await nc.request(
      API_SUBJECTS.create,
      new TextEncoder().encode(JSON.stringify({ api_key, agent: 'echo', input: { message } })),
      { timeout: 5_000 },
    );
    return JSON.parse(new TextDecoder().decode(m.data));
  };

  it('holds the active-jobs quota over both processes, even for concurrent creates', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        apps[i % 2]!.api('/v1/jobs', { body: { agent: 'echo', input: { message: `m${i}` } }, headers: GLOBEX }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect([r.status, r.body.error.code]).toEqual([429, 'quota_exceeded']);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    // a cancelled job frees its place, seen by the other process
    const first = results.find((r) => r.status === 201)!.body.id as string;
    expect((await apps[0]!.api(`/v1/jobs/${first}/cancel`, { body: {}, headers: GLOBEX })).status).toBe(202);
    const again = await apps[1]!.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'x' } }, headers: GLOBEX });
    expect(again.status).toBe(201);
  });

  it('holds the open-streams quota over both processes; a closed stream frees its slot', async () => {
    // one of globex's queued jobs (no worker runs: its stream stays open)
    const queued = await apps[0]!.api('/v1/jobs?status=queued&limit=1', { headers: GLOBEX });
    const path = `/v1/jobs/${queued.body.items[0].id}/stream`;
    const a = await openSse(apps[0]!.url + path, { headers: GLOBEX });
    const b = await openSse(apps[1]!.url + path, { headers: GLOBEX });
    expect([a.status, b.status]).toEqual([200, 200]);
    for (const app of apps) {
      const refused = await openSse(app.url + path, { headers: GLOBEX });
      expect([refused.status, refused.body]).toEqual([
        429,
        { error: { code: 'quota_exceeded', message: expect.any(String) } },
      ]);
    }
    // another tenant streams meanwhile
    const mine = await apps[1]!.api('/v1/jobs', { body: { agent: 'echo', input: { message: 's' } }, headers: ACME });
    const c = await openSse(`${apps[1]!.url}/v1/jobs/${mine.body.id}/stream`, { headers: ACME });
    expect(c.status).toBe(200);
    c.close();
    a.close();
    const again = await waitFor(async () => {
      const r = await openSse(apps[1]!.url + path, { headers: GLOBEX });
      if (r.status === 200) return r;
      r.close();
      return null;
    });
    again.close();
    b.close();
  });

  it('rate-limits NATS creates like REST creates (429 rate_limited in the reply)', async () => {
    const ok = await natsCreate('acme-key-0001', 'first');
    expect(ok).toMatchObject({ created: true, job: { status: 'queued' } });
    // spend acme's bucket on both processes (the NATS requests go to either: one queue group) with REST creates
    for (const a of apps)
      for (let i = 0; i < 6; i++) await a.api('/v1/threads', { body: { agent: 'echo' }, headers: ACME });
    const limited = await natsCreate('acme-key-0001', 'over');
    expect(limited).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    const thread = await nc.request(
      API_SUBJECTS.threadsCreate,
      new TextEncoder().encode(JSON.stringify({ api_key: 'acme-key-0001', agent: 'echo' })),
      { timeout: 5_000 },
    );
    expect(JSON.parse(new TextDecoder().decode(thread.data))).toMatchObject({ error: { code: 'rate_limited' } });
  });
});
