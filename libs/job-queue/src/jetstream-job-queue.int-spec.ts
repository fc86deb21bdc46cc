import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { DISPATCH_STREAM, dispatchSubject, newJobId } from '@jobstream/contracts';
import { sleep, waitFor } from '../../contracts/src/testing/wait.js';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import type { QueuedJob } from './job-queue.port.js';
import { CONSUMER_INACTIVE_MS, dispatchConsumerName } from './jetstream-fair-pull.js';
import { JetStreamJobQueue, NatsJobControl } from './jetstream-job-queue.js';
import { jobQueueConformance } from './testing/job-queue.conformance.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

// The contract's names: every queue handle is its own connection (its own "process") sharing the one durable.
jobQueueConformance('jetstream', async () => JetStreamJobQueue.create({ servers: nats.url }));

describe('JetStreamJobQueue specifics', () => {
  it('publishes on jobstream.dispatch.<agent>.<tenant>, pulled through one shared durable per subject', async () => {
    const q = await JetStreamJobQueue.create({ servers: nats.url });
    const got: QueuedJob[] = [];
    const c = await q.consume(async (j) => void got.push(j), { concurrency: 1, agents: ['layout'] });
    const id = newJobId();
    await q.enqueue(id, { agent: 'layout', tenant: 'acme.prod' });
    await waitFor(() => got.length === 1);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.info(DISPATCH_STREAM);
    expect(si.config).toMatchObject({
      subjects: ['jobstream.dispatch', 'jobstream.dispatch.>'],
      retention: 'workqueue',
      storage: 'file',
    });
    const subject = dispatchSubject('layout', 'acme.prod');
    expect(subject).toBe('jobstream.dispatch.layout.acme%2Eprod');
    const ci = await jsm.consumers.info(DISPATCH_STREAM, dispatchConsumerName(subject));
    expect(ci.config).toMatchObject({
      filter_subject: subject,
      ack_policy: 'explicit',
      max_deliver: -1,
      ack_wait: 30_000 * 1e6,
      inactive_threshold: CONSUMER_INACTIVE_MS * 1e6,
    });
    expect(got[0]).toMatchObject({ jobId: id, agent: 'layout', tenant: 'acme.prod' });
    await nc.close();
    await c.drain();
    await q.close();
  });

  it('takes a job published on a subject it had found empty at once, not after the recheck interval', async () => {
    // Concurrency 2: the pass that takes the first job finds nothing more on its subject and skips that subject.
    // With the recheck and the idle poll both 10 minutes, only the publish's wake-up can make it look again.
    const q = await JetStreamJobQueue.create({ servers: nats.url, emptyRecheckMs: 600_000, pullExpiresMs: 600_000 });
    const agent = 'recheck';
    const seen: string[] = [];
    let release = () => {};
    const firstDone = new Promise<void>((r) => (release = r));
    const c = await q.consume(
      async (j) => {
        seen.push(j.jobId);
        if (seen.length === 1) await firstDone;
      },
      { concurrency: 2, agents: [agent] },
    );
    const [first, second] = [newJobId(), newJobId()];
    await q.enqueue(first, { agent, tenant: 't1' });
    await waitFor(() => seen.length === 1);
    release();
    // the first job's ack has removed it from the work queue: the subject's count is what it was when skipped
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const subject = dispatchSubject(agent, 't1');
    await waitFor(async () => {
      const si = await jsm.streams.info(DISPATCH_STREAM, { subjects_filter: subject });
      return (si.state.subjects?.[subject] ?? 0) === 0;
    });
    await q.enqueue(second, { agent, tenant: 't1' });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([first, second]);
    await nc.close();
    await c.drain();
    await q.close();
  });

  it('still runs a job published on the older single subject, moved to its agent (exactly once)', async () => {
    const names = { stream: 'T_LEGACY', subject: 'test.legacy.dispatch', consumer: 'legacy-workers' };
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    // the stream and consumer as the previous version made them, with a job waiting
    await jsm.streams.add({ name: names.stream, subjects: [names.subject], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add(names.stream, {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      filter_subject: names.subject,
      max_deliver: -1,
    });
    const old = newJobId();
    await jetstream(nc).publish(names.subject, new TextEncoder().encode(old), { msgID: `${old}:dispatch:1` });
    const q = await JetStreamJobQueue.create({
      servers: nats.url,
      ...names,
      resolveLegacy: async (id) => (id === old ? { agent: 'legacy', tenant: 't1' } : null),
    });
    const got: QueuedJob[] = [];
    const c = await q.consume(async (j) => void got.push(j), { concurrency: 2, agents: ['legacy'] });
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ jobId: old, agent: 'legacy', tenant: 't1' });
    await c.drain();
    await waitFor(async () => (await jsm.streams.info(names.stream)).state.messages === 0);
    expect(got).toHaveLength(1);
    await nc.close();
    await q.close();
  });

  it('keeps a job published before any consumer exists, and delivers it to the first one', async () => {
    const names = { stream: 'T_FRESH', subject: 'test.fresh.dispatch', consumer: 'fresh-workers' };
    const q = await JetStreamJobQueue.create({ servers: nats.url, ...names });
    const id = newJobId();
    await q.enqueue(id, { agent: 'echo', tenant: 't1' });
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await expect(jsm.consumers.info(names.stream, names.consumer)).rejects.toThrow();
    expect((await jsm.streams.info(names.stream)).state.messages).toBe(1);
    const got: QueuedJob[] = [];
    const c = await q.consume(
      async (j) => {
        got.push(j);
        await j.ack();
      },
      { concurrency: 1, agents: ['echo'] },
    );
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ jobId: id, deliveries: 1 });
    await c.drain(); // the handler (and its ack) has settled
    expect((await jsm.streams.info(names.stream)).state.messages).toBe(0); // acked ⇒ removed from the work queue
    await nc.close();
    await q.close();
  });

  it('redelivers the job of a consumer that died without acking, after the ack wait', async () => {
    const names = { stream: 'T_DEATH', subject: 'test.death.dispatch', consumer: 'death-workers', ackWaitMs: 1_000 };
    // The dying worker has its own connection, closed abruptly as a crashed process's would be.
    const deadNc = await connect({ servers: nats.url });
    const dying = await JetStreamJobQueue.create({ nc: deadNc, ...names });
    const first: QueuedJob[] = [];
    await dying.consume(
      async (j) => {
        first.push(j);
        await new Promise(() => {}); // hangs: never acks, never signals working()
      },
      { concurrency: 1, agents: ['echo'] },
    );
    const id = newJobId();
    await dying.enqueue(id, { agent: 'echo', tenant: 't1' });
    await waitFor(() => first.length === 1);
    await deadNc.close();

    const survivor = await JetStreamJobQueue.create({ servers: nats.url, ...names });
    const second: QueuedJob[] = [];
    const c = await survivor.consume(
      async (j) => {
        second.push(j);
        await j.ack();
      },
      { concurrency: 1, agents: ['echo'] },
    );
    await waitFor(() => second.length === 1);
    expect(second[0]).toMatchObject({ jobId: id, deliveries: 2 });
    await c.drain();
    await survivor.close();
  });

  it('keeps a job held past the ack wait while the handler signals working()', async () => {
    const names = {
      stream: 'T_WORKING',
      subject: 'test.working.dispatch',
      consumer: 'working-workers',
      ackWaitMs: 2_000,
    };
    const q = await JetStreamJobQueue.create({ servers: nats.url, ...names });
    const deliveries: number[] = [];
    const c = await q.consume(
      async (j) => {
        deliveries.push(j.deliveries);
        // a working() every 250 ms: a stall of up to 1.75 s (a busy machine) still keeps the job
        for (let i = 0; i < 18; i++) {
          await sleep(250);
          j.working();
        }
        await j.ack();
      },
      { concurrency: 2, agents: ['echo'] },
    );
    await q.enqueue(newJobId(), { agent: 'echo', tenant: 't1' });
    await waitFor(() => deliveries.length === 1);
    await c.drain(); // waits for the handler (4.5 s, i.e. more than twice the ack wait)
    expect(deliveries).toEqual([1]);
    await q.close();
  });
});

describe('NatsJobControl', () => {
  it('reaches every listener in every process until it leaves', async () => {
    const a = await NatsJobControl.create({ servers: nats.url });
    const b = await NatsJobControl.create({ servers: nats.url });
    const gotA: string[] = [];
    const gotB: string[] = [];
    const offA = await a.onCancel((id, reason) => gotA.push(`${id}:${reason}`));
    const offB = await b.onCancel((id, reason) => gotB.push(`${id}:${reason}`));
    const job = newJobId();
    await b.requestCancel(job, 'user');
    await waitFor(() => gotA.length === 1 && gotB.length === 1);
    expect(gotA).toEqual([`${job}:user`]);
    expect(gotB).toEqual([`${job}:user`]);
    offA();
    const later = newJobId();
    await b.requestCancel(later, '');
    await waitFor(() => gotB.length === 2);
    await sleep(50);
    expect(gotA).toHaveLength(1);
    expect(gotB[1]).toBe(`${later}:`);
    offB();
    await Promise.all([a.close(), b.close()]);
  });
});
