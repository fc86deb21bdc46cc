import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, InvalidArgumentError, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { jsApiError, natsErrorLabel } from '@jobstream/nats';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

// The lean publish of the event log's appends against a real nats-server: acks, the headers' effects (fencing,
// dedup), JetStream errors, no responders, timeouts, a dead connection and a closed one.
const STREAM = 'PUBTEST';
const enc = new TextEncoder();
const dec = new TextDecoder();
let nats: RunningNats;
let admin: NatsConnection;
let n = 0;
const subject = () => `pubtest.s${++n}`;
const code = (err: unknown) => natsErrorLabel(err);

beforeAll(async () => {
  nats = await startNats();
  admin = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: STREAM, subjects: ['pubtest.>'], duplicate_window: 60_000_000_000 });
});
afterAll(async () => {
  await admin.close();
  await nats.destroy();
});

async function publisher(timeoutMs = 5_000) {
  const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  return { nc, pub: new JetStreamPublisher(nc, timeoutMs) };
}

describe('JetStreamPublisher', () => {
  it('resolves with the stream sequence of the stored message, and its headers reach the server', async () => {
    const { nc, pub } = await publisher();
    const s = subject();
    const a = await pub.publish(s, enc.encode('one'), { msgID: 'm-1', lastSubjectSequence: 0 });
    expect(a).toEqual({ stream: STREAM, seq: expect.any(Number), duplicate: false });
    const stored = (await (await jetstreamManager(admin)).streams.getMessage(STREAM, { seq: a.seq }))!;
    expect(stored.subject).toBe(s);
    expect(dec.decode(stored.data)).toBe('one');
    expect(stored.header.get('Nats-Msg-Id')).toBe('m-1');
    expect(stored.header.get('Nats-Expected-Last-Subject-Sequence')).toBe('0');
    // no options: no headers at all
    const b = await pub.publish(s, enc.encode('two'));
    expect(b.seq).toBeGreaterThan(a.seq);
    expect(pub.inFlight).toBe(0);
    await nc.close();
  });

  it('enforces the expected last subject sequence: a wrong one is refused with err_code 10071', async () => {
    const { nc, pub } = await publisher();
    const s = subject();
    const first = await pub.publish(s, enc.encode('1'), { lastSubjectSequence: 0 });
    const err = await pub.publish(s, enc.encode('x'), { lastSubjectSequence: 0 }).catch((e: unknown) => e);
    expect([jsApiError(err)?.code, jsApiError(err)?.err_code]).toEqual([400, 10071]);
    const second = await pub.publish(s, enc.encode('2'), { lastSubjectSequence: first.seq });
    expect(second.seq).toBeGreaterThan(first.seq);
    // the refused one was not stored
    const last = (await (await jetstreamManager(admin)).streams.getMessage(STREAM, { last_by_subj: s }))!;
    expect(dec.decode(last.data)).toBe('2');
    await nc.close();
  });

  it('answers a duplicate msgID with the first message sequence and duplicate: true, before checking expectations', async () => {
    const { nc, pub } = await publisher();
    const s = subject();
    const a = await pub.publish(s, enc.encode('a'), { msgID: `${s}:1`, lastSubjectSequence: 0 });
    const again = await pub.publish(s, enc.encode('a'), { msgID: `${s}:1`, lastSubjectSequence: a.seq });
    expect(again).toEqual({ stream: STREAM, seq: a.seq, duplicate: true });
    // an expectation that can never hold still gets the duplicate answer (the closed-log probe relies on it)
    const probe = await pub.publish(s, enc.encode('a'), {
      msgID: `${s}:1`,
      lastSubjectSequence: Number.MAX_SAFE_INTEGER,
    });
    expect(probe).toEqual({ stream: STREAM, seq: a.seq, duplicate: true });
    await nc.close();
  });

  it('keeps many concurrent publishes on different subjects apart (one inbox, acks matched by token)', async () => {
    const { nc, pub } = await publisher();
    const subjects = Array.from({ length: 200 }, () => subject());
    const acks = await Promise.all(subjects.map((s, i) => pub.publish(s, enc.encode(String(i)))));
    const jsm = await jetstreamManager(admin);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200);
    for (const i of [0, 57, 133, 199]) {
      const m = (await jsm.streams.getMessage(STREAM, { seq: acks[i]!.seq }))!;
      expect([m.subject, dec.decode(m.data)]).toEqual([subjects[i], String(i)]);
    }
    await nc.close();
  });

  it('rejects a header value that would break the header block, sending nothing', async () => {
    const { nc, pub } = await publisher();
    const err = await pub.publish(subject(), enc.encode('x'), { msgID: 'a\r\nb' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(pub.inFlight).toBe(0);
    await nc.close();
  });

  it('fails with 503 (no responders) when no stream takes the subject', async () => {
    const { nc, pub } = await publisher();
    const err = await pub.publish('nostream.here', enc.encode('x')).catch((e: unknown) => e);
    expect(code(err)).toBe('503');
    await nc.close();
  });

  it('times out a publish nobody acknowledges, and goes on working', async () => {
    const { nc, pub } = await publisher(300);
    // a core subscriber takes the message (so no "no responders") and never answers
    const silent = admin.subscribe('silent.sink', { callback: () => {} });
    await admin.flush();
    const err = await pub.publish('silent.sink', enc.encode('x')).catch((e: unknown) => e);
    expect(code(err)).toBe('TIMEOUT');
    expect(pub.inFlight).toBe(0);
    expect((await pub.publish(subject(), enc.encode('after'))).duplicate).toBe(false);
    silent.unsubscribe();
    await nc.close();
  });

  it('fails a publish pending on a dead connection with a timeout (no hang), and works again after the reconnect', async () => {
    const { nc, pub } = await publisher(300);
    const s = subject();
    await pub.publish(s, enc.encode('before'));
    await nats.stop('SIGKILL');
    const err = await pub.publish(s, enc.encode('during')).catch((e: unknown) => e);
    expect(code(err)).toBe('TIMEOUT');
    await nats.restart();
    // the inbox subscription is re-made by the client's reconnect: acks arrive again
    const after = await waitFor(
      () =>
        pub.publish(s, enc.encode('after'), { msgID: `${s}:after` }).catch((e: unknown) => {
          expect(code(e)).toMatch(/^(TIMEOUT|503)$/);
          return null;
        }),
      { intervalMs: 100, message: 'a publish to be acknowledged after the restart' },
    );
    expect(after.stream).toBe(STREAM);
    await nc.close();
    // admin reconnects by itself too
    await waitFor(async () => !admin.isClosed() && (await admin.flush().then(() => true)), { retryErrors: true });
  });

  it('fails what is pending when the connection closes, and refuses publishes after close()', async () => {
    const { nc, pub } = await publisher(60_000);
    const silent = admin.subscribe('silent.closing', { callback: () => {} });
    await admin.flush();
    const pending = pub.publish('silent.closing', enc.encode('x')).catch((e: unknown) => e);
    await waitFor(() => pub.inFlight === 1);
    await nc.close();
    expect(code(await pending)).toBe('CONNECTION_CLOSED');
    expect(pub.inFlight).toBe(0);
    silent.unsubscribe();

    const other = await publisher();
    other.pub.close();
    const refused = await other.pub.publish(subject(), enc.encode('x')).catch((e: unknown) => e);
    expect(code(refused)).toBe('CONNECTION_CLOSED');
    await other.nc.close();
  });

  it('lets publishes already sent finish after close() on a shared connection', async () => {
    const { nc, pub } = await publisher();
    const sent = pub.publish(subject(), enc.encode('x'));
    pub.close();
    expect((await sent).stream).toBe(STREAM);
    expect(pub.inFlight).toBe(0);
    await nc.close();
  });
});
