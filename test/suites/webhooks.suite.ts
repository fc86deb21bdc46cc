/**
 * Webhooks end to end through the real app and a real HTTP receiver on loopback: shared by the embedded run and
 * the JetStream+Redis run. Signatures are checked with the `standardwebhooks` package's own verifier.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import type { TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { startReceiver, type Received, type WebhookReceiver } from '../support/webhook-receiver.js';

const ACME = 'acme-key-0001';
const GLOBEX = 'globex-key-0002';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

export const WEBHOOK_TEST_ENV = {
  API_KEYS: `acme:${ACME},globex:${GLOBEX}`,
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_SCHEDULE: '50ms,50ms,50ms,50ms',
  WEBHOOK_TIMEOUT_MS: '400',
  WEBHOOK_POLL_MS: '20',
  WEBHOOK_MAX_PER_TENANT: '5',
};

export function verify(secret: string, r: Received): any {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
}

export function webhooksSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`webhooks (${engine})`, () => {
    let app: TestApp;
    let rx: WebhookReceiver;
    beforeAll(async () => {
      app = await start(WEBHOOK_TEST_ENV);
    });
    afterAll(async () => {
      await app?.close();
    });
    afterEach(async () => {
      // one endpoint per test: remove what the test created so the per-tenant cap never bites
      for (const key of [ACME, GLOBEX]) {
        const list = await app.api('/v1/webhooks', { headers: auth(key) });
        for (const w of list.body.items ?? [])
          await app.api(`/v1/webhooks/${w.id}`, { method: 'DELETE', headers: auth(key) });
      }
      await rx?.close();
    });
    const as = (key: string) => ({
      post: (path: string, body: unknown = {}) => app.api(path, { body, headers: auth(key) }),
      get: (path: string) => app.api(path, { headers: auth(key) }),
      del: (path: string) => app.api(path, { method: 'DELETE', headers: auth(key) }),
    });
    const acme = as(ACME);
    const globex = as(GLOBEX);
    const runJob = async (input: Record<string, unknown>, who = acme) => {
      const j = await who.post('/v1/jobs', { agent: 'echo', input });
      expect(j.status).toBe(201);
      await who.get(`/v1/jobs/${j.body.id}/wait?timeout_s=20`);
      return j.body.id as string;
    };
    const deliveries = (id: string, who = acme) => who.get(`/v1/webhooks/${id}/deliveries`);

    it('creates an endpoint (secret once), lists it without the secret, and delivers a signed job.completed', async () => {
      rx = await startReceiver();
      const c = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      expect(c.status).toBe(201);
      expect(Object.keys(c.body).sort()).toEqual(['created_at', 'events', 'id', 'secret', 'url']);
      expect(c.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(c.body.id).toMatch(/^wh_/);
      const list = await acme.get('/v1/webhooks');
      expect(list.body.items).toEqual([
        { id: c.body.id, url: rx.url, events: ['job.completed'], created_at: c.body.created_at },
      ]);

      const jobId = await runJob({ message: 'hello hooks' });
      const [r] = await rx.waitFor(1);
      const payload = verify(c.body.secret, r!);
      expect(payload).toMatchObject({
        type: 'job.completed',
        data: { job: { id: jobId, status: 'completed', agent: 'echo' } },
      });
      expect(typeof payload.timestamp).toBe('string');
      expect(r!.headers['webhook-id']).toMatch(/^msg_/);
      expect(r!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(r!.headers['content-type']).toBe('application/json');
      // another secret does not verify
      expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, r!)).toThrow();
      const log = await waitFor(
        async () => {
          const d = await deliveries(c.body.id);
          return d.body.items?.[0]?.status === 'delivered' ? d.body : null;
        },
        { retryErrors: true },
      );
      expect(log.items[0]).toMatchObject({
        id: r!.headers['webhook-id'],
        job_id: jobId,
        event_type: 'job.completed',
        attempt_count: 1,
      });
      expect(log.items[0].attempts).toEqual([
        expect.objectContaining({ attempt: 1, status_code: 200, error: null, trigger: 'scheduled' }),
      ]);
    });

    it('sends job.failed and job.cancelled only to endpoints that subscribed to them', async () => {
      rx = await startReceiver();
      const failedOnly = await acme.post('/v1/webhooks', { url: `${rx.url}?only=failed`, events: ['job.failed'] });
      const cancelledOnly = await acme.post('/v1/webhooks', {
        url: `${rx.url}?only=cancelled`,
        events: ['job.cancelled'],
      });
      await runJob({ message: 'a b c' }); // completed: nobody subscribed
      const failed = await runJob({ message: 'a b c d', fail_after: 1 });
      const j = await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'slow '.repeat(50), delay_ms: 50 } });
      await acme.post(`/v1/jobs/${j.body.id}/cancel`, { reason: 'stop' });
      await acme.get(`/v1/jobs/${j.body.id}/wait?timeout_s=20`);
      const got = await rx.waitFor(2);
      const byType = Object.fromEntries(
        got.map((r) => {
          const secret = JSON.parse(r.body).type === 'job.failed' ? failedOnly.body.secret : cancelledOnly.body.secret;
          const p = verify(secret, r);
          return [p.type, p];
        }),
      );
      expect(byType['job.failed'].data.job).toMatchObject({
        id: failed,
        status: 'failed',
        error: { code: 'agent_failed' },
      });
      expect(byType['job.cancelled'].data.job).toMatchObject({ id: j.body.id, status: 'cancelled' });
      expect(Object.keys(byType).sort()).toEqual(['job.cancelled', 'job.failed']);
      // the completed job went to nobody: one delivery per endpoint
      expect((await deliveries(failedOnly.body.id)).body.items.map((d: any) => d.job_id)).toEqual([failed]);
      expect((await deliveries(cancelledOnly.body.id)).body.items.map((d: any) => d.job_id)).toEqual([j.body.id]);
    });

    it('retries after 500s and a timeout, with the same webhook-id, and logs every try', async () => {
      rx = await startReceiver();
      rx.script(500, 503, 'hang', 200);
      const c = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      const jobId = await runJob({ message: 'retry me' });
      const got = await rx.waitFor(4);
      const ids = new Set(got.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      for (const r of got) expect(verify(c.body.secret, r).data.job.id).toBe(jobId);
      const log = await waitFor(
        async () => {
          const d = await deliveries(c.body.id);
          return d.body.items?.[0]?.status === 'delivered' ? d.body.items[0] : null;
        },
        { retryErrors: true },
      );
      expect(log.attempt_count).toBe(4);
      expect(log.attempts.map((a: any) => a.status_code)).toEqual([500, 503, null, 200]);
      expect(log.attempts[2].error).toMatch(/no answer within 400 ms/);
      expect(log.next_attempt_at).toBeNull();
    });

    it('gives up after the retry schedule, marks the delivery failed, and redelivers on request', async () => {
      rx = await startReceiver();
      rx.script(500, 500, 500, 500, 500);
      const c = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      await runJob({ message: 'never ok' });
      await rx.waitFor(5);
      const failed = await waitFor(
        async () => {
          const d = await deliveries(c.body.id);
          return d.body.items?.[0]?.status === 'failed' ? d.body.items[0] : null;
        },
        { retryErrors: true },
      );
      expect(failed.attempt_count).toBe(5);
      const r = await acme.post(`/v1/webhooks/${c.body.id}/deliveries/${failed.id}/redeliver`);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ id: failed.id, status: 'pending' });
      const got = await rx.waitFor(6);
      expect(got[5]!.headers['webhook-id']).toBe(failed.id);
      expect(verify(c.body.secret, got[5]!).type).toBe('job.completed');
      const after = await waitFor(
        async () => {
          const d = await deliveries(c.body.id);
          return d.body.items?.[0]?.status === 'delivered' ? d.body.items[0] : null;
        },
        { retryErrors: true },
      );
      expect(after.attempts.at(-1)).toMatchObject({ attempt: 6, status_code: 200, trigger: 'manual' });
    });

    it('keeps streaming while an endpoint hangs (tries run off the streaming path)', async () => {
      rx = await startReceiver();
      rx.script('hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang');
      await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      await runJob({ message: 'first' });
      await rx.waitFor(1); // a try is hanging now
      for (let i = 0; i < 3; i++) {
        const j = await acme.post('/v1/jobs', {
          agent: 'echo',
          input: { message: `stream ${i} while the hook hangs` },
        });
        const s = await app.api(`/v1/jobs/${j.body.id}/events?limit=100`, { headers: auth(ACME) });
        expect(s.status).toBe(200);
        expect((await acme.get(`/v1/jobs/${j.body.id}/wait?timeout_s=20`)).body.status).toBe('completed');
      }
      // the three jobs ran while tries were hanging (each try hangs for the whole 400 ms timeout)
      expect(rx.received.length).toBeGreaterThanOrEqual(1);
    });

    it('does not follow redirects', async () => {
      rx = await startReceiver();
      rx.script('redirect', 'redirect', 'redirect', 'redirect', 'redirect');
      const c = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      await runJob({ message: 'moved' });
      const d = await waitFor(
        async () => {
          const r = await deliveries(c.body.id);
          return r.body.items?.[0]?.status === 'failed' ? r.body.items[0] : null;
        },
        { retryErrors: true },
      );
      expect(d.attempts[0]).toMatchObject({ status_code: 302, error: expect.stringMatching(/redirect/) });
      expect(rx.received.every((r) => r.headers['webhook-id'] === d.id)).toBe(true);
    });

    it('keeps tenants apart (404 for another tenant’s endpoint, no events from another tenant’s jobs)', async () => {
      rx = await startReceiver();
      const c = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.completed'] });
      expect((await globex.get('/v1/webhooks')).body.items).toEqual([]);
      expect((await globex.get(`/v1/webhooks/${c.body.id}/deliveries`)).status).toBe(404);
      expect((await globex.del(`/v1/webhooks/${c.body.id}`)).status).toBe(404);
      await runJob({ message: 'globex job' }, globex);
      const mine = await runJob({ message: 'acme job' });
      const [r] = await rx.waitFor(1);
      expect(verify(c.body.secret, r!).data.job.id).toBe(mine);
      const d = await waitFor(async () => (await deliveries(c.body.id)).body.items?.[0], { retryErrors: true });
      expect((await globex.post(`/v1/webhooks/${c.body.id}/deliveries/${d.id}/redeliver`)).status).toBe(404);
      expect((await acme.get(`/v1/webhooks/${c.body.id}/deliveries`)).body.items).toHaveLength(1);
      expect((await acme.del(`/v1/webhooks/${c.body.id}`)).status).toBe(204);
      expect((await acme.get(`/v1/webhooks/${c.body.id}/deliveries`)).status).toBe(404);
    });

    it('validates input and caps endpoints per tenant', async () => {
      rx = await startReceiver();
      const bad: unknown[] = [
        { url: rx.url },
        { url: rx.url, events: [] },
        { url: rx.url, events: ['job.exploded'] },
        { url: rx.url, events: ['job.failed', 'job.failed'] },
        { url: 'ftp://example.com/x', events: ['job.failed'] },
        { url: 'not a url', events: ['job.failed'] },
        { url: `https://example.com/${'x'.repeat(2100)}`, events: ['job.failed'] },
        { url: 'https://user:pw@example.com/x', events: ['job.failed'] },
        { url: rx.url, events: ['job.failed'], extra: 1 },
      ];
      for (const b of bad) {
        const r = await acme.post('/v1/webhooks', b);
        expect([r.status, r.body.error?.code]).toEqual([400, 'invalid_request']);
      }
      for (let i = 0; i < 5; i++)
        expect((await acme.post('/v1/webhooks', { url: `${rx.url}?n=${i}`, events: ['job.failed'] })).status).toBe(201);
      const over = await acme.post('/v1/webhooks', { url: rx.url, events: ['job.failed'] });
      expect([over.status, over.body.error.code]).toEqual([429, 'quota_exceeded']);
      expect((await acme.get('/v1/webhooks/nope/deliveries')).status).toBe(404);
      expect((await acme.get('/v1/webhooks/wh_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/deliveries')).status).toBe(404);
    });
  });
}
