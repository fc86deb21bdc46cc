import { describe, expect, it } from '@jest/globals';
import type { AgentEvent, JobEvent } from '@jobstream/contracts/events';
import { seededRandom } from './backoff.js';
import { createClient } from './client.js';
import { streamJobUntilComplete, waitFor } from './complete.js';
import { JobstreamConnectionError, JobstreamError, JobstreamTimeoutError, JobstreamUnmatchedError } from './errors.js';
import { streamJobTokens, subscribeJobStream, type TerminalJobEvent } from './subscribe.js';
import { cursorOf, echoEvents } from './testing/fake-server.js';
import { fakeServerPerTest } from './testing/fake-server-per-test.js';

const FAST = { initialDelayMs: 1, maxDelayMs: 4, maxRetries: 50 };
const usage = { input_tokens: 0, output_tokens: 0 };

const start = fakeServerPerTest();

const RETRIED: AgentEvent[] = [
  { type: 'status', status: 'running' },
  { type: 'token', text: 'first ' },
  { type: 'token', text: 'try' },
  { type: 'attempt', attempt: 2, reason: 'worker lost' },
  { type: 'token', text: 'second ' },
  { type: 'token', text: 'try' },
  { type: 'done', usage, output: { text: 'second try' } },
];

describe('subscribeJobStream', () => {
  it('discards the earlier attempt on an attempt event and tells the consumer', async () => {
    const s = await start();
    const id = s.addJob(RETRIED);
    const shown: string[] = [];
    const resets: [number, string][] = [];
    let completed: [TerminalJobEvent, string] | undefined;
    const sub = subscribeJobStream(
      id,
      {
        onToken: (_t, text) => shown.push(text),
        onAttempt: (e, discarded) => resets.push([e.attempt, discarded]),
        onComplete: (t, text) => (completed = [t, text]),
      },
      { baseUrl: s.baseUrl, reconnect: FAST },
    );
    const result = await sub.done;
    expect(resets).toEqual([[2, 'first try']]);
    expect(shown).toEqual(['first ', 'first try', 'second ', 'second try']);
    expect(completed?.[0].type).toBe('done');
    expect(completed?.[1]).toBe('second try');
    expect(result).toMatchObject({ outcome: 'completed', text: 'second try' });
    expect(sub.getLastEventId()).toBe(s.jobs.get(id)!.job.last_event_id);
  });

  it('reconnects through random cuts and assembles the exact text', async () => {
    const rnd = seededRandom(42);
    const s = await start({ onStream: () => ({ cutAfterBytes: 1 + Math.floor(rnd() * 600) }) });
    const message = 'reconnects ' + 'many small words '.repeat(20);
    const id = s.addJob(echoEvents(message));
    let reconnects = 0;
    const sub = subscribeJobStream(
      id,
      { onReconnect: () => reconnects++ },
      { baseUrl: s.baseUrl, reconnect: { ...FAST, random: seededRandom(7) } },
    );
    const result = await sub.done;
    expect(result).toMatchObject({ outcome: 'completed', text: message });
    expect(reconnects).toBeGreaterThan(0);
  });

  it('reports a job failure as completion with the error event, not as onError', async () => {
    const s = await start();
    const id = s.addJob([
      { type: 'token', text: 'x' },
      { type: 'error', code: 'agent_failed', message: 'boom', retryable: false, usage },
    ]);
    const errors: unknown[] = [];
    const result = await subscribeJobStream(
      id,
      { onError: (e) => errors.push(e) },
      { baseUrl: s.baseUrl, reconnect: FAST },
    ).done;
    expect(errors).toEqual([]);
    expect(result.outcome).toBe('completed');
    expect(result.outcome === 'completed' && result.terminal.type).toBe('error');
  });

  it('gives up after maxRetries and checks the job status once', async () => {
    const s = await start({ onStream: () => ({ status: 503, code: 'service_unavailable' }) });
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const errors: unknown[] = [];
    const result = await subscribeJobStream(
      id,
      { onError: (e) => errors.push(e) },
      { baseUrl: s.baseUrl, reconnect: { ...FAST, maxRetries: 2 } },
    ).done;
    expect(s.streamRequests).toHaveLength(3);
    expect(errors).toHaveLength(1);
    const err = errors[0] as JobstreamError;
    expect(err.status).toBe(503);
    expect(err.job?.status).toBe('running'); // the final status check
    expect(s.requests.filter((r) => r.path === `/v1/jobs/${id}`)).toHaveLength(1);
    expect(result.outcome).toBe('failed');
  });

  it('checks the status when the cursor expired (410) — the job may have finished meanwhile', async () => {
    const s = await start({ onStream: () => ({ status: 410, code: 'cursor_expired' }) });
    const id = s.addJob(echoEvents('done already'));
    let error: unknown;
    await subscribeJobStream(
      id,
      { onError: (e) => (error = e) },
      { baseUrl: s.baseUrl, resumeAfter: cursorOf(s.jobs.get(id)!.events[0]!), reconnect: FAST },
    ).done;
    expect((error as JobstreamError).code).toBe('cursor_expired');
    expect((error as JobstreamError).job?.status).toBe('completed');
    expect(s.streamRequests).toHaveLength(1);
  });

  it.each([401, 404])('does not retry nor status-check a %i', async (status) => {
    const s = await start({ onStream: () => ({ status }) });
    const id = s.addJob(echoEvents('x'));
    let error: unknown;
    await subscribeJobStream(id, { onError: (e) => (error = e) }, { baseUrl: s.baseUrl, reconnect: FAST }).done;
    expect((error as JobstreamError).status).toBe(status);
    expect((error as JobstreamError).job).toBeUndefined();
    expect(s.requests).toHaveLength(1);
  });

  it('close() stops callbacks and settles as closed', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const events: JobEvent[] = [];
    let errored = false;
    const sub = subscribeJobStream(
      id,
      {
        onEvent: (e) => {
          events.push(e);
          sub?.close();
        },
        onError: () => (errored = true),
      },
      { baseUrl: s.baseUrl, reconnect: FAST },
    );
    const result = await sub.done;
    s.append(id, { type: 'token', text: 'late' });
    expect(result.outcome).toBe('closed');
    expect(events).toHaveLength(1);
    expect(errored).toBe(false);
  });

  it('a throwing handler ends the subscription with that error', async () => {
    const s = await start();
    const id = s.addJob(echoEvents('a b c'));
    const boom = new Error('handler bug');
    let error: unknown;
    const result = await subscribeJobStream(
      id,
      {
        onToken: () => {
          throw boom;
        },
        onError: (e) => (error = e),
      },
      { baseUrl: s.baseUrl, reconnect: FAST },
    ).done;
    expect(error).toBe(boom);
    expect(result.outcome).toBe('failed');
  });
});

