/**
 * The embedded engine's memory budget through the real app (EMBEDDED_MAX_EVENTS), and MAX_EVENTS_PER_JOB:
 * finished jobs are evicted oldest first (their cursors then answer 410), running work is never cut silently,
 * new jobs are refused with 503 + Retry-After while running jobs fill the budget, and a runaway job ends with
 * `error` `too_many_events`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readAll, tokenText } from './support/sse-client.js';
import { startTestApp, type TestApp } from './support/app.js';

const KEY = 'key-budget-acme-0001';
const auth = { Authorization: `Bearer ${KEY}` };

async function createJob(app: TestApp, input: Record<string, unknown>) {
  return app.api('/v1/jobs', { body: { agent: 'echo', input }, headers: auth });
}

async function waitDone(app: TestApp, id: string) {
  const r = await app.api(`/v1/jobs/${id}/wait?timeout_s=60`, { headers: auth });
  return r.body as { status: string; last_event_id: string; error: { code: string } | null };
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i} `).join('');

describe('embedded memory budget', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: `acme:${KEY}`,
      EMBEDDED_MAX_EVENTS: '200',
      WORKER_CONCURRENCY: '1',
      RATE_LIMIT_CREATE_PER_MIN: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('evicts the oldest finished job whole when room is needed: its cursor then answers 410 cursor_expired', async () => {
    const a = (await createJob(app, { message: words(20) })).body as { id: string };
    const doneA = await waitDone(app, a.id);
    expect(doneA.status).toBe('completed');
    const mid = (await app.api(`/v1/jobs/${a.id}/events?limit=5`, { headers: auth })).body as { next_after: string };
    // a second job needs most of the budget: the first one goes
    const b = (await createJob(app, { message: words(190) })).body as { id: string; stream_url: string };
    const s = await readAll(app.url + b.stream_url, { headers: auth });
    expect(tokenText(s.events())).toBe(words(190));
    const gone = await app.api(`/v1/jobs/${a.id}/events?after=${mid.next_after}`, { headers: auth });
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual({ error: { code: 'cursor_expired', message: expect.any(String) } });
    const stream = await fetch(`${app.url}/v1/jobs/${a.id}/stream`, {
      headers: { ...auth, 'Last-Event-ID': mid.next_after },
    });
    expect(stream.status).toBe(410);
    // the job itself is still known (its record outlives its events)
    expect((await app.api(`/v1/jobs/${a.id}`, { headers: auth })).body).toMatchObject({
      id: a.id,
      status: 'completed',
    });
  });

  it('ends a running job that alone outgrows the budget with a retryable error, never a silent cut', async () => {
    const created = await createJob(app, { message: words(3000) });
    expect(created.status).toBe(201);
    const c = created.body as { id: string; stream_url: string };
    const s = await readAll(app.url + c.stream_url, { headers: auth });
    expect(s.status).toBe(200);
    const events = s.events();
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'event_log_full', retryable: true });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.length).toBeLessThanOrEqual(201);
  });

  it('refuses new jobs with 503 + Retry-After while running work fills the budget, and accepts them again after', async () => {
    // one slow job holds the single worker slot; every further job waits queued, holding its `status` event
    const blocker = (await createJob(app, { message: 'a b c', delay_ms: 60_000 })).body as { id: string };
    const ids: string[] = [];
    let refused: Awaited<ReturnType<typeof createJob>> | null = null;
    for (let i = 0; i < 300 && !refused; i++) {
      const r = await createJob(app, { message: 'queued' });
      if (r.status === 503) refused = r;
      else {
        expect(r.status).toBe(201);
        ids.push((r.body as { id: string }).id);
      }
    }
    expect(refused).not.toBeNull();
    expect(refused!.headers.get('retry-after')).toBe('5');
    expect(refused!.body).toEqual({
      error: { code: 'service_unavailable', message: expect.stringMatching(/memory budget/) },
    });
    // 90 % of 200 events: the blocker's few events and one `status` event per queued job
    expect(ids.length).toBeGreaterThan(170);
    expect(ids.length).toBeLessThan(180);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/jobstream_limit_rejections_total\{limit="event_memory"\} 1/);
    expect(metrics).toMatch(/jobstream_embedded_event_log\{measure="max_events"\} 200/);
    for (const id of [blocker.id, ...ids]) await app.api(`/v1/jobs/${id}/cancel`, { method: 'POST', headers: auth });
    // cancelled jobs are finished: evictable, so there is room again
    const again = await createJob(app, { message: 'room again' });
    expect(again.status).toBe(201);
    expect((await waitDone(app, (again.body as { id: string }).id)).status).toBe('completed');
  });
});

describe('MAX_EVENTS_PER_JOB', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY}`, MAX_EVENTS_PER_JOB: '50' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('ends a runaway job with error too_many_events at exactly the cap', async () => {
    const r = (await createJob(app, { message: words(200) })).body as { id: string; stream_url: string };
    const s = await readAll(app.url + r.stream_url, { headers: auth });
    const events = s.events();
    expect(events).toHaveLength(50);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'too_many_events', retryable: false });
    expect((await waitDone(app, r.id)).error).toMatchObject({ code: 'too_many_events' });
    // a job under the cap is untouched
    const ok = (await createJob(app, { message: words(10) })).body as { stream_url: string };
    expect(tokenText((await readAll(app.url + ok.stream_url, { headers: auth })).events())).toBe(words(10));
  });
});
