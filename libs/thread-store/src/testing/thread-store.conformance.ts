/** The ThreadStore conformance suite: every driver (memory, Redis) must pass it unchanged. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { newJobId, newThreadId } from '@jobstream/contracts';
import {
  newThreadRecord,
  InvalidThreadCursorError,
  type ThreadRecord,
  type ThreadStore,
  type ThreadStoreOptions,
} from '../thread-store.port.js';

export type ThreadStoreFactory = (opts: ThreadStoreOptions) => Promise<ThreadStore>;

export function threadStoreConformance(driver: string, factory: ThreadStoreFactory): void {
  describe(`ThreadStore conformance: ${driver}`, () => {
    const stores: ThreadStore[] = [];
    const make = async (o: Partial<ThreadStoreOptions> = {}) => {
      const s = await factory({ idempotencyTtlMs: 3_600_000, ...o });
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });
    const thread = async (s: ThreadStore, tenant = 'acme', metadata: Record<string, unknown> | null = null) => {
      const t = newThreadRecord({ id: newThreadId(), tenant, agent: 'echo', metadata });
      await s.create(t);
      return t;
    };

    it("stores a thread as given (metadata exactly) and lists a tenant's threads newest first in pages", async () => {
      const s = await make();
      const tenant = `t-${newJobId()}`;
      const first = await thread(s, tenant, { tags: [], nested: { a: [1, {}] }, empty: {} });
      expect(await s.get(first.id)).toEqual(first);
      expect(await s.get(newThreadId())).toBeNull();
      const more = [await thread(s, tenant), await thread(s, tenant)];
      await thread(s, `other-${tenant}`);
      const p1 = await s.list(tenant, { limit: 2 });
      expect(p1.items.map((t) => t.id)).toEqual([more[1]!.id, more[0]!.id]);
      const p2 = await s.list(tenant, { limit: 2, cursor: p1.next_cursor });
      expect(p2).toEqual({ items: [first], next_cursor: null });
      await expect(s.list(tenant, { limit: 2, cursor: 'bad!' })).rejects.toBeInstanceOf(InvalidThreadCursorError);
    });

    it('holds a tenant to its thread quota, atomically across handles; a deleted thread frees its place', async () => {
      const s = await make();
      const s2 = await make();
      const tenant = `q-${newJobId()}`;
      const mk = () => newThreadRecord({ id: newThreadId(), tenant, agent: 'echo', metadata: null });
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? s : s2).create(mk(), 2)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      for (const r of results.filter((x) => x.status === 'rejected'))
        expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'QuotaExceededError', kind: 'threads' });
      await s.create(newThreadRecord({ id: newThreadId(), tenant: `${tenant}-b`, agent: 'echo', metadata: null }), 2);
      const [first] = (await s.list(tenant, { limit: 10 })).items;
      expect(await s.delete(first!.id)).toMatchObject({ kind: 'deleted' });
      await s.create(mk(), 2);
      await expect(s.create(mk(), 2)).rejects.toMatchObject({ name: 'QuotaExceededError' });
      await s.create(mk()); // no quota
    });

    it('lists idle threads whose state is older than a moment, oldest first, and never a busy one', async () => {
      const s = await make();
      const tenant = `i-${newJobId()}`;
      const idle = await thread(s, tenant);
      const busy = await thread(s, tenant);
      const job = newJobId();
      await s.beginTurn(busy.id, { jobId: job, ifBusy: 'reject' });
      const later = new Date(Date.now() + 60_000);
      const ids = async (at: Date) =>
        (await s.listIdle(at, 1_000)).map((t) => t.id).filter((id) => id === idle.id || id === busy.id);
      expect(await ids(later)).toEqual([idle.id]);
      expect(await ids(new Date(Date.parse(idle.created_at) - 1))).toEqual([]);
      await s.settle(busy.id, job);
      expect(await ids(later)).toEqual([idle.id, busy.id]);
      await s.delete(idle.id);
      expect(await ids(later)).toEqual([busy.id]);
    });

    it('starts the first turn, rejects a second under reject, and numbers turns densely', async () => {
      const s = await make();
      const t = await thread(s);
      const j1 = newJobId();
      const r1 = await s.beginTurn(t.id, { jobId: j1, ifBusy: 'reject' });
      expect(r1).toMatchObject({
        kind: 'started',
        turn: 1,
        thread: { active_job_id: j1, active_started: false, last_job_id: j1, turns: 1 },
      });
      expect(await s.beginTurn(t.id, { jobId: newJobId(), ifBusy: 'reject' })).toEqual({
        kind: 'busy',
        active_job_id: j1,
      });
      expect(await s.markStarted(t.id, j1)).toBe(true);
      expect(await s.markStarted(t.id, newJobId())).toBe(false);
      expect((await s.get(t.id))?.active_started).toBe(true);
      expect(await s.settle(t.id, j1)).toEqual({ next: null });
      expect(await s.settle(t.id, j1)).toEqual({ next: null });
      const j2 = newJobId();
      expect(await s.beginTurn(t.id, { jobId: j2, ifBusy: 'reject' })).toMatchObject({ kind: 'started', turn: 2 });
      expect((await s.turns(t.id, { limit: 10 })).items).toEqual([
        { turn: 1, job_id: j1 },
        { turn: 2, job_id: j2 },
      ]);
      expect(await s.beginTurn(newThreadId(), { jobId: newJobId(), ifBusy: 'reject' })).toEqual({ kind: 'not_found' });
    });

    it('lets exactly one of many concurrent turns start under reject, across handles', async () => {
      const a = await make();
      const b = await make();
      const t = await thread(a);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).beginTurn(t.id, { jobId: newJobId(), ifBusy: 'reject' })),
      );
      expect(results.filter((r) => r.kind === 'started')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'busy')).toHaveLength(11);
      expect((await a.get(t.id))?.turns).toBe(1);
    });

    it('queues turns under enqueue and starts them one by one in order as the active one settles', async () => {
      const a = await make();
      const b = await make();
      const t = await thread(a);
      const ids = Array.from({ length: 4 }, () => newJobId());
      expect((await a.beginTurn(t.id, { jobId: ids[0]!, ifBusy: 'enqueue' })).kind).toBe('started');
      for (const id of ids.slice(1))
        expect(await b.beginTurn(t.id, { jobId: id, ifBusy: 'enqueue' })).toMatchObject({
          kind: 'queued',
          interrupt: [],
        });
      expect((await a.get(t.id))?.pending).toEqual(ids.slice(1));
      // a waiting turn that ends (cancelled) leaves the line
      expect(await a.settle(t.id, ids[2]!)).toEqual({ next: null });
      // two settles of the same active job at once advance once
      const both = await Promise.all([a.settle(t.id, ids[0]!), b.settle(t.id, ids[0]!)]);
      expect(both.map((r) => r.next).sort()).toEqual([ids[1]!, null].sort());
      expect(await a.settle(t.id, ids[1]!)).toEqual({ next: ids[3]! });
      expect(await a.settle(t.id, ids[3]!)).toEqual({ next: null });
      expect(await a.get(t.id)).toMatchObject({ active_job_id: null, pending: [], turns: 4, last_job_id: ids[3] });
    });

    it('puts an interrupting turn next and returns the jobs to cancel', async () => {
      const s = await make();
      const t = await thread(s);
      const [j1, j2, j3] = [newJobId(), newJobId(), newJobId()];
      await s.beginTurn(t.id, { jobId: j1, ifBusy: 'reject' });
      await s.beginTurn(t.id, { jobId: j2, ifBusy: 'enqueue' });
      expect((await s.get(t.id))?.interrupting).toBeNull();
      expect(await s.beginTurn(t.id, { jobId: j3, ifBusy: 'interrupt' })).toMatchObject({
        kind: 'queued',
        turn: 3,
        interrupt: [j1, j2],
        thread: { interrupting: j1 },
      });
      expect(await s.get(t.id)).toMatchObject({ pending: [j3], cancelling: [j2], interrupting: j1 });
      expect(await s.settle(t.id, j1)).toEqual({ next: j3 });
      expect(await s.get(t.id)).toMatchObject({ active_job_id: j3, interrupting: null, pending: [], cancelling: [j2] });
      await s.settle(t.id, j3);
      // idle, but the dropped turn has not ended yet: still listed for the sweep
      expect((await s.listBusy(new Date(Date.now() + 1_000), 1000)).map((x) => x.id)).toContain(t.id);
      expect(await s.settle(t.id, j2)).toEqual({ next: null }); // the dropped one ended: it leaves `cancelling`
      expect(await s.get(t.id)).toMatchObject({ active_job_id: null, cancelling: [] });
      expect((await s.listBusy(new Date(Date.now() + 1_000), 1000)).map((x) => x.id)).not.toContain(t.id);
    });

    it('remembers a turn idempotency key per thread', async () => {
      const s = await make();
      const t = await thread(s);
      const t2 = await thread(s);
      const j1 = newJobId();
      const idem = { key: 'k1', fingerprint: 'f1' };
      expect((await s.beginTurn(t.id, { jobId: j1, ifBusy: 'reject', idempotency: idem })).kind).toBe('started');
      // the same request again while the turn is active: the same job, not busy
      expect(await s.beginTurn(t.id, { jobId: newJobId(), ifBusy: 'reject', idempotency: idem })).toEqual({
        kind: 'existing',
        job_id: j1,
      });
      expect(
        await s.beginTurn(t.id, { jobId: newJobId(), ifBusy: 'reject', idempotency: { key: 'k1', fingerprint: 'f2' } }),
      ).toEqual({ kind: 'conflict' });
      expect((await s.beginTurn(t2.id, { jobId: newJobId(), ifBusy: 'reject', idempotency: idem })).kind).toBe(
        'started',
      );
      const short = await make({ idempotencyTtlMs: 1 });
      const t3 = await thread(short);
      const first = newJobId();
      await short.beginTurn(t3.id, { jobId: first, ifBusy: 'enqueue', idempotency: idem });
      await new Promise((r) => setTimeout(r, 20));
      expect((await short.beginTurn(t3.id, { jobId: newJobId(), ifBusy: 'enqueue', idempotency: idem })).kind).toBe(
        'queued',
      );
    });

    it('pages turns in order', async () => {
      const s = await make();
      const t = await thread(s);
      const ids = Array.from({ length: 5 }, () => newJobId());
      for (const id of ids) await s.beginTurn(t.id, { jobId: id, ifBusy: 'enqueue' });
      const p1 = await s.turns(t.id, { limit: 2 });
      const p2 = await s.turns(t.id, { limit: 2, cursor: p1.next_cursor });
      const p3 = await s.turns(t.id, { limit: 2, cursor: p2.next_cursor });
      expect([...p1.items, ...p2.items, ...p3.items].map((x) => x.job_id)).toEqual(ids);
      expect(p3.next_cursor).toBeNull();
    });

    it('deletes an idle thread with its turns, and refuses a busy one', async () => {
      const s = await make();
      const tenant = `t-${newJobId()}`;
      const t = await thread(s, tenant);
      const j1 = newJobId();
      await s.beginTurn(t.id, { jobId: j1, ifBusy: 'reject', idempotency: { key: 'x', fingerprint: 'y' } });
      expect(await s.delete(t.id)).toEqual({ kind: 'busy', active_job_id: j1 });
      await s.settle(t.id, j1);
      expect(await s.delete(t.id)).toEqual({ kind: 'deleted', job_ids: [j1] });
      expect(await s.get(t.id)).toBeNull();
      expect(await s.delete(t.id)).toEqual({ kind: 'not_found' });
      expect((await s.list(tenant, { limit: 10 })).items).toEqual([]);
      expect(await s.beginTurn(t.id, { jobId: newJobId(), ifBusy: 'enqueue' })).toEqual({ kind: 'not_found' });
    });

    it('names threads by an external id per tenant: one thread per name, even for concurrent first uses', async () => {
      const s = await make();
      const tenant = `t-${newJobId()}`;
      const named = (ten: string, name: string) =>
        newThreadRecord({ id: newThreadId(), tenant: ten, agent: 'echo', metadata: null, external_id: name });
      const tries = [named(tenant, 'chat-1'), named(tenant, 'chat-1'), named(tenant, 'chat-1')];
      const got = await Promise.all(tries.map((t) => s.ensureExternal(t as typeof t & { external_id: string })));
      expect(got.filter((g) => g.created)).toHaveLength(1);
      const winner = got.find((g) => g.created)!.thread;
      expect(new Set(got.map((g) => g.thread.id))).toEqual(new Set([winner.id]));
      expect(winner.external_id).toBe('chat-1');
      expect(await s.getExternal(tenant, 'chat-1')).toEqual(winner);
      expect(await s.getExternal(`other-${tenant}`, 'chat-1')).toBeNull();
      expect(await s.getExternal(tenant, 'chat-2')).toBeNull();
      expect(await s.get(winner.id)).toEqual(winner);
      expect((await s.list(tenant, { limit: 10 })).items.map((t) => t.id)).toEqual([winner.id]);
      // another tenant's namespace is its own
      const other = named(`other-${tenant}`, 'chat-1') as ThreadRecord & { external_id: string };
      expect(await s.ensureExternal(other)).toEqual({ thread: other, created: true });
      // a thread without a name has external_id null
      expect((await thread(s, tenant)).external_id).toBeNull();
      // deleting frees the name: the next use creates a new thread
      expect((await s.delete(winner.id)).kind).toBe('deleted');
      expect(await s.getExternal(tenant, 'chat-1')).toBeNull();
      const again = named(tenant, 'chat-1') as ThreadRecord & { external_id: string };
      expect(await s.ensureExternal(again)).toEqual({ thread: again, created: true });
      expect((await s.ensureExternal(named(tenant, 'chat-1') as typeof again)).thread.id).toBe(again.id);
    });

    it('holds a new externally named thread to the thread quota; an existing name is answered at the quota', async () => {
      const s = await make();
      const tenant = `qe-${newJobId()}`;
      const named = (name: string) =>
        newThreadRecord({
          id: newThreadId(),
          tenant,
          agent: 'echo',
          metadata: null,
          external_id: name,
        }) as ThreadRecord & {
          external_id: string;
        };
      const first = named('a');
      expect(await s.ensureExternal(first, 2)).toEqual({ thread: first, created: true });
      await s.create(newThreadRecord({ id: newThreadId(), tenant, agent: 'echo', metadata: null }), 2);
      await expect(s.ensureExternal(named('b'), 2)).rejects.toMatchObject({
        name: 'QuotaExceededError',
        kind: 'threads',
      });
      expect(await s.getExternal(tenant, 'b')).toBeNull();
      expect((await s.ensureExternal(named('a'), 2)).thread.id).toBe(first.id);
      // an idle named thread is found by the expiry sweep like any other
      expect((await s.listIdle(new Date(Date.now() + 60_000), 1_000)).map((t) => t.id)).toContain(first.id);
    });

    it('lists busy threads whose state is older than a moment', async () => {
      const s = await make();
      const idle = await thread(s);
      const busy = await thread(s);
      const j = newJobId();
      await s.beginTurn(busy.id, { jobId: j, ifBusy: 'reject' });
      const ids = (await s.listBusy(new Date(Date.now() + 1_000), 1000)).map((t) => t.id);
      expect(ids).toContain(busy.id);
      expect(ids).not.toContain(idle.id);
      expect((await s.listBusy(new Date(Date.now() - 60_000), 1000)).map((t) => t.id)).not.toContain(busy.id);
      await s.settle(busy.id, j);
      expect((await s.listBusy(new Date(Date.now() + 1_000), 1000)).map((t) => t.id)).not.toContain(busy.id);
      await s.ping();
    });
  });
}
