/**
 * The SDK against the production engine (JetStream + Redis, a separate worker app): the API process serving the
 * stream is restarted mid-stream, and connections are cut at random — the assembled text is exact every time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, seededRandom, streamJobUntilComplete, type JobstreamClient } from '@jobstream/sdk';
import { startApp, type RunningApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/config.js';
import { hashKey } from '../../src/config/key-hash.js';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import { sleep, waitFor } from '../support/wait.js';

const KEY = 'sdk-nats-key-0001';
const MESSAGE = 'Restarts and cuts: every token once, in order, ✓. ';
const FAST = { initialDelayMs: 20, maxDelayMs: 200, maxRetries: 100 };

describe('SDK end to end (JetStream + Redis)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let worker: TestApp;
  let api: RunningApp;
  let client: JobstreamClient;

  const env = () => ({
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    API_KEYS: `acme:${KEY}`,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    SSE_RETRY_MS: '100',
  });
  /** An API process with no in-process worker, on `port` (0 = a free one). */
  const startApi = (port: number) => startApp(loadConfig(env(), hashKey), { port, logger: false });

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis({ persist: true })]);
    worker = await startTestApp({ ...env(), EMBEDDED_WORKER: 'true' });
    api = await startApi(0);
    client = createClient({ baseUrl: api.url, apiKey: KEY });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  it('follows a job exactly while the API process serving it is restarted mid-stream', async () => {
    // The job parks on a question after 5 tokens: its stream is surely open when the API goes down, however slow the
    // machine (it could otherwise end first). The answer, sent after the restart, lets it stream the rest.
    const job = await client.jobs.create({
      agent: 'echo',
      input: { message: MESSAGE, repeat: 8, delay_ms: 20, ask: { after: 5 } },
    });
    let tokens = 0;
    let reconnects = 0;
    const result = streamJobUntilComplete(job.id, {
      baseUrl: api.url,
      apiKey: KEY,
      reconnect: { ...FAST, random: seededRandom(7) },
      onToken: () => tokens++,
      onReconnect: () => reconnects++,
    });
    const asked = await waitFor(async () => tokens >= 5 && (await client.jobs.get(job.id)).pending_input, {
      message: 'the job to ask after 5 tokens',
    });
    const port = Number(new URL(api.url).port);
    await api.close(); // ends open streams with a retry hint, as on SIGTERM
    await sleep(300); // the outage's length, not a synchronization
    api = await startApi(port);
    await client.jobs.input(job.id, { request_id: asked.request_id, input: { approved: true } });
    const r = await result;
    expect(r.text).toBe(MESSAGE.repeat(8));
    expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, i) => i + 1));
    expect(r.terminal).toMatchObject({ type: 'done' });
    expect(r.job.status).toBe('completed');
    expect(reconnects).toBeGreaterThan(0);
  });

  it('assembles the exact text under random connection cuts', async () => {
    const job = await client.jobs.create({ agent: 'echo', input: { message: MESSAGE, repeat: 4, delay_ms: 1 } });
    const rnd = seededRandom(99);
    const proxy = await startCuttingProxy(api.url, () => 200 + Math.floor(rnd() * 900));
    try {
      const r = await streamJobUntilComplete(job.id, {
        baseUrl: proxy.url,
        apiKey: KEY,
        reconnect: { ...FAST, random: seededRandom(99) },
      });
      expect(r.text).toBe(MESSAGE.repeat(4));
      expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, i) => i + 1));
      expect(proxy.connections).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});
