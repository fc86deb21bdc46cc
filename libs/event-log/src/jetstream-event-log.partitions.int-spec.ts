import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { START, newJobId } from '@jobstream/contracts';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { JetStreamEventLog } from './jetstream-event-log.js';
import { eventPartition, partitionIndexOf, partitionOf } from './partitions.js';
import { eventLogConformance } from './testing/event-log.conformance.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

/** The subject a job's events are on, in the stream the log holds it in. */
async function whereIs(log: JetStreamEventLog, jobId: string): Promise<{ stream: string; subject: string }> {
  const stream = await log.streamOf(jobId);
  return { stream, subject: `${eventPartition(partitionIndexOf(stream)!).subjectPrefix}.${jobId}` };
}

// the whole contract, with three partitions (each handle a separate driver and connection, as in production)
eventLogConformance(
  'jetstream, 3 partitions',
  async ({ retentionMs, maxBytes }) =>
    JetStreamEventLog.create({
      servers: nats.url,
      retentionMs,
      partitions: 3,
      // the partitions share maxBytes: each of them gets what the suite means for the one log its jobs are in
      ...(maxBytes !== undefined ? { maxBytes: maxBytes * 3, reserveBytes: 128 * 1024 } : {}),
    }),
  {
    rollback: async (log, jobId, keepSeq) => {
      const nc = await connect({ servers: nats.url });
      try {
        const jsm = await jetstreamManager(nc);
        const { stream, subject } = await whereIs(log as JetStreamEventLog, jobId);
        const kept = (await log.read(jobId, START, 10_000)).filter((e) => e.event.seq <= keepSeq);
        await jsm.streams.purge(stream, { filter: subject });
        for (const e of kept) await jetstream(nc).publish(subject, new TextEncoder().encode(JSON.stringify(e.event)));
      } finally {
        await nc.close();
      }
    },
    jobsSharingBudget: () => {
      const early = newJobId();
      let filler = newJobId();
      while (partitionOf(filler, 3) !== partitionOf(early, 3)) filler = newJobId();
      return [early, filler];
    },
  },
);

describe('JetStreamEventLog partitions', () => {
  const token = (text: string) => ({ type: 'token' as const, text });
  const status = { type: 'status' as const, status: 'running' as const };

  it('spreads jobs over the partition streams by the hash of their id, each with its own subjects', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, partitions: 3 });
    try {
      const ids = Array.from({ length: 24 }, () => newJobId());
      for (const id of ids) await log.append(id, { event: status, attempt: 1, firstEvent: true });
      const streams = await Promise.all(ids.map((id) => log.streamOf(id)));
      expect(streams).toEqual(ids.map((id) => eventPartition(partitionOf(id, 3)).stream));
      expect(new Set(streams).size).toBe(3);
      const nc = await connect({ servers: nats.url });
      try {
        const jsm = await jetstreamManager(nc);
        const p2 = await jsm.streams.info('JOBSTREAM_EVENTS_P2');
        expect(p2.config.subjects).toEqual(['jobstream.events.p2.*']);
        const counts = await Promise.all(
          [0, 1, 2].map(async (i) => (await jsm.streams.info(eventPartition(i).stream)).state.messages),
        );
        expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24);
      } finally {
        await nc.close();
      }
    } finally {
      await log.close();
    }
  });

  it('keeps jobs where they are when N changes: readable, appended to in place, new jobs by the new N', async () => {
    const three = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, partitions: 3 });
    const ids = Array.from({ length: 12 }, () => newJobId());
    for (const id of ids) {
      await three.append(id, { event: status, attempt: 1, firstEvent: true });
      await three.append(id, { event: token('before'), attempt: 1 });
    }
    const before = await Promise.all(ids.map((id) => three.streamOf(id)));
    await three.close();

    const warnings: string[] = [];
    const one = await JetStreamEventLog.create({
      servers: nats.url,
      retentionMs: 3_600_000,
      logger: { warn: (m) => warnings.push(m), info: (m) => warnings.push(m) },
    });
    try {
      expect(one.partitions().active.map((p) => p.stream)).toEqual(['JOBSTREAM_EVENTS']);
      expect(one.partitions().all.map((p) => p.stream)).toEqual([
        'JOBSTREAM_EVENTS',
        'JOBSTREAM_EVENTS_P1',
        'JOBSTREAM_EVENTS_P2',
      ]);
      for (const id of ids) {
        // a worker's hint from before the change: the expectation fails on the wrong stream, and the log finds it
        await one.append(id, { event: token('after'), attempt: 1, lastEvent: { seq: 2, pos: 1, attempt: 1 } });
        expect((await one.read(id, START, 10)).map((e) => e.event.seq)).toEqual([1, 2, 3]);
      }
      const fresh = newJobId();
      await one.append(fresh, { event: status, attempt: 1, firstEvent: true });
      expect(await one.streamOf(fresh)).toBe('JOBSTREAM_EVENTS');
      expect(await Promise.all(ids.map((id) => one.streamOf(id)))).toEqual(before);
      // partition 0 takes the whole JETSTREAM_MAX_BYTES now; nothing else of any stream changes
      expect(warnings.filter((w) => /reconciled/.test(w))).toEqual([
        `stream JOBSTREAM_EVENTS reconciled with the configuration: max_bytes: ${Math.floor(1024 ** 3 / 3)} → ${1024 ** 3}`,
      ]);
    } finally {
      await one.close();
    }
    // and logs opened with the old N again find the jobs; the second one finds every stream as configured
    for (const round of [1, 2]) {
      warnings.length = 0;
      const again = await JetStreamEventLog.create({
        servers: nats.url,
        retentionMs: 3_600_000,
        partitions: 3,
        logger: { warn: (m) => warnings.push(m), info: (m) => warnings.push(m) },
      });
      try {
        for (const id of ids) expect((await again.last(id))?.event.seq).toBe(3);
        expect(warnings.filter((w) => /reconciled/.test(w))).toHaveLength(round === 1 ? 1 : 0);
      } finally {
        await again.close();
      }
    }
  });

  it('finds jobs in streams a process with a higher N made after it started (a rollout of a new N)', async () => {
    const fresh = await startNats();
    try {
      const old = await JetStreamEventLog.create({ servers: fresh.url, retentionMs: 3_600_000 });
      const next = await JetStreamEventLog.create({ servers: fresh.url, retentionMs: 3_600_000, partitions: 3 });
      try {
        let id = newJobId();
        while (partitionOf(id, 3) === 0) id = newJobId();
        await next.append(id, { event: status, attempt: 1, firstEvent: true });
        expect((await old.last(id))?.event.seq).toBe(1);
        expect(await old.streamOf(id)).toBe(eventPartition(partitionOf(id, 3)).stream);
        await old.append(id, { event: token('from the old process'), attempt: 1 });
        expect((await next.read(id, START, 10)).map((e) => e.event.seq)).toEqual([1, 2]);
      } finally {
        await Promise.all([old.close(), next.close()]);
      }
    } finally {
      await fresh.destroy();
    }
  });

  it('refuses a partition count outside 1..64 before connecting', async () => {
    for (const partitions of [0, 65, 1.5]) {
      await expect(JetStreamEventLog.create({ servers: nats.url, retentionMs: 1_000, partitions })).rejects.toThrow(
        /partitions must be an integer from 1 to 64/,
      );
    }
  });
});
