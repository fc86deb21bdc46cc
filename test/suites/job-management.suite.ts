/** Rerun, batch, delete and share links end to end: shared by the embedded run and the JetStream+Redis run. */
import { describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { ACME, GLOBEX, asTenant, auth, twoTenantApp } from '../support/tenant-app.js';
import { waitFor } from '../support/wait.js';

export function jobManagementSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`Job management and share links (${engine})`, () => {
    const app = twoTenantApp(start, { WORKER_CONCURRENCY: '4' });
    const acme = asTenant(app, ACME);
    const globex = asTenant(app, GLOBEX);
    const anon = (path: string, method = 'GET') => app.api(path, { method });
    const finished = async (body: unknown) => {
      const r = await acme.post('/v1/jobs', body);
      expect(r.status).toBe(201);
      return (await acme.get(`/v1/jobs/${r.body.id}/wait?timeout_s=25`)).body;
    };

    it('reruns a job with the same agent, input and metadata, and rerun_of', async () => {
      const j = await finished({ agent: 'echo', input: { message: 'again and again' }, metadata: { ticket: 7 } });
      const r = await acme.post(`/v1/jobs/${j.id}/rerun`, {});
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ agent: 'echo', metadata: { ticket: 7 }, rerun_of: j.id, status: 'queued' });
      expect(r.body.id).not.toBe(j.id);
      const done = (await acme.get(`/v1/jobs/${r.body.id}/wait?timeout_s=25`)).body;
      expect(done.status).toBe('completed');
      expect((await globex.post(`/v1/jobs/${j.id}/rerun`, {})).status).toBe(404);
      expect((await acme.post('/v1/jobs/job_01AAAAAAAAAAAAAAAAAAAAAAAA/rerun', {})).status).toBe(404);
    });

    it('reruns a thread job as a new turn of its thread', async () => {
      const t = (await acme.post('/v1/threads', { agent: 'echo' })).body;
      const first = (await acme.post(`/v1/threads/${t.id}/jobs`, { input: { message: 'turn one' } })).body;
      await acme.get(`/v1/jobs/${first.id}/wait?timeout_s=25`);
      const r = await acme.post(`/v1/jobs/${first.id}/rerun`, {});
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ thread_id: t.id, turn: 2, rerun_of: first.id });
      await acme.get(`/v1/jobs/${r.body.id}/wait?timeout_s=25`);
      const ev = (await acme.get(`/v1/jobs/${r.body.id}/events`)).body.events;
      expect(ev.at(-1).output).toEqual({ text: 'turn one', turn: 2, history_chars: 2 * 'turn one'.length });
    });

    it('creates a batch item by item: good ones are created, bad ones get their own error', async () => {
      const r = await acme.post('/v1/jobs/batch', {
        jobs: [
          { agent: 'echo', input: { message: 'one' }, idempotency_key: 'b-1' },
          { agent: 'nope', input: {} },
          { agent: 'echo', input: { message: 1 } },
          'not an object',
          { agent: 'echo', input: { message: 'one' }, idempotency_key: 'b-1' },
          { agent: 'echo', input: { message: 'other' }, idempotency_key: 'b-1' },
          { agent: 'echo', input: { message: 'two' }, metadata: { n: 2 } },
        ],
      });
      expect(r.status).toBe(200);
      const items = r.body.items;
      expect(items).toHaveLength(7);
      expect(items[0].job).toMatchObject({ agent: 'echo', status: 'queued' });
      expect(items[1].error.code).toBe('unknown_agent');
      expect(items[1].error.message).toMatch(/unknown agent/);
      expect(items[2].error.code).toBe('invalid_request');
      expect(items[3].error.code).toBe('invalid_request');
      expect(items[4].job.id).toBe(items[0].job.id);
      expect(items[5].error.code).toBe('idempotency_conflict');
      expect(items[6].job).toMatchObject({ metadata: { n: 2 } });
      for (const i of [0, 6])
        expect((await acme.get(`/v1/jobs/${items[i].job.id}/wait?timeout_s=25`)).body.status).toBe('completed');
      expect((await acme.post('/v1/jobs/batch', { jobs: [] })).status).toBe(400);
      const tooMany = Array.from({ length: 101 }, () => ({ agent: 'echo', input: { message: 'x' } }));
      expect((await acme.post('/v1/jobs/batch', { jobs: tooMany })).body.error.code).toBe('invalid_request');
      expect((await acme.post('/v1/jobs/batch', { items: [] })).status).toBe(400);
    });

    it('deletes a finished job with its events, refuses an active one', async () => {
      // 60 s between its tokens: still active at the delete however slow the machine; the cancel ends it
      const live = (await acme.post('/v1/jobs', { agent: 'echo', input: { message: 'a b c d e f', delay_ms: 60_000 } }))
        .body;
      const busy = await acme.del(`/v1/jobs/${live.id}`);
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('job_active');
      await acme.post(`/v1/jobs/${live.id}/cancel`, {});
      await acme.get(`/v1/jobs/${live.id}/wait?timeout_s=25`);
      expect((await globex.del(`/v1/jobs/${live.id}`)).status).toBe(404);
      expect((await acme.del(`/v1/jobs/${live.id}`)).status).toBe(204);
      expect((await acme.get(`/v1/jobs/${live.id}`)).status).toBe(404);
      expect((await acme.get(`/v1/jobs/${live.id}/events`)).status).toBe(404);
      expect((await acme.get(`/v1/jobs/${live.id}/stream`)).status).toBe(404);
      expect((await acme.del(`/v1/jobs/${live.id}`)).status).toBe(404);
      expect((await acme.get('/v1/jobs?limit=100')).body.items.map((j: any) => j.id)).not.toContain(live.id);
    });

    it('share links: read-only access to one job, on three endpoints only, until revoked or expired', async () => {
      const j = await finished({ agent: 'echo', input: { message: 'shared text' } });
      const other = await finished({ agent: 'echo', input: { message: 'not shared' } });
      const s = await acme.post(`/v1/jobs/${j.id}/shares`, {});
      expect(s.status).toBe(201);
      expect(s.headers.get('cache-control')).toBe('no-store');
      const { token } = s.body;
      expect(token).toMatch(/^sh1_[A-Za-z0-9_-]{43}$/);
      expect(s.body).toEqual({
        id: expect.stringMatching(/^shr_/),
        job_id: j.id,
        token,
        created_at: expect.any(String),
        expires_at: expect.any(String),
        stream_url: `/v1/jobs/${j.id}/stream?share_token=${token}`,
        events_url: `/v1/jobs/${j.id}/events?share_token=${token}`,
        job_url: `/v1/jobs/${j.id}?share_token=${token}`,
      });
      const ttl = Date.parse(s.body.expires_at) - Date.parse(s.body.created_at);
      expect(ttl).toBe(7 * 24 * 3600 * 1000);
      // the three read endpoints of that job
      expect((await anon(s.body.job_url)).body).toMatchObject({ id: j.id, status: 'completed' });
      expect((await anon(s.body.events_url)).body.events.at(-1)).toMatchObject({
        type: 'done',
        output: { text: 'shared text' },
      });
      const stream = await fetch(app.url + s.body.stream_url);
      expect(stream.status).toBe(200);
      expect(await stream.text()).toContain('event: done');
      // nowhere else
      const q = `share_token=${token}`;
      for (const [path, method] of [
        [`/v1/jobs/${other.id}?${q}`, 'GET'],
        [`/v1/jobs/${other.id}/events?${q}`, 'GET'],
        [`/v1/jobs/${j.id}/wait?${q}`, 'GET'],
        [`/v1/jobs?${q}`, 'GET'],
        [`/v1/jobs/${j.id}/cancel?${q}`, 'POST'],
        [`/v1/jobs/${j.id}/shares?${q}`, 'GET'],
        [`/v1/jobs/${j.id}?${q}`, 'DELETE'],
        [`/v1/threads?${q}`, 'GET'],
      ] as const) {
        expect([path, method, (await anon(path, method)).status]).toEqual([path, method, 401]);
      }
      expect((await anon(`/v1/jobs/${j.id}?share_token=sh1_${'A'.repeat(43)}`)).status).toBe(401);
      expect((await anon(`/v1/jobs/${j.id}?share_token=garbage`)).status).toBe(401);
      expect((await app.api(`/v1/jobs/${j.id}?${q}`, { headers: auth(ACME) })).status).toBe(400);
      // listed without the token; another tenant cannot see or make shares of the job
      const list = await acme.get(`/v1/jobs/${j.id}/shares`);
      expect(list.body.items).toEqual([
        { id: s.body.id, job_id: j.id, created_at: s.body.created_at, expires_at: s.body.expires_at },
      ]);
      expect((await globex.get(`/v1/jobs/${j.id}/shares`)).status).toBe(404);
      expect((await globex.post(`/v1/jobs/${j.id}/shares`, {})).status).toBe(404);
      expect((await globex.del(`/v1/jobs/${j.id}/shares/${s.body.id}`)).status).toBe(404);
      // revoked ⇒ refused
      expect((await acme.del(`/v1/jobs/${j.id}/shares/${s.body.id}`)).status).toBe(204);
      expect((await anon(s.body.job_url)).status).toBe(401);
      expect((await anon(s.body.events_url)).status).toBe(401);
      expect((await fetch(app.url + s.body.stream_url)).status).toBe(401);
      expect((await acme.del(`/v1/jobs/${j.id}/shares/${s.body.id}`)).status).toBe(404);
      expect((await acme.get(`/v1/jobs/${j.id}/shares`)).body.items).toEqual([]);
      // expiry: bounds, then refused once expired
      expect((await acme.post(`/v1/jobs/${j.id}/shares`, { expires_in_s: 30 * 24 * 3600 + 1 })).status).toBe(400);
      expect((await acme.post(`/v1/jobs/${j.id}/shares`, { expires_in_s: 0 })).status).toBe(400);
      // (no "still valid" check on this one: a busy machine can take its whole second before asking; the 7-day
      // share above shows a valid one works)
      const short = (await acme.post(`/v1/jobs/${j.id}/shares`, { expires_in_s: 1 })).body;
      expect(Date.parse(short.expires_at) - Date.parse(short.created_at)).toBe(1000);
      await waitFor(async () => (await anon(short.job_url)).status === 401, { message: 'the share to expire' });
      // deleting the job removes its shares
      const again = (await acme.post(`/v1/jobs/${j.id}/shares`, {})).body;
      expect((await acme.del(`/v1/jobs/${j.id}`)).status).toBe(204);
      expect((await anon(again.job_url)).status).toBe(401);
    });
  });
}
