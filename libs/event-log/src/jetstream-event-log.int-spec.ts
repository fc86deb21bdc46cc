import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { connect, type Msg } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { EVENTS_STREAM, START, ZERO_USAGE, eventsSubject, newJobId } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import {
  EventLogUnavailableError,
  JobLogClosedError,
  jobIdOf,
  seqOf,
  typeOf,
  type LoggedEvent,
} from './event-log.port.js';
import { JetStreamEventLog, liveSubject } from './jetstream-event-log.js';
import { StoredEvent } from './stored-event.js';
import { eventLogConformance } from './testing/event-log.conformance.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

// Every handle is a separate driver with its own connection: the suite's two appenders are two processes.
eventLogConformance(
  'jetstream',
  // a small log keeps a small reserve for terminal events (the default, 5 %, is for logs of gigabytes)
  async ({ retentionMs, maxBytes }) =>
    JetStreamEventLog.create({
      servers: nats.url,
      retentionMs,
      ...(maxBytes !== undefined ? { maxBytes, reserveBytes: 128 * 1024 } : {}),
    }),
  {
    // What a failover that lost acknowledged writes leaves: the job's subject holds only its first `keepSeq` events.
    // (Rebuilt by purge + publish: nats-server 2.9.10's last_by_subj misses a subject whose newest messages were
    // deleted one by one.)
    rollback: async (log, jobId, keepSeq) => {
      const nc = await connect({ servers: nats.url });
      try {
        const jsm = await jetstreamManager(nc);
        const kept = (await log.read(jobId, START, 10_000)).filter((e) => e.event.seq <= keepSeq);
        await jsm.streams.purge(EVENTS_STREAM, { filter: eventsSubject(jobId) });
        for (const e of kept)
          await jetstream(nc).publish(eventsSubject(jobId), new TextEncoder().encode(JSON.stringify(e.event)));
      } finally {
        await nc.close();
      }
    },
  },
);

