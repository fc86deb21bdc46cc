import { describe, expect, it } from '@jest/globals';
import { FailureWindows } from './auth-failures.js';

describe('FailureWindows (invalid API keys per address)', () => {
  it('lets an address fail up to the limit, then makes it wait until its window ends', () => {
    let now = 0;
    const w = new FailureWindows(3, 60_000, 100, () => now);
    for (let i = 0; i < 3; i++) {
      expect(w.retryAfterS('1.2.3.4')).toBe(0);
      w.fail('1.2.3.4');
    }
    expect(w.retryAfterS('1.2.3.4')).toBe(60);
    expect(w.retryAfterS('5.6.7.8')).toBe(0); // another address is not affected
    now = 59_001;
    expect(w.retryAfterS('1.2.3.4')).toBe(1);
    now = 60_000;
    expect(w.retryAfterS('1.2.3.4')).toBe(0); // a new window
    w.fail('1.2.3.4');
    expect(w.retryAfterS('1.2.3.4')).toBe(0);
  });

  it('tracks a bounded number of addresses, forgetting the oldest window first', () => {
    let now = 0;
    const w = new FailureWindows(1, 60_000, 1_000, () => now);
    for (let i = 0; i < 50_000; i++) {
      now = i;
      w.fail(`10.0.${i >> 8}.${i & 255}`);
    }
    expect(w.size).toBe(1_000);
    expect(w.retryAfterS('10.0.195.79')).toBeGreaterThan(0); // the newest (49,999) is still held
    expect(w.retryAfterS('10.0.0.0')).toBe(0); // the oldest was forgotten
  });

  it('is off with a limit of 0', () => {
    const w = new FailureWindows(0, 60_000);
    for (let i = 0; i < 10; i++) w.fail('a');
    expect(w.retryAfterS('a')).toBe(0);
    expect(w.size).toBe(0);
  });
});
