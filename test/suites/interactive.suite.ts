/**
 * Interactive jobs (v1.1) end to end through the real app: questions, answers, client-side tools, cancel and
 * timeout of a waiting job, viewers across the wait. Shared by the embedded run and the JetStream+Redis run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { QueueUnavailableError, type JobQueue } from '@jobstream/job-queue';
import { JOB_QUEUE } from '../../src/engine/engine.constants.js';
import type { TestApp } from '../support/app.js';
import { ACME, GLOBEX, asTenant, auth, twoTenantApp } from '../support/tenant-app.js';
import { openSse, readAll, tokenText, type SseResponse } from '../support/sse-client.js';

const APPROVAL_SCHEMA = { type: 'object', properties: { approved: { type: 'boolean' } }, required: ['approved'] };
const MESSAGE = 'May I send the quarterly report to the whole company now?';

type Ev = JobEvent & { id: string };

/** Seq 1..n dense, one attempt. */
function expectDense(events: Ev[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(new Set(events.map((e) => e.attempt))).toEqual(new Set([1]));
}

export function interactiveSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`Interactive jobs (${engine})`, () => {
    const app = twoTenantApp(start, { WORKER_CONCURRENCY: '2' });
    const acme = asTenant(app, ACME);
    const globex = asTenant(app, GLOBEX);
    const stream = (id: string, after?: string) =>
      openSse(`${app.url}/v1/jobs/${id}/stream`, {
        headers: { ...auth(ACME), ...(after ? { 'Last-Event-ID': after } : {}) },
      });
    const create = async (input: Record<string, unknown>) => {
      const r = await acme.post('/v1/jobs', { agent: 'echo', input });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    /** The job's open request once it waits (the stream shows `status: waiting_for_input`). */
    const waitFor = async (id: string, s?: SseResponse) => {
      const sse = s ?? (await stream(id));
      await sse.until(
        (items) =>
          items.some(
            (i) =>
              i.kind === 'event' &&
              i.event.type === 'status' &&
              (i.event as JobEvent<'status'>).status === 'waiting_for_input',
          ),
        20_000,
      );
      const req = sse.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'> & { id: string };
      if (!s) sse.close();
      return req;
    };

    it('approve: asks after n tokens, waits holding the request on the job, then continues with exact text and dense seq', async () => {
      const id = await create({ message: MESSAGE, ask: { after: 3, prompt: 'Send it?' } });
      const s = await stream(id);
      const req = await waitFor(id, s);
      expect(req).toMatchObject({
        type: 'input_required',
        kind: 'approval',
        prompt: 'Send it?',
        schema: APPROVAL_SCHEMA,
        attempt: 1,
      });
      expect(req.request_id).toEqual(expect.any(String));
      expect(Date.parse(req.expires_at!)).toBeGreaterThan(Date.now() + 3_600_000);
      expect(tokenText(s.events())).toBe('May I send ');

      const job = await acme.get(`/v1/jobs/${id}`);
      expect(job.body).toMatchObject({ status: 'waiting_for_input', attempt: 1 });
      expect(job.body.pending_input).toEqual({
        request_id: req.request_id,
        kind: 'approval',
        prompt: 'Send it?',
        schema: APPROVAL_SCHEMA,
        expires_at: req.expires_at,
      });
      const listed = await acme.get('/v1/jobs?status=waiting_for_input&limit=100');
      expect(listed.body.items.map((j: { id: string }) => j.id)).toContain(id);
      // /wait returns at once for a job that needs an answer
      expect((await acme.get(`/v1/jobs/${id}/wait?timeout_s=20`)).body.status).toBe('waiting_for_input');

      const r = await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: true } });
      expect(r.status).toBe(202);
      expect(['queued', 'running', 'completed']).toContain(r.body.status);
      expect(r.body.pending_input).toBeNull();
      await s.ended;
      const events = s.events();
      expectDense(events);
      expect(tokenText(events)).toBe(MESSAGE);
      const types = events.map((e) => e.type);
      expect(types.slice(0, 2)).toEqual(['status', 'status']);
      const at = types.indexOf('input_required');
      expect(types.slice(at, at + 5)).toEqual(['input_required', 'status', 'input_received', 'status', 'status']);
      expect(events[at + 2]).toMatchObject({
        type: 'input_received',
        request_id: req.request_id,
        input: { approved: true },
      });
      expect(events.at(-1)).toMatchObject({
        type: 'done',
        output: { text: MESSAGE },
        usage: { input_tokens: 11, output_tokens: 11 },
      });
      expect(events.filter((e) => e.type === 'input_required')).toHaveLength(1);

      // the same answer again: 200, idempotent; another answer: already_answered
      const again = await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: true } });
      expect(again.status).toBe(200);
      expect(again.body.status).toBe('completed');
      const other = await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: false } });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('already_answered');
    });

    it('reject: { approved: false } ends the job cancelled with reason "rejected" and the usage so far', async () => {
      const id = await create({ message: MESSAGE, ask: { after: 2 } });
      const req = await waitFor(id);
      expect(req.prompt).toEqual(expect.any(String));
      expect(
        (await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: false } })).status,
      ).toBe(202);
      const all = await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth(ACME) });
      const events = all.events();
      expectDense(events);
      expect(events.at(-1)).toMatchObject({
        type: 'cancelled',
        reason: 'rejected',
        usage: { input_tokens: 11, output_tokens: 2 },
      });
      expect(tokenText(events)).toBe('May I ');
      const job = await acme.get(`/v1/jobs/${id}`);
      expect(job.body).toMatchObject({ status: 'cancelled', usage: { output_tokens: 2 } });
    });

    it('client tool: tool_call_start + input_required(tool_results); the result becomes tool_call_end, then the tokens', async () => {
      const id = await create({ message: 'hello tool world', client_tool: { name: 'read_file' } });
      const req = await waitFor(id);
      expect(req.kind).toBe('tool_results');
      expect(req.tool_calls).toEqual([
        { call_id: expect.any(String), name: 'read_file', arguments: { message_length: 16 } },
      ]);
      const callId = req.tool_calls![0]!.call_id;
      // wrong answers first: missing result, unknown call, wrong shape
      const bad = await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { results: [] } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain(callId);
      const unknown = await acme.post(`/v1/jobs/${id}/input`, {
        request_id: req.request_id,
        input: { results: [{ call_id: 'nope', result: 1 }] },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('input/results/0/call_id');
      const both = await acme.post(`/v1/jobs/${id}/input`, {
        request_id: req.request_id,
        input: { results: [{ call_id: callId }] },
      });
      expect(both.status).toBe(400);

      const r = await acme.post(`/v1/jobs/${id}/input`, {
        request_id: req.request_id,
        input: { results: [{ call_id: callId, result: { content: 'file body' } }] },
      });
      expect(r.status).toBe(202);
      const all = await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth(ACME) });
      const events = all.events();
      expectDense(events);
      // consecutive token events as one: tokens that came while an append was in flight share an event
      const types = events.map((e) => e.type).filter((t, i, all) => t !== 'token' || all[i - 1] !== 'token');
      expect(types).toEqual([
        'status', // queued
        'status', // running
        'tool_call_start',
        'input_required',
        'status', // waiting_for_input
        'input_received',
        'status', // queued
        'status', // running
        'tool_call_end',
        'token',
        'done',
      ]);
      expect(events.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe('hello tool world');
      expect(events[2]).toMatchObject({ call_id: callId, name: 'read_file', arguments: { message_length: 16 } });
      expect(events[8]).toMatchObject({
        type: 'tool_call_end',
        call_id: callId,
        name: 'read_file',
        result: { content: 'file body' },
      });
      expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: 'hello tool world' } });
    });

    it('client tool error: { call_id, error } becomes a tool_call_end with that error', async () => {
      const id = await create({ message: 'x', client_tool: { name: 'open_form' } });
      const req = await waitFor(id);
      const callId = req.tool_calls![0]!.call_id;
      expect(
        (
          await acme.post(`/v1/jobs/${id}/input`, {
            request_id: req.request_id,
            input: { results: [{ call_id: callId, error: 'user closed the form' }] },
          })
        ).status,
      ).toBe(202);
      const events = (await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth(ACME) })).events();
      expect(events.find((e) => e.type === 'tool_call_end')).toMatchObject({
        call_id: callId,
        error: 'user closed the form',
      });
      expect(events.at(-1)?.type).toBe('done');
    });

    it('client tool and approval in one job: two questions, each answered in turn', async () => {
      const id = await create({ message: 'one two three', client_tool: { name: 'lookup' }, ask: { after: 1 } });
      const s = await stream(id);
      const first = await waitFor(id, s);
      const callId = first.tool_calls![0]!.call_id;
      expect(
        (
          await acme.post(`/v1/jobs/${id}/input`, {
            request_id: first.request_id,
            input: { results: [{ call_id: callId, result: 42 }] },
          })
        ).status,
      ).toBe(202);
      await s.until(
        (items) => items.filter((i) => i.kind === 'event' && i.event.type === 'input_required').length === 2,
        20_000,
      );
      await s.until(
        (items) =>
          items.filter(
            (i) =>
              i.kind === 'event' &&
              i.event.type === 'status' &&
              (i.event as JobEvent<'status'>).status === 'waiting_for_input',
          ).length === 2,
        20_000,
      );
      const second = s.events().filter((e) => e.type === 'input_required')[1] as JobEvent<'input_required'>;
      expect(second.kind).toBe('approval');
      // the first request is no longer open
      const stale = await acme.post(`/v1/jobs/${id}/input`, {
        request_id: first.request_id,
        input: { results: [{ call_id: callId, result: 7 }] },
      });
      expect(stale.status).toBe(409);
      expect(stale.body.error.code).toBe('already_answered');
      expect(
        (
          await acme.post(`/v1/jobs/${id}/input`, {
            request_id: first.request_id,
            input: { results: [{ call_id: callId, result: 42 }] },
          })
        ).status,
      ).toBe(200);
      expect(
        (await acme.post(`/v1/jobs/${id}/input`, { request_id: second.request_id, input: { approved: true } })).status,
      ).toBe(202);
      await s.ended;
      const events = s.events();
      expectDense(events);
      expect(tokenText(events)).toBe('one two three');
      expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: 'one two three' } });
    });

    it('bad answers: schema, wrong request_id, malformed body, size, other tenant, after the end', async () => {
      const id = await create({ message: 'a b c', ask: { after: 1 } });
      const req = await waitFor(id);
      const post = (body: unknown) => acme.post(`/v1/jobs/${id}/input`, body);
      const schema = await post({ request_id: req.request_id, input: { approved: 'yes' } });
      expect(schema.status).toBe(400);
      expect(schema.body.error).toEqual({
        code: 'invalid_request',
        message: expect.stringContaining('input/approved'),
      });
      const missing = await post({ request_id: req.request_id, input: {} });
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toContain('approved');
      const wrong = await post({ request_id: 'req_not_this_one', input: { approved: true } });
      expect(wrong.status).toBe(409);
      expect(wrong.body.error.code).toBe('not_waiting');
      expect((await post({ request_id: req.request_id })).status).toBe(400);
      expect((await post({ request_id: req.request_id, input: 'yes' })).status).toBe(400);
      expect((await post({ input: { approved: true } })).status).toBe(400);
      expect((await post({ request_id: req.request_id, input: { approved: true }, extra: 1 })).status).toBe(400);
      const big = await post({ request_id: req.request_id, input: { approved: true, note: 'x'.repeat(300_000) } });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('payload_too_large');
      const foreign = await globex.post(`/v1/jobs/${id}/input`, {
        request_id: req.request_id,
        input: { approved: true },
      });
      expect(foreign.status).toBe(404);
      expect(
        (await acme.post('/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/input', { request_id: 'r', input: {} })).status,
      ).toBe(404);
      // still waiting after all that
      expect((await acme.get(`/v1/jobs/${id}`)).body.status).toBe('waiting_for_input');
      expect((await post({ request_id: req.request_id, input: { approved: true } })).status).toBe(202);
      const done = await acme.get(`/v1/jobs/${id}/wait?timeout_s=20`);
      expect(done.body.status).toBe('completed');
      // after the end: another request id is not open; the job never asked again
      const late = await post({ request_id: 'req_other', input: { approved: true } });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('not_waiting');
      // a job that never asked
      const plain = await create({ message: 'no questions' });
      await acme.get(`/v1/jobs/${plain}/wait?timeout_s=20`);
      const never = await acme.post(`/v1/jobs/${plain}/input`, { request_id: 'r1', input: {} });
      expect(never.status).toBe(409);
      expect(never.body.error.code).toBe('not_waiting');
    });

    it('concurrent answers to one request: exactly one is accepted, the same input again is 200, another is 409', async () => {
      const id = await create({ message: 'race me', ask: { after: 1 } });
      const req = await waitFor(id);
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: i % 2 === 0 } }),
        ),
      );
      const accepted = answers.filter((a) => a.status === 202);
      expect(accepted).toHaveLength(1);
      for (const a of answers) expect([200, 202, 409]).toContain(a.status);
      const events = (await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth(ACME) })).events();
      expect(events.filter((e) => e.type === 'input_received')).toHaveLength(1);
      expectDense(events);
    });

    it("an answer whose dispatch fails half-way is a 503; the same answer again is 200; the watchdog's sweep continues the job exactly once", async () => {
      const id = await create({ message: MESSAGE, ask: { after: 2 } });
      const s = await stream(id);
      const req = await waitFor(id, s);
      const queue = app.app.get<JobQueue>(JOB_QUEUE);
      const enqueue = queue.enqueue.bind(queue);
      let failed = 0;
      queue.enqueue = async (...args) => {
        if (failed++ === 0) throw new QueueUnavailableError('broker blip (test)');
        return enqueue(...args);
      };
      try {
        const first = await acme.post(`/v1/jobs/${id}/input`, {
          request_id: req.request_id,
          input: { approved: true },
        });
        expect(first.status).toBe(503);
        expect(first.body.error.code).toBe('service_unavailable');
        expect(first.headers.get('retry-after')).toBeTruthy();
        const again = await acme.post(`/v1/jobs/${id}/input`, {
          request_id: req.request_id,
          input: { approved: true },
        });
        expect(again.status).toBe(200);
        await s.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'done'), 30_000);
      } finally {
        queue.enqueue = enqueue;
      }
      const events = s.events() as Ev[];
      expectDense(events);
      expect(tokenText(events)).toBe(MESSAGE);
      expect(events.filter((e) => e.type === 'input_received')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'status' && e.status === 'running')).toHaveLength(2);
      expect((await acme.get(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'completed', attempt: 1 });
    });

    it('cancel while waiting: ends the job at once with cancelled (no worker needed)', async () => {
      const id = await create({ message: MESSAGE, ask: { after: 4 } });
      const s = await stream(id);
      const req = await waitFor(id, s);
      const c = await acme.post(`/v1/jobs/${id}/cancel`, { reason: 'changed my mind' });
      expect(c.status).toBe(202);
      expect(c.body).toMatchObject({ status: 'cancelled', usage: { output_tokens: 4 } });
      await s.ended;
      expect(s.events().at(-1)).toMatchObject({
        type: 'cancelled',
        reason: 'changed my mind',
        usage: { output_tokens: 4 },
      });
      expectDense(s.events());
      const late = await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: true } });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('not_waiting');
    });

    it('several viewers across the wait, one of them resuming after the answer: exact text, dense seq, no duplicate', async () => {
      const id = await create({ message: MESSAGE, ask: { after: 5 }, delay_ms: 5 });
      const a = await stream(id);
      const b = await stream(id);
      const req = await waitFor(id, a);
      await waitFor(id, b);
      const lastSeen = b.events().at(-1)!.id;
      b.close(); // b drops while the job waits
      expect(
        (await acme.post(`/v1/jobs/${id}/input`, { request_id: req.request_id, input: { approved: true } })).status,
      ).toBe(202);
      const c = await stream(id); // a newcomer replays from the start
      const b2 = await stream(id, lastSeen);
      await Promise.all([a.ended, b2.ended, c.ended]);
      const full = a.events();
      expectDense(full);
      expect(tokenText(full)).toBe(MESSAGE);
      expect(c.events()).toEqual(full);
      const lastSeq = full.find((f) => f.id === lastSeen)!.seq;
      const before = b.events().filter((e) => e.seq <= lastSeq);
      expect([...before, ...b2.events()]).toEqual(full);
    });
  });

  describe(`Interactive jobs: input timeout (${engine})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await start({ INPUT_TIMEOUT_S: '1' });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('an unanswered request ends the job with error input_timeout (retryable false) at expires_at', async () => {
      const r = await app.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'wait for me', ask: { after: 1 } } },
      });
      const id = r.body.id as string;
      const all = await readAll(`${app.url}/v1/jobs/${id}/stream`);
      const events = all.events();
      expectDense(events);
      const req = events.find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
      const end = events.at(-1)!;
      expect(end).toMatchObject({
        type: 'error',
        code: 'input_timeout',
        retryable: false,
        usage: { output_tokens: 1 },
      });
      expect(Date.parse(end.ts)).toBeGreaterThanOrEqual(Date.parse(req.expires_at!));
      expect((await app.api(`/v1/jobs/${id}`)).body).toMatchObject({
        status: 'failed',
        error: { code: 'input_timeout' },
      });
      const late = await app.api(`/v1/jobs/${id}/input`, {
        body: { request_id: req.request_id, input: { approved: true } },
      });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('not_waiting');
    });
  });
}
