import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { EVENTS_STREAM, START, eventsSubject, newJobId, type EventPosition } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { EventLogUnavailableError, type LoggedEvent } from './event-log.port.js';
import { JetStreamEventLog } from './jetstream-event-log.js';
import { LeanOrderedReader, readAckReply, type AckInfo } from './lean-ordered-reader.js';

const STREAM = 'LEANTEST';
let nats: RunningNats;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: ['leantest.*'] });
});
afterAll(async () => {
  await nc.close();
  await nats.destroy();
});

/** `n` messages of `size` bytes on a fresh subject; their stream sequences. */
async function fill(n: number, size = 1024): Promise<{ subject: string; seqs: number[] }> {
  const subject = `leantest.${newJobId()}`;
  const js = jetstream(nc);
  const seqs: number[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, (_, k) => {
      const body = new Uint8Array(size).fill(0x61);
      body.set(new TextEncoder().encode(String(i + k + 1)));
      return js.publish(subject, body);
    });
    seqs.push(...(await Promise.all(batch)).map((a) => a.seq));
  }
  return { subject, seqs };
}

const consumersOn = async (subject: string) =>
  (await jsm.consumers.list(STREAM).next()).filter((c) => c.config.filter_subject === subject).map((c) => c.name);

/** Pulls up to `max` stream sequences, stopping after the last pending one. */
async function take(r: LeanOrderedReader, max: number): Promise<{ seqs: number[]; drained: boolean }> {
  const seqs: number[] = [];
  const drained = await r.pull((_data, sseq, pending) => {
    seqs.push(sseq);
    return seqs.length < max && pending > 0;
  });
  return { seqs, drained };
}

describe('readAckReply', () => {
  it('reads the sequences of a real delivery (nats-server 2.9.10 reply subject) as nats.js does, and the newer shape', async () => {
    const { subject } = await fill(3, 16);
    const consumer = await jetstream(nc).consumers.get(STREAM, { filter_subjects: subject });
    const sub = await consumer.consume();
    const got: AckInfo[] = [];
    const want: AckInfo[] = [];
    for await (const m of sub) {
      const a = { sseq: 0, dseq: 0, pending: 0 };
      const reply = (m as unknown as { reply: string }).reply; // the JsMsg's reply subject (not in its type)
      expect(reply.split('.')).toHaveLength(9); // the 2.9 shape
      expect(readAckReply(reply, a)).toBe(true);
      got.push(a);
      want.push({ sseq: m.info.streamSequence, dseq: m.info.deliverySequence, pending: m.info.pending });
      if (m.info.pending === 0) break;
    }
    await sub.close();
    expect(got).toEqual(want);
    const a = { sseq: 0, dseq: 0, pending: 0 };
    expect(readAckReply('$JS.ACK.dom.acchash.S.C.1.42.7.1700000000000000000.3.tok', a)).toBe(true);
    expect(a).toEqual({ sseq: 42, dseq: 7, pending: 3 });
    for (const bad of ['_INBOX.x', '$JS.ACK.S.C.1.x.7.1.3', '$JS.ACK.S.C.1.2.3', ''])
      expect(readAckReply(bad, a)).toBe(false);
  });
});

