/**
 * Operability through the real app: health probes, Prometheus metrics, request ids, the per-tenant rate limit, the
 * stream caps and the slow-client drop.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import type { JobEvent } from '@jobstream/contracts';
import { SseConnections } from '../src/sse/sse-connections.js';
import { startTestApp, type TestApp } from './support/app.js';
import { openSse, readAll, tokenText, type SseResponse } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

const KEYS = 'acme:key-acme-0001,globex:key-globex-0002';
const ACME = { Authorization: 'Bearer key-acme-0001' };
const GLOBEX = { Authorization: 'Bearer key-globex-0002' };

const metricValue = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const createJob = async (app: TestApp, input: Record<string, unknown>, headers: Record<string, string> = ACME) => {
  const r = await app.api('/v1/jobs', { body: { agent: 'echo', input }, headers });
  expect(r.status).toBe(201);
  return r.body as { id: string; stream_url: string };
};

describe('health probes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: KEYS });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('GET /health/live and /health/ready answer 200 without an API key', async () => {
    const live = await app.api('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', info: { process: { status: 'up' } } });
    const ready = await app.api('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { api: { status: 'up' }, engine: { status: 'up', message: 'embedded' } },
    });
  });

  it('GET /health/ready is 503 naming the backing service that is down (a fixed message, no internal host), and recovers', async () => {
    const healthy = app.engine.health;
    try {
      (app.engine as { health: typeof healthy }).health = async () => ({
        nats: { up: true },
        redis: { up: false, message: 'Error: connect ECONNREFUSED 10.1.2.3:6379' },
      });
      const r = await app.api('/health/ready');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({
        status: 'error',
        info: { nats: { status: 'up' } },
        error: { redis: { status: 'down', message: 'unavailable' } },
      });
      expect(JSON.stringify(r.body)).not.toMatch(/10\.1\.2\.3|ECONNREFUSED|6379/);
      (app.engine as { health: typeof healthy }).health = async () => {
        throw new Error('getaddrinfo ENOTFOUND nats.internal.example');
      };
      const t = await app.api('/health/ready');
      expect(t.status).toBe(503);
      expect(t.body).toMatchObject({ error: { engine: { status: 'down', message: 'unavailable' } } });
      expect(JSON.stringify(t.body)).not.toMatch(/nats\.internal|ENOTFOUND/);
      // liveness does not depend on the backing services
      expect((await app.api('/health/live')).status).toBe(200);
    } finally {
      (app.engine as { health: typeof healthy }).health = healthy;
    }
    expect((await app.api('/health/ready')).status).toBe(200);
  });
});

describe('metrics and request ids', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: KEYS, HEARTBEAT_MS: '100' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('exposes Prometheus metrics publicly: process defaults and jobstream series after a streamed job', async () => {
    const job = await createJob(app, { message: 'alpha beta gamma delta', delay_ms: 30 });
    const s = await readAll(app.url + job.stream_url, { headers: ACME });
    const events = s.events();
    expect(events[events.length - 1]!.type).toBe('done');
    expect((await app.api(`/v1/jobs/${job.id}`, { headers: ACME })).status).toBe(200);
    expect((await app.api('/v1/jobs/job_00000000000000000000000000', { headers: ACME })).status).toBe(404);
    expect((await app.api('/nowhere/at/all')).status).toBe(404);
    // the worker records the job's end (store transition, run time) just after appending its last event, and the
    // server closes the stream's bookkeeping after the client saw the end: wait for that, do not assume it
    await waitFor(
      async () => {
        const t = await (await fetch(app.url + '/metrics')).text();
        return (
          metricValue(t, 'jobstream_worker_job_duration_seconds_count{agent="echo",status="completed"}') === 1 &&
          metricValue(t, 'jobstream_sse_open_connections') === 0 &&
          metricValue(t, 'jobstream_live_hub_jobs') === 0
        );
      },
      { message: 'the metrics to show the job ended and its stream closed' },
    );

    const res = await fetch(app.url + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(metricValue(text, 'jobstream_sse_open_connections')).toBe(0);
    expect(metricValue(text, 'jobstream_sse_events_delivered_total')).toBeGreaterThanOrEqual(events.length);
    expect(metricValue(text, 'jobstream_sse_heartbeats_total')).toBeGreaterThanOrEqual(0);
    expect(metricValue(text, 'jobstream_sse_dropped_slow_total')).toBe(0);
    expect(metricValue(text, 'jobstream_live_hub_jobs')).toBe(0);
    expect(metricValue(text, 'jobstream_live_hub_sinks')).toBe(0);
    expect(metricValue(text, 'jobstream_sse_replay_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'jobstream_job_transitions_total{status="queued"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'jobstream_job_transitions_total{status="running"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'jobstream_job_transitions_total{status="completed"}')).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'jobstream_worker_job_duration_seconds_count{agent="echo",status="completed"}'),
    ).toBeGreaterThanOrEqual(1);
    // route templates, never raw URLs with ids; streams are not in the request-duration histogram
    expect(
      metricValue(
        text,
        'jobstream_http_request_duration_seconds_count{method="POST",route="/v1/jobs",status_code="201"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(
        text,
        'jobstream_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(
        text,
        'jobstream_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(
        text,
        'jobstream_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(job.id);
    expect(text).not.toContain('/stream"');
    expect(text).not.toContain('nowhere');
  });

  it('counts open streams, live-hub entries and heartbeats while a stream is open', async () => {
    // the job parks on a question after its first token: the stream stays open while the test counts, however slow
    const job = await createJob(app, {
      message: 'one two three four five six seven eight nine ten',
      ask: { after: 1 },
    });
    const s = await openSse(app.url + job.stream_url, { headers: ACME });
    try {
      await s.until((items) => items.some((i) => i.kind === 'event' && i.type === 'input_required'));
      const text = await (await fetch(app.url + '/metrics')).text();
      expect(metricValue(text, 'jobstream_sse_open_connections')).toBe(1);
      expect(metricValue(text, 'jobstream_live_hub_jobs')).toBe(1);
      expect(metricValue(text, 'jobstream_live_hub_sinks')).toBe(1);
      const before = metricValue(text, 'jobstream_sse_heartbeats_total')!;
      await s.until((items) => items.filter((i) => i.kind === 'comment').length >= 3);
      const after = metricValue(await (await fetch(app.url + '/metrics')).text(), 'jobstream_sse_heartbeats_total')!;
      expect(after).toBeGreaterThan(before);
    } finally {
      s.close();
    }
  });

  it('echoes a sane X-Request-Id, and replaces a missing or insane one with a generated id', async () => {
    const given = await fetch(app.url + '/health/live', { headers: { 'X-Request-Id': 'trace-abc.123:x' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123:x');
    const none = await fetch(app.url + '/v1/jobs', { headers: ACME });
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const insane = await fetch(app.url + '/v1/jobs', { headers: { ...ACME, 'X-Request-Id': 'x'.repeat(300) } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // errors carry one too
    const unauth = await fetch(app.url + '/v1/jobs');
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('metrics behind METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN: 'scrape-secret-0123456789' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a scrape without the bearer token or with another one, serves it with the token', async () => {
    const none = await app.api('/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') } });
    expect((await app.api('/metrics', { headers: { Authorization: 'Bearer scrape-secret-wrong-000' } })).status).toBe(
      401,
    );
    const ok = await app.api('/metrics', { headers: { Authorization: 'Bearer scrape-secret-0123456789' } });
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('jobstream_sse_open_connections');
  });
});

describe('metrics in production', () => {
  const STRONG = 'acme:key-acme-0123456789abcdef0123456789';
  let app: TestApp;
  let withToken: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ NODE_ENV: 'production', API_KEYS: STRONG });
    withToken = await startTestApp({
      NODE_ENV: 'production',
      API_KEYS: STRONG,
      METRICS_TOKEN: 'scrape-secret-0123456789',
    });
  });
  afterAll(async () => {
    await app?.close();
    await withToken?.close();
  });

  it('is off (404) without METRICS_TOKEN, and needs the token when one is set', async () => {
    const off = await app.api('/metrics');
    expect(off.status).toBe(404);
    expect(off.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining('METRICS_TOKEN') } });
    expect((await withToken.api('/metrics')).status).toBe(401);
    const ok = await withToken.api('/metrics', { headers: { Authorization: 'Bearer scrape-secret-0123456789' } });
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('jobstream_sse_open_connections');
  });
});

describe('invalid API keys, throttled per client address', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: KEYS, AUTH_FAIL_LIMIT: '5', AUTH_FAIL_WINDOW_S: '60' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers 401 up to the limit, then 429 with Retry-After for any key from that address', async () => {
    const wrong = { Authorization: 'Bearer key-acme-0002' };
    for (let i = 0; i < 5; i++) expect((await app.api('/v1/jobs', { headers: wrong })).status).toBe(401);
    const r = await app.api('/v1/jobs', { headers: wrong });
    expect(r.status).toBe(429);
    expect(r.body).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('invalid API keys') } });
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    // a correct key from the same address waits too: guessing gets no answer until the window ends
    expect((await app.api('/v1/jobs', { headers: ACME })).status).toBe(429);
    // public routes are not keyed
    expect((await app.api('/health/live')).status).toBe(200);
  });
});

describe('rate limit on job creation', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: KEYS, RATE_LIMIT_CREATE_PER_MIN: '3' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers 429 rate_limited with Retry-After once a tenant spent its burst; other tenants are not affected', async () => {
    for (let i = 0; i < 3; i++) await createJob(app, { message: `m${i}` });
    const r = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'one too many' } }, headers: ACME });
    expect(r.status).toBe(429);
    expect(r.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    const retryAfter = Number(r.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    // another tenant has its own bucket; reads are not limited
    await createJob(app, { message: 'globex' }, GLOBEX);
    expect((await app.api('/v1/jobs', { headers: ACME })).status).toBe(200);
    const text = await (await fetch(app.url + '/metrics')).text();
    expect(metricValue(text, 'jobstream_limit_rejections_total{limit="create_rate"}')).toBe(1);
  });
});

describe('stream caps', () => {
  let app: TestApp;
  const open: SseResponse[] = [];
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: KEYS, MAX_STREAMS_PER_TENANT: '2', MAX_STREAMS: '3' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    // the slow jobs would outlive the app otherwise
    for (const [id, headers] of jobs) await app.api(`/v1/jobs/${id}/cancel`, { body: {}, headers });
    await app?.close();
  });
  const jobs: [string, Record<string, string>][] = [];
  const slowJob = async (headers: Record<string, string>) => {
    // 60 s between its tokens: its streams stay open while a test counts them, however slow the machine
    const job = await createJob(app, { message: 'slow '.repeat(200), delay_ms: 60_000 }, headers);
    jobs.push([job.id, headers]);
    return job;
  };

  it('refuses a tenant its third stream with 429 quota_exceeded and Retry-After, and frees the slot on close', async () => {
    const job = await slowJob(ACME);
    const connections = app.app.get(SseConnections);
    for (let i = 0; i < 2; i++) open.push(await openSse(app.url + job.stream_url, { headers: ACME }));
    expect(open.map((s) => s.status)).toEqual([200, 200]);
    const refused = await openSse(app.url + job.stream_url, { headers: ACME });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.body).toEqual({ error: { code: 'quota_exceeded', message: expect.any(String) } });
    // the other tenant is not affected by acme's count
    const gJob = await slowJob(GLOBEX);
    const g = await openSse(app.url + gJob.stream_url, { headers: GLOBEX });
    open.push(g);
    expect(g.status).toBe(200);
    // closing one of acme's streams frees its slot
    open.shift()!.close();
    await waitFor(() => connections.countFor('acme') === 1, { message: 'the closed stream to be unregistered' });
    const again = await openSse(app.url + job.stream_url, { headers: ACME });
    open.push(again);
    expect(again.status).toBe(200);
  });

  it('refuses any stream past MAX_STREAMS with 503 and Retry-After', async () => {
    const connections = app.app.get(SseConnections);
    await waitFor(() => connections.size === 0, { message: 'streams of the previous test to close' });
    const a = await slowJob(ACME);
    const g = await slowJob(GLOBEX);
    open.push(await openSse(app.url + a.stream_url, { headers: ACME }));
    open.push(await openSse(app.url + a.stream_url, { headers: ACME }));
    open.push(await openSse(app.url + g.stream_url, { headers: GLOBEX }));
    expect(open.map((s) => s.status)).toEqual([200, 200, 200]);
    const full = await openSse(app.url + g.stream_url, { headers: GLOBEX });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(full.body).toMatchObject({ error: { code: 'too_many_connections' } });
    const text = await (await fetch(app.url + '/metrics')).text();
    expect(metricValue(text, 'jobstream_limit_rejections_total{limit="tenant_streams"}')).toBe(1);
    expect(metricValue(text, 'jobstream_limit_rejections_total{limit="global_streams"}')).toBe(1);
  });
});

describe('slow clients', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: KEYS,
      SSE_MAX_BUFFER_BYTES: '65536',
      SSE_STALL_TIMEOUT_MS: '1000',
      HEARTBEAT_MS: '200',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  // Replay pages are byte-bounded (a quarter of SSE_MAX_BUFFER_BYTES here) and wait for the socket, so a client that
  // stops reading during a replay is dropped by the stall rule; one that stops while live, by the buffer rule.
  it('drops a client that stops reading (unsent output over SSE_MAX_BUFFER_BYTES, or no drain for SSE_STALL_TIMEOUT_MS); it resumes from its last cursor', async () => {
    // ~20 MB of output: far more than the socket buffers of both ends can hold
    const word = 'x'.repeat(999) + ' ';
    const message = word.repeat(100);
    const repeat = 200;
    const job = await createJob(app, { message, repeat });
    const connections = app.app.get(SseConnections);
    const { port } = new URL(app.url);

    // A raw client that sends the request and then never reads (HTTP/1.0: the body is the raw SSE bytes).
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.pause();
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `GET ${job.stream_url} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer key-acme-0001\r\nAccept: text/event-stream\r\n\r\n`,
    );

    await waitFor(() => connections.stats.droppedSlow >= 1, {
      message: 'the server to drop the stalled client',
      timeoutMs: 25_000,
    });
    expect(connections.stats.droppedSlow).toBe(1);
    expect(connections.countFor('acme')).toBe(0);
    const text = await (await fetch(app.url + '/metrics')).text();
    expect(metricValue(text, 'jobstream_sse_dropped_slow_total')).toBe(1);

    // Now read what did reach the client: a prefix of the stream, cut off, then the end of the connection.
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await waitFor(() => closed, { message: 'the dropped connection to end on the client side', timeoutMs: 25_000 });
    const raw = Buffer.concat(chunks).toString('utf8');
    const head = raw.indexOf('\r\n\r\n');
    expect(raw.slice(0, head)).toMatch(/^HTTP\/1\.[01] 200/);
    const body = raw.slice(head + 4);
    const complete = body.slice(0, body.lastIndexOf('\n\n') + 2);
    const got = complete
      .split('\n\n')
      .filter((f) => f.startsWith('id: '))
      .map((f) => {
        const lines = f.split('\n');
        return {
          id: lines[0]!.slice(4),
          event: JSON.parse(lines[2]!.slice(6)) as { seq: number; type: string; text?: string },
        };
      });
    expect(got.length).toBeGreaterThan(0);
    expect(got.map((g) => g.event.seq)).toEqual(got.map((_, i) => i + 1));
    const last = got[got.length - 1]!;
    expect(last.event.type).not.toBe('done'); // it really was cut off mid-stream

    // Resume from the last complete event: exactly the rest, no gap, no duplicate. The resuming reader is subject
    // to the same 64 KiB rule, so a busy machine may drop it too: it resumes again from its own last id, as the SDK does.
    const restEvents: JobEvent[] = [];
    for (let cursor = last.id, rounds = 0; restEvents.at(-1)?.type !== 'done'; rounds++) {
      expect(rounds).toBeLessThan(200);
      const rest = await readAll(app.url + job.stream_url, { headers: { ...ACME, 'Last-Event-ID': cursor } });
      restEvents.push(...rest.events());
      const lastItem = rest.items.filter((i) => i.kind === 'event').at(-1);
      if (lastItem?.kind === 'event') cursor = lastItem.id;
    }
    expect(restEvents[0]!.seq).toBe(last.event.seq + 1);
    expect(restEvents.map((e) => e.seq)).toEqual(restEvents.map((_, i) => i + last.event.seq + 1));
    expect(restEvents[restEvents.length - 1]!.type).toBe('done');
    const prefixText = got.map((g) => (g.event.type === 'token' ? g.event.text : '')).join('');
    expect(prefixText + tokenText(restEvents)).toBe(message.repeat(repeat));
  });
});
