/**
 * A partitioned event log on a 3-node NATS cluster (JETSTREAM_PARTITIONS=3, JETSTREAM_REPLICAS=3): the three event
 * streams' leaders end up on three different nodes, and a SIGKILL of one of them keeps every SSE client exact.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventPartition } from '@jobstream/event-log';
import { runRound, startRig, type Rig } from './cluster-scenario.js';

const STREAMS = [0, 1, 2].map((i) => eventPartition(i).stream);

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ env: { JETSTREAM_PARTITIONS: '3' } });
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

describe('a partitioned event log on a 3-node NATS cluster', () => {
  it('places the leaders of the three event streams on three different nodes', async () => {
    const nc = await connect({ servers: rig.cluster.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      const infos = await Promise.all(STREAMS.map((s) => jsm.streams.info(s)));
      for (const i of infos) expect(i.config.num_replicas).toBe(3);
      expect(new Set(infos.map((i) => i.cluster?.leader)).size).toBe(3);
    } finally {
      await nc.close();
    }
  });

  it('keeps every client exact across a SIGKILL and restart of an event stream leader mid-stream', async () => {
    const r = await runRound(rig, {
      seed: 3,
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
      `partitioned cluster failover: victim ${r.victim} (leader: ${r.wasLeader}), failover ${r.failoverMs} ms, ` +
        `503s ${r.count503}, statuses ${JSON.stringify(r.byKind)}\n`,
    );
    for (const c of r.clients) {
      expect({ job: c.jobId, error: c.error, terminal: c.terminal, status: c.status, exact: c.exact }).toEqual({
        job: c.jobId,
        error: null,
        terminal: 'done',
        status: 'completed',
        exact: true,
      });
      expect(c.denseSeq).toBe(true);
    }
    expect(r.wasLeader).toBe(true);
    expect(r.other5xx).toBe(0);
    expect(r.failoverMs).not.toBeNull();
  }, 150_000);
});
