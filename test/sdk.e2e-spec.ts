/**
 * The SDK against the real app (embedded engine), through a TCP proxy that cuts connections at random bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newJobId } from '@jobstream/contracts/ids';
import {
  JobstreamError,
  createClient,
  createStream,
  seededRandom,
  streamJobUntilComplete,
  subscribeJobStream,
  type JobEvent,
  type JobstreamClient,
} from '@jobstream/sdk';
import { startTestApp, type TestApp } from './support/app.js';
import { startCuttingProxy, type CuttingProxy } from './support/cutting-proxy.js';

const KEY = 'sdk-e2e-key-0001';
const MESSAGE = 'Streams survive flaky networks: every token arrives once, in order, ünïcödé included ✓. ';
const FAST = { initialDelayMs: 5, maxDelayMs: 100, maxRetries: 60 };

describe('SDK end to end (embedded engine)', () => {
  let app: TestApp;
  let client: JobstreamClient;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY}`, HEARTBEAT_MS: '200', SSE_RETRY_MS: '100' });
    client = createClient({ baseUrl: app.url, apiKey: KEY });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** A proxy that cuts every connection after a seeded-random number of response bytes (HTTP headers included). */
  const flakyProxy = (seed: number, maxBytes: number): Promise<CuttingProxy> => {
    const rnd = seededRandom(seed);
    return startCuttingProxy(app.url, () => 200 + Math.floor(rnd() * maxBytes));
  };

  it.each([11, 22, 33])(
    'streamJobUntilComplete assembles the exact text under random connection cuts (seed %i)',
    async (seed) => {
      const job = await client.jobs.create({ agent: 'echo', input: { message: MESSAGE, repeat: 4, delay_ms: 1 } });
      const proxy = await flakyProxy(seed, 900);
      try {
        let reconnects = 0;
        const r = await streamJobUntilComplete(job.id, {
          baseUrl: proxy.url,
          apiKey: KEY,
          reconnect: { ...FAST, random: seededRandom(seed) },
          onReconnect: () => reconnects++,
        });
        expect(r.text).toBe(MESSAGE.repeat(4));
        expect(r.terminal).toMatchObject({ type: 'done', output: { text: MESSAGE.repeat(4) } });
        expect(r.job.status).toBe('completed');
        expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, i) => i + 1));
        expect(reconnects).toBeGreaterThan(0);
        expect(proxy.connections).toBeGreaterThan(1);
      } finally {
        await proxy.close();
      }
    },
  );

  it('subscribeJobStream follows a running job through cuts of the live stream', async () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `).join('');
    const job = await client.jobs.create({ agent: 'echo', input: { message: words, delay_ms: 5 } });
    const proxy = await flakyProxy(7, 1500);
    try {
      let shown = '';
      const result = await subscribeJobStream(
        job.id,
        { onToken: (_t, text) => (shown = text) },
        { baseUrl: proxy.url, apiKey: KEY, reconnect: { ...FAST, random: seededRandom(7) } },
      ).done;
      expect(result).toMatchObject({ outcome: 'completed', text: words });
      expect(shown).toBe(words);
    } finally {
      await proxy.close();
    }
  });

  it('aborting the stream stops the client but not the job', async () => {
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'a b c d e f g h i j', delay_ms: 100 } });
    const ac = new AbortController();
    const seen: JobEvent[] = [];
    const err = await (async () => {
      for await (const e of client.jobs.stream(job.id, { signal: ac.signal, reconnect: FAST })) {
        seen.push(e);
        if (e.type === 'token') ac.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(seen.at(-1)?.type).toBe('token');
    // A disconnect is not a cancel: the job runs to completion.
    const done = await client.jobs.wait(job.id, { timeoutS: 10 });
    expect(done.status).toBe('completed');
  });

  it('does not retry auth errors nor unknown jobs', async () => {
    let calls = 0;
    const counting = (input: string, init?: RequestInit) => {
      calls++;
      return fetch(input, init);
    };
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'secret stuff' } });
    const bad = await streamJobUntilComplete(job.id, {
      baseUrl: app.url,
      apiKey: 'wrong-key-123',
      fetch: counting,
      reconnect: FAST,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(JobstreamError);
    expect((bad as JobstreamError).status).toBe(401);
    expect(JSON.stringify((bad as Error).message)).not.toContain('wrong-key-123');
    expect(calls).toBe(1);

    calls = 0;
    const missing = await collect(
      createStream(newJobId(), { baseUrl: app.url, apiKey: KEY, fetch: counting, reconnect: FAST }),
    ).catch((e: unknown) => e);
    expect((missing as JobstreamError).status).toBe(404);
    expect((missing as JobstreamError).code).toBe('not_found');
    expect(calls).toBe(1);
  });

  it('resumes from a stored cursor', async () => {
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'one two three four five six' } });
    const first: JobEvent[] = [];
    const s1 = client.jobs.stream(job.id, { reconnect: FAST });
    for await (const e of s1) {
      first.push(e);
      if (e.type === 'token' && e.text.startsWith('three')) break;
    }
    const rest = await collect(client.jobs.stream(job.id, { resumeAfter: s1.lastEventId!, reconnect: FAST }));
    expect(rest[0]!.seq).toBe(first.at(-1)!.seq + 1);
    const text = [...first, ...rest].map((e) => (e.type === 'token' ? e.text : '')).join('');
    expect(text).toBe('one two three four five six');
  });

  it('REST methods: create (idempotent replay), get, list, events, cancel, wait', async () => {
    const body = { agent: 'echo', input: { message: 'x y z', delay_ms: 200 } };
    const a = await client.jobs.createWithInfo(body, { idempotencyKey: 'sdk-e2e-idem-1' });
    const b = await client.jobs.createWithInfo(body, { idempotencyKey: 'sdk-e2e-idem-1' });
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(true);
    expect(b.job.id).toBe(a.job.id);
    const conflict = await client.jobs
      .create({ ...body, input: { message: 'other' } }, { idempotencyKey: 'sdk-e2e-idem-1' })
      .catch((e: unknown) => e);
    expect((conflict as JobstreamError).status).toBe(409);

    expect((await client.jobs.get(a.job.id)).id).toBe(a.job.id);
    const page = await client.jobs.list({ limit: 100 });
    expect(page.items.some((j) => j.id === a.job.id)).toBe(true);

    const cancelled = await client.jobs.cancel(a.job.id, { reason: 'sdk e2e' });
    expect(cancelled.id).toBe(a.job.id);
    const final = await client.jobs.wait(a.job.id, { timeoutS: 10 });
    expect(final.status).toBe('cancelled');

    const events = await client.jobs.events(a.job.id, { limit: 1000 });
    expect(events.status).toBe('cancelled');
    expect(events.events.at(-1)?.type).toBe('cancelled');
    expect(events.events.every((e) => typeof e.id === 'string')).toBe(true);
  });
});

async function collect(iter: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}
