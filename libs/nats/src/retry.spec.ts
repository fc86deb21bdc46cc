import { describe, expect, it } from '@jest/globals';
import { retry, retryDelay, sleep } from './retry.js';

describe('retryDelay', () => {
  it('doubles from firstMs and never grows past maxMs', () => {
    const s = { firstMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6, 50, 10_000].map((n) => retryDelay(n, s))).toEqual([
      100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000,
    ]);
    expect(retryDelay(0, s)).toBe(100);
    expect(retryDelay(-3, s)).toBe(100);
    expect(retryDelay(Number.NaN, s)).toBe(100);
  });

  it('spreads each delay by ± jitter, within bounds', () => {
    const s = { firstMs: 250, maxMs: 5_000, jitter: 0.25 };
    expect(retryDelay(1, s, () => 0)).toBe(188);
    expect(retryDelay(1, s, () => 0.5)).toBe(250);
    expect(retryDelay(1, s, () => 0.999_999)).toBe(312);
    for (let n = 1; n < 40; n++) {
      const d = retryDelay(n, s);
      expect(d).toBeGreaterThanOrEqual(Math.floor(Math.min(5_000, 250 * 2 ** (n - 1)) * 0.75));
      expect(d).toBeLessThanOrEqual(Math.ceil(5_000 * 1.25));
    }
    // a jitter out of [0, 1] is clamped: never a negative delay
    expect(retryDelay(1, { firstMs: 100, maxMs: 100, jitter: 5 }, () => 0)).toBe(0);
    expect(retryDelay(1, { firstMs: 100, maxMs: 100, jitter: -1 }, () => 0)).toBe(100);
  });
});

describe('sleep', () => {
  it('ends early when its signal aborts, and at once when it already has', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, ac.signal);
    ac.abort();
    await slept;
    await sleep(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('retry', () => {
  const fast = { firstMs: 1, maxMs: 4 };

  it('retries until the call succeeds, telling each wait', async () => {
    const waits: number[] = [];
    let calls = 0;
    const v = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { ...fast, onRetry: (_err, failures, delayMs) => waits.push(failures, delayMs) },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(4);
    expect(waits).toEqual([1, 1, 2, 2, 3, 4]);
  });

  it('gives up after `tries` with the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async (attempt) => {
          calls++;
          throw new Error(`fail ${attempt}`);
        },
        { ...fast, tries: 3 },
      ),
    ).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('throws at once an error it must not retry', async () => {
    let calls = 0;
    const fatal = new TypeError('bug');
    await expect(
      retry(
        async () => {
          calls++;
          throw fatal;
        },
        { ...fast, retryIf: (err) => !(err instanceof TypeError) },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('gives up when the next try would start past forMs', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('down');
        },
        { firstMs: 60_000, maxMs: 60_000, forMs: 1_000 },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(1);
  });

  it('stops waiting when aborted, with the last error', async () => {
    const ac = new AbortController();
    let calls = 0;
    const run = retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      { firstMs: 60_000, maxMs: 60_000, signal: ac.signal, onRetry: () => ac.abort() },
    );
    await expect(run).rejects.toThrow('down');
    expect(calls).toBe(1);
  });
});
