import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';
import { hashKey } from './key-hash.js';

const KEY = 'w'.repeat(32);
const load = (env: Record<string, string>) => loadConfig(env, hashKey);

describe('WORKER_KEYS / WORKER_LEASE_S', () => {
  it('is off without WORKER_KEYS; a 30 s lease by default', () => {
    const c = load({});
    expect(c.workerApi).toMatchObject({ enabled: false, leaseMs: 30_000 });
    expect(c.workerApi.keys.size).toBe(0);
  });

  it('parses worker:key entries into hashed keys', () => {
    const c = load({ WORKER_KEYS: `py:${KEY}, go:${'g'.repeat(40)}`, WORKER_LEASE_S: '10' });
    expect(c.workerApi.enabled).toBe(true);
    expect(c.workerApi.leaseMs).toBe(10_000);
    expect(c.workerApi.keys.get(hashKey(KEY))).toBe('py');
    expect(c.workerApi.keys.get(hashKey('g'.repeat(40)))).toBe('go');
  });

  it('refuses short keys, bad names, a tenant key reused, and never echoes a key', () => {
    const short = 'short-key-123';
    for (const [env, re] of [
      [{ WORKER_KEYS: `py:${short}` }, /WORKER_KEYS entry #1.*at least 32 characters/],
      [{ WORKER_KEYS: `p y:${KEY}` }, /WORKER_KEYS entry #1/],
      [{ WORKER_KEYS: KEY }, /WORKER_KEYS entry #1/],
      [{ API_KEYS: `acme:${KEY}`, WORKER_KEYS: `py:${KEY}` }, /reuses a tenant's key/],
      [{ WORKER_LEASE_S: '0' }, /WORKER_LEASE_S/],
    ] as const) {
      let message = '';
      try {
        load(env);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(re);
      expect(message).not.toContain(short);
      expect(message).not.toContain(KEY);
    }
  });

  it('keeps a lease shorter than the watchdog’s silence (2 × JOB_STALL_TIMEOUT_MS)', () => {
    expect(() => load({ WORKER_KEYS: `py:${KEY}`, WORKER_LEASE_S: '10', JOB_STALL_TIMEOUT_MS: '5000' })).toThrow(
      /WORKER_LEASE_S \(10\) must be shorter than 2 × JOB_STALL_TIMEOUT_MS/,
    );
    expect(
      load({ WORKER_KEYS: `py:${KEY}`, WORKER_LEASE_S: '9', JOB_STALL_TIMEOUT_MS: '5000' }).workerApi.leaseMs,
    ).toBe(9_000);
  });
});
