/**
 * Jobs as read-only Durable Streams, read with the protocol's own client (`@durable-streams/client`): after the end,
 * live while the job runs (SSE and long-poll), and a reader that drops and resumes from its last offset — always the
 * events of the job's SSE stream, each exactly once, in seq order, and the stream ends closed after the terminal
 * event. Live readers share the job's one feed in the hub.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stream, type LiveMode } from '@durable-streams/client';
import type { JobEvent } from '@jobstream/contracts';
import type { LiveHub } from '@jobstream/event-log';
import { LIVE_HUB } from '../../src/jobs/jobs.constants.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { readAll } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

const KEY = 'ds-jobs-key-0001';
const OTHER = 'ds-jobs-key-0002';
const auth = { Authorization: `Bearer ${KEY}` };
const MESSAGE = 'Every event once, in order, through the open protocol.';

describe('jobs as Durable Streams', () => {
  let app: TestApp;
  const dsUrl = (id: string) => `${app.url}/ds/v1/stream/jobs/${id}`;

  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY},other:${OTHER}`, DS_LONG_POLL_MS: '1000' });
  });
  afterAll(async () => {
    await app.close();
  });

  const createJob = async (delayMs: number): Promise<string> => {
    const r = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: MESSAGE, delay_ms: delayMs } },
      headers: auth,
    });
    expect(r.status).toBe(201);
    return (r.body as { id: string }).id;
  };
  /** The job's events as its SSE stream gives them (read to the end). */
  const sseEvents = async (id: string): Promise<JobEvent[]> => {
    const s = await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth });
    return s.events().map(({ id: _id, ...e }) => e as JobEvent);
  };
  /** Reads with the DS client until the stream is closed, or drops after the batch that brings `stopAfter` items (a
   * batch's offset is the position after all of its items, so a reader can only drop between batches). */
  const readDs = async (id: string, live: LiveMode, offset = '-1', stopAfter = Infinity) => {
    const res = await stream<JobEvent>({ url: dsUrl(id), headers: auth, offset, live });
    const items: JobEvent[] = [];
    let last = offset;
    let closed = false;
    await new Promise<void>((resolve, reject) => {
      const stop = res.subscribeJson((batch) => {
        items.push(...batch.items);
        last = batch.offset;
        if (batch.streamClosed) closed = true;
        if (items.length >= stopAfter || batch.streamClosed) {
          stop();
          res.cancel();
          resolve();
        }
        return Promise.resolve();
      });
      res.closed.catch(reject);
    });
    return { items, offset: last, closed };
  };

  it('catch-up after the end: every event, in seq order, closed after the terminal one', async () => {
    const id = await createJob(0);
    await app.api(`/v1/jobs/${id}/wait?timeout_s=30`, { headers: auth });
    const expected = await sseEvents(id);
    expect(expected.at(-1)?.type).toBe('done');
    const res = await stream<JobEvent>({ url: dsUrl(id), headers: auth, offset: '-1', live: false });
    const items = await res.json();
    expect(items).toEqual(expected);
    expect(res.streamClosed).toBe(true);
    expect(items.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
  });

  it.each<LiveMode>(['sse', 'long-poll'])(
    'live while the job runs (%s): the same events, exactly once',
    async (mode) => {
      const id = await createJob(30);
      const got = await readDs(id, mode);
      const expected = await sseEvents(id);
      expect(got.closed).toBe(true);
      expect(got.items).toEqual(expected);
    },
  );

  it('a reader that drops and resumes from its last offset gets the rest exactly once', async () => {
    const id = await createJob(30);
    const first = await readDs(id, 'long-poll', '-1', 4);
    expect(first.items.length).toBeGreaterThanOrEqual(4);
    const second = await readDs(id, 'sse', first.offset);
    const expected = await sseEvents(id);
    expect([...first.items, ...second.items]).toEqual(expected);
    expect(second.closed).toBe(true);
  });

  it("live readers join the job's one feed in the hub (no subscription of their own)", async () => {
    const id = await createJob(100);
    const hub = app.app.get<LiveHub<string>>(LIVE_HUB);
    const readers = [readDs(id, 'sse'), readDs(id, 'long-poll'), readDs(id, 'sse')];
    await waitFor(() => (hub.feedOf(id)?.sinks ?? 0) >= 2);
    expect(hub.stats().jobs).toBeGreaterThanOrEqual(1);
    const all = await Promise.all(readers);
    const expected = await sseEvents(id);
    for (const r of all) expect(r.items).toEqual(expected);
  });

  it('is read-only (403), HEAD gives the tail and closure, and another tenant sees nothing (404)', async () => {
    const id = await createJob(0);
    await app.api(`/v1/jobs/${id}/wait?timeout_s=30`, { headers: auth });
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const r = await fetch(dsUrl(id), {
        method,
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: method === 'DELETE' ? undefined : '{}',
      });
      expect([method, r.status]).toEqual([method, 403]);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    const put = await fetch(`${app.url}/ds/v1/stream/jobs/new-one`, { method: 'PUT', headers: auth });
    expect(put.status).toBe(403);
    const head = await fetch(dsUrl(id), { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('stream-closed')).toBe('true');
    expect(head.headers.get('content-type')).toBe('application/json');
    const seqs = (await sseEvents(id)).length;
    expect(head.headers.get('stream-next-offset')).toMatch(new RegExp(`^${String(seqs).padStart(16, '0')}_\\d{16}$`));
    for (const m of ['GET', 'HEAD']) {
      const r = await fetch(dsUrl(id), { method: m, headers: { Authorization: `Bearer ${OTHER}` } });
      expect([m, r.status]).toEqual([m, 404]);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(dsUrl(id))).status).toBe(401);
  });
});
