/**
 * Tenant safety, webhooks: 20 endpoints of tenant A that accept connections and never answer, with 60 deliveries
 * due, must not delay tenant B: B's delivery arrives within 5 s of its job's end (the contract), while A never has
 * more than its in-flight share (WEBHOOK_TENANT_CONCURRENCY, default 4) of the dispatcher's 16 slots. Default
 * timeout (10 s) and concurrency, as in production. Shared by the embedded (memory store) and Redis runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { startBlackHole, type BlackHole } from '../support/black-hole.js';
import { waitFor } from '../support/wait.js';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const A = { Authorization: 'Bearer tenant-a-key-0001' };
const B = { Authorization: 'Bearer tenant-b-key-0002' };

export const FAIRNESS_ENV = {
  API_KEYS: 'tenanta:tenant-a-key-0001,tenantb:tenant-b-key-0002',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_MAX_PER_TENANT: '20',
};

export function webhookFairnessSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`tenant safety: fair webhook deliveries (${engine})`, () => {
    let app: TestApp;
    let hole: BlackHole;
    let rx: WebhookReceiver;
    beforeAll(async () => {
      [hole, rx] = await Promise.all([startBlackHole(), startReceiver()]);
      app = await start(FAIRNESS_ENV);
    });
    afterAll(async () => {
      await hole?.close(); // the hanging tries fail at once, so the app closes without waiting for their timeout
      await app?.close();
      await rx?.close();
    });

    const runJob = async (headers: Record<string, string>, message: string) => {
      const j = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message } }, headers });
      expect(j.status).toBe(201);
      const done = await app.api(`/v1/jobs/${j.body.id}/wait?timeout_s=30`, { headers });
      expect(done.body.status).toBe('completed');
      return done.body as { id: string; finished_at: string };
    };

    it("delivers tenant B's webhook within 5 s while 20 of tenant A's endpoints never answer", async () => {
      for (let i = 0; i < 20; i++) {
        const r = await app.api('/v1/webhooks', {
          body: { url: `${hole.url}?n=${i}`, events: ['job.completed'] },
          headers: A,
        });
        expect(r.status).toBe(201);
      }
      // the 21st is over A's endpoint quota: the same 429 shape as every quota
      const over = await app.api('/v1/webhooks', { body: { url: hole.url, events: ['job.completed'] }, headers: A });
      expect([over.status, over.body]).toEqual([
        429,
        { error: { code: 'quota_exceeded', message: expect.any(String) } },
      ]);
      expect(
        (await app.api('/v1/webhooks', { body: { url: rx.url, events: ['job.completed'] }, headers: B })).status,
      ).toBe(201);

      for (let i = 0; i < 3; i++) await runJob(A, `a${i}`); // 60 deliveries of A, all older than B's
      await waitFor(() => hole.open >= 4, { message: "A's tries to hang in the black hole" });

      const job = await runJob(B, 'b');
      const [got] = await rx.waitFor(1, 15_000);
      const delayMs = got!.at - Date.parse(job.finished_at);
      process.stdout.write(
        `[tenant safety] ${engine}: tenant B's webhook arrived ${delayMs} ms after its job ended ` +
          `(tenant A: 20 black-holed endpoints, ${hole.accepted} tries accepted, at most ${hole.maxOpen} open at once)\n`,
      );
      expect(JSON.parse(got!.body).data.job.id).toBe(job.id);
      expect(delayMs).toBeLessThan(5_000);
      expect(hole.maxOpen).toBeLessThanOrEqual(4);
    }, 90_000);
  });
}
