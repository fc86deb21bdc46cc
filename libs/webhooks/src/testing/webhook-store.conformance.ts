/** The WebhookStore contract (webhook-store.port.ts), run against every driver. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { newDeliveryId, newWebhookId } from '@jobstream/contracts';
import { WebhookLimitError, type NewDelivery, type WebhookEndpoint, type WebhookStore } from '../webhook-store.port.js';

/** A new endpoint of `tenant` for job.completed. */
export function webhookEndpoint(tenant: string): WebhookEndpoint {
  return {
    id: newWebhookId(),
    tenant,
    url: 'https://example.com/h',
    events: ['job.completed'],
    secret: 'whsec_AAAA',
    created_at: new Date().toISOString(),
  };
}

export function webhookStoreConformance(name: string, make: () => Promise<WebhookStore>): void {
  describe(`WebhookStore conformance: ${name}`, () => {
    let store: WebhookStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });
    const ep = webhookEndpoint;
    const dlv = (e: WebhookEndpoint, job: string, now = new Date()): NewDelivery => ({
      id: newDeliveryId(),
      webhook_id: e.id,
      tenant: e.tenant,
      event_type: 'job.completed',
      job_id: job,
      payload: '{"x":1}',
      dedupKey: `${e.id}:${job}:job.completed`,
      now,
    });

    it('keeps endpoints per tenant and caps them', async () => {
      const a1 = await store.createEndpoint(ep('a'), 2);
      const a2 = await store.createEndpoint(ep('a'), 2);
      await expect(store.createEndpoint(ep('a'), 2)).rejects.toBeInstanceOf(WebhookLimitError);
      await store.createEndpoint(ep('b'), 2);
      expect((await store.listEndpoints('a')).map((e) => e.id)).toEqual([a2.id, a1.id]);
      expect(await store.getEndpoint('b', a1.id)).toBeNull();
      expect(await store.deleteEndpoint('b', a1.id)).toBe(false);
      expect(await store.deleteEndpoint('a', a1.id)).toBe(true);
      expect(await store.getEndpointById(a1.id)).toBeNull();
      expect((await store.createEndpoint(ep('a'), 2)).tenant).toBe('a');
    });

    it('creates one delivery per dedup key, claims it once per lease, and applies outcomes', async () => {
      const e = await store.createEndpoint(ep('a'), 5);
      const t0 = new Date(Date.now() - 1_000);
      const d = await store.createDelivery(dlv(e, 'job_1', t0));
      expect(d).toMatchObject({ status: 'pending', attempt_count: 0 });
      expect(await store.createDelivery(dlv(e, 'job_1', t0))).toBeNull();
      expect(await store.pendingCount()).toBe(1);

      const now = new Date();
      const [c1, c2] = await Promise.all([store.claimDue(now, 10, 60_000), store.claimDue(now, 10, 60_000)]);
      expect([...c1!, ...c2!].map((x) => x.id)).toEqual([d!.id]);
      expect(await store.claimDue(now, 10, 60_000)).toEqual([]);
      // after the lease it is due again (a claimer that died loses nothing)
      expect((await store.claimDue(new Date(now.getTime() + 60_001), 10, 1)).map((x) => x.id)).toEqual([d!.id]);

      const retryAt = new Date(now.getTime() + 5_000);
      const r1 = await store.recordAttempt(
        d!.id,
        { at: now.toISOString(), status_code: 500, error: 'endpoint answered 500', duration_ms: 3 },
        { kind: 'retry', at: retryAt },
      );
      expect(r1).toMatchObject({ status: 'pending', attempt_count: 1, next_attempt_at: retryAt.toISOString() });
      expect(await store.claimDue(now, 10, 1_000)).toEqual([]);
      expect((await store.claimDue(retryAt, 10, 1_000)).map((x) => x.id)).toEqual([d!.id]);
      const r2 = await store.recordAttempt(
        d!.id,
        { at: retryAt.toISOString(), status_code: 200, error: null, duration_ms: 2 },
        { kind: 'delivered' },
      );
      expect(r2).toMatchObject({ status: 'delivered', attempt_count: 2, next_attempt_at: null });
      expect(r2!.attempts.map((a) => [a.attempt, a.status_code, a.trigger])).toEqual([
        [1, 500, 'scheduled'],
        [2, 200, 'scheduled'],
      ]);
      expect(await store.pendingCount()).toBe(0);

      expect(await store.redeliver('b', e.id, d!.id, now)).toBeNull();
      const again = await store.redeliver('a', e.id, d!.id, now);
      expect(again).toMatchObject({ status: 'pending', schedule_index: 0 });
      expect((await store.claimDue(now, 10, 1_000)).map((x) => x.id)).toEqual([d!.id]);
      const r3 = await store.recordAttempt(
        d!.id,
        { at: now.toISOString(), status_code: null, error: 'no answer', duration_ms: 10 },
        { kind: 'failed' },
      );
      expect(r3).toMatchObject({ status: 'failed', attempt_count: 3 });
      expect(r3!.attempts[2]!.trigger).toBe('manual');
    });

    it('lists an endpoint’s deliveries newest first, in pages, for its tenant only', async () => {
      const e = await store.createEndpoint(ep('a'), 5);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.createDelivery(dlv(e, `job_${i}`)))!.id);
      const p1 = await store.listDeliveries('a', e.id, 2);
      expect(p1.map((d) => d.id)).toEqual([ids[4], ids[3]]);
      const p2 = await store.listDeliveries('a', e.id, 10, p1[1]!.id);
      expect(p2.map((d) => d.id)).toEqual([ids[2], ids[1], ids[0]]);
      expect(await store.listDeliveries('b', e.id, 10)).toEqual([]);
      expect(await store.getDelivery('b', e.id, ids[0]!)).toBeNull();
      expect((await store.getDelivery('a', e.id, ids[0]!))?.job_id).toBe('job_0');
    });

    it('claims fairly: a tenant holds at most its in-flight cap, others are served first, leases heal', async () => {
      const a = await Promise.all(Array.from({ length: 20 }, () => store.createEndpoint(ep('a'), 20)));
      const b = await store.createEndpoint(ep('b'), 20);
      const t0 = Date.now();
      // tenant a: 40 deliveries due for a while; tenant b: one, due just now
      for (const [i, e] of a.entries()) {
        await store.createDelivery(dlv(e, `job_a${i}`, new Date(t0 - 60_000 + i)));
        await store.createDelivery(dlv(e, `job_b${i}`, new Date(t0 - 50_000 + i)));
      }
      const mine = await store.createDelivery(dlv(b, 'job_x', new Date(t0 - 1)));
      const now = new Date(t0);
      const first = await store.claimDue(now, 16, 30_000, 4);
      expect(first.filter((d) => d.tenant === 'a')).toHaveLength(4);
      expect(first.filter((d) => d.tenant === 'b').map((d) => d.id)).toEqual([mine!.id]);
      // a is at its cap: nothing more of it until a try is recorded
      expect(await store.claimDue(now, 16, 30_000, 4)).toEqual([]);
      await store.recordAttempt(
        first[0]!.id,
        { at: now.toISOString(), status_code: null, error: 'no answer', duration_ms: 10_000 },
        { kind: 'retry', at: new Date(t0 + 3_600_000) },
      );
      expect((await store.claimDue(now, 16, 30_000, 4)).map((d) => d.tenant)).toEqual(['a']);
      // a claimer that died: its leases end and the tenant's places come back by themselves
      const later = new Date(t0 + 30_001);
      const again = await store.claimDue(later, 16, 30_000, 4);
      expect(again.filter((d) => d.tenant === 'a')).toHaveLength(4);
      expect(await store.pendingCount()).toBe(41);
    });

    it('serves tenants in turn, one delivery each per round', async () => {
      const a = await store.createEndpoint(ep('a'), 20);
      const b = await store.createEndpoint(ep('b'), 20);
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) await store.createDelivery(dlv(a, `job_a${i}`, new Date(t0 - 10_000 + i)));
      for (let i = 0; i < 5; i++) await store.createDelivery(dlv(b, `job_b${i}`, new Date(t0 - 5_000 + i)));
      const order: string[] = [];
      for (let i = 0; i < 6; i++)
        order.push(...(await store.claimDue(new Date(t0 + i), 1, 60_000)).map((d) => d.tenant));
      expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
      const both = await store.claimDue(new Date(t0 + 10), 4, 60_000);
      expect(both.map((d) => d.tenant).sort()).toEqual(['a', 'a', 'b', 'b']);
    });

    it("removes an endpoint's deliveries and their schedule with the endpoint", async () => {
      const e = await store.createEndpoint(ep('a'), 5);
      const other = await store.createEndpoint(ep('a'), 5);
      const d = await store.createDelivery(dlv(e, 'job_1', new Date(Date.now() - 1_000)));
      await store.createDelivery(dlv(other, 'job_1', new Date(Date.now() - 1_000)));
      expect(await store.pendingCount()).toBe(2);
      expect(await store.deleteEndpoint('a', e.id)).toBe(true);
      expect(await store.getDelivery('a', e.id, d!.id)).toBeNull();
      expect(await store.listDeliveries('a', e.id, 10)).toEqual([]);
      expect(await store.pendingCount()).toBe(1);
      expect((await store.claimDue(new Date(), 10, 1_000, 4)).map((x) => x.webhook_id)).toEqual([other.id]);
    });
  });
}
