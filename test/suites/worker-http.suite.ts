/**
 * The HTTP worker protocol end to end through the real app (`/v1/worker/*`), driven by plain HTTP as a worker in
 * any language would: shared by the embedded run and the JetStream + Redis run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

export const TENANT_KEY = 'acme-key-0001';
export const WORKER_KEY = 'worker-key-0123456789abcdef0123456789';
export const WORKER_ENV = { API_KEYS: `acme:${TENANT_KEY}`, WORKER_KEYS: `py:${WORKER_KEY}` };

const tenant = { Authorization: `Bearer ${TENANT_KEY}` };
const worker = { Authorization: `Bearer ${WORKER_KEY}` };
const SCHEMA = { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] };

export type Api = TestApp['api'];

/** A worker's calls, as any HTTP client makes them. */
export function workerCalls(api: Api) {
  const agent = (name: string) => ({ name, description: `${name} over HTTP`, input_schema: SCHEMA });
  return {
    claim: (names: string[], wait_s = 0, worker_id = 'w1') =>
      api('/v1/worker/claim', { body: { worker_id, agents: names.map(agent), wait_s }, headers: worker }),
    append: (lease: string, seq: number | string, outputs: unknown) =>
      api(`/v1/worker/leases/${lease}/events`, {
        body: outputs,
        headers: { ...worker, 'Producer-Seq': String(seq) },
      }),
    heartbeat: (lease: string) => api(`/v1/worker/leases/${lease}/heartbeat`, { body: {}, headers: worker }),
    create: (agent: string, message = 'hi') =>
      api('/v1/jobs', { body: { agent, input: { message } }, headers: tenant }),
    job: (id: string) => api(`/v1/jobs/${id}`, { headers: tenant }),
    events: async (id: string) =>
      (await api(`/v1/jobs/${id}/events?limit=1000`, { headers: tenant })).body.events as Record<string, any>[],
    cancel: (id: string, reason: string) => api(`/v1/jobs/${id}/cancel`, { body: { reason }, headers: tenant }),
    answer: (id: string, request_id: string, input: unknown) =>
      api(`/v1/jobs/${id}/input`, { body: { request_id, input }, headers: tenant }),
  };
}

const usage = { input_tokens: 1, output_tokens: 2 };