describe('JetStreamEventLog specifics', () => {
  const token = (text: string) => ({ type: 'token' as const, text });

  it("appends after a right lastEvent hint without looking the job's last event up (the worker's first append)", async () => {
    const api = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const worker = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const job = newJobId();
    const queued = await api.append(job, { event: token('queued'), attempt: 1, firstEvent: true });
    const last = jest.spyOn(worker, 'last');
    const lastEvent = { seq: queued.event.seq, pos: queued.pos, attempt: 1 };
    expect((await worker.append(job, { event: token('running'), attempt: 1, lastEvent })).event.seq).toBe(2);
    expect((await worker.append(job, { event: token('next'), attempt: 1 })).event.seq).toBe(3);
    expect(last).not.toHaveBeenCalled();
    // a stale one costs the lookup, never a seq
    const other = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const lookups = jest.spyOn(other, 'last');
    expect((await other.append(job, { event: token('late'), attempt: 1, lastEvent })).event.seq).toBe(4);
    expect(lookups).toHaveBeenCalled();
    expect((await api.read(job, START, 10)).map((e) => e.event.seq)).toEqual([1, 2, 3, 4]);
    await Promise.all([api.close(), worker.close(), other.close()]);
  });

  it('reads the same through the stream leader (leaderReads, the default with replicas > 1) as through direct gets', async () => {
    const leader = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, leaderReads: true });
    const direct = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, leaderReads: false });
    const job = newJobId();
    for (let i = 1; i <= 70; i++) await leader.append(job, { event: token(`${i} `), attempt: 1 });
    for (const log of [leader, direct]) {
      expect((await log.first(job))?.event.seq).toBe(1);
      expect((await log.last(job))?.event.seq).toBe(70);
      expect((await log.read(job, START, 100)).map((e) => e.event.seq)).toEqual(
        Array.from({ length: 70 }, (_, i) => i + 1),
      );
      const some = await log.read(job, START, 10);
      expect((await log.read(job, { seq: 10, pos: some[9]!.pos }, 5)).map((e) => e.event.seq)).toEqual([
        11, 12, 13, 14, 15,
      ]);
      expect(await log.last(newJobId())).toBeNull();
    }
    await Promise.all([leader.close(), direct.close()]);
  });

  it('reads a long replay page by page through ONE ordered consumer (openReader), dense, and releases it at the end', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const job = newJobId();
    // this job's consumers only (other tests' ephemeral consumers may still be going away; one going away at the
    // moment of the listing comes back as null)
    const consumers = async () =>
      (await jsm.consumers.list(EVENTS_STREAM).next()).filter((c) => c?.config?.filter_subject === eventsSubject(job))
        .length;
    const n = 1_050;
    for (let i = 1; i <= n; i++) await log.append(job, { event: token(`${i} `), attempt: 1 });
    // the server removes a consumer whose subscription is gone: wait for that (no fixed sleep)
    const released = async (want: number) => {
      const end = Date.now() + 20_000;
      while ((await consumers()) !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return consumers();
    };
    const base = await consumers();
    const reader = log.openReader(job);
    const got: number[] = [];
    let after = START;
    let peak = base;
    for (;;) {
      const page = await reader.read(after, 200);
      peak = Math.max(peak, await consumers());
      got.push(...page.map((e) => e.event.seq));
      if (page.length < 200) break;
      after = { seq: page.at(-1)!.event.seq, pos: page.at(-1)!.pos };
      if (got.length < n) expect(await consumers()).toBe(base + 1); // kept between pages
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(peak).toBe(base + 1);
    expect(await released(base)).toBe(base); // ended at the job's last event: released
    // a read that does not continue the previous one starts over; close releases the consumer
    expect((await reader.read({ seq: 100, pos: 0 }, 300)).map((e) => e.event.seq)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 101),
    );
    expect(await consumers()).toBe(base + 1);
    reader.close();
    expect((await reader.read({ seq: n - 3, pos: 0 }, 300)).map((e) => e.event.seq)).toEqual([n - 2, n - 1, n]); // short: direct gets
    expect(await released(base)).toBe(base);
    await nc.close();
    await log.close();
  }, 60_000);

  it('hands out events parsed lazily (seq, type, job id from the stored JSON) and reads Nats-Sequence from the republish headers', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const nc = await connect({ servers: nats.url });
    const job = newJobId();
    const raw: Msg[] = [];
    const rawSub = nc.subscribe(liveSubject(job), {
      callback: (_err, m) => {
        raw.push(m);
      },
    });
    await nc.flush();
    const live: LoggedEvent[] = [];
    const sub = await log.subscribe(job, (e) => live.push(e));
    const appended = [
      await log.append(job, { event: token('a "quoted" \\ \u2028 é 🙂'), attempt: 1, dedupId: 'x1' }),
      await log.append(job, { event: { type: 'done', usage: ZERO_USAGE, output: { text: 'ok' } }, attempt: 1 }),
    ];
    await waitFor(() => live.length === 2 && raw.length === 2);
    // the server's real republish headers carry the stream sequence the live events got
    expect(raw.map((m) => Number(m.headers!.get('Nats-Sequence')))).toEqual(appended.map((e) => e.pos));
    const read = await log.read(job, START, 10);
    for (const got of [live, read]) {
      expect(got.map((e) => [seqOf(e), typeOf(e), jobIdOf(e), e.pos])).toEqual(
        appended.map((e) => [e.event.seq, e.event.type, job, e.pos]),
      );
      expect(got.every((e) => e instanceof StoredEvent && !e.parsed)).toBe(true); // nothing parsed so far
      expect(got.map((e) => e.event)).toEqual(appended.map((e) => e.event));
    }
    sub.unsubscribe();
    rawSub.unsubscribe();
    await nc.close();
    await log.close();
  });

  it('configures the stream idempotently, with republish for live delivery; an old discard-old stream is updated', async () => {
    // the stream as earlier versions made it: 1 GiB, discard old
    const old = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(old);
    const had = await jsm.streams.info(EVENTS_STREAM).catch(() => null);
    if (had) await jsm.streams.update(EVENTS_STREAM, { ...had.config, discard: 'old' as never, max_bytes: 1024 ** 3 });
    else await jsm.streams.add({ name: EVENTS_STREAM, subjects: ['jobstream.events.*'], discard: 'old' as never });
    await old.close();
    const a = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, maxBytes: 64 * 1024 ** 2 });
    const b = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, maxBytes: 64 * 1024 ** 2 });
    const nc = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    expect(info.config).toMatchObject({
      subjects: ['jobstream.events.*'],
      storage: 'file',
      discard: 'new',
      max_age: 3_600_000 * 1e6,
      max_bytes: 64 * 1024 ** 2,
      allow_direct: true,
      republish: { src: 'jobstream.events.>', dest: 'jobstream.live.>' },
    });
    expect(info.config.duplicate_window).toBeLessThanOrEqual(info.config.max_age);
    await nc.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('returns the stored event for a retried dedup id even once the log is closed', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const other = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const job = newJobId();
    const done = { type: 'done' as const, usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'x' } };
    const a = await log.append(job, { event: token('a'), attempt: 1, dedupId: 'd1' });
    const end = await log.append(job, { event: done, attempt: 1, dedupId: 'd2' });
    // a second process (cold cache) retries both appends
    expect(await other.append(job, { event: token('a'), attempt: 1, dedupId: 'd1' })).toEqual(a);
    expect(await other.append(job, { event: done, attempt: 1, dedupId: 'd2' })).toEqual(end);
    await expect(other.append(job, { event: token('late'), attempt: 1, dedupId: 'd3' })).rejects.toBeInstanceOf(
      JobLogClosedError,
    );
    expect((await log.read(job, START, 10)).map((e) => e.event.seq)).toEqual([1, 2]);
    await Promise.all([log.close(), other.close()]);
  });

  it('reads a long log in pages that agree with the positions appends returned', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const job = newJobId();
    const noise = newJobId();
    const appended = [];
    for (let i = 0; i < 300; i++) {
      appended.push(await log.append(job, { event: token(`${i}`), attempt: 1 }));
      if (i % 10 === 0) await log.append(noise, { event: token('n'), attempt: 1 });
    }
    const pages = [];
    let after = START;
    for (;;) {
      const page = await log.read(job, after, 128);
      if (page.length === 0) break;
      pages.push(page.length);
      const lastOf = page[page.length - 1]!;
      after = { seq: lastOf.event.seq, pos: lastOf.pos };
    }
    expect(pages).toEqual([128, 128, 44]);
    // an anchor by seq only (pos 0) is honored
    const tail = await log.read(job, { seq: 295, pos: 0 }, 100);
    expect(tail.map((e) => e.event.seq)).toEqual([296, 297, 298, 299, 300]);
    expect(tail.map((e) => e.pos)).toEqual(appended.slice(295).map((e) => e.pos));
    await log.close();
  });

  it('maps an outage to EventLogUnavailableError and works again after the server restarts', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, timeoutMs: 500 });
    const job = newJobId();
    await log.append(job, { event: token('before'), attempt: 1 });
    await nats.stop('SIGKILL');
    for (const call of [
      () => log.append(job, { event: token('during'), attempt: 1, dedupId: 'during' }),
      () => log.last(job),
      () => log.read(job, START, 10),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(EventLogUnavailableError);
    }
    await nats.restart();
    // the same instance reconnects by itself; the retried append (same dedup id) lands once
    const appended = await waitFor(
      () =>
        log.append(job, { event: token('during'), attempt: 1, dedupId: 'during' }).catch((err: unknown) => {
          expect(err).toBeInstanceOf(EventLogUnavailableError);
          return null;
        }),
      { intervalMs: 100, message: 'an append to succeed after NATS restarted' },
    );
    expect(appended.event.seq).toBe(2);
    expect((await log.read(job, START, 10)).map((e) => e.event.seq)).toEqual([1, 2]);
    await log.close();
  });

  it('fails fast with EventLogUnavailableError when no server answers', async () => {
    await expect(JetStreamEventLog.create({ servers: '127.0.0.1:1', retentionMs: 1000 })).rejects.toBeInstanceOf(
      EventLogUnavailableError,
    );
  });
});
