/**
 * The JobStore conformance suite: every driver (memory, Redis) must pass it unchanged.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { QuotaExceededError, newJobId, type JobStatus } from '@jobstream/contracts';
import { sleep, waitFor } from '../../../contracts/src/testing/wait.js';
import { newJobRecord } from '../transitions.js';
import {
  IdempotencyConflictError,
  InvalidListCursorError,
  JobStoreUnavailableError,
  type InputRequestRecord,
  type JobRecord,
  type JobStore,
  type JobStoreOptions,
} from '../job-store.port.js';

export type JobStoreFactory = (opts: JobStoreOptions) => Promise<JobStore>;

export function jobRecord(over: Partial<JobRecord> = {}): JobRecord {
  return {
    ...newJobRecord({ id: newJobId(), tenant: 'acme', agent: 'echo', input: { message: 'hi' }, metadata: null }),
    ...over,
  };
}

/** An open input request expiring `inMs` from now (negative: already expired). */
function inputRequest(request_id: string, inMs: number): InputRequestRecord {
  return {
    request_id,
    kind: 'approval',
    prompt: 'ok?',
    schema: { type: 'object' },
    expires_at: new Date(Date.now() + inMs).toISOString(),
    attempt: 1,
    answer: null,
    answered_at: null,
  };
}

