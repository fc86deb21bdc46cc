import { describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts/events';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { seededRandom } from './backoff.js';
import { JobstreamConnectionError, JobstreamError } from './errors.js';
import { createStream, type ReconnectInfo } from './stream.js';
import { cursorOf, echoEvents } from './testing/fake-server.js';
import { fakeServerPerTest } from './testing/fake-server-per-test.js';

const MESSAGE = 'The quick brown fox   jumps over\tthe lazy dog, again and again; ünïcödé ✓ works too.';
const FAST = { initialDelayMs: 1, maxDelayMs: 4, maxRetries: 50 };

const start = fakeServerPerTest();

/** The job's stream read with FAST reconnects (and `opts`): its events, each reconnect and the reasons of their errors. */
async function collectReconnects(s: { baseUrl: string }, id: string, opts: { idleTimeoutMs?: number } = {}) {
  const reconnects: ReconnectInfo[] = [];
  const events = await collect(
    createStream(id, { ...opts, baseUrl: s.baseUrl, reconnect: FAST, onReconnect: (i) => reconnects.push(i) }),
  );
  const reasons = reconnects.map((i) => (i.error as JobstreamConnectionError).reason as string);
  return { events, reconnects, reasons };
}

async function collect(iter: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

const textOf = (events: JobEvent[]) => events.map((e) => (e.type === 'token' ? e.text : '')).join('');

describe('createStream', () => {
  it('delivers every event in seq order and ends after the terminal event', async () => {
    const s = await start();
    const id = s.addJob(echoEvents(MESSAGE));
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).toEqual(s.jobs.get(id)!.events.map((e) => e.seq));
    expect(events.at(-1)?.type).toBe('done');
    expect(textOf(events)).toBe(MESSAGE);
    expect(stream.lastEventId).toBe(cursorOf(events.at(-1)!));
    expect(s.streamRequests).toHaveLength(1); // no reconnect after done
    expect(s.streamRequests[0]!.after).toBeUndefined();
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'assembles the exact text when connections are cut at random bytes (seed %i)',
    async (seed) => {
      const rnd = seededRandom(seed);
      const s = await start({ onStream: () => ({ cutAfterBytes: 1 + Math.floor(rnd() * 900) }) });
      const id = s.addJob(echoEvents(MESSAGE));
      const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: { ...FAST, random: seededRandom(seed + 100) } });
      const events = await collect(stream);
      expect(textOf(events)).toBe(MESSAGE);
      expect(events.map((e) => e.seq)).toEqual(s.jobs.get(id)!.events.map((e) => e.seq)); // no gap, no duplicate
      expect(stream.stats.connections).toBeGreaterThan(1);
      // Every reconnect resumed after the last delivered event.
      for (const r of s.streamRequests.slice(1)) {
        if (r.after !== undefined) expect(s.jobs.get(id)!.events.some((e) => cursorOf(e) === r.after)).toBe(true);
      }
    },
  );

  it('drops duplicates (seq ≤ last) a server resends', async () => {
    const s = await start({ onStream: (r) => (r.n === 1 ? { endAfterEvents: 4 } : { resend: [1, 2, 3, 4] }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).toEqual(s.jobs.get(id)!.events.map((e) => e.seq));
    expect(stream.stats.duplicatesDropped).toBe(4);
  });

  it('reconnects from the last good cursor on a seq gap', async () => {
    const s = await start({ onStream: (r) => (r.n === 1 ? { skip: [5] } : undefined) });
    const id = s.addJob(echoEvents(MESSAGE));
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).toEqual(s.jobs.get(id)!.events.map((e) => e.seq));
    expect(stream.stats.gaps).toBe(1);
    expect(s.streamRequests).toHaveLength(2);
    expect(s.streamRequests[1]!.after).toBe(cursorOf(s.jobs.get(id)!.events[3]!)); // seq 4
  });

  it('takes a jump in seq onto an attempt event with reason log_rollback as the next event (no reconnect)', async () => {
    const s = await start();
    const id = s.addJob([
      { type: 'status', status: 'running' },
      { type: 'token', text: 'lost ' },
      { type: 'attempt', attempt: 2, reason: 'log_rollback' },
      { type: 'token', text: 'kept' },
      { type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'kept' } },
    ]);
    // a failover lost seq 3 and 4 after they were delivered elsewhere: the log jumps from 2 to 5
    const log = s.jobs.get(id)!.events as { seq: number }[];
    for (const e of log.slice(2)) e.seq += 2;
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 5, 6, 7]);
    expect(stream.stats.gaps).toBe(0);
    expect(s.streamRequests).toHaveLength(1);
  });

  it('treats a response that ends without a terminal event as a drop and resumes', async () => {
    const s = await start({ onStream: (r) => (r.n <= 3 ? { endAfterEvents: 2 } : undefined) });
    const id = s.addJob(echoEvents(MESSAGE));
    const { events, reconnects } = await collectReconnects(s, id);
    expect(textOf(events)).toBe(MESSAGE);
    expect(reconnects).toHaveLength(3);
    expect(reconnects.every((r) => r.error instanceof JobstreamConnectionError && r.error.reason === 'dropped')).toBe(
      true,
    );
    // Each of those connections made progress, so the failure count restarted each time.
    expect(reconnects.map((r) => r.failures)).toEqual([1, 1, 1]);
  });

  it("delivers the job's own error event as an event and ends without reconnecting", async () => {
    const s = await start();
    const id = s.addJob([
      { type: 'token', text: 'partial ' },
      {
        type: 'error',
        code: 'agent_failed',
        message: 'boom',
        retryable: false,
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    ]);
    const events = await collect(createStream(id, { baseUrl: s.baseUrl, reconnect: FAST }));
    expect(events.map((e) => e.type)).toEqual(['token', 'error']);
    expect(s.streamRequests).toHaveLength(1);
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [400, 'invalid_cursor'],
    [410, 'cursor_expired'],
  ])('does not retry a %i', async (status, code) => {
    const s = await start({ onStream: () => ({ status, code }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const err = await collect(createStream(id, { baseUrl: s.baseUrl, reconnect: FAST })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobstreamError);
    expect((err as JobstreamError).status).toBe(status);
    expect((err as JobstreamError).code).toBe(code);
    expect(s.streamRequests).toHaveLength(1);
  });

  it('answers 401 for a wrong key without retrying, and never puts the key in the error', async () => {
    const s = await start({ apiKey: 'right-key' });
    const id = s.addJob(echoEvents(MESSAGE));
    const err = (await collect(
      createStream(id, { baseUrl: s.baseUrl, apiKey: 'sk-secret-wrong', reconnect: FAST }),
    ).catch((e: unknown) => e)) as JobstreamError;
    expect(err.status).toBe(401);
    expect(JSON.stringify({ m: err.message, s: err.stack })).not.toContain('sk-secret-wrong');
    expect(s.streamRequests).toHaveLength(0); // refused before the stream handler
    expect(s.requests).toHaveLength(1);
  });

  it('retries a 503 and waits at least its Retry-After', async () => {
    const s = await start({
      onStream: (r) =>
        r.n === 1 ? { status: 503, code: 'service_unavailable', headers: { 'Retry-After': '0.02' } } : undefined,
    });
    const id = s.addJob(echoEvents(MESSAGE));
    const { events, reconnects } = await collectReconnects(s, id);
    expect(textOf(events)).toBe(MESSAGE);
    expect(reconnects).toHaveLength(1);
    expect((reconnects[0]!.error as JobstreamError).retryAfterMs).toBe(20);
    expect(reconnects[0]!.delayMs).toBeGreaterThanOrEqual(20);
  });

  it("uses the server's retry: as the base of the backoff", async () => {
    const s = await start({ onStream: (r) => (r.n <= 2 ? { retryMs: 10, cutAfterBytes: 30 } : { retryMs: 10 }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const reconnects: ReconnectInfo[] = [];
    const stream = createStream(id, {
      baseUrl: s.baseUrl,
      reconnect: { initialDelayMs: 1000, maxDelayMs: 1000, random: () => 0.99 },
      onReconnect: (i) => reconnects.push(i),
    });
    const events = await collect(stream);
    expect(textOf(events)).toBe(MESSAGE);
    expect(stream.serverRetryMs).toBe(10);
    // No event got through on the cut connections, so the failures are consecutive: 10·2⁰ then 10·2¹, jittered by 0.99.
    expect(reconnects.map((r) => [r.failures, r.delayMs])).toEqual([
      [1, 9],
      [2, 19],
    ]);
  });

  it('gives up after maxRetries consecutive failures with the last error', async () => {
    const s = await start({ onStream: () => ({ cutAfterBytes: 20 }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const err = await collect(createStream(id, { baseUrl: s.baseUrl, reconnect: { ...FAST, maxRetries: 3 } })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobstreamConnectionError);
    expect(s.streamRequests).toHaveLength(4);
  });

  it('does not reconnect with reconnect: false', async () => {
    const s = await start({ onStream: () => ({ endAfterEvents: 2 }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: false });
    const got: JobEvent[] = [];
    const err = await (async () => {
      for await (const e of stream) got.push(e);
    })().catch((e: unknown) => e);
    expect((err as JobstreamConnectionError).reason).toBe('dropped');
    expect(got).toHaveLength(2);
    expect(stream.lastEventId).toBe(cursorOf(got[1]!));
    expect(s.streamRequests).toHaveLength(1);
  });

  it('resumes from a stored cursor with resumeAfter', async () => {
    const s = await start();
    const id = s.addJob(echoEvents(MESSAGE));
    const all = s.jobs.get(id)!.events;
    const events = await collect(
      createStream(id, { baseUrl: s.baseUrl, resumeAfter: cursorOf(all[4]!), reconnect: FAST }),
    );
    expect(events.map((e) => e.seq)).toEqual(all.slice(5).map((e) => e.seq));
    expect(s.streamRequests[0]!.after).toBe(cursorOf(all[4]!));
  });

  it('recovers from a body that is not the event-stream content type and from unparsable event data', async () => {
    const s = await start({
      onStream: (r) =>
        r.n === 1
          ? { custom: (_q, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>proxy</html>') }
          : r.n === 2
            ? {
                custom: (_q, res) =>
                  res.writeHead(200, { 'Content-Type': 'text/event-stream' }).end('id: x\ndata: {not json\n\n'),
              }
            : undefined,
    });
    const id = s.addJob(echoEvents(MESSAGE));
    const { events, reasons } = await collectReconnects(s, id);
    expect(textOf(events)).toBe(MESSAGE);
    expect(reasons).toEqual(['protocol', 'protocol']);
  });

  it('reconnects an idle connection (no bytes, not even keepalives)', async () => {
    const s = await start({
      onStream: (r) =>
        r.n === 1
          ? { custom: (_q, res) => void res.writeHead(200, { 'Content-Type': 'text/event-stream' }).flushHeaders() }
          : undefined,
    });
    const id = s.addJob(echoEvents(MESSAGE));
    const { events, reasons } = await collectReconnects(s, id, { idleTimeoutMs: 50 });
    expect(textOf(events)).toBe(MESSAGE);
    expect(reasons[0]).toBe('idle_timeout');
    expect(new Set(reasons)).toEqual(new Set(['idle_timeout']));
  });

  it('keeps a live stream open across keepalives until the terminal event arrives', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.type).toBe('status');
    s.append(id, { type: 'token', text: 'live' });
    expect((await it.next()).value).toMatchObject({ type: 'token', text: 'live', seq: 2 });
    s.append(id, { type: 'cancelled', reason: 'x', usage: { input_tokens: 0, output_tokens: 1 } });
    expect((await it.next()).value?.type).toBe('cancelled');
    expect((await it.next()).done).toBe(true);
    expect(s.streamRequests).toHaveLength(1);
  });

  it('rejects with the abort reason when the signal aborts, and releases the connection', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const ac = new AbortController();
    const stream = createStream(id, { baseUrl: s.baseUrl, signal: ac.signal, reconnect: FAST });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    expect(s.jobs.get(id)!.listeners.size).toBe(1); // the server holds the live stream open
    const pending = it.next();
    ac.abort();
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    // The server's stream loses its listener once the client went away.
    await waitFor(() => s.jobs.get(id)!.listeners.size === 0, {
      intervalMs: 5,
      message: 'the server to see the stream closed',
    });
    expect(s.streamRequests).toHaveLength(1);
  });

  it('ends quietly on close()', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    const pending = it.next();
    stream.close();
    expect((await pending).done).toBe(true);
  });
});

describe('createStream: resume v2 options', () => {
  it('types: asks the server for the types and takes its seq gaps as expected (no reconnect)', async () => {
    const s = await start({ onStream: () => ({ skip: [2, 3] }) });
    const id = s.addJob(echoEvents(MESSAGE));
    const stream = createStream(id, { baseUrl: s.baseUrl, reconnect: FAST, types: ['token'] });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).not.toContain(2);
    expect(events.at(-1)?.type).toBe('done');
    expect(stream.stats.gaps).toBe(0);
    expect(s.streamRequests).toHaveLength(1);
    expect(s.requests.find((r) => r.path.includes('/stream'))!.search).toContain('types=token');
  });

  it('ignores a snapshot it did not ask for, and refuses one of another job', async () => {
    const frame = (jobId: string) =>
      `id: 0\nevent: snapshot\ndata: ${JSON.stringify({ job_id: jobId, seq: 0, type: 'snapshot', status: 'queued', attempt: 1, text: '', thinking: '', open_tool_calls: [], pending_input: null, usage: { input_tokens: 0, output_tokens: 0 } })}\n\n`;
    let foreign = false;
    const s = await start({
      onStream: (req) => ({
        custom: (_q, res) => {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          const job = s.jobs.get(req.jobId)!;
          res.end(
            frame(foreign ? 'job_01JX0000000000000000000009' : req.jobId) +
              job.events.map((e) => `id: ${cursorOf(e)}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''),
          );
        },
      }),
    });
    const id = s.addJob(echoEvents(MESSAGE));
    const events = await collect(createStream(id, { baseUrl: s.baseUrl, reconnect: FAST }));
    expect(events.every((e) => (e.type as string) !== 'snapshot')).toBe(true);
    expect(textOf(events)).toBe(MESSAGE);
    foreign = true;
    const withSnapshot = createStream(id, {
      baseUrl: s.baseUrl,
      reconnect: false,
      snapshot: true,
    }) as AsyncIterable<unknown> as AsyncIterable<JobEvent>;
    await expect(collect(withSnapshot)).rejects.toThrow(/belongs to job/);
  });
});
