import { describe, expect, it } from '@jest/globals';
import { newJobId, newThreadId } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import { MemoryJobQueue, type QueuedJob } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord, type JobStore } from '@jobstream/job-store';
import { MemoryThreadStore, newThreadRecord } from '@jobstream/thread-store';
import { conversationOf } from './conversation-history.js';
import { ThreadAdvancer, advancingThreads } from './thread-advancer.js';

function setup() {
  const raw = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const threads = new MemoryThreadStore({ idempotencyTtlMs: 60_000 });
  const queue = new MemoryJobQueue();
  const advancer = new ThreadAdvancer(threads, raw, queue);
  const store = advancingThreads(raw, () => advancer);
  const delivered: string[] = [];
  void queue.consume(async (q: QueuedJob) => void delivered.push(q.jobId), { concurrency: 10, agents: ['echo'] });
  return { raw, store, threads, queue, advancer, delivered };
}

async function turn(
  store: JobStore,
  threads: MemoryThreadStore,
  threadId: string,
  ifBusy: 'reject' | 'enqueue' | 'interrupt',
) {
  const id = newJobId();
  await store.create(
    newJobRecord({ id, tenant: 't', agent: 'echo', input: { message: id }, metadata: null, thread_id: threadId }),
  );
  const r = await threads.beginTurn(threadId, { jobId: id, ifBusy });
  if (r.kind === 'started' || r.kind === 'queued') await store.update(id, { turn: r.turn });
  return { id, r };
}

describe('ThreadAdvancer and the advancing job store', () => {
  it('starts the next waiting turn when the active job reaches a terminal status, through any transition', async () => {
    const { store, threads, advancer, delivered } = setup();
    const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t);
    const a = await turn(store, threads, t.id, 'reject');
    expect(await advancer.start(t.id, a.id)).toBe(true);
    const b = await turn(store, threads, t.id, 'enqueue');
    const c = await turn(store, threads, t.id, 'enqueue');
    expect(delivered).toEqual([a.id]);
    // a waiting turn cancelled while queued leaves the line
    await store.transition(b.id, 'cancelled');
    await store.transition(a.id, 'running');
    expect(delivered).toEqual([a.id]);
    await store.transition(a.id, 'completed');
    expect(delivered).toEqual([a.id, c.id]);
    expect(await threads.get(t.id)).toMatchObject({ active_job_id: c.id, active_started: true, pending: [] });
    // the proxy passes every other member through
    expect((await store.get(c.id))?.turn).toBe(3);
    expect(typeof store.listStale).toBe('function');
  });

  it('hands a turn to the queue once (dispatch dedup id) and confirms the dispatch', async () => {
    const { store, threads, advancer, delivered } = setup();
    const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t);
    const a = await turn(store, threads, t.id, 'reject');
    expect((await store.get(a.id))?.dispatched_at).toBeNull();
    expect(await advancer.start(t.id, a.id)).toBe(true);
    expect(await advancer.start(t.id, a.id)).toBe(true); // a repair that repeats the hand-over
    expect(delivered).toEqual([a.id]);
    expect((await store.get(a.id))?.dispatched_at).toEqual(expect.any(String));
  });

  it('skips a next turn whose job is gone, and never fails the transition when advancing fails', async () => {
    const { store, raw, threads, delivered } = setup();
    const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t);
    const a = await turn(store, threads, t.id, 'reject');
    const b = await turn(store, threads, t.id, 'enqueue');
    const c = await turn(store, threads, t.id, 'enqueue');
    await raw.delete(b.id);
    await store.transition(a.id, 'cancelled');
    expect(delivered).toEqual([c.id]);
    const broken = advancingThreads(
      raw,
      () => ({ jobEnded: async () => Promise.reject(new Error('down')) }) as unknown as ThreadAdvancer,
    );
    const r = await broken.transition(c.id, 'cancelled');
    expect(r.changed).toBe(true);
  });

  it("gives a turn the earlier turns' inputs and final texts, in order", async () => {
    const { store, threads } = setup();
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t);
    const a = await turn(store, threads, t.id, 'enqueue');
    const b = await turn(store, threads, t.id, 'enqueue');
    const c = await turn(store, threads, t.id, 'enqueue');
    await log.append(a.id, {
      event: { type: 'done', usage: { input_tokens: 1, output_tokens: 1 }, output: { text: 'answer a' } },
      attempt: 1,
    });
    await log.append(b.id, {
      event: { type: 'cancelled', reason: 'interrupted', usage: { input_tokens: 1, output_tokens: 1 } },
      attempt: 1,
    });
    const ctx = await conversationOf((await store.get(c.id))!, threads, store, log);
    expect(ctx).toEqual({
      turn: 3,
      conversation: [
        { turn: 1, job_id: a.id, input: { message: a.id }, output_text: 'answer a' },
        { turn: 2, job_id: b.id, input: { message: b.id }, output_text: null },
      ],
    });
    expect(
      await conversationOf(
        newJobRecord({ id: newJobId(), tenant: 't', agent: 'echo', input: {}, metadata: null }),
        threads,
        store,
        log,
      ),
    ).toEqual({});
    // started in the instant before its turn number was written: found in the thread
    const d = newJobId();
    const rec = newJobRecord({
      id: d,
      tenant: 't',
      agent: 'echo',
      input: { message: 'd' },
      metadata: null,
      thread_id: t.id,
    });
    await store.create(rec);
    await threads.beginTurn(t.id, { jobId: d, ifBusy: 'enqueue' });
    expect((await conversationOf(rec, threads, store, log)).turn).toBe(4);
  });
});
