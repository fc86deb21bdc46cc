/** Conversations end to end through the real app: shared by the embedded run and the JetStream+Redis run. */
import { describe, expect, it } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { ACME, GLOBEX, asTenant, twoTenantApp } from '../support/tenant-app.js';
import { waitFor } from '../support/wait.js';
import { WatchdogService } from '../../src/watchdog/watchdog.service.js';

/** A message that streams slowly enough to still be running when the next request arrives. */
/** A turn that stays active while a test acts on it (60 s after its first token), however slow the machine. */
const SLOW = { message: 'one two three four five six seven eight nine ten', delay_ms: 60_000 };

export function threadsSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`Threads (${engine})`, () => {
    const app = twoTenantApp(start, { WORKER_CONCURRENCY: '4' });
    const acme = asTenant(app, ACME);
    const globex = asTenant(app, GLOBEX);
    const newThread = async () => {
      const r = await acme.post('/v1/threads', { agent: 'echo' });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const wait = async (jobId: string) => {
      const r = await acme.get(`/v1/jobs/${jobId}/wait?timeout_s=25`);
      expect(r.status).toBe(200);
      return r.body;
    };
    const events = async (jobId: string) =>
      (await acme.get(`/v1/jobs/${jobId}/events?limit=1000`)).body.events as any[];
    const lastEvent = async (jobId: string) => (await events(jobId)).at(-1);
    const running = (jobId: string) =>
      waitFor(async () => (await acme.get(`/v1/jobs/${jobId}`)).body.status === 'running', {
        message: `${jobId} running`,
      });

    it('creates, gets and lists threads per tenant, newest first, in the documented shape', async () => {
      const r = await acme.post('/v1/threads', { agent: 'echo', metadata: { user: 'u1', tags: [] } });
      expect(r.status).toBe(201);
      expect(r.headers.get('location')).toBe(`/v1/threads/${r.body.id}`);
      expect(r.body.id).toMatch(/^thr_[0-9A-Z]{26}$/);
      expect(r.body).toEqual({
        id: r.body.id,
        agent: 'echo',
        status: 'idle',
        turns: 0,
        active_job_id: null,
        last_job_id: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
        metadata: { user: 'u1', tags: [] },
      });
      const second = await newThread();
      expect((await acme.get(`/v1/threads/${r.body.id}`)).body).toEqual(r.body);
      const page = await acme.get('/v1/threads?limit=1');
      expect(page.body.items.map((t: any) => t.id)).toEqual([second]);
      const next = await acme.get(`/v1/threads?limit=1&cursor=${page.body.next_cursor}`);
      expect(next.body.items.map((t: any) => t.id)).toEqual([r.body.id]);
      // another tenant sees nothing of it
      expect((await globex.get(`/v1/threads/${r.body.id}`)).status).toBe(404);
      expect((await globex.post(`/v1/threads/${r.body.id}/jobs`, { input: { message: 'x' } })).status).toBe(404);
      expect((await globex.get(`/v1/threads/${r.body.id}/jobs`)).status).toBe(404);
      expect((await globex.del(`/v1/threads/${r.body.id}`)).status).toBe(404);
      expect((await globex.get('/v1/threads')).body.items.map((t: any) => t.id)).not.toContain(r.body.id);
      // bad input
      expect((await acme.post('/v1/threads', { agent: 'nope' })).body.error.code).toBe('unknown_agent');
      expect((await acme.post(`/v1/threads/${second}/jobs`, { input: { nope: 1 } })).status).toBe(400);
      expect(
        (await acme.post(`/v1/threads/${second}/jobs`, { input: { message: 'x' }, if_busy: 'maybe' })).status,
      ).toBe(400);
      expect((await acme.get('/v1/threads/thr_nope')).status).toBe(404);
      expect((await acme.get('/v1/threads?cursor=zz')).body.error.code).toBe('invalid_cursor');
    });

    it('gives each turn the conversation so far (echo reports turn and history_chars)', async () => {
      const id = await newThread();
      const msgs = ['hello there', 'how are you', 'bye now!'];
      const jobs: any[] = [];
      for (const message of msgs) {
        const r = await acme.post(`/v1/threads/${id}/jobs`, { input: { message } });
        expect(r.status).toBe(201);
        jobs.push(await wait(r.body.id));
      }
      expect(jobs.map((j) => [j.thread_id, j.turn, j.status])).toEqual([
        [id, 1, 'completed'],
        [id, 2, 'completed'],
        [id, 3, 'completed'],
      ]);
      const outputs = await Promise.all(jobs.map(async (j) => (await lastEvent(j.id)).output));
      // each earlier turn counts its input and its final text
      expect(outputs).toEqual([
        { text: msgs[0], turn: 1, history_chars: 0 },
        { text: msgs[1], turn: 2, history_chars: 2 * msgs[0]!.length },
        { text: msgs[2], turn: 3, history_chars: 2 * msgs[0]!.length + 2 * msgs[1]!.length },
      ]);
      const turns = await acme.get(`/v1/threads/${id}/jobs?limit=2`);
      expect(turns.body.items.map((j: any) => j.turn)).toEqual([1, 2]);
      const rest = await acme.get(`/v1/threads/${id}/jobs?limit=2&cursor=${turns.body.next_cursor}`);
      expect(rest.body).toMatchObject({ items: [{ id: jobs[2].id, turn: 3 }], next_cursor: null });
      expect((await acme.get(`/v1/threads/${id}`)).body).toMatchObject({
        status: 'idle',
        turns: 3,
        active_job_id: null,
        last_job_id: jobs[2].id,
      });
    });

    it('rejects a turn while one is active (if_busy reject, the default), and replays an idempotent retry', async () => {
      const id = await newThread();
      const first = await acme.post(`/v1/threads/${id}/jobs`, { input: SLOW }, { 'Idempotency-Key': 'turn-1' });
      expect(first.status).toBe(201);
      const again = await acme.post(`/v1/threads/${id}/jobs`, { input: SLOW }, { 'Idempotency-Key': 'turn-1' });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      const other = await acme.post(
        `/v1/threads/${id}/jobs`,
        { input: { message: 'x' } },
        { 'Idempotency-Key': 'turn-1' },
      );
      expect(other.body.error.code).toBe('idempotency_conflict');
      const busy = await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'too soon' } });
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('thread_busy');
      expect((await acme.get(`/v1/threads/${id}`)).body).toMatchObject({
        status: 'busy',
        turns: 1,
        active_job_id: first.body.id,
      });
      // a busy thread cannot be deleted
      expect((await acme.del(`/v1/threads/${id}`)).body.error.code).toBe('thread_busy');
      await acme.post(`/v1/jobs/${first.body.id}/cancel`, {});
      expect((await wait(first.body.id)).status).toBe('cancelled');
      await waitFor(async () => (await acme.get(`/v1/threads/${id}`)).body.status === 'idle', {
        message: 'thread idle',
      });
      // the rejected requests left no job behind
      expect((await acme.get(`/v1/threads/${id}/jobs`)).body.items.map((j: any) => j.id)).toEqual([first.body.id]);
    });

    it('interrupts the active turn: it ends cancelled "interrupted" before the new turn starts', async () => {
      const id = await newThread();
      const t1 = (await acme.post(`/v1/threads/${id}/jobs`, { input: SLOW })).body;
      await running(t1.id);
      const t2 = await acme.post(`/v1/threads/${id}/jobs`, {
        input: { message: 'stop, new question' },
        if_busy: 'interrupt',
      });
      expect(t2.status).toBe(201);
      expect(t2.body).toMatchObject({ thread_id: id, turn: 2, status: 'queued' });
      const done1 = await wait(t1.id);
      const done2 = await wait(t2.body.id);
      expect(done1.status).toBe('cancelled');
      const end1 = await lastEvent(t1.id);
      expect(end1).toMatchObject({ type: 'cancelled', reason: 'interrupted' });
      expect(done2.status).toBe('completed');
      const ev2 = await events(t2.body.id);
      const started2 = ev2.find((e) => e.type === 'status' && e.status === 'running');
      expect(Date.parse(started2.ts)).toBeGreaterThanOrEqual(Date.parse(end1.ts));
      expect(Date.parse(done2.started_at)).toBeGreaterThanOrEqual(Date.parse(done1.finished_at));
      // the interrupted turn's input is history; it has no final text
      expect(ev2.at(-1).output).toEqual({ text: 'stop, new question', turn: 2, history_chars: SLOW.message.length });
    });

    it('enqueues turns: each starts when the one before it ends, in order', async () => {
      const id = await newThread();
      const quick = { message: 'a b c', delay_ms: 40 };
      const t1 = (await acme.post(`/v1/threads/${id}/jobs`, { input: quick })).body;
      const t2 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'second' }, if_busy: 'enqueue' })).body;
      const t3 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'third' }, if_busy: 'enqueue' })).body;
      expect([t1.turn, t2.turn, t3.turn]).toEqual([1, 2, 3]);
      const [d1, d2, d3] = [await wait(t1.id), await wait(t2.id), await wait(t3.id)];
      expect([d1.status, d2.status, d3.status]).toEqual(['completed', 'completed', 'completed']);
      expect(Date.parse(d2.started_at)).toBeGreaterThanOrEqual(Date.parse(d1.finished_at));
      expect(Date.parse(d3.started_at)).toBeGreaterThanOrEqual(Date.parse(d2.finished_at));
      // turn 3 saw both earlier turns completed
      expect((await lastEvent(t3.id)).output.history_chars).toBe(2 * 'a b c'.length + 2 * 'second'.length);
    });

    it('a cancelled waiting turn leaves the line and the next one runs', async () => {
      const id = await newThread();
      // turn 1 parks on a question: turn 2 is surely still waiting in line when it is cancelled
      const t1 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'a b c', ask: { after: 1 } } })).body;
      const t2 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'skipped' }, if_busy: 'enqueue' }))
        .body;
      const t3 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'runs' }, if_busy: 'enqueue' })).body;
      expect((await acme.post(`/v1/jobs/${t2.id}/cancel`, {})).body.status).toBe('cancelled');
      const asked = await waitFor(
        async () => (await acme.get(`/v1/jobs/${t1.id}`)).body.pending_input?.request_id as string | undefined,
        {
          message: 'turn 1 to ask',
        },
      );
      expect(
        (await acme.post(`/v1/jobs/${t1.id}/input`, { request_id: asked, input: { approved: true } })).status,
      ).toBe(202);
      expect((await wait(t3.id)).status).toBe('completed');
      expect((await wait(t1.id)).status).toBe('completed');
      expect(await lastEvent(t2.id)).toMatchObject({ type: 'cancelled' });
    });

    it('holds an enqueued turn while the turn before it waits for input, whatever the dispatch sweep does', async () => {
      const id = await newThread();
      const t1 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'a b c', ask: { after: 1 } } })).body;
      const asked = await waitFor(
        async () => (await acme.get(`/v1/jobs/${t1.id}`)).body.pending_input?.request_id as string | undefined,
        { message: 'turn 1 to ask' },
      );
      const t2 = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'second' }, if_busy: 'enqueue' })).body;
      // the watchdog's sweep of unconfirmed dispatches, run as if a minute had passed (far past its 5 s grace)
      const watchdog = app.app.get(WatchdogService).watchdog;
      await watchdog.sweep(Date.now() + 60_000);
      expect(watchdog.redispatched).not.toContain(t2.id);
      expect((await acme.get(`/v1/jobs/${t2.id}`)).body.status).toBe('queued');
      expect((await acme.get(`/v1/jobs/${t1.id}`)).body.status).toBe('waiting_for_input');
      expect(
        (await acme.post(`/v1/jobs/${t1.id}/input`, { request_id: asked, input: { approved: true } })).status,
      ).toBe(202);
      const [d1, d2] = [await wait(t1.id), await wait(t2.id)];
      expect([d1.status, d2.status]).toEqual(['completed', 'completed']);
      expect(Date.parse(d2.started_at)).toBeGreaterThanOrEqual(Date.parse(d1.finished_at));
      // dispatched once: one attempt, one `running`
      const ran = (await events(t2.id)).filter((e) => e.type === 'status' && e.status === 'running');
      expect(ran).toHaveLength(1);
      expect(d2.attempt).toBe(1);
    });

    it('deletes a thread with its jobs and their events', async () => {
      const id = await newThread();
      const j = (await acme.post(`/v1/threads/${id}/jobs`, { input: { message: 'gone soon' } })).body;
      await wait(j.id);
      expect((await acme.del(`/v1/threads/${id}`)).status).toBe(204);
      expect((await acme.get(`/v1/threads/${id}`)).status).toBe(404);
      expect((await acme.get(`/v1/jobs/${j.id}`)).status).toBe(404);
      expect((await acme.get(`/v1/jobs/${j.id}/events`)).status).toBe(404);
      expect((await acme.del(`/v1/threads/${id}`)).status).toBe(404);
      expect((await acme.get('/v1/jobs?limit=100')).body.items.map((x: any) => x.id)).not.toContain(j.id);
    });
  });
}
