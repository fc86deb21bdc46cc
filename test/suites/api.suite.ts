/** The REST API end to end through the real app: shared by the embedded run and the JetStream+Redis run. */
import { describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { ACME, GLOBEX, asTenant, auth, twoTenantApp } from '../support/tenant-app.js';
import { openSse, readAll } from '../support/sse-client.js';

export function apiSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`REST API (${engine})`, () => {
    const app = twoTenantApp(start, { WORKER_CONCURRENCY: '2' });
    const acme = asTenant(app, ACME);
    const globex = asTenant(app, GLOBEX);

    it('creates and gets a job in the documented shape', async () => {
      const r = await acme.post('/v1/jobs', {
        agent: 'echo',
        input: { message: 'hi there' },
        metadata: { ticket: 'T-1' },
      });
      expect(r.status).toBe(201);
      expect(r.headers.get('location')).toBe(`/v1/jobs/${r.body.id}`);
      expect(Object.keys(r.body).sort()).toEqual(
        [
          'agent',
          'attempt',
          'created_at',
          'error',
          'events_url',
          'finished_at',
          'id',
          'last_event_id',
          'metadata',
          'pending_input',
          'started_at',
          'status',
          'stream_url',
          'usage',
        ].sort(),
      );
      expect(r.body).toMatchObject({
        agent: 'echo',
        status: 'queued',
        attempt: 1,
        metadata: { ticket: 'T-1' },
        usage: { input_tokens: 0, output_tokens: 0 },
      });
      expect(r.body.stream_url).toBe(`/v1/jobs/${r.body.id}/stream`);
      const done = await acme.get(`/v1/jobs/${r.body.id}/wait?timeout_s=20`);
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({
        id: r.body.id,
        status: 'completed',
        usage: { input_tokens: 2, output_tokens: 2 },
      });
      expect(done.body.finished_at).toEqual(expect.any(String));
      expect((await acme.get(`/v1/jobs/${r.body.id}`)).body).toEqual(done.body);
    });

    it('returns the same job for a repeated Idempotency-Key and 409 for another body', async () => {
      const body = { agent: 'echo', input: { message: 'once only' } };
      const a = await acme.post('/v1/jobs', body, { 'Idempotency-Key': 'order-42' });
      const b = await acme.post(
        '/v1/jobs',
        { input: { message: 'once only' }, agent: 'echo' },
        { 'Idempotency-Key': 'order-42' },
      );
      expect(a.status).toBe(201);
      expect(b.status).toBe(200);
      expect(b.body.id).toBe(a.body.id);
      const c = await acme.post(
        '/v1/jobs',
        { agent: 'echo', input: { message: 'other' } },
        { 'Idempotency-Key': 'order-42' },
      );
      expect(c.status).toBe(409);
      expect(c.body.error.code).toBe('idempotency_conflict');
      // per tenant
      expect((await globex.post('/v1/jobs', body, { 'Idempotency-Key': 'order-42' })).status).toBe(201);
    });

    it('answers every bad input with the contract error and never a 500', async () => {
      const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
        [
          'malformed JSON',
          () => app.api('/v1/jobs', { body: '{"agent": "echo", ', headers: auth(ACME) }),
          400,
          'invalid_request',
        ],
        ['missing agent', () => acme.post('/v1/jobs', { input: { message: 'x' } }), 400, 'invalid_request'],
        ['unknown agent', () => acme.post('/v1/jobs', { agent: 'gpt-9', input: {} }), 400, 'unknown_agent'],
        ['input not an object', () => acme.post('/v1/jobs', { agent: 'echo', input: 'hello' }), 400, 'invalid_request'],
        [
          'bad echo input',
          () => acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x', repeat: 0 } }),
          400,
          'invalid_request',
        ],
        [
          'unknown echo field',
          () => acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x', colour: 'red' } }),
          400,
          'invalid_request',
        ],
        [
          'negative delay',
          () => acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x', delay_ms: -1 } }),
          400,
          'invalid_request',
        ],
        [
          'unknown top-level field',
          () => acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x' }, priority: 9 }),
          400,
          'invalid_request',
        ],
        ['array body', () => acme.post('/v1/jobs', [1, 2]), 400, 'invalid_request'],
        [
          'text body',
          () => app.api('/v1/jobs', { body: 'agent=echo', headers: { ...auth(ACME), 'Content-Type': 'text/plain' } }),
          400,
          'invalid_request',
        ],
        [
          'body over 1 MiB',
          () => acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x'.repeat(1_100_000) } }),
          413,
          'payload_too_large',
        ],
        [
          'bad Idempotency-Key',
          () =>
            acme.post('/v1/jobs', { agent: 'echo', input: { message: 'x' } }, { 'Idempotency-Key': 'x'.repeat(300) }),
          400,
          'invalid_request',
        ],
        ['unknown job', () => acme.get('/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV'), 404, 'not_found'],
        ['not a job id', () => acme.get('/v1/jobs/../../etc/passwd'), 404, 'not_found'],
        ['bad list status', () => acme.get('/v1/jobs?status=sleeping'), 400, 'invalid_request'],
        ['bad list limit', () => acme.get('/v1/jobs?limit=0'), 400, 'invalid_request'],
        ['bad list cursor', () => acme.get('/v1/jobs?cursor=%%%'), 400, 'invalid_cursor'],
        [
          'bad wait timeout',
          () => acme.get('/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/wait?timeout_s=forever'),
          400,
          'invalid_request',
        ],
        ['unknown route', () => acme.get('/v1/nothing-here'), 404, 'not_found'],
      ];
      for (const [name, call, status, code] of cases) {
        const r = await call();
        expect({ name, status: r.status, code: r.body?.error?.code }).toEqual({ name, status, code });
        expect(typeof r.body.error.message).toBe('string');
        expect(JSON.stringify(r.body)).not.toMatch(/at .*\.(ts|js):\d+/);
      }
    });

    it('checks cursors on the polling endpoint and pages through events', async () => {
      const job = (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'a b c d e f g h' } })).body;
      await acme.get(`/v1/jobs/${job.id}/wait?timeout_s=20`);
      const all: any[] = [];
      let after = '';
      for (let i = 0; i < 10; i++) {
        const page = await acme.get(`/v1/jobs/${job.id}/events?limit=3${after ? `&after=${after}` : ''}`);
        expect(page.status).toBe(200);
        all.push(...page.body.events);
        expect(page.body.status).toBe('completed');
        if (!page.body.has_more) break;
        after = page.body.next_after;
      }
      expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
      expect(all[all.length - 1].type).toBe('done');
      const stream = (await readAll(app.url + job.stream_url, { headers: auth(ACME) })).events();
      expect(all).toEqual(stream);
      const other = (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'z' } })).body;
      const foreign = await acme.get(`/v1/jobs/${other.id}/events?after=${all[2].id}`);
      expect(foreign.status).toBe(400);
      expect(foreign.body.error.code).toBe('invalid_cursor');
      expect((await acme.get(`/v1/jobs/${job.id}/events?after=garbage`)).body.error.code).toBe('invalid_cursor');
      expect((await acme.get(`/v1/jobs/${job.id}/events?limit=5000`)).status).toBe(400);
    });

    it("isolates tenants: another tenant's job is a 404 everywhere, also in lists", async () => {
      const job = (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'secret plans' } })).body;
      await acme.get(`/v1/jobs/${job.id}/wait?timeout_s=20`);
      for (const path of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/events`, `/v1/jobs/${job.id}/wait?timeout_s=0`]) {
        const r = await globex.get(path);
        expect({ path, status: r.status }).toEqual({ path, status: 404 });
      }
      expect((await globex.post(`/v1/jobs/${job.id}/cancel`, {})).status).toBe(404);
      const s = await openSse(app.url + job.stream_url, { headers: auth(GLOBEX) });
      expect(s.status).toBe(404);
      const list = await globex.get('/v1/jobs?limit=100');
      expect(list.body.items.map((j: { id: string }) => j.id)).not.toContain(job.id);
      const mine = await acme.get('/v1/jobs?limit=100');
      expect(mine.body.items.map((j: { id: string }) => j.id)).toContain(job.id);
    });

    it('requires a valid API key', async () => {
      expect((await app.api('/v1/jobs')).status).toBe(401);
      const bad = await app.api('/v1/jobs', { headers: auth('not-a-real-key') });
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('unauthorized');
      expect((await app.api('/v1/jobs', { headers: { Authorization: `Basic ${ACME}` } })).status).toBe(401);
      const s = await openSse(`${app.url}/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/stream`);
      expect(s.status).toBe(401);
    });

    it('lists jobs newest first with pagination and a status filter', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await globex.post('/v1/jobs', { agent: 'echo', input: { message: `n${i}` } })).body.id);
      for (const id of ids) await globex.get(`/v1/jobs/${id}/wait?timeout_s=20`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { id: string }[]; next_cursor: string | null } } = await globex.get(
          `/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.body.items.map((j) => j.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen.slice(0, 5)).toEqual([...ids].reverse());
      const completed = await globex.get('/v1/jobs?status=completed&limit=100');
      expect(completed.body.items.every((j: { status: string }) => j.status === 'completed')).toBe(true);
      expect((await globex.get('/v1/jobs?status=running')).body.items).toEqual([]);
    });

    it('cancels a queued job so that it never runs', async () => {
      // two slow jobs fill WORKER_CONCURRENCY=2, so the third waits in the queue
      const slow = [];
      for (let i = 0; i < 2; i++)
        slow.push(
          (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'a b c d e f', delay_ms: 200 } })).body,
        );
      const queued = (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'never run' } })).body;
      const c = await acme.post(`/v1/jobs/${queued.id}/cancel`, { reason: 'changed my mind' });
      expect(c.status).toBe(202);
      expect(c.body.status).toBe('cancelled');
      for (const s of slow) await acme.post(`/v1/jobs/${s.id}/cancel`, {});
      const events = (await readAll(app.url + queued.stream_url, { headers: auth(ACME) })).events();
      expect(events.map((e) => e.type)).toEqual(['status', 'cancelled']);
      expect(events[1]).toMatchObject({ reason: 'changed my mind', usage: { input_tokens: 0, output_tokens: 0 } });
      const later = await acme.get(`/v1/jobs/${queued.id}/wait?timeout_s=1`);
      expect(later.body).toMatchObject({ status: 'cancelled', started_at: null });
    });

    it('waits with a timeout and returns the job as it is', async () => {
      const job = (
        await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'a b c d e f g h i j', delay_ms: 300 } })
      ).body;
      const r = await acme.get(`/v1/jobs/${job.id}/wait?timeout_s=1`);
      expect(r.status).toBe(200);
      expect(['queued', 'running']).toContain(r.body.status);
      await acme.post(`/v1/jobs/${job.id}/cancel`, {});
    });

    it('documents every endpoint in OpenAPI, with the stream as text/event-stream', async () => {
      const doc = (await app.api('/docs-json')).body;
      const paths = Object.keys(doc.paths);
      for (const p of [
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/cancel',
        '/v1/jobs/{id}/input',
        '/v1/jobs/{id}/events',
        '/v1/jobs/{id}/wait',
        '/v1/jobs/{id}/stream',
      ]) {
        expect(paths).toContain(p);
      }
      expect(Object.keys(doc.paths['/v1/jobs/{id}/stream'].get.responses['200'].content)).toContain(
        'text/event-stream',
      );
      for (const s of [
        'Job',
        'JobEvent',
        'TokenEvent',
        'DoneEvent',
        'Error',
        'CreateJobRequest',
        'InputJobRequest',
        'PendingInput',
        'InputRequiredEvent',
        'InputReceivedEvent',
      ]) {
        expect(doc.components.schemas[s]).toBeDefined();
      }
      expect(Object.keys(doc.paths['/v1/jobs/{id}/input'].post.responses).sort()).toEqual(
        expect.arrayContaining(['200', '202', '400', '404', '409']),
      );
      expect(doc.components.schemas.InputRequiredEvent.properties.kind.enum).toEqual([
        'approval',
        'text',
        'tool_results',
      ]);
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      const ui = await fetch(`${app.url}/docs`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger');
    });
  });
}
