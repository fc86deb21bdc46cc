import { describe, expect, it } from '@jest/globals';
import { TokenBuckets } from './token-buckets.js';

describe('TokenBuckets', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('allows a burst of `capacity`, then refuses with the seconds until the next token', () => {
    const c = clock();
    const b = new TokenBuckets(3, 60_000, c.now);
    expect([b.take('a'), b.take('a'), b.take('a')].map((r) => r.ok)).toEqual([true, true, true]);
    const refused = b.take('a');
    expect(refused).toEqual({ ok: false, retryAfterS: 20, remaining: 0 });
    c.advance(19_000);
    expect(b.take('a')).toMatchObject({ ok: false, retryAfterS: 1 });
    c.advance(1_000);
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const c = clock();
    const b = new TokenBuckets(1, 1_000, c.now);
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    expect(b.take('b').ok).toBe(true);
  });

  it('refills continuously up to the capacity, never beyond', () => {
    const c = clock();
    const b = new TokenBuckets(2, 1_000, c.now);
    b.take('a');
    b.take('a');
    c.advance(60_000);
    expect(b.take('a')).toMatchObject({ ok: true, remaining: 1 });
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
  });

  it('forgets full buckets, so idle tenants cost no memory', () => {
    const c = clock();
    const b = new TokenBuckets(10, 1_000, c.now);
    b.take('a');
    b.take('b');
    expect(b.size).toBe(2);
    c.advance(1_000);
    b.sweep();
    expect(b.size).toBe(0);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new TokenBuckets(0, 1000)).toThrow();
  });
});