describe('LeanOrderedReader', () => {
  it('stops the server at flow control while not read, resumes when read, dense, and deletes its consumer on close', async () => {
    const n = 4_000; // ~4 MB: more than the server sends before a flow-control request
    const { subject, seqs } = await fill(n);
    const r = await LeanOrderedReader.open(nc, jsm, { stream: STREAM, subject, startSeq: 1 });
    expect(await consumersOn(subject)).toEqual([r.consumerName]);
    // not read: the server sends up to a flow-control request, then waits for its answer
    await waitFor(() => r.buffered.flowControl, { message: 'a flow-control request' });
    const held = r.buffered.messages;
    expect(held).toBeLessThan(n);
    const info = await jsm.consumers.info(STREAM, r.consumerName);
    expect(info.num_pending).toBeGreaterThan(0);
    expect(info.delivered.consumer_seq).toBe(r.buffered.messages); // everything sent is still here, unread
    // read: answered as it is reached, the rest comes, in order
    const got: number[] = [];
    while (got.length < n) got.push(...(await take(r, 500)).seqs);
    expect(got).toEqual(seqs);
    r.close();
    await waitFor(async () => (await consumersOn(subject)).length === 0, { message: 'the consumer deleted' });
  }, 60_000);

  it('starts at a stream sequence and recreates its consumer after it was deleted server-side mid-replay', async () => {
    const n = 3_000;
    const { subject, seqs } = await fill(n);
    const r = await LeanOrderedReader.open(nc, jsm, {
      stream: STREAM,
      subject,
      startSeq: seqs[99]!,
      heartbeatMs: 200,
    });
    const first = r.consumerName;
    const got = (await take(r, 100)).seqs;
    await jsm.consumers.delete(STREAM, first);
    while (got.length < n - 99) got.push(...(await take(r, 700)).seqs);
    expect(got).toEqual(seqs.slice(99));
    expect(r.consumerName).not.toBe(first);
    r.close();
    await waitFor(async () => (await consumersOn(subject)).length === 0, { message: 'the consumer deleted' });
  }, 60_000);

  it('reports the end when nothing is left: an empty subject, or events purged mid-replay', async () => {
    const empty = await LeanOrderedReader.open(nc, jsm, {
      stream: STREAM,
      subject: `leantest.${newJobId()}`,
      startSeq: 1,
      heartbeatMs: 100,
      idleMs: 400,
    });
    expect(await take(empty, 10)).toEqual({ seqs: [], drained: true });
    empty.close();
    const { subject, seqs } = await fill(3_000);
    const r = await LeanOrderedReader.open(nc, jsm, {
      stream: STREAM,
      subject,
      startSeq: 1,
      heartbeatMs: 100,
      idleMs: 400,
    });
    const got = (await take(r, 10)).seqs;
    await jsm.streams.purge(STREAM, { filter: subject });
    for (;;) {
      const page = await take(r, 500);
      got.push(...page.seqs);
      if (page.drained) break;
    }
    expect(got.length).toBeLessThan(seqs.length);
    expect(got).toEqual(seqs.slice(0, got.length)); // what came before the purge, in order
    r.close();
  }, 60_000);
});

describe('JetStreamEventLog.openReader on the lean consumer', () => {
  const token = (text: string) => ({ type: 'token' as const, text });
  const pad = 'x'.repeat(1_000);

  async function job(log: JetStreamEventLog, n: number, text = (i: number) => `${i} `) {
    const id = newJobId();
    for (let i = 1; i <= n; i++) await log.append(id, { event: token(text(i)), attempt: 1 });
    return id;
  }
  // a consumer deleted while the server builds the list comes back as null: skip it
  const onJob = async (id: string) =>
    (await jsm.consumers.list(EVENTS_STREAM).next()).filter(
      (c) => (c as typeof c | null)?.config.filter_subject === eventsSubject(id),
    ).length;

  it('deletes its consumer at the end of the replay and on close; a job without events creates none', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const id = await job(log, 300);
    const reader = log.openReader(id);
    const page = await reader.read(START, 100);
    expect(page.map((e) => e.event.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await onJob(id)).toBe(1);
    const rest = await reader.read({ seq: 100, pos: page.at(-1)!.pos }, 1_000);
    expect(rest.map((e) => e.event.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 101));
    await waitFor(async () => (await onJob(id)) === 0, { message: 'deleted at the end' });
    expect((await reader.read({ seq: 10, pos: 0 }, 100)).length).toBe(100);
    expect(await onJob(id)).toBe(1);
    reader.close();
    await waitFor(async () => (await onJob(id)) === 0, { message: 'deleted on close' });
    // a close that overtakes the consumer's creation (the client left during the first read) leaves none
    const leaving = log.openReader(id);
    const first = leaving.read(START, 100);
    leaving.close();
    expect(await first).toEqual([]);
    await waitFor(async () => (await onJob(id)) === 0, { message: 'none left after an early close' });
    const none = newJobId();
    expect(await log.openReader(none).read(START, 500)).toEqual([]);
    expect(await onJob(none)).toBe(0);
    await log.close();
  }, 60_000);

  it('fails a replay cleanly (EventLogUnavailableError) while NATS is down and continues it, dense, after the restart', async () => {
    const log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, timeoutMs: 500 });
    const n = 3_000;
    const id = await job(log, n, (i) => `${i} ${pad}`);
    const reader = log.openReader(id);
    const got: LoggedEvent[] = [...(await reader.read(START, 100))];
    await nats.stop('SIGKILL');
    let failures = 0;
    let restarted = false;
    while (got.length < n) {
      const after: EventPosition = { seq: got.at(-1)!.event.seq, pos: got.at(-1)!.pos };
      try {
        got.push(...(await reader.read(after, 500)));
      } catch (err) {
        expect(err).toBeInstanceOf(EventLogUnavailableError);
        failures++;
        if (!restarted) {
          await nats.restart();
          restarted = true;
        }
      }
    }
    expect(failures).toBeGreaterThan(0);
    expect(got.map((e) => e.event.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    reader.close();
    await log.close();
  }, 90_000);
});