describe('streamJobTokens', () => {
  it('streams text on one connection; on a drop reports it and the cursor to resume from', async () => {
    const s = await start({ onStream: (r) => (r.n === 1 ? { endAfterEvents: 3 } : undefined) });
    const message = 'one two three four five';
    const id = s.addJob(echoEvents(message));
    let text = '';
    let error: unknown;
    const first = await new Promise<ReturnType<typeof streamJobTokens>>((resolve) => {
      const h = streamJobTokens(
        id,
        {
          onToken: (_t, all) => (text = all),
          onError: (e) => {
            error = e;
            resolve(h);
          },
        },
        { baseUrl: s.baseUrl },
      );
    });
    expect((error as JobstreamConnectionError).reason).toBe('dropped');
    expect(text).toBe('one two ');
    const resumeAfter = first.getLastEventId();
    expect(resumeAfter).toBe(cursorOf(s.jobs.get(id)!.events[2]!));
    let rest = '';
    const done = await new Promise<string>((resolve) => {
      streamJobTokens(
        id,
        { onToken: (_t, all) => (rest = all), onDone: (t) => resolve(t.type) },
        { baseUrl: s.baseUrl, resumeAfter: resumeAfter! },
      );
    });
    expect(done).toBe('done');
    expect(text + rest).toBe(message);
  });

  it('calls onReset when a new attempt starts', async () => {
    const s = await start();
    const id = s.addJob(RETRIED);
    const resets: number[] = [];
    const final = await new Promise<string>((resolve) => {
      streamJobTokens(
        id,
        { onToken: () => {}, onReset: (a) => resets.push(a), onDone: (_t, text) => resolve(text) },
        { baseUrl: s.baseUrl },
      );
    });
    expect(resets).toEqual([2]);
    expect(final).toBe('second try');
  });
});

describe('streamJobUntilComplete', () => {
  it("resolves with the final job, the final attempt's text and every event", async () => {
    const s = await start({ onStream: (r) => (r.n === 1 ? { cutAfterBytes: 200 } : undefined) });
    const id = s.addJob(RETRIED);
    const client = createClient({ baseUrl: s.baseUrl });
    const r = await streamJobUntilComplete(id, { client, reconnect: FAST });
    expect(r.job.status).toBe('completed');
    expect(r.text).toBe('second try');
    expect(r.terminal.type).toBe('done');
    expect(r.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('resolves for a cancelled job and rejects on a final error', async () => {
    const s = await start();
    const cancelled = s.addJob([
      { type: 'token', text: 'a' },
      { type: 'cancelled', reason: 'user', usage },
    ]);
    const r = await streamJobUntilComplete(cancelled, { baseUrl: s.baseUrl, reconnect: FAST });
    expect(r.job.status).toBe('cancelled');
    const err = await streamJobUntilComplete('job_missing', { baseUrl: s.baseUrl, reconnect: FAST }).catch(
      (e: unknown) => e,
    );
    expect((err as JobstreamError).status).toBe(404);
  });

  it('rejects with the abort reason when aborted', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    const ac = new AbortController();
    const p = streamJobUntilComplete(id, {
      baseUrl: s.baseUrl,
      signal: ac.signal,
      onEvent: () => ac.abort(),
      reconnect: FAST,
    });
    const err = await p.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});

describe('waitFor', () => {
  it('resolves with the first matching event', async () => {
    const s = await start();
    const id = s.addJob(echoEvents('alpha beta gamma'));
    const e = await waitFor(id, (e): e is JobEvent<'token'> => e.type === 'token' && e.text.startsWith('beta'), {
      baseUrl: s.baseUrl,
      reconnect: FAST,
    });
    expect(e.text).toBe('beta ');
  });

  it('rejects when the job ends without a match', async () => {
    const s = await start();
    const id = s.addJob(echoEvents('alpha'));
    await expect(
      waitFor(id, (e) => e.type === 'input_required', { baseUrl: s.baseUrl, reconnect: FAST }),
    ).rejects.toBeInstanceOf(JobstreamUnmatchedError);
  });

  it('rejects with a timeout error when nothing matches in time', async () => {
    const s = await start();
    const id = s.addJob([{ type: 'status', status: 'running' }]);
    await expect(
      waitFor(id, (e) => e.type === 'done', { baseUrl: s.baseUrl, timeoutMs: 30, reconnect: FAST }),
    ).rejects.toBeInstanceOf(JobstreamTimeoutError);
  });
});
