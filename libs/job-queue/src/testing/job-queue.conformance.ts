/** The JobQueue conformance suite: every driver (memory, JetStream work queue) must pass it unchanged. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { newJobId } from '@jobstream/contracts';
import { sleep, waitFor } from '../../../contracts/src/testing/wait.js';
import type { JobQueue, QueueConsumer, QueuedJob } from '../job-queue.port.js';

export type JobQueueFactory = () => Promise<JobQueue>;

/** A fresh agent name per test, so tests sharing one broker never see each other's jobs. */
let agentSeq = 0;
const freshAgent = () => `agent${Date.now().toString(36)}${agentSeq++}`;

export function jobQueueConformance(driver: string, factory: JobQueueFactory): void {
  describe(`JobQueue conformance: ${driver}`, () => {
    let agent = freshAgent();
    const T = { tenant: 'tenant_a' };
    beforeEach(() => {
      agent = freshAgent();
    });
    const on = () => ({ agent, ...T });
    const serving = (concurrency: number) => ({ concurrency, agents: [agent] });
    const open: { q: JobQueue; consumers: QueueConsumer[] }[] = [];
    const make = async () => {
      const entry = { q: await factory(), consumers: [] as QueueConsumer[] };
      open.push(entry);
      return entry;
    };
    afterEach(async () => {
      for (const e of open.splice(0)) {
        await Promise.all(e.consumers.map((c) => c.drain()));
        await e.q.close();
      }
    });

    it('keeps a job enqueued while no consumer runs, and delivers it when one starts', async () => {
      const e = await make();
      const id = newJobId();
      await e.q.enqueue(id, on());
      await sleep(50);
      const got: QueuedJob[] = [];
      e.consumers.push(
        await e.q.consume(async (j) => {
          got.push(j);
          await j.ack();
        }, serving(1)),
      );
      await waitFor(() => got.length === 1);
      expect(got[0]!.jobId).toBe(id);
      expect(got[0]!.deliveries).toBe(1);
    });

    it("hands the dispatcher's lastEvent hint to the consumer with the job, and none when not given", async () => {
      const e = await make();
      const [hinted, plain] = [newJobId(), newJobId()];
      await e.q.enqueue(hinted, {
        ...on(),
        dedupId: `${hinted}:dispatch:1`,
        lastEvent: { seq: 1, pos: 4242, attempt: 1 },
      });
      await e.q.enqueue(plain, on());
      const got = new Map<string, QueuedJob>();
      e.consumers.push(
        await e.q.consume(async (j) => {
          got.set(j.jobId, j);
          await j.ack();
        }, serving(2)),
      );
      await waitFor(() => got.size === 2);
      expect(got.get(hinted)!.lastEvent).toEqual({ seq: 1, pos: 4242, attempt: 1 });
      expect(got.get(plain)!.lastEvent).toBeUndefined();
    });

    it('enqueues a retried dispatch (same dedup id) once, and a new dedup id again', async () => {
      const e = await make();
      const id = newJobId();
      await e.q.enqueue(id, { ...on(), dedupId: `${id}:dispatch:1` });
      await e.q.enqueue(id, { ...on(), dedupId: `${id}:dispatch:1` });
      const got: string[] = [];
      e.consumers.push(
        await e.q.consume(async (j) => {
          got.push(j.jobId);
          await j.ack();
        }, serving(4)),
      );
      await waitFor(() => got.length >= 1);
      await e.q.enqueue(id, { ...on(), dedupId: `${id}:dispatch:1` }); // even after it was taken and acked
      await sleep(300);
      expect(got).toEqual([id]);
      await e.q.enqueue(id, { ...on(), dedupId: `${id}:dispatch:2` });
      await waitFor(() => got.length >= 2);
      expect(got).toEqual([id, id]);
    });

    it('delivers each job to one consumer only, and never more than `concurrency` at once', async () => {
      const e = await make();
      const ids = Array.from({ length: 12 }, () => newJobId());
      const seen: string[] = [];
      let running = 0;
      let peak = 0;
      const handler = async (j: QueuedJob) => {
        running++;
        peak = Math.max(peak, running);
        seen.push(j.jobId);
        await sleep(20);
        running--;
        await j.ack();
      };
      e.consumers.push(await e.q.consume(handler, serving(2)));
      e.consumers.push(await e.q.consume(handler, serving(2)));
      for (const id of ids) await e.q.enqueue(id, on());
      await waitFor(() => seen.length === ids.length);
      await sleep(100);
      expect([...seen].sort()).toEqual([...ids].sort());
      expect(peak).toBeLessThanOrEqual(4);
    });

    it('delivers a released job again', async () => {
      const e = await make();
      const id = newJobId();
      const deliveries: number[] = [];
      e.consumers.push(
        await e.q.consume(async (j) => {
          deliveries.push(j.deliveries);
          if (j.deliveries === 1) await j.release();
          else await j.ack();
        }, serving(1)),
      );
      await e.q.enqueue(id, on());
      await waitFor(() => deliveries.length === 2);
      expect(deliveries).toEqual([1, 2]);
    });

    it('delivers again a job whose handler threw, and not one whose handler returned', async () => {
      const e = await make();
      const [failing, fine] = [newJobId(), newJobId()];
      const seen: { job: 'failing' | 'fine'; deliveries: number }[] = [];
      e.consumers.push(
        await e.q.consume(async (j) => {
          const job = j.jobId === failing ? 'failing' : j.jobId === fine ? 'fine' : null;
          if (!job) return; // a leftover of an earlier test on the same broker
          seen.push({ job, deliveries: j.deliveries });
          if (job === 'failing' && seen.filter((x) => x.job === 'failing').length === 1) throw new Error('broker blip');
        }, serving(2)),
      );
      await e.q.enqueue(failing, on());
      await e.q.enqueue(fine, on());
      await waitFor(() => seen.filter((x) => x.job === 'failing').length >= 2, { timeoutMs: 25_000 }); // a loaded broker may take a while to redeliver
      await sleep(300);
      const failings = seen.filter((x) => x.job === 'failing');
      expect(failings).toHaveLength(2);
      expect(failings[1]!.deliveries).toBeGreaterThan(failings[0]!.deliveries);
      expect(seen.filter((x) => x.job === 'fine')).toHaveLength(1);
    });

    it('drains: takes no new job and waits for the held ones', async () => {
      const e = await make();
      let started = 0;
      let finished = 0;
      const consumer = await e.q.consume(async (j) => {
        started++;
        await sleep(100);
        finished++;
        await j.ack();
      }, serving(1));
      await e.q.enqueue(newJobId(), on());
      await waitFor(() => started === 1); // the job is held (was a fixed 30 ms, which a loaded machine could outrun)
      await consumer.drain();
      expect(finished).toBe(1);
      await e.q.enqueue(newJobId(), on());
      await sleep(150);
      expect(finished).toBe(1);
    });

    it('gives a consumer only the jobs of the agents it serves; a job of an agent nobody serves waits', async () => {
      const e = await make();
      const other = freshAgent();
      const [mine, theirs] = [newJobId(), newJobId()];
      await e.q.enqueue(theirs, { agent: other, ...T });
      await e.q.enqueue(mine, on());
      const got: QueuedJob[] = [];
      e.consumers.push(await e.q.consume(async (j) => void got.push(j), serving(4)));
      await waitFor(() => got.length >= 1);
      await sleep(300);
      expect(got.map((j) => [j.jobId, j.agent, j.tenant])).toEqual([[mine, agent, T.tenant]]);
      const later: QueuedJob[] = [];
      e.consumers.push(await e.q.consume(async (j) => void later.push(j), { concurrency: 1, agents: [other] }));
      await waitFor(() => later.length === 1);
      expect(later[0]).toMatchObject({ jobId: theirs, agent: other, deliveries: 1 });
      expect(got).toHaveLength(1);
    });

    it("serves tenants in turn: a tenant's backlog of 1,000 delays another tenant's new job by at most one job", async () => {
      const e = await make();
      const backlog = Array.from({ length: 1_000 }, () => newJobId());
      for (const id of backlog) await e.q.enqueue(id, { agent, tenant: 'tenant_big' });
      const order: string[] = [];
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((r) => (releaseFirst = r));
      e.consumers.push(
        await e.q.consume(async (j) => {
          order.push(j.jobId);
          if (order.length === 1) await firstHeld; // the only slot is busy while tenant B enqueues
          await j.ack();
        }, serving(1)),
      );
      await waitFor(() => order.length === 1);
      const small = newJobId();
      await e.q.enqueue(small, { agent, tenant: 'tenant_small' });
      const freedAt = Date.now();
      releaseFirst();
      await waitFor(() => order.includes(small));
      console.log(
        `fair dispatch (${driver}): tenant_small's job started ${Date.now() - freedAt} ms after the slot freed, as job #${order.indexOf(small) + 1} (tenant_big had ${backlog.length} queued)`,
      );
      expect(order.indexOf(small)).toBeLessThanOrEqual(2);
      const rest = order.filter((id) => id !== small);
      expect(rest).toEqual(backlog.slice(0, rest.length)); // FIFO within one tenant
    });

    it('claims one job of the given agents, or null when none comes within the wait', async () => {
      const e = await make();
      expect(await e.q.claim([agent], { waitMs: 0 })).toBeNull();
      const other = freshAgent();
      await e.q.enqueue(newJobId(), { agent: other, ...T });
      expect(await e.q.claim([agent], { waitMs: 200 })).toBeNull();
      const id = newJobId();
      const waiting = e.q.claim([agent], { waitMs: 10_000 });
      await sleep(50);
      await e.q.enqueue(id, on());
      const first = await waiting;
      expect(first).toMatchObject({ jobId: id, agent, tenant: T.tenant, deliveries: 1 });
      await first!.release();
      const again = await e.q.claim([agent], { waitMs: 10_000 });
      expect(again).toMatchObject({ jobId: id, deliveries: 2 });
      await again!.ack();
      expect(await e.q.claim([agent], { waitMs: 200 })).toBeNull();
      const aborted = new AbortController();
      const pending = e.q.claim([agent], { waitMs: 60_000, signal: aborted.signal });
      aborted.abort();
      expect(await pending).toBeNull();
    });
  });
}
