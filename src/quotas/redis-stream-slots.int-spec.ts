import { describe, expect, it } from '@jest/globals';
import { redisForFile } from '../../test/harness/file-redis.js';
import { waitFor } from '../../test/support/wait.js';
import { RedisStreamSlots } from './redis-stream-slots.js';

const redis = redisForFile();
const client = () => redis.client();

describe('RedisStreamSlots', () => {
  it('counts a tenant over processes, renews live slots, and lets the slots of a dead process run out', async () => {
    const prefix = `s${Date.now()}:`;
    const a = new RedisStreamSlots(client(), { prefix, leaseMs: 300 });
    const b = new RedisStreamSlots(client(), { prefix, leaseMs: 300 });
    expect(await a.acquire('t', 'a1', 2)).toBe(true);
    expect(await b.acquire('t', 'b1', 2)).toBe(true);
    expect(await b.acquire('t', 'b2', 2)).toBe(false);
    expect(await a.acquire('u', 'a2', 2)).toBe(true); // another tenant
    // b's slot stays while b renews it; a "dies" (stops renewing): its slot runs out and the place comes back
    await a.close();
    const taken = await waitFor(async () => ((await b.acquire('t', 'b3', 2)) ? true : null), { timeoutMs: 5_000 });
    expect(taken).toBe(true);
    expect(await b.acquire('t', 'b4', 2)).toBe(false); // b1 (renewed) and b3
    await b.release('t', 'b1');
    expect(await b.acquire('t', 'b5', 2)).toBe(true);
    await b.close();
  });
});
