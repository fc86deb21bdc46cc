import { describe, expect, it } from '@jest/globals';
import { backoffDelay, resolveReconnect, seededRandom, sleep } from './backoff.js';

describe('backoffDelay (full jitter)', () => {
  const o = resolveReconnect({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });

  it('grows the ceiling exponentially from the base and caps it', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('draws uniformly below the ceiling', () => {
    const rnd = seededRandom(1);
    const r = resolveReconnect({ initialDelayMs: 100, maxDelayMs: 1000, random: rnd });
    const xs = Array.from({ length: 2000 }, () => backoffDelay(3, r));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(400);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(170);
    expect(mean).toBeLessThan(230);
  });

  it("uses the server's retry: as the base unless told not to", () => {
    expect(backoffDelay(1, o, 50)).toBe(49);
    expect(backoffDelay(2, o, 50)).toBe(99);
    expect(backoffDelay(1, { ...o, honorServerRetry: false }, 50)).toBe(99);
  });

  it('never waits less than a Retry-After', () => {
    expect(backoffDelay(1, { ...o, random: () => 0 }, undefined, 3000)).toBe(3000);
  });

  it('is reproducible with a seeded random', () => {
    const a = resolveReconnect({ random: seededRandom(9) });
    const b = resolveReconnect({ random: seededRandom(9) });
    const xs = [1, 2, 3, 4].map((n) => backoffDelay(n, a));
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, b))).toEqual(xs);
  });
});

describe('sleep', () => {
  it('rejects with the abort reason', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
