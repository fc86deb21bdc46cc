import { describe, expect, it } from '@jest/globals';
import { backoffDelay, RECONNECT } from './backoff.js';
import { isRedisUnavailable, redisCall, toUnavailable } from './errors.js';

class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}
const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('Redis error classification', () => {
  it('treats connection trouble and transient replies as unavailable, other replies as the request’s own', () => {
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    for (const m of ['READONLY You can’t write against a read only replica.', 'LOADING', 'MASTERDOWN', 'NOREPLICAS x'])
      expect(isRedisUnavailable(reply(m))).toBe(true);
    expect(isRedisUnavailable(reply('ERR wrong number of arguments'))).toBe(false);
    expect(isRedisUnavailable(reply('NOSCRIPT No matching script'))).toBe(false);
    expect(isRedisUnavailable('not an error')).toBe(false);
  });

  it('wraps unavailability in the store’s error (keeping the cause) and passes the rest through', async () => {
    const down = new Error('Command timed out');
    const e = toUnavailable(down, StoreUnavailable, 'test store') as Error;
    expect(e).toBeInstanceOf(StoreUnavailable);
    expect(e.message).toBe('test store unavailable: Command timed out');
    expect(e.cause).toBe(down);
    const own = new StoreUnavailable('closed');
    expect(toUnavailable(own, StoreUnavailable, 'x')).toBe(own);
    const bad = reply('ERR syntax error');
    await expect(redisCall(() => Promise.reject(bad), StoreUnavailable, 'x')).rejects.toBe(bad);
    await expect(redisCall(() => Promise.reject(down), StoreUnavailable, 'x')).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(redisCall(() => Promise.resolve(7), StoreUnavailable, 'x')).resolves.toBe(7);
  });
});

describe('backoffDelay', () => {
  it('doubles from the first delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, RECONNECT))).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, { firstMs: 10, maxMs: 100 })).toBe(10);
  });
});