export function jobStoreConformance(driver: string, factory: JobStoreFactory): void {
  describe(`JobStore conformance: ${driver}`, () => {
    const stores: JobStore[] = [];
    const make = async (o: Partial<JobStoreOptions> = {}) => {
      const s = await factory({ retentionMs: 3_600_000, idempotencyTtlMs: 3_600_000, ...o });
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('stores and returns a job as given', async () => {
      const s = await make();
      const job = jobRecord({ metadata: { team: 'x', n: 1 }, input: { message: 'hello', nested: { a: [1, 2] } } });
      expect(await s.create(job)).toEqual({ job, created: true });
      expect(await s.get(job.id)).toEqual(job);
      expect(await s.get(newJobId())).toBeNull();
      await s.ping();
    });

    it('returns the same job for the same idempotency key and body, and refuses another body', async () => {
      const s = await make();
      const first = jobRecord();
      const idem = { key: 'k-1', fingerprint: 'f-a' };
      expect((await s.create(first, idem)).created).toBe(true);
      const again = await s.create(jobRecord(), idem);
      expect(again).toEqual({ job: first, created: false });
      await expect(s.create(jobRecord(), { key: 'k-1', fingerprint: 'f-b' })).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
      // keys are per tenant
      const other = jobRecord({ tenant: 'globex' });
      expect((await s.create(other, idem)).created).toBe(true);
    });

    it('creates one job for concurrent requests with one idempotency key', async () => {
      const s = await make();
      const s2 = await make();
      const idem = { key: 'race', fingerprint: 'same' };
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? s : s2).create(jobRecord(), idem)),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    });

    it('forgets an idempotency key after its TTL', async () => {
      const s = await make({ idempotencyTtlMs: 200 });
      const idem = { key: 'short', fingerprint: 'f' };
      const a = await s.create(jobRecord(), idem);
      await sleep(1200);
      const b = await s.create(jobRecord(), { key: 'short', fingerprint: 'other' });
      expect(b.created).toBe(true);
      expect(b.job.id).not.toBe(a.job.id);
    });

    it('moves a job through its statuses, stamping started_at and finished_at', async () => {
      const s = await make();
      const job = jobRecord();
      await s.create(job);
      const run = await s.transition(job.id, 'running');
      expect(run.changed).toBe(true);
      expect(run.job?.status).toBe('running');
      expect(run.job?.started_at).toEqual(expect.any(String));
      const fin = await s.transition(job.id, 'completed', { patch: { usage: { input_tokens: 2, output_tokens: 5 } } });
      expect(fin.changed).toBe(true);
      expect(fin.job).toMatchObject({ status: 'completed', usage: { input_tokens: 2, output_tokens: 5 } });
      expect(fin.job?.finished_at).toEqual(expect.any(String));
      expect(await s.get(job.id)).toEqual(fin.job);
    });

    it('never lets a job leave a terminal status', async () => {
      const s = await make();
      for (const terminal of ['completed', 'failed', 'cancelled'] as JobStatus[]) {
        const job = jobRecord({ status: 'running' });
        await s.create(job);
        expect((await s.transition(job.id, terminal)).changed).toBe(true);
        for (const to of [
          'queued',
          'running',
          'waiting_for_input',
          'completed',
          'failed',
          'cancelled',
        ] as JobStatus[]) {
          const r = await s.transition(job.id, to);
          expect(r.changed).toBe(false);
          expect(r.job?.status).toBe(terminal);
        }
      }
      expect(await s.transition(newJobId(), 'running')).toEqual({ job: null, changed: false });
    });

    it('applies a transition only from the given statuses', async () => {
      const s = await make();
      const job = jobRecord();
      await s.create(job);
      expect((await s.transition(job.id, 'cancelled', { from: ['running'] })).changed).toBe(false);
      expect((await s.transition(job.id, 'cancelled', { from: ['queued'] })).changed).toBe(true);
    });

    it('lets exactly one of racing transitions win', async () => {
      const s = await make();
      const s2 = await make();
      const job = jobRecord({ status: 'running' });
      await s.create(job);
      const targets: JobStatus[] = ['completed', 'cancelled', 'failed', 'completed', 'cancelled', 'failed'];
      const results = await Promise.all(targets.map((to, i) => (i % 2 ? s : s2).transition(job.id, to)));
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      const winner = results.find((r) => r.changed)!.job!.status;
      expect((await s.get(job.id))?.status).toBe(winner);
    });

    it('updates other fields without touching the status', async () => {
      const s = await make();
      const job = jobRecord({ status: 'running' });
      await s.create(job);
      const u = await s.update(job.id, { attempt: 2, cancel_reason: 'user asked', error: { code: 'x', message: 'y' } });
      expect(u).toMatchObject({
        status: 'running',
        attempt: 2,
        cancel_reason: 'user asked',
        error: { code: 'x', message: 'y' },
      });
      expect(await s.get(job.id)).toEqual(u);
      expect(await s.update(newJobId(), { attempt: 3 })).toBeNull();
    });

    it("lists a tenant's jobs newest first in pages that neither skip nor repeat", async () => {
      const s = await make();
      const t = `t-${newJobId()}`;
      const created: JobRecord[] = [];
      for (let i = 0; i < 23; i++) {
        const j = jobRecord({ tenant: t });
        created.push(j);
        await s.create(j);
        if (i % 5 === 0) await sleep(2);
      }
      await s.create(jobRecord({ tenant: `${t}-other` }));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await s.list(t, { limit: 5, cursor });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...page.items.map((j) => j.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 20);
      expect(pages).toBe(5);
      expect(seen).toEqual(
        created
          .map((j) => j.id)
          .sort()
          .reverse(),
      );
    });

    it('filters the list by status', async () => {
      const s = await make();
      const t = `t-${newJobId()}`;
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const j = jobRecord({ tenant: t });
        ids.push(j.id);
        await s.create(j);
        if (i % 2) await s.transition(j.id, 'running');
      }
      const running = await s.list(t, { limit: 2, status: 'running' });
      expect(running.items.map((j) => j.status)).toEqual(['running', 'running']);
      const rest = await s.list(t, { limit: 10, status: 'running', cursor: running.next_cursor });
      expect(rest.items).toHaveLength(1);
      expect(rest.next_cursor).toBeNull();
      const queued = await s.list(t, { limit: 10, status: 'queued' });
      expect(queued.items.map((j) => j.id)).toEqual([ids[4], ids[2], ids[0]]);
      expect((await s.list(`${t}-nobody`, { limit: 10 })).items).toEqual([]);
    });

    it('refuses a malformed list cursor', async () => {
      const s = await make();
      await expect(s.list('acme', { limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidListCursorError);
    });

    it('lists running jobs whose last sign of life is older than a moment, and no other', async () => {
      const s = await make();
      const s2 = await make();
      const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
      const staleRunning = jobRecord({ status: 'running', heartbeat_at: ago(60_000) });
      const staleWaiting = jobRecord({ status: 'running', updated_at: ago(60_000) }); // no heartbeat: updated_at
      const waiting = jobRecord({ status: 'waiting_for_input', updated_at: ago(60_000) }); // holds no worker: never stale
      const fresh = jobRecord({ status: 'running', heartbeat_at: ago(0) });
      const queued = jobRecord({ status: 'queued', updated_at: ago(60_000) });
      const finished = jobRecord({ status: 'running', heartbeat_at: ago(60_000) });
      for (const j of [staleRunning, staleWaiting, waiting, fresh, queued, finished]) await s.create(j);
      await s.transition(finished.id, 'failed', { patch: { heartbeat_at: ago(60_000) } });

      const ids = async () => (await s2.listStale(new Date(Date.now() - 30_000), 1000)).map((j) => j.id);
      const stale = await ids();
      expect(stale).toEqual(expect.arrayContaining([staleRunning.id, staleWaiting.id]));
      for (const id of [fresh.id, queued.id, finished.id, waiting.id]) expect(stale).not.toContain(id);
      expect((await s2.listStale(new Date(Date.now() - 30_000), 1000)).find((j) => j.id === staleRunning.id)).toEqual(
        await s.get(staleRunning.id),
      );

      // a heartbeat makes a job fresh again; only active jobs take one
      expect(await s2.heartbeat(staleRunning.id, new Date())).toBe(true);
      expect((await s.get(staleRunning.id))?.heartbeat_at).toEqual(expect.any(String));
      expect(await ids()).not.toContain(staleRunning.id);
      expect(await s2.heartbeat(queued.id, new Date())).toBe(false);
      expect(await s2.heartbeat(waiting.id, new Date())).toBe(false);
      expect(await s2.heartbeat(finished.id, new Date())).toBe(false);
      expect(await s2.heartbeat(newJobId(), new Date())).toBe(false);
      expect((await s.get(queued.id))?.heartbeat_at).toBeUndefined();

      // a job that leaves the active statuses leaves the list; one that enters them joins it
      await s.transition(staleWaiting.id, 'cancelled');
      expect(await ids()).not.toContain(staleWaiting.id);
      await s.transition(queued.id, 'running', { patch: { heartbeat_at: ago(60_000) } });
      expect(await ids()).toContain(queued.id);
      // an update that writes an old heartbeat makes it stale again
      await s.update(staleRunning.id, { heartbeat_at: ago(60_000) });
      expect(await ids()).toContain(staleRunning.id);
    });

    it('lists queued jobs whose dispatch is unconfirmed, oldest first, until confirmed or moved on', async () => {
      const s = await make();
      const at = (sec: number) => new Date(Date.UTC(2002, 0, 1, 0, 0, sec)).toISOString();
      const jobs = [3, 1, 2].map((sec) =>
        jobRecord({ status: 'queued', created_at: at(sec), updated_at: at(sec), dispatched_at: null }),
      );
      const confirmed = jobRecord({ status: 'queued', created_at: at(0), dispatched_at: at(0) });
      const legacy = jobRecord({ status: 'queued', created_at: at(0) }); // written before the field existed
      delete legacy.dispatched_at;
      for (const j of [...jobs, confirmed, legacy]) await s.create(j);
      const ids = async (before: Date, n = 10) => (await s.listUndispatched(before, n)).map((j) => j.id);
      expect(await ids(new Date(Date.UTC(2002, 0, 2)))).toEqual([jobs[1]!.id, jobs[2]!.id, jobs[0]!.id]);
      expect(await ids(new Date(Date.UTC(2002, 0, 2)), 1)).toEqual([jobs[1]!.id]);
      expect(await ids(new Date(Date.UTC(2002, 0, 1, 0, 0, 2)))).toEqual([jobs[1]!.id]);
      await s.update(jobs[1]!.id, { dispatched_at: new Date().toISOString() });
      await s.transition(jobs[2]!.id, 'cancelled');
      expect(await ids(new Date(Date.UTC(2002, 0, 2)))).toEqual([jobs[0]!.id]);
      await s.transition(jobs[0]!.id, 'running');
      expect(await ids(new Date(Date.UTC(2002, 0, 2)))).toEqual([]);
      for (const j of [...jobs, confirmed, legacy]) await s.transition(j.id, 'failed');
    });

    it('leaves a thread turn to its thread: not listed as undispatched until an answer queues it again', async () => {
      const s = await make();
      const at = new Date(Date.UTC(2002, 5, 1)).toISOString();
      const held = jobRecord({ status: 'queued', created_at: at, updated_at: at, thread_id: 'thr_x' });
      await s.create(held);
      const ids = async () => (await s.listUndispatched(new Date(Date.UTC(2002, 5, 2)), 100)).map((j) => j.id);
      expect(await ids()).not.toContain(held.id);
      // answered on its attempt (it asked, parked and was queued again by the answer): the sweep finishes its dispatch
      const answered = jobRecord({
        status: 'queued',
        created_at: at,
        updated_at: at,
        thread_id: 'thr_x',
        input_request: { ...inputRequest('req_1', 60_000), answer: { approved: true }, answered_at: at },
      });
      await s.create(answered);
      expect(await ids()).toContain(answered.id);
      for (const j of [held, answered]) await s.transition(j.id, 'failed');
    });

    it('abandons a create of unknown outcome: a late create is refused, a landed undispatched one removed', async () => {
      const s = await make();
      // not landed yet: the tombstone refuses it when it arrives
      const late = jobRecord();
      expect(await s.abandon(late)).toBe('absent');
      await expect(s.create(late)).rejects.toBeInstanceOf(JobStoreUnavailableError);
      expect(await s.get(late.id)).toBeNull();
      // landed, never dispatched: removed with its idempotency key, so a retry with the key creates the job anew
      const fp = { key: `abandon-${late.id}`, fingerprint: 'f' };
      const landed = jobRecord({ idempotency_key: fp.key });
      expect((await s.create(landed, fp)).created).toBe(true);
      expect(await s.abandon(landed)).toBe('removed');
      expect(await s.get(landed.id)).toBeNull();
      expect((await s.listUndispatched(new Date(Date.now() + 60_000), 1000)).map((j) => j.id)).not.toContain(landed.id);
      const retry = jobRecord({ idempotency_key: fp.key });
      expect(await s.create(retry, fp)).toMatchObject({ created: true, job: { id: retry.id } });
      // dispatched meanwhile: a live job, kept
      await s.update(retry.id, { dispatched_at: new Date().toISOString() });
      expect(await s.abandon(retry)).toBe('kept');
      expect((await s.get(retry.id))?.status).toBe('queued');
      await s.transition(retry.id, 'cancelled');
    });

    it('lists stale jobs oldest first, at most limit', async () => {
      const s = await make();
      // older than anything another test creates, so these are the oldest stale jobs in the store
      const at = (sec: number) => new Date(Date.UTC(2001, 0, 1, 0, 0, sec)).toISOString();
      const jobs = [3, 1, 2].map((sec) => jobRecord({ status: 'running', heartbeat_at: at(sec) }));
      for (const j of jobs) await s.create(j);
      const two = await s.listStale(new Date(Date.UTC(2001, 0, 2)), 2);
      expect(two.map((j) => j.id)).toEqual([jobs[1]!.id, jobs[2]!.id]);
      const all = await s.listStale(new Date(Date.UTC(2001, 0, 2)), 10);
      expect(all.map((j) => j.id)).toEqual([jobs[1]!.id, jobs[2]!.id, jobs[0]!.id]);
      expect(await s.listStale(new Date(Date.UTC(2001, 0, 1, 0, 0, 1)), 10)).toEqual([]);
      for (const j of jobs) await s.transition(j.id, 'failed');
    });

    it('checks a `where` guard in the same atomic step as the transition', async () => {
      const s = await make();
      const s2 = await make();
      const job = jobRecord({ status: 'waiting_for_input', input_request: inputRequest('r1', 60_000) });
      await s.create(job);
      const open = (rid: string) => (j: JobRecord) =>
        j.input_request?.request_id === rid && j.input_request.answer === null;
      expect((await s.transition(job.id, 'queued', { from: ['waiting_for_input'], where: open('r2') })).changed).toBe(
        false,
      );
      // racing answers to the same request: exactly one wins
      const answer = (n: number) => ({
        ...inputRequest('r1', 60_000),
        answer: { n },
        answered_at: new Date().toISOString(),
      });
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? s : s2).transition(job.id, 'queued', {
            from: ['waiting_for_input'],
            where: open('r1'),
            patch: { input_request: answer(i) },
          }),
        ),
      );
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      const stored = await s.get(job.id);
      expect(stored?.status).toBe('queued');
      expect(stored?.input_request?.answer).toEqual(results.find((r) => r.changed)?.job?.input_request?.answer);
      await s.transition(job.id, 'cancelled');
    });

    it('lists waiting jobs whose input deadline passed, soonest first, and no other', async () => {
      const s = await make();
      const s2 = await make();
      const due1 = jobRecord({ status: 'waiting_for_input', input_request: inputRequest('a', -20_000) });
      const due2 = jobRecord({ status: 'waiting_for_input', input_request: inputRequest('b', -10_000) });
      const later = jobRecord({ status: 'waiting_for_input', input_request: inputRequest('c', 60_000) });
      const running = jobRecord({ status: 'running', input_request: inputRequest('d', -15_000) });
      for (const j of [due2, later, running, due1]) await s.create(j);
      const ids = async () => (await s2.listInputExpired(new Date(), 1000)).map((j) => j.id);
      const mine = (all: string[]) => all.filter((id) => [due1.id, due2.id, later.id, running.id].includes(id));
      expect(mine(await ids())).toEqual([due1.id, due2.id]);
      expect((await s2.listInputExpired(new Date(), 1000)).find((j) => j.id === due1.id)).toEqual(await s.get(due1.id));
      // moving the deadline (a new request) and leaving the status take a job off the list; entering it puts one on
      await s.transition(due1.id, 'running', { patch: { input_request: null } });
      expect(mine(await ids())).toEqual([due2.id]);
      await s.transition(running.id, 'waiting_for_input');
      expect(mine(await ids())).toEqual([running.id, due2.id]);
      await s.update(due2.id, { input_request: inputRequest('e', 60_000) });
      expect(mine(await ids())).toEqual([running.id]);
      expect(await s2.listInputExpired(new Date(Date.now() + 120_000), 1000)).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: later.id }), expect.objectContaining({ id: due2.id })]),
      );
      for (const j of [due1, due2, later, running]) await s.transition(j.id, 'cancelled');
      expect(mine(await ids())).toEqual([]);
    });

    it('removes finished jobs after the retention, and keeps the others', async () => {
      const s = await make({ retentionMs: 300 });
      const t = `t-${newJobId()}`;
      const done = jobRecord({ tenant: t, status: 'running' });
      const live = jobRecord({ tenant: t, status: 'running' });
      await s.create(done);
      await s.create(live);
      await s.transition(done.id, 'completed');
      await waitFor(async () => (await s.get(done.id)) === null, {
        intervalMs: 100,
        message: 'the finished job to expire',
      });
      expect((await s.get(live.id))?.status).toBe('running');
      expect((await s.list(t, { limit: 10 })).items.map((j) => j.id)).toEqual([live.id]);
    });

    it('deletes a job: record, lists, stale index and its idempotency key', async () => {
      const s = await make();
      const t = `t-${newJobId()}`;
      const keep = jobRecord({ tenant: t });
      const gone = jobRecord({
        tenant: t,
        status: 'running',
        heartbeat_at: new Date(Date.UTC(2000, 0, 1)).toISOString(),
        idempotency_key: 'del-1',
      });
      await s.create(keep);
      await s.create(gone, { key: 'del-1', fingerprint: 'f' });
      expect(await s.delete(gone.id)).toBe(true);
      expect(await s.get(gone.id)).toBeNull();
      expect(await s.delete(gone.id)).toBe(false);
      expect((await s.list(t, { limit: 10 })).items.map((j) => j.id)).toEqual([keep.id]);
      expect((await s.list(t, { limit: 10, status: 'running' })).items).toEqual([]);
      expect((await s.listStale(new Date(), 100)).map((j) => j.id)).not.toContain(gone.id);
      // the key is free again: a new create with it makes a new job
      const again = jobRecord({ tenant: t });
      expect(await s.create(again, { key: 'del-1', fingerprint: 'other' })).toEqual({ job: again, created: true });
      expect(await s.transition(gone.id, 'completed')).toEqual({ job: null, changed: false });
    });

    it('holds a tenant to its open-jobs quota atomically, frees a place when a job ends, and answers repeats', async () => {
      const s = await make();
      const s2 = await make(); // a second client: another API process on the same backing store
      const t = `q-${newJobId()}`;
      const quota = { maxOpenJobs: 3 };
      // 8 concurrent creates from two clients: exactly 3 pass
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? s : s2).create(jobRecord({ tenant: t }), undefined, quota)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(3);
      for (const r of results.filter((x) => x.status === 'rejected'))
        expect((r as PromiseRejectedResult).reason).toMatchObject({
          name: 'QuotaExceededError',
          kind: 'active_jobs',
          limit: 3,
        });
      // another tenant is not affected
      expect((await s.create(jobRecord({ tenant: `${t}-b` }), undefined, quota)).created).toBe(true);
      // running and waiting jobs count, finished ones do not
      const ids = (ok as PromiseFulfilledResult<{ job: JobRecord }>[]).map((r) => r.value.job.id);
      await s.transition(ids[0]!, 'running');
      await expect(s.create(jobRecord({ tenant: t }), undefined, quota)).rejects.toBeInstanceOf(QuotaExceededError);
      await s.transition(ids[0]!, 'completed');
      const idem = { key: 'quota-1', fingerprint: 'f' };
      const freed = await s.create(jobRecord({ tenant: t }), idem, quota);
      expect(freed.created).toBe(true);
      // an idempotent repeat is answered even at the quota; a deleted job frees its place too
      expect(await s2.create(jobRecord({ tenant: t }), idem, quota)).toEqual({ job: freed.job, created: false });
      await expect(s.create(jobRecord({ tenant: t }), undefined, quota)).rejects.toBeInstanceOf(QuotaExceededError);
      await s.delete(ids[1]!);
      expect((await s.create(jobRecord({ tenant: t }), undefined, quota)).created).toBe(true);
      // 0 = no quota
      expect((await s.create(jobRecord({ tenant: t }), undefined, { maxOpenJobs: 0 })).created).toBe(true);
    });

    it("counts each tenant's log bytes atomically, per job, and takes a deleted job's bytes out", async () => {
      const [a, b] = [await make(), await make()];
      const [ta, tb] = [`t-${newJobId()}`, `t-${newJobId()}`];
      const j1 = jobRecord({ tenant: ta });
      const j2 = jobRecord({ tenant: ta });
      const j3 = jobRecord({ tenant: tb });
      for (const j of [j1, j2, j3]) await a.create(j);
      expect(await a.logBytes(ta)).toMatchObject({ tenant: 0, job: 0 });
      // two writers (two handles) adding at once lose nothing
      await Promise.all([
        ...Array.from({ length: 20 }, () => a.addLogBytes(ta, j1.id, 100)),
        ...Array.from({ length: 20 }, () => b.addLogBytes(ta, j2.id, 10)),
      ]);
      const after = await b.addLogBytes(tb, j3.id, 7);
      expect(after).toMatchObject({ tenant: 7, job: 7 });
      expect(await a.logBytes(ta, j1.id)).toMatchObject({ tenant: 2200, job: 2000 });
      expect(await b.logBytes(ta, j2.id)).toMatchObject({ tenant: 2200, job: 200 });
      expect((await a.logBytes(ta)).retryAfterS).toBeGreaterThan(0);
      expect(await a.delete(j1.id)).toBe(true);
      expect(await b.logBytes(ta, j1.id)).toMatchObject({ tenant: 200, job: 0 });
      expect(await b.logBytes(tb)).toMatchObject({ tenant: 7 });
    });

    it('stops counting log bytes once the log retention has passed since they were written', async () => {
      const s = await make({ logRetentionMs: 1_000 });
      const t = `t-${newJobId()}`;
      const j = jobRecord({ tenant: t });
      await s.create(j);
      expect(await s.addLogBytes(t, j.id, 500)).toMatchObject({ tenant: 500, job: 500 });
      // at most the retention plus one bucket (a second at this retention) later
      await waitFor(async () => (await s.logBytes(t, j.id)).tenant === 0, { timeoutMs: 5_000 });
      expect(await s.logBytes(t, j.id)).toMatchObject({ tenant: 0, job: 0 });
    });
  });
}
