import { describe, expect, it } from '@jest/globals';
import { backoffDelay, RECONNECT } from './backoff.js';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { isRedisOutage, isRedisUnavailable, redisCall, ReplyError, replyCode, toUnavailable } from './errors.js';

class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}
const reply = (message: string) => new ReplyError(message);

describe('Redis error classification', () => {
  it('reads the code of an error reply, and knows replies by their class, not their name', () => {
    expect(replyCode(reply('READONLY You can’t write against a read only replica.'))).toBe('READONLY');
    expect(replyCode(reply('NOSCRIPT No matching script'))).toBe('NOSCRIPT');
    // a look-alike is not a reply of the server: connection trouble for a store's own call
    expect(isRedisUnavailable(Object.assign(new Error('ERR x'), { name: 'ReplyError' }))).toBe(true);
  });

  it('tells an outage from a bug (isRedisOutage): only what ioredis raises when Redis cannot serve', () => {
    for (const err of [
      reply('READONLY You can’t write against a read only replica.'),
      reply('LOADING Redis is loading the dataset in memory'),
      reply('TRYAGAIN Multiple keys request during rehashing of slot'),
      new MaxRetriesPerRequestError(3),
      new Error('Connection is closed.'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error('Command timed out'),
      new Error('store call failed', { cause: reply('MASTERDOWN Link with MASTER is down') }),
    ] as Error[])
      expect({ err: err.message, outage: isRedisOutage(err) }).toEqual({ err: err.message, outage: true });
    for (const err of [
      reply('ERR wrong number of arguments'),
      reply('NOSCRIPT No matching script'),
      new TypeError('x is undefined'),
      new Error('READONLY in a message of another error'),
      'not an error',
    ])
      expect({ err: String(err), outage: isRedisOutage(err) }).toEqual({ err: String(err), outage: false });
  });

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
