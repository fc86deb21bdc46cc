import { describe, expect, it } from '@jest/globals';
import { waitFor, WaitTimeoutError } from './wait.js';

describe('waitFor', () => {
  it('returns the first truthy value the condition yields (sync or async)', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? { n } : null), { intervalMs: 1 })).resolves.toEqual({ n: 3 });
    let m = 0;
    await expect(waitFor(async () => (++m >= 2 ? 'ready' : ''), { intervalMs: 1 })).resolves.toBe('ready');
  });

  it('fails naming what it waited for, and how long, when the condition never holds', async () => {
    const err = await waitFor(() => false, { timeoutMs: 30, intervalMs: 5, message: 'job j1 to complete' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toBe('timed out after 30 ms waiting for job j1 to complete');
  });

  it('describes the state at the failure when the message is a function', async () => {
    let status = 'queued';
    const wait = waitFor(
      () => {
        status = 'running';
        return false;
      },
      { timeoutMs: 10, intervalMs: 1, message: () => `completed (status was ${status})` },
    );
    await expect(wait).rejects.toThrow('waiting for completed (status was running)');
  });

  it('tries the condition once more at the deadline, however late the poll runs', async () => {
    let calls = 0;
    // the first try outlasts the whole timeout (a busy machine); the wait still tries once more, and it holds then
    const value = await waitFor(
      async () => {
        if (++calls === 1) await new Promise((r) => setTimeout(r, 150));
        return calls >= 2 ? 'held' : false;
      },
      { timeoutMs: 100, intervalMs: 1 },
    );
    expect(value).toBe('held');
    expect(calls).toBe(2);
  });

  it('an error from the condition fails the wait at once, unless retryErrors', async () => {
    const boom = new Error('connection refused');
    await expect(waitFor(() => Promise.reject(boom), { timeoutMs: 60_000 })).rejects.toBe(boom);

    let n = 0;
    const ok = await waitFor(
      () => {
        if (++n < 3) throw boom;
        return n;
      },
      { retryErrors: true, intervalMs: 1 },
    );
    expect(ok).toBe(3);

    const err = await waitFor(() => Promise.reject(boom), {
      retryErrors: true,
      timeoutMs: 10,
      intervalMs: 1,
      message: 'the broker',
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'timed out after 10 ms waiting for the broker; it last threw: connection refused',
    );
    expect((err as Error).cause).toBe(boom);
  });
});
