import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newDeliveryId } from '@jobstream/contracts';
import { randomUUID } from 'node:crypto';
import { redisForFile } from '../../../test/harness/file-redis.js';
import { RedisWebhookStore } from './redis-webhook-store.js';
import { webhookEndpoint, webhookStoreConformance } from './testing/webhook-store.conformance.js';

const redis = redisForFile();

// each test gets its own key prefix on the one private redis-server
webhookStoreConformance('redis', () =>
  RedisWebhookStore.create({ url: redis.url, retentionMs: 3_600_000, prefix: `t:${randomUUID()}:` }),
);

describe('RedisWebhookStore keys', () => {
  /** A store on `prefix` with one endpoint of tenant a and one delivery of it due now. */
  const withDueDelivery = async (prefix: string) => {
    const store = await RedisWebhookStore.create({ url: redis.url, retentionMs: 3_600_000, prefix });
    const raw = new Redis(redis.url);
    const e = await store.createEndpoint(webhookEndpoint('a'), 5);
    const d = await store.createDelivery({
      id: newDeliveryId(),
      webhook_id: e.id,
      tenant: 'a',
      event_type: 'job.completed',
      job_id: 'job_1',
      payload: '{}',
      dedupKey: `${e.id}:job_1:job.completed`,
      now: new Date(Date.now() - 1_000),
    });
    return { store, raw, e, d };
  };

  it('keeps no key of a deleted endpoint but its expiring dedup keys; its delivery log expires with retention', async () => {
    const prefix = `k:${randomUUID()}:`;
    const { store, raw, e, d } = await withDueDelivery(prefix);
    expect(await raw.pttl(`${prefix}eplog:${e.id}`)).toBeGreaterThan(0);
    expect(await store.claimDue(new Date(), 5, 60_000, 2)).toHaveLength(1);
    expect(await store.deleteEndpoint('a', e.id)).toBe(true);
    const left = await raw.keys(`${prefix}*`);
    expect(left.filter((k) => !k.startsWith(`${prefix}dedup:`))).toEqual([]);
    for (const k of left) expect(await raw.pttl(k)).toBeGreaterThan(0); // only dedup keys, each expiring
    expect(await raw.exists(`${prefix}dlv:${d!.id}`)).toBe(0);
    raw.disconnect();
    await store.close();
  });

  it('moves deliveries scheduled in the old global set to their tenant', async () => {
    const prefix = `l:${randomUUID()}:`;
    const { store, raw, d } = await withDueDelivery(prefix);
    // as an older version left it: only in `due`
    await raw.del(`${prefix}due:a`, `${prefix}tenants`);
    await raw.zadd(`${prefix}due`, Date.now() - 1_000, d!.id);
    expect(await store.pendingCount()).toBe(1);
    expect((await store.claimDue(new Date(), 5, 60_000, 2)).map((x) => x.id)).toEqual([d!.id]);
    expect(await raw.exists(`${prefix}due`)).toBe(0);
    expect(await store.pendingCount()).toBe(1);
    raw.disconnect();
    await store.close();
  });
});
