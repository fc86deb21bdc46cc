/**
 * Redis failover through Sentinel (issue 10): the job store finds the primary through real sentinels
 * (REDIS_SENTINELS / REDIS_SENTINEL_NAME, ioredis's own sentinel support). The primary is SIGKILLed mid-stream;
 * Sentinel promotes the replica; streams go on exactly, creates answer 503 (never another 5xx) for a bounded
 * window and then succeed again, on the new primary.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, seededRandom, streamJobUntilComplete, type FetchLike } from '@jobstream/sdk';
import { startNats, startRedisSentinel, type RunningNats, type RunningRedisSentinel } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

const KEY = 'sentinel-key-00001';
const MESSAGE = Array.from({ length: 50 }, (_, i) => `s${i}`).join(' ') + ' ✓';

let nats: RunningNats;
let redis: RunningRedisSentinel;
let app: TestApp;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedisSentinel()]);
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
  await Promise.all([nats?.destroy(), redis?.destroy()]);
});

describe('the job store behind Redis Sentinel', () => {
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
