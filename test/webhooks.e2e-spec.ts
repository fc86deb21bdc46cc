import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, JobstreamError } from '@jobstream/sdk';
import { startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/wait.js';
import { startReceiver } from './support/webhook-receiver.js';
import { WEBHOOK_TEST_ENV, verify } from './suites/webhooks.suite.js';
import { webhooksSuite } from './suites/webhooks.suite.js';

webhooksSuite('embedded engine', (env) => startTestApp(env));

describe('webhooks SSRF guard (WEBHOOK_ALLOW_PRIVATE unset)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({});
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://127.1/hook',
    'http://2130706433/hook',
    'http://0x7f000001/hook',
    'http://localhost/hook',
    'http://api.localhost/hook',
    'http://0.0.0.0/hook',
    'http://10.1.2.3/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.10/hook',
    'http://100.64.0.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[::]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://[64:ff9b::a9fe:a9fe]/hook',
  ])('refuses %s with 400', async (url) => {
    const r = await app.api('/v1/webhooks', { body: { url, events: ['job.completed'] } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.message).toMatch(/localhost|non-public|private|loopback/);
  });

  it('accepts a public address', async () => {
    const r = await app.api('/v1/webhooks', { body: { url: 'https://93.184.215.14/hook', events: ['job.completed'] } });
    expect(r.status).toBe(201);
  });
});

describe('webhooks through the SDK (client.webhooks)', () => {
  it('creates, lists, reads the delivery log, redelivers and deletes', async () => {
    const app = await startTestApp(WEBHOOK_TEST_ENV);
    const rx = await startReceiver();
    try {
      const client = createClient({ baseUrl: app.url, apiKey: 'acme-key-0001' });
      const hook = await client.webhooks.create({ url: rx.url, events: ['job.completed'] });
      expect(hook.secret).toMatch(/^whsec_/);
      expect((await client.webhooks.list()).map((w) => w.id)).toEqual([hook.id]);
      const job = await client.jobs.create({ agent: 'echo', input: { message: 'via sdk' } });
      const [first] = await rx.waitFor(1);
      expect(verify(hook.secret, first!).data.job.id).toBe(job.id);
      const page = await waitFor(
        async () => {
          const p = await client.webhooks.deliveries(hook.id, { limit: 10 });
          return p.items[0]?.status === 'delivered' ? p : null;
        },
        { retryErrors: true },
      );
      expect(page.next_cursor).toBeNull();
      const again = await client.webhooks.redeliver(hook.id, page.items[0]!.id);
      expect(again.status).toBe('pending');
      const got = await rx.waitFor(2);
      expect(got[1]!.headers['webhook-id']).toBe(page.items[0]!.id);
      await client.webhooks.delete(hook.id);
      expect(await client.webhooks.list()).toEqual([]);
      await expect(client.webhooks.delete(hook.id)).rejects.toBeInstanceOf(JobstreamError);
    } finally {
      await rx.close();
      await app.close();
    }
  });
});

describe('job.input_required', () => {
  it('is sent when an input_required event appears in a job’s log', async () => {
    const app = await startTestApp(WEBHOOK_TEST_ENV);
    const rx = await startReceiver();
    const auth = { Authorization: 'Bearer acme-key-0001' };
    try {
      const hook = await app.api('/v1/webhooks', {
        body: { url: rx.url, events: ['job.input_required'] },
        headers: auth,
      });
      // 60 s between its tokens: still running when the test writes to its log, however slow the machine
      const job = await app.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'wait '.repeat(400), delay_ms: 60_000 } },
        headers: auth,
      });
      await waitFor(
        async () => (await app.api(`/v1/jobs/${job.body.id}`, { headers: auth })).body.status === 'running',
        { retryErrors: true },
      );
      // what an interactive agent appends (the interactive-jobs feature)
      const ask = { type: 'input_required' as const, request_id: 'req_1', kind: 'approval' as const, prompt: 'Go on?' };
      const { event } = await app.engine.eventLog.append(job.body.id, { event: ask, attempt: 1 });
      const [r] = await rx.waitFor(1);
      const p = verify(hook.body.secret, r!);
      expect(p).toMatchObject({
        type: 'job.input_required',
        timestamp: event.ts,
        data: { job: { id: job.body.id, status: 'waiting_for_input' } },
      });
      await app.api(`/v1/jobs/${job.body.id}/cancel`, { body: {}, headers: auth });
      const log = await app.api(`/v1/webhooks/${hook.body.id}/deliveries`, { headers: auth });
      expect(log.body.items).toHaveLength(1);
    } finally {
      await rx.close();
      await app.close();
    }
  });
});

describe('webhooks in the OpenAPI document', () => {
  it('documents every webhook endpoint', async () => {
    const app = await startTestApp({});
    try {
      const doc = (await app.api('/docs-json')).body;
      expect(
        Object.keys(doc.paths)
          .filter((p) => p.startsWith('/v1/webhooks'))
          .sort(),
      ).toEqual([
        '/v1/webhooks',
        '/v1/webhooks/{id}',
        '/v1/webhooks/{id}/deliveries',
        '/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      ]);
      expect(Object.keys(doc.paths['/v1/webhooks']).sort()).toEqual(['get', 'post']);
      expect(doc.paths['/v1/webhooks'].post.responses['201']).toBeDefined();
    } finally {
      await app.close();
    }
  });
});

describe('WEBHOOKS_ENABLED=false', () => {
  it('serves no webhook routes', async () => {
    const app = await startTestApp({ WEBHOOKS_ENABLED: 'false' });
    try {
      expect((await app.api('/v1/webhooks')).status).toBe(404);
      expect(
        (await app.api('/v1/webhooks', { body: { url: 'https://93.184.215.14/x', events: ['job.failed'] } })).status,
      ).toBe(404);
    } finally {
      await app.close();
    }
  });
});
