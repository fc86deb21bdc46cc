/**
 * Tenant safety, quotas and rate limits: a tenant that fills each of its quotas gets 429 `quota_exceeded` (with
 * Retry-After where waiting helps) while another tenant's creates and streams still succeed; every way of creating
 * work takes from the create rate limit, each batch item on its own. Shared by the embedded and Redis runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { openSse, type SseResponse } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

const ACME = { Authorization: 'Bearer acme-key-0001' };
const GLOBEX = { Authorization: 'Bearer globex-key-0002' };

export const QUOTA_ENV = {
  API_KEYS: 'acme:acme-key-0001,globex:globex-key-0002',
  TENANT_MAX_ACTIVE_JOBS: '3',
  TENANT_MAX_THREADS: '2',
  TENANT_MAX_WAITS: '1',
  MAX_STREAMS_PER_TENANT: '2',
  WEBHOOK_MAX_PER_TENANT: '2',
  WEBHOOK_ALLOW_PRIVATE: 'true',
};

const QUOTA_BODY = { error: { code: 'quota_exceeded', message: expect.any(String) } };

export const metricValue = (text: string, series: string): number =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(series + ' '))
      ?.slice(series.length + 1) ?? 0,
  );

export function quotasSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`tenant safety: quotas (${engine})`, () => {
    let app: TestApp;
    const streams: SseResponse[] = [];
    beforeAll(async () => {
      app = await start(QUOTA_ENV);
    });
    afterAll(async () => {
      for (const s of streams) s.close();
      await app?.close();
    });
    const create = (headers: Record<string, string>, input: Record<string, unknown> = { message: 'hi' }) =>
      app.api('/v1/jobs', { body: { agent: 'echo', input }, headers });
    // a job that holds its place: it waits for an approval
    const asking = { message: 'hold on', ask: { after: 0, prompt: 'ok?' } };

    it('active jobs, streams and waits: the tenant at its quota gets 429 quota_exceeded, the other tenant does not', async () => {
      const held: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await create(ACME, asking);
        expect(r.status).toBe(201);
        held.push(r.body.id);
      }
      const over = await create(ACME);
      expect([over.status, over.body]).toEqual([429, QUOTA_BODY]);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // every way of creating a job counts: a batch item, a rerun
      const batch = await app.api('/v1/jobs/batch', {
        body: { jobs: [{ agent: 'echo', input: { message: 'x' } }] },
        headers: ACME,
      });
      expect(batch.body.items).toEqual([QUOTA_BODY]);
      expect((await app.api(`/v1/jobs/${held[0]}/rerun`, { body: {}, headers: ACME })).body).toEqual(QUOTA_BODY);
      // the other tenant is not affected
      const other = await create(GLOBEX, asking);
      expect(other.status).toBe(201);

      // open streams: acme's 2, then 429; globex still streams
      const url = `${app.url}/v1/jobs/${held[0]}/stream`;
      for (let i = 0; i < 2; i++) streams.push(await openSse(url, { headers: ACME }));
      expect(streams.map((s) => s.status)).toEqual([200, 200]);
      const refused = await openSse(url, { headers: ACME });
      expect([refused.status, refused.body]).toEqual([429, QUOTA_BODY]);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      const g = await openSse(`${app.url}/v1/jobs/${other.body.id}/stream`, { headers: GLOBEX });
      expect(g.status).toBe(200);
      g.close();

      // a job ending frees its place
      await app.api(`/v1/jobs/${held[0]}/cancel`, { body: {}, headers: ACME });
      const slow = await create(ACME, { message: 'a b c d e f g h', delay_ms: 2_000 });
      expect(slow.status).toBe(201);

      // concurrent waits: one per tenant here
      const firstWait = app.api(`/v1/jobs/${slow.body.id}/wait?timeout_s=60`, { headers: ACME });
      const secondWait = await waitFor(
        async () => {
          const r = await app.api(`/v1/jobs/${slow.body.id}/wait?timeout_s=1`, { headers: ACME });
          return r.status === 429 ? r : null;
        },
        { message: 'a second concurrent wait to be refused' },
      );
      expect(secondWait.body).toEqual(QUOTA_BODY);
      expect(secondWait.headers.get('retry-after')).toMatch(/^\d+$/);
      const gWait = await app.api(`/v1/jobs/${other.body.id}/wait?timeout_s=0`, { headers: GLOBEX });
      expect(gWait.status).toBe(200);
      for (const id of [...held.slice(1), slow.body.id])
        await app.api(`/v1/jobs/${id}/cancel`, { body: {}, headers: ACME });
      expect((await firstWait).status).toBe(200);
      await app.api(`/v1/jobs/${other.body.id}/cancel`, { body: {}, headers: GLOBEX });

      const text = (await app.api('/metrics')).body as string;
      expect(metricValue(text, 'jobstream_quota_refusals_total{kind="active_jobs"}')).toBeGreaterThanOrEqual(3);
      expect(metricValue(text, 'jobstream_quota_refusals_total{kind="streams"}')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'jobstream_quota_refusals_total{kind="waits"}')).toBeGreaterThanOrEqual(1);
    });

    it('threads and webhook endpoints: 429 quota_exceeded at the quota, the other tenant unaffected', async () => {
      for (let i = 0; i < 2; i++)
        expect((await app.api('/v1/threads', { body: { agent: 'echo' }, headers: ACME })).status).toBe(201);
      const t = await app.api('/v1/threads', { body: { agent: 'echo' }, headers: ACME });
      expect([t.status, t.body]).toEqual([429, QUOTA_BODY]);
      expect((await app.api('/v1/threads', { body: { agent: 'echo' }, headers: GLOBEX })).status).toBe(201);

      const hook = { url: 'http://127.0.0.1:9/hook', events: ['job.completed'] };
      for (let i = 0; i < 2; i++)
        expect((await app.api('/v1/webhooks', { body: hook, headers: ACME })).status).toBe(201);
      const w = await app.api('/v1/webhooks', { body: hook, headers: ACME });
      expect([w.status, w.body]).toEqual([429, QUOTA_BODY]);
      expect((await app.api('/v1/webhooks', { body: hook, headers: GLOBEX })).status).toBe(201);
      const text = (await app.api('/metrics')).body as string;
      expect(metricValue(text, 'jobstream_quota_refusals_total{kind="threads"}')).toBe(1);
      expect(metricValue(text, 'jobstream_quota_refusals_total{kind="webhooks"}')).toBe(1);
    });
  });

  describe(`tenant safety: create rate limit on every path (${engine})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await start({ API_KEYS: QUOTA_ENV.API_KEYS, RATE_LIMIT_CREATE_PER_MIN: '5' });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('charges each batch item, thread creation and turn; items past the limit get rate_limited', async () => {
      const jobs = Array.from({ length: 8 }, (_, i) => ({ agent: 'echo', input: { message: `m${i}` } }));
      const r = await app.api('/v1/jobs/batch', { body: { jobs }, headers: ACME });
      expect(r.status).toBe(200);
      expect(r.body.items.filter((x: any) => x.job)).toHaveLength(5);
      expect(r.body.items.slice(5)).toEqual(
        Array.from({ length: 3 }, () => ({ error: { code: 'rate_limited', message: expect.any(String) } })),
      );
      const thread = await app.api('/v1/threads', { body: { agent: 'echo' }, headers: ACME });
      expect([thread.status, thread.body.error?.code]).toEqual([429, 'rate_limited']);
      expect(Number(thread.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // another tenant has its own bucket: a thread and a turn
      const g = await app.api('/v1/threads', { body: { agent: 'echo' }, headers: GLOBEX });
      expect(g.status).toBe(201);
      const turn = await app.api(`/v1/threads/${g.body.id}/jobs`, {
        body: { input: { message: 'x' } },
        headers: GLOBEX,
      });
      expect(turn.status).toBe(201);
      for (let i = 0; i < 3; i++) await app.api('/v1/jobs', { body: jobs[0], headers: GLOBEX });
      const turn2 = await app.api(`/v1/threads/${g.body.id}/jobs`, {
        body: { input: { message: 'y' }, if_busy: 'enqueue' },
        headers: GLOBEX,
      });
      expect([turn2.status, turn2.body.error?.code]).toEqual([429, 'rate_limited']);
    });
  });
}
