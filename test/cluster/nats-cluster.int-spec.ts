/**
 * Exact on a NATS cluster (issue 10): a real 3-node nats-server cluster with JETSTREAM_REPLICAS=3, two API
 * processes and a worker process. The node leading the events stream is SIGKILLed mid-stream and restarted; every
 * SSE client (the SDK, reconnecting) ends with `done`, the exact text and a dense seq; every job created before,
 * during and after the outage ends completed; no 5xx but 503. `npm run soak:cluster` runs longer randomized rounds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EVENTS_STREAM, DISPATCH_STREAM } from '@jobstream/contracts';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { JetStreamEventLog } from '@jobstream/event-log';
import { JetStreamJobQueue } from '@jobstream/job-queue';
import { runRound, startRig, type Rig } from './cluster-scenario.js';

let rig: Rig;
beforeAll(async () => {
  // streams as a deployment made them before JETSTREAM_REPLICAS: one replica; the processes must scale them to 3
  rig = await startRig({
    prepare: async (cluster) => {
      const servers = cluster.urls.split(',');
      const log = await JetStreamEventLog.create({ servers, retentionMs: 86_400_000, replicas: 1 });
      const queue = await JetStreamJobQueue.create({ servers, replicas: 1 });
      await Promise.all([log.close(), queue.close()]);
    },
  });
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

describe('jobstream on a 3-node NATS cluster', () => {
  it('scales existing one-replica streams to 3 replicas at start (JETSTREAM_REPLICAS=3), saying so', async () => {
    expect(rig.apis[0]!.output()).toMatch(
      /stream JOBSTREAM_EVENTS reconciled with the configuration: num_replicas: 1 → 3/,
    );
    expect(rig.apis[0]!.output()).toMatch(
      /stream JOBSTREAM_DISPATCH reconciled with the configuration: num_replicas: 1 → 3/,
    );
    const nc = await connect({ servers: rig.cluster.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of [EVENTS_STREAM, DISPATCH_STREAM]) {
        const info = await jsm.streams.info(name);
        expect(info.config.num_replicas).toBe(3);
        expect(info.cluster?.replicas).toHaveLength(2);
      }
    } finally {
      await nc.close();
    }
  });

  it('keeps every client exact across a SIGKILL and restart of the events stream leader mid-stream', async () => {
    const r = await runRound(rig, {
      seed: 1,
      victim: 'leader',
      downMs: 3_000,
      jobsBefore: 6,
      jobsDuring: 4,
      jobsAfter: 4,
      words: 60,
      delayMs: 50,
      deadlineMs: 100_000,
      log: (l) => process.stdout.write(`${l}\n`),
    });
    process.stdout.write(
      `cluster failover: victim ${r.victim} (leader: ${r.wasLeader}), down ${r.downMs} ms, failover ${r.failoverMs} ms, ` +
        `503s ${r.count503}, statuses ${JSON.stringify(r.byKind)}, reconnects ${r.clients.map((c) => c.reconnects).join(',')}\n`,
    );
    for (const c of r.clients) {
      expect({
        job: c.jobId,
        phase: c.phase,
        error: c.error,
        terminal: c.terminal,
        status: c.status,
        exact: c.exact,
        dense: c.denseSeq,
      }).toEqual({
        job: c.jobId,
        phase: c.phase,
        error: null,
        terminal: 'done',
        status: 'completed',
        exact: true,
        dense: true,
      });
    }
    expect(r.wasLeader).toBe(true);
    expect(r.other5xx).toBe(0);
    expect(r.failoverMs).not.toBeNull();
  }, 150_000);
});
