/**
 * Redis failover through Sentinel: the job store finds the primary through real sentinels (REDIS_SENTINELS /
 * REDIS_SENTINEL_NAME, ioredis's own sentinel support). The primary is SIGKILLed mid-stream; Sentinel promotes the
 * replica; streams go on exactly, creates answer 503 (never another 5xx) for a bounded window and then succeed
 * again, on the new primary. With REDIS_MIN_REPLICAS_ACK=1, every create answered 201 before the kill is on the new
 * primary, and with the replica gone creates answer 503 and those jobs never run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient, seededRandom, streamJobUntilComplete, type FetchLike } from '@jobstream/sdk';
import { startNats, startRedisSentinel, type RunningNats, type RunningRedisSentinel } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

const KEY = 'sentinel-key-00001';
const MESSAGE = Array.from({ length: 50 }, (_, i) => `s${i}`).join(' ') + ' ✓';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
}, 30_000);
afterAll(async () => {
  await nats?.destroy();
});

describe('the job store behind Redis Sentinel', () => {
  let redis: RunningRedisSentinel;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedisSentinel();
    app = await startTestApp({
      NATS_URL: nats.url,
      REDIS_SENTINELS: redis.sentinels,
      REDIS_SENTINEL_NAME: redis.name,
      API_KEYS: `acme:${KEY}`,
      EMBEDDED_WORKER: 'true',
      JOB_STALL_TIMEOUT_MS: '10000',
      SSE_RETRY_MS: '200',
      RATE_LIMIT_CREATE_PER_MIN: '0',
    });
  }, 60_000);
  // the followers' streams end with the test, pass or fail: a timer left running would fire during a later suite
  const followersAbort = new AbortController();
  afterAll(async () => {
    followersAbort.abort();
    await app?.close();
    await redis?.destroy();
  });

  it('rides out a failover of the primary: streams stay exact, creates answer 503 for a bounded window, then work', async () => {
    const statuses: number[] = [];
    const recording: FetchLike = async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    };
    const client = createClient({ baseUrl: app.url, apiKey: KEY });
    const jobs = await Promise.all(
      [1, 2, 3].map(() => client.jobs.create({ agent: 'echo', input: { message: MESSAGE, delay_ms: 60 } })),
    );
    let tokens = 0;
    const followers = jobs.map((j, i) =>
      streamJobUntilComplete(j.id, {
        baseUrl: app.url,
        apiKey: KEY,
        fetch: recording,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, maxRetries: 10_000, random: seededRandom(i + 1) },
        signal: followersAbort.signal,
        onToken: () => tokens++,
      }),
    );
    await waitFor(() => tokens >= 15, {
      timeoutMs: 20_000,
      message: () => `15 tokens before the failover (got ${tokens})`,
    });

    const oldPrimary = await redis.primaryPort();
    expect(oldPrimary).toBe(redis.nodes[0]!.port);
    const killedAt = Date.now();
    await redis.nodes[0]!.stop('SIGKILL');

    // creates until one succeeds on the new primary: only 503s in between
    const createStatuses: number[] = [];
    const created = await waitFor(
      async () => {
        const r = await app.api('/v1/jobs', {
          body: { agent: 'echo', input: { message: MESSAGE, delay_ms: 5 } },
          headers: { Authorization: `Bearer ${KEY}`, 'Idempotency-Key': 'after-failover' },
        });
        createStatuses.push(r.status);
        if (r.status === 201 || r.status === 200) return r.body as { id: string };
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        return null;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: () => `a create to succeed on the new primary (${createStatuses.length} tries)`,
      },
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}:\n${await redis.diagnostics()}`, { cause: err });
    });
    const window = Date.now() - killedAt;
    process.stdout.write(
      `sentinel failover: creates answered again after ${window} ms (${createStatuses.filter((s) => s === 503).length} × 503)\n`,
    );
    expect(await redis.primaryPort()).toBe(redis.nodes[1]!.port);

    const after = await streamJobUntilComplete(created.id, { baseUrl: app.url, apiKey: KEY, fetch: recording });
    expect(after.text).toBe(MESSAGE);
    for (const r of await Promise.all(followers)) {
      expect(r.text).toBe(MESSAGE);
      expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, k) => k + 1));
      expect(r.terminal.type).toBe('done');
      expect(r.job.status).toBe('completed');
    }
    expect([...statuses, ...createStatuses].filter((s) => s >= 500 && s !== 503)).toEqual([]);
  }, 120_000);
});

describe('durable acknowledgements through Sentinel (REDIS_MIN_REPLICAS_ACK=1)', () => {
  const KEY_B = 'sentinel-key-00002';
  let redis: RunningRedisSentinel;
  let app: TestApp;
  const opened: Redis[] = [];
  const raw = (url: string) => {
    const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    r.on('error', () => {});
    opened.push(r);
    return r;
  };
  const create = (key: string, idem?: string) =>
    app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'acked ✓', delay_ms: 1 } },
      headers: { Authorization: `Bearer ${key}`, ...(idem ? { 'Idempotency-Key': idem } : {}) },
    });

  beforeAll(async () => {
    redis = await startRedisSentinel();
    app = await startTestApp({
      NATS_URL: nats.url,
      REDIS_SENTINELS: redis.sentinels,
      REDIS_SENTINEL_NAME: redis.name,
      REDIS_MIN_REPLICAS_ACK: '1',
      REDIS_REPLICA_ACK_TIMEOUT_MS: '1000',
      API_KEYS: `acme:${KEY},beta:${KEY_B}`,
      EMBEDDED_WORKER: 'true',
      JOB_STALL_TIMEOUT_MS: '10000',
      RATE_LIMIT_CREATE_PER_MIN: '0',
    });
  }, 60_000);
  afterAll(async () => {
    for (const r of opened) r.disconnect();
    await app?.close();
    await redis?.destroy();
  });

  it('every create answered 201 before the primary is SIGKILLed is on the new primary', async () => {
    expect(await redis.primaryPort()).toBe(redis.nodes[0]!.port);
    const answers = await Promise.all(Array.from({ length: 40 }, () => create(KEY)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const acked = answers.map((a) => (a.body as { id: string }).id);
    // right after the last answer: whatever was acknowledged must survive the primary
    await redis.nodes[0]!.stop('SIGKILL');

    await waitFor(async () => (await redis.primaryPort().catch(() => 0)) === redis.nodes[1]!.port, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'the replica to be promoted',
    }).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}:\n${await redis.diagnostics()}`, { cause: err });
    });
    const promoted = raw(redis.nodes[1]!.url);
    const docs = await promoted.pipeline(acked.map((id) => ['hget', `jobstream:job:${id}`, 'd'])).exec();
    expect(acked.filter((_, i) => docs?.[i]?.[1] == null)).toEqual([]);
    // and the API serves them again, from the new primary
    for (const id of [acked[0]!, acked[acked.length - 1]!]) {
      await waitFor(
        async () => (await app.api(`/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${KEY}` } })).status === 200,
        { timeoutMs: 30_000, intervalMs: 200, message: `job ${id} to be served after the failover` },
      );
    }
  }, 120_000);

  it('with no replica, creates answer 503 with Retry-After and those jobs never run; retried once it is back, one runs', async () => {
    // the new primary has no replica now: the old primary is down
    const primary = raw(redis.nodes[1]!.url);
    const auth = { Authorization: `Bearer ${KEY_B}` };
    for (let i = 0; i < 4; i++) {
      const r = await create(KEY_B, `outage-${i}`);
      expect(r.status).toBe(503);
      expect((r.body as { error: { code: string } }).error.code).toBe('service_unavailable');
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    // Each landed on the primary and was abandoned at once: a tombstone each (a late copy of the create is refused),
    // no record and no list entry left — nothing the dispatcher or the watchdog could run.
    const betaJobs = async () => {
      const ids = await primary.zrange('jobstream:list:all:beta', '0', '-1');
      const docs = await Promise.all(ids.map((id) => primary.hget(`jobstream:job:${id}`, 'd')));
      return { ids, docs: docs.filter((d) => d !== null) };
    };
    await waitFor(async () => (await primary.keys('jobstream:abandoned:*')).length === 4, {
      message: 'the four 503 creates to be abandoned',
    });
    expect(await betaJobs()).toEqual({ ids: [], docs: [] });
    const listed = await app.api('/v1/jobs?limit=100', { headers: auth });
    expect(listed.status).toBe(200);
    expect((listed.body as { items: unknown[] }).items).toEqual([]);

    // the old primary comes back; Sentinel makes it a replica of the new one; a retry with the same
    // Idempotency-Key creates the job once it is acknowledged, and that job runs
    await redis.nodes[0]!.restart();
    const statuses: number[] = [];
    const created = await waitFor(
      async () => {
        const r = await create(KEY_B, 'outage-0');
        statuses.push(r.status);
        if (r.status === 201) return r.body as { id: string };
        expect(r.status).toBe(503);
        return null;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: () => `a create to be acknowledged again (${statuses.length} tries)`,
      },
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}:\n${await redis.diagnostics()}`, { cause: err });
    });
    const done = await streamJobUntilComplete(created.id, { baseUrl: app.url, apiKey: KEY_B });
    expect(done.text).toBe('acked ✓');
    expect(done.job.status).toBe('completed');
    // the retry is the tenant's only job: none of the creates answered 503 exists or ran
    expect((await betaJobs()).ids).toEqual([created.id]);
    const after = await app.api('/v1/jobs?limit=100', { headers: auth });
    expect((after.body as { items: { id: string }[] }).items.map((j) => j.id)).toEqual([created.id]);
    expect((await create(KEY_B, 'outage-0')).status).toBe(200);
  }, 120_000);
});
