import { describe, expect, it } from '@jest/globals';
import { QuotaExceededError } from '@jobstream/contracts';
import type { AppConfig } from '../config/config.js';
import { Quotas } from '../quotas/quotas.service.js';
import { WaitLimits } from './wait-limits.js';

describe('WaitLimits', () => {
  const make = (waits: number) => {
    const config = { quotas: { waits } } as AppConfig;
    return new WaitLimits(config, new Quotas(config));
  };

  it('holds a tenant to its concurrent waits, per tenant, and gives a place back once', () => {
    const w = make(2);
    const a1 = w.acquire('a');
    w.acquire('a');
    expect(() => w.acquire('a')).toThrow(QuotaExceededError);
    try {
      w.acquire('a');
    } catch (err) {
      expect(err).toMatchObject({ kind: 'waits', limit: 2, retryAfterS: 5 });
    }
    w.acquire('b'); // another tenant
    a1();
    a1(); // idempotent: frees one place, not two
    expect(w.countFor('a')).toBe(1);
    w.acquire('a');
    expect(() => w.acquire('a')).toThrow(QuotaExceededError);
  });

  it('0 = no cap', () => {
    const w = make(0);
    for (let i = 0; i < 1_000; i++) w.acquire('a');
    expect(w.countFor('a')).toBe(1_000);
  });
});