export function workerHttpSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`HTTP worker protocol (${engine})`, () => {
    let app: TestApp;
    let w: ReturnType<typeof workerCalls>;
    beforeAll(async () => {
      app = await start({ ...WORKER_ENV, MAX_ATTEMPTS: '3' });
      w = workerCalls(app.api);
    });
    afterAll(async () => {
      await app?.close();
    });

    it('keeps keys apart: tenant keys refused under /v1/worker/ (403), worker keys on tenant routes (403)', async () => {
      const claim = { worker_id: 'w1', agents: [{ name: 'a1', input_schema: SCHEMA }] };
      const asTenant = await app.api('/v1/worker/claim', { body: claim, headers: tenant });
      expect(asTenant.status).toBe(403);
      expect(asTenant.body.error.code).toBe('forbidden');
      expect((await app.api('/v1/worker/claim', { body: claim })).status).toBe(401);
      const bad = await app.api('/v1/worker/claim', { body: claim, headers: { Authorization: 'Bearer nope-nope' } });
      expect(bad.status).toBe(401);
      for (const path of ['/v1/jobs', '/v1/agents']) {
        const r = await app.api(path, { headers: worker });
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
      }
      expect(JSON.stringify(asTenant.body)).not.toContain(TENANT_KEY);
    });

    it('announces agents (listed, with a live worker), refuses a schema that does not compile, answers 204', async () => {
      const r = await w.claim(['http-a'], 0, 'w-announce');
      expect(r.status).toBe(204);
      const listed = (await app.api('/v1/agents', { headers: tenant })).body.items.find(
        (a: { name: string }) => a.name === 'http-a',
      );
      expect(listed).toMatchObject({ name: 'http-a', input_schema: SCHEMA, workers: expect.any(Number) });
      expect(listed.workers).toBeGreaterThanOrEqual(1);
      const broken = await app.api('/v1/worker/claim', {
        body: { worker_id: 'w1', agents: [{ name: 'bad', input_schema: { type: 'nonsense' } }] },
        headers: worker,
      });
      expect(broken.status).toBe(400);
      expect(broken.body.error.message).toMatch(/agents\[0\].*input_schema/);
      const wait = await app.api('/v1/worker/claim', {
        body: { worker_id: 'w1', agents: [{ name: 'a', input_schema: SCHEMA }], wait_s: 31 },
        headers: worker,
      });
      expect(wait.status).toBe(400);
      // the announced schema checks creates
      const invalid = await app.api('/v1/jobs', { body: { agent: 'http-a', input: {} }, headers: tenant });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.message).toMatch(/message/);
    });

    it('routes: a worker never receives another agent’s job; a long-poll gets a job created while it waits', async () => {
      await w.claim(['http-b', 'http-c'], 0);
      const job = (await w.create('http-b', 'for b')).body;
      expect((await w.claim(['http-c'], 0)).status).toBe(204);
      const waiting = w.claim(['http-d'], 10, 'w-d');
      await w.claim(['http-d'], 0, 'w-d'); // announced, so the create is accepted
      const got = await w.claim(['http-b'], 0);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ job_id: job.id, agent: 'http-b', attempt: 1, input: { message: 'for b' } });
      expect(got.body.history).toEqual([]);
      expect(Date.parse(got.body.lease_expires_at)).toBeGreaterThan(Date.now());
      const d = (await w.create('http-d', 'for d')).body;
      const r = await waiting;
      expect(r.status).toBe(200);
      expect(r.body.job_id).toBe(d.id);
      expect((await w.job(d.id)).body.status).toBe('running');
      await w.append(got.body.lease_id, 0, [{ type: 'done', usage, output: { text: 'b' } }]);
      await w.append(r.body.lease_id, 0, [{ type: 'done', usage, output: { text: 'd' } }]);
    });

    it('Producer-Seq: next ⇒ 200, repeat ⇒ 204 nothing appended, gap ⇒ 409 expected, malformed ⇒ 400 with the path', async () => {
      await w.claim(['http-p'], 0);
      const job = (await w.create('http-p')).body;
      const lease = (await w.claim(['http-p'], 0)).body.lease_id as string;
      const batch = [
        { type: 'token', text: 'Hel' },
        { type: 'thinking', text: 'hmm' },
        { type: 'token', text: 'lo' },
      ];
      const first = await w.append(lease, 0, batch);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ next_producer_seq: 1, cancel_requested: false });
      expect(first.body.last_event_id).toMatch(/^\d+-\d+-[0-9a-z]{6}$/);
      const before = await w.events(job.id);
      expect((await w.append(lease, 0, batch)).status).toBe(204);
      expect(await w.events(job.id)).toEqual(before);
      const gap = await w.append(lease, 3, [{ type: 'token', text: 'x' }]);
      expect(gap.status).toBe(409);
      expect(gap.body.error).toMatchObject({ code: 'producer_seq_gap', expected: 1 });
      const bad = await w.append(lease, 1, [
        { type: 'token', text: 'ok' },
        { type: 'token', text: 5 },
      ]);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/^\[1\]\.text/);
      const platformType = await w.append(lease, 1, [{ type: 'attempt', attempt: 2, reason: 'x' }]);
      expect(platformType.status).toBe(400);
      expect((await w.append(lease, 'x', [{ type: 'token', text: 'a' }])).status).toBe(400);
      expect(await w.events(job.id)).toEqual(before); // nothing of the refused requests
      // the cursor is the SSE id of the last event appended
      expect(before.at(-1)!.type).toBe('token');
      const resumed = await app.api(`/v1/jobs/${job.id}/events?after=${first.body.last_event_id}`, { headers: tenant });
      expect(resumed.body.events).toEqual([]);
      const done = await w.append(lease, 1, [{ type: 'done', usage, output: { text: 'Hello' } }]);
      expect(done.status).toBe(200);
      // a retry of the request that ended the lease: 204; anything new: 410
      expect((await w.append(lease, 1, [{ type: 'done', usage, output: { text: 'Hello' } }])).status).toBe(204);
      const after = await w.append(lease, 2, [{ type: 'token', text: 'late' }]);
      expect(after.status).toBe(410);
      expect(after.body.error.code).toBe('lease_lost');
      expect((await w.heartbeat(lease)).status).toBe(410);
      expect((await w.append('lease_nope', 0, [{ type: 'token', text: 'a' }])).status).toBe(404);
      const events = await w.events(job.id);
      expect(events.map((e) => e.type)).toEqual(['status', 'status', 'token', 'thinking', 'token', 'done']);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await w.job(job.id)).body).toMatchObject({ status: 'completed', usage });
    });

    it("merges a batch's consecutive token/thinking outputs of one type into one event; a retry adds nothing", async () => {
      await w.claim(['http-m'], 0);
      const job = (await w.create('http-m')).body;
      const lease = (await w.claim(['http-m'], 0)).body.lease_id as string;
      const batch = [
        { type: 'token', text: 'Hel' },
        { type: 'token', text: 'lo' },
        { type: 'thinking', text: 'h' },
        { type: 'thinking', text: 'mm' },
        { type: 'token', text: ' you' },
        { type: 'done', usage, output: { text: 'Hello you' } },
      ];
      expect((await w.append(lease, 0, batch)).status).toBe(200);
      expect((await w.append(lease, 0, batch)).status).toBe(204);
      const events = await w.events(job.id);
      expect(events.map((e) => [e.type, 'text' in e ? e.text : null])).toEqual([
        ['status', null],
        ['status', null],
        ['token', 'Hello'],
        ['thinking', 'hmm'],
        ['token', ' you'],
        ['done', null],
      ]);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('input_required parks the job; the answer makes it claimable again with history, same attempt', async () => {
      await w.claim(['http-q'], 0);
      const job = (await w.create('http-q')).body;
      const lease = (await w.claim(['http-q'], 0)).body.lease_id as string;
      const asked = await w.append(lease, 0, [
        { type: 'token', text: 'Shall I?' },
        { type: 'input_required', kind: 'approval', prompt: 'Go on?' },
      ]);
      expect(asked.status).toBe(200);
      await waitFor(async () => (await w.job(job.id)).body.status === 'waiting_for_input');
      expect((await w.claim(['http-q'], 0)).status).toBe(204); // waiting: holds no worker
      expect((await w.append(lease, 1, [{ type: 'token', text: 'x' }])).status).toBe(410);
      const req = (await w.events(job.id)).find((e) => e.type === 'input_required')!;
      expect(req).toMatchObject({ kind: 'approval', prompt: 'Go on?', request_id: expect.any(String) });
      expect((await w.answer(job.id, req.request_id, { approved: true })).status).toBe(202);
      const again = await w.claim(['http-q'], 5);
      expect(again.status).toBe(200);
      expect(again.body.attempt).toBe(1);
      expect(again.body.history.map((e: { type: string }) => e.type)).toEqual(
        expect.arrayContaining(['token', 'input_required', 'input_received']),
      );
      expect(again.body.history.find((e: { type: string }) => e.type === 'input_received').input).toEqual({
        approved: true,
      });
      expect((await w.append(again.body.lease_id, 0, [{ type: 'done', usage, output: {} }])).status).toBe(200);
      expect((await w.job(job.id)).body.status).toBe('completed');
    });

    it('applies the TypeScript agent caps: a long token is split, an oversized event is a 413, a bad question ends the job', async () => {
      await w.claim(['http-caps'], 0);
      const job = (await w.create('http-caps')).body;
      const lease = (await w.claim(['http-caps'], 0)).body.lease_id as string;
      const long = 'x'.repeat(300 * 1024); // over MAX_EVENT_BYTES (256 KiB)
      expect((await w.append(lease, 0, [{ type: 'token', text: long }])).status).toBe(200);
      const tokens = (await w.events(job.id)).filter((e) => e.type === 'token');
      expect(tokens.length).toBeGreaterThan(1);
      expect(tokens.map((e) => e.text).join('')).toBe(long);
      const huge = await w.append(lease, 1, [
        { type: 'tool_call_start', call_id: 'c1', name: 'big', arguments: { blob: long } },
      ]);
      expect(huge.status).toBe(413);
      expect(huge.body.error.message).toMatch(/^\[0\]/);
      const badQuestion = await w.append(lease, 1, [
        { type: 'input_required', kind: 'tool_results', prompt: 'run it' },
      ]);
      expect(badQuestion.status).toBe(200);
      expect((await w.job(job.id)).body).toMatchObject({ status: 'failed', error: { code: 'invalid_input_request' } });
      expect((await w.append(lease, 2, [{ type: 'token', text: 'x' }])).status).toBe(410);
    });

    it('cancel: heartbeat and appends say cancel_requested; the worker appends cancelled', async () => {
      await w.claim(['http-x'], 0);
      const job = (await w.create('http-x')).body;
      const lease = (await w.claim(['http-x'], 0)).body.lease_id as string;
      expect((await w.heartbeat(lease)).body.cancel_requested).toBe(false);
      await w.cancel(job.id, 'enough');
      const hb = await w.heartbeat(lease);
      expect(hb.body).toMatchObject({ cancel_requested: true, cancel_reason: 'enough' });
      const more = await w.append(lease, 0, [{ type: 'token', text: 'a' }]);
      expect(more.body.cancel_requested).toBe(true);
      await w.append(lease, 1, [{ type: 'cancelled', reason: 'enough', usage }]);
      expect((await w.job(job.id)).body).toMatchObject({ status: 'cancelled' });
    });

    it('two workers racing for one job: exactly one lease', async () => {
      await w.claim(['http-r'], 0);
      const claims = [w.claim(['http-r'], 2, 'racer-1'), w.claim(['http-r'], 2, 'racer-2')];
      const job = (await w.create('http-r')).body;
      const [a, b] = await Promise.all(claims);
      expect([a!.status, b!.status].sort()).toEqual([200, 204]);
      const won = a!.status === 200 ? a! : b!;
      expect(won.body.job_id).toBe(job.id);
      await w.append(won.body.lease_id, 0, [{ type: 'done', usage, output: {} }]);
    });
    it('reports leases, claims and appends in /metrics', async () => {
      await w.claim(['http-m'], 0);
      await w.create('http-m');
      const lease = (await w.claim(['http-m'], 0)).body.lease_id as string;
      await w.append(lease, 0, [{ type: 'token', text: 'm' }]);
      await w.append(lease, 0, [{ type: 'token', text: 'm' }]); // a repeat
      await w.append(lease, 5, [{ type: 'token', text: 'm' }]); // a gap
      const text = (await app.api('/metrics')).body as string;
      const value = (name: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${name} `))
            ?.slice(name.length + 1),
        );
      expect(value('jobstream_worker_leases')).toBeGreaterThanOrEqual(1);
      expect(value('jobstream_worker_claims_total{outcome="leased"}')).toBeGreaterThanOrEqual(1);
      expect(value('jobstream_worker_claims_total{outcome="empty"}')).toBeGreaterThanOrEqual(1);
      expect(value('jobstream_worker_appends_total{outcome="duplicate"}')).toBeGreaterThanOrEqual(1);
      expect(value('jobstream_worker_appends_total{outcome="gap"}')).toBeGreaterThanOrEqual(1);
      expect(value('jobstream_worker_events_appended_total')).toBeGreaterThanOrEqual(1);
      await w.append(lease, 1, [{ type: 'done', usage, output: {} }]);
    });
  });

  describe(`HTTP worker leases that lapse (${engine})`, () => {
    let app: TestApp;
    let w: ReturnType<typeof workerCalls>;
    beforeAll(async () => {
      app = await start({ ...WORKER_ENV, WORKER_LEASE_S: '1', MAX_ATTEMPTS: '2' });
      w = workerCalls(app.api);
    });
    afterAll(async () => {
      await app?.close();
    });

    it('a lapsed lease is a lost worker: retried as the next attempt, then worker_lost; a stale lease appends nothing', async () => {
      await w.claim(['lapse'], 0);
      const job = (await w.create('lapse')).body;
      const first = (await w.claim(['lapse'], 0)).body;
      expect((await w.append(first.lease_id, 0, [{ type: 'token', text: 'one' }])).status).toBe(200);
      // the worker goes silent: the job is claimable again as attempt 2
      const second = await waitFor(
        async () => {
          const r = await w.claim(['lapse'], 1);
          return r.status === 200 ? r.body : null;
        },
        { timeoutMs: 15_000 },
      );
      expect(second).toMatchObject({ job_id: job.id, attempt: 2, history: [] });
      const before = await w.events(job.id);
      const stale = await w.append(first.lease_id, 1, [{ type: 'token', text: 'late' }]);
      expect(stale.status).toBe(410);
      expect(stale.body.error.code).toBe('lease_lost');
      expect(await w.events(job.id)).toEqual(before);
      expect(before.find((e) => e.type === 'attempt')).toMatchObject({ attempt: 2, reason: 'worker_lost' });
      // silent again, no attempts left: worker_lost
      const ended = await waitFor(
        async () => {
          const j = (await w.job(job.id)).body;
          return j.status === 'failed' ? j : null;
        },
        { timeoutMs: 15_000 },
      );
      expect(ended.error).toMatchObject({ code: 'worker_lost' });
      expect((await w.append(second!.lease_id, 0, [{ type: 'token', text: 'x' }])).status).toBe(410);
    });

    it('a cancelled job whose worker does not stop ends cancelled when its lease lapses', async () => {
      await w.claim(['stubborn'], 0);
      const job = (await w.create('stubborn')).body;
      await w.claim(['stubborn'], 0);
      await w.cancel(job.id, 'stop now');
      const ended = await waitFor(
        async () => {
          const j = (await w.job(job.id)).body;
          return j.status === 'cancelled' ? j : null;
        },
        { timeoutMs: 15_000 },
      );
      expect(ended.status).toBe('cancelled');
      const last = (await w.events(job.id)).at(-1)!;
      expect(last).toMatchObject({ type: 'cancelled', reason: 'stop now' });
    });

    it('heartbeats keep a lease alive past its length', async () => {
      await w.claim(['beat'], 0);
      const job = (await w.create('beat')).body;
      const lease = (await w.claim(['beat'], 0)).body;
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        const hb = await w.heartbeat(lease.lease_id);
        expect(hb.status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await w.append(lease.lease_id, 0, [{ type: 'done', usage, output: {} }])).status).toBe(200);
      expect((await w.job(job.id)).body.status).toBe('completed');
    });
  });
}
