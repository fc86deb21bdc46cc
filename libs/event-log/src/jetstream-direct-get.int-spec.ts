import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, Empty, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { jsApiError, natsErrorLabel } from '@jobstream/nats';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { JetStreamDirectGet, type DirectQuery } from './jetstream-direct-get.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

// The lean direct get of the event log's single-event reads against a real nats-server: found / not found by seq,
// last_by_subj and next_by_subj, the reply's sequence behind the stored message's own headers, statuses, no
// responders, timeouts, a dead connection and a closed one.
const STREAM = 'GETTEST';
const enc = new TextEncoder();
let nats: RunningNats;
let admin: NatsConnection;
let pub: JetStreamPublisher;
let n = 0;
const subject = () => `gettest.s${++n}`;
const code = (err: unknown) => natsErrorLabel(err);
const event = (job: string, seq: number, text: string) =>
  JSON.stringify({ job_id: job, seq, ts: '2026-01-01T00:00:00.000Z', attempt: 1, type: 'token', text });

beforeAll(async () => {
  nats = await startNats();
  admin = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: STREAM, subjects: ['gettest.>'], allow_direct: true });
  pub = new JetStreamPublisher(admin, 5_000);
});
afterAll(async () => {
  await admin.close();
  await nats.destroy();
});

async function getter(timeoutMs = 5_000, stream = STREAM, leader = false) {
  const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  return { nc, get: new JetStreamDirectGet(nc, stream, timeoutMs, leader) };
}

/** Appends events 1..count to a fresh subject the way the event log does (with its headers). */
async function job(count: number) {
  const s = subject();
  const pos: number[] = [];
  for (let i = 1; i <= count; i++) {
    const ack = await pub.publish(s, enc.encode(event(s, i, `t${i}`)), {
      msgID: `${s}:${i}`,
      lastSubjectSequence: pos.at(-1) ?? 0,
    });
    pos.push(ack.seq);
    await pub.publish(subject(), enc.encode(event('other', 1, 'x'))); // interleaved: positions are not dense
  }
  return { s, pos };
}

describe('JetStreamDirectGet', () => {
  it('gets by seq, last_by_subj and next_by_subj: the stored JSON with its stream sequence', async () => {
    const { nc, get } = await getter();
    const { s, pos } = await job(3);
    const bySeq = await get.get({ seq: pos[1]! });
    expect([bySeq?.json, bySeq?.pos, bySeq?.seq, bySeq?.jobId]).toEqual([event(s, 2, 't2'), pos[1], 2, s]);
    const last = await get.get({ last_by_subj: s });
    expect([last?.pos, last?.seq, last?.event]).toEqual([pos[2], 3, JSON.parse(event(s, 3, 't3'))]);
    const first = await get.get({ next_by_subj: s, seq: 1 });
    expect([first?.pos, first?.seq]).toEqual([pos[0], 1]);
    const next = await get.get({ next_by_subj: s, seq: pos[0]! + 1 });
    expect([next?.pos, next?.seq]).toEqual([pos[1], 2]);
    expect(get.inFlight).toBe(0);
    await nc.close();
  });

  it('answers null when there is no such message (404)', async () => {
    const { nc, get } = await getter();
    const { s, pos } = await job(1);
    expect(await get.get({ last_by_subj: 'gettest.never' })).toBeNull();
    expect(await get.get({ next_by_subj: 'gettest.never', seq: 1 })).toBeNull();
    expect(await get.get({ next_by_subj: s, seq: pos[0]! + 1 })).toBeNull();
    expect(await get.get({ seq: 10_000_000 })).toBeNull();
    await nc.close();
  });

  it("reads the server's Nats-Sequence even when the stored message carries one of its own", async () => {
    const { nc, get } = await getter();
    const s = subject();
    const h = headers();
    h.set('Nats-Sequence', '999999');
    h.set('X-Other', 'y');
    const ack = await jetstream(admin).publish(s, enc.encode(event(s, 1, 'own')), { headers: h });
    const e = await get.get({ last_by_subj: s });
    expect([e?.pos, e?.seq]).toEqual([ack.seq, 1]);
    await nc.close();
  });

  it('matches many concurrent gets to their replies (one inbox, replies matched by token)', async () => {
    const { nc, get } = await getter();
    const { s, pos } = await job(20);
    const got = await Promise.all([...pos.map((p) => get.get({ seq: p })), get.get({ last_by_subj: 'gettest.none' })]);
    expect(got.map((e) => e?.seq ?? null)).toEqual([...pos.map((_, i) => i + 1), null]);
    expect(got.slice(0, -1).every((e) => e?.jobId === s)).toBe(true);
    await nc.close();
  });

  it('gets no answer for a stream that does not exist (the JetStream API takes the subject): a timeout', async () => {
    const { nc, get } = await getter(300, 'NOSUCHSTREAM');
    expect(code(await get.get({ seq: 1 }).catch((e: unknown) => e))).toBe('TIMEOUT');
    await nc.close();
  });

  it('maps statuses as nats.js does (408 → code 408, 503 → no responders), and a reply without a sequence is an error', async () => {
    const { nc, get } = await getter(5_000, 'FAKE');
    let answer: 'status' | 'none' | 'bare' = 'status';
    const fake = admin.subscribe('$JS.API.DIRECT.GET.FAKE', {
      callback: (_err, m) => {
        if (answer === 'bare') m.respond(enc.encode('{}'));
        else
          m.respond(Empty, {
            headers: answer === 'status' ? headers(408, 'Request Timeout') : headers(503, 'No Responders'),
          });
      },
    });
    await admin.flush();
    const err = await get.get({ seq: 1 }).catch((e: unknown) => e);
    expect([code(err), (err as Error).message]).toEqual(['408', 'Request Timeout']);
    answer = 'none';
    expect(code(await get.get({ seq: 1 }).catch((e: unknown) => e))).toBe('503');
    answer = 'bare';
    expect(await get.get({ seq: 1 }).catch((e: unknown) => e)).toBeInstanceOf(Error);
    fake.unsubscribe();
    await nc.close();
  });

  it('times out a get nobody answers, and goes on working', async () => {
    const { nc, get } = await getter(300, 'SILENT');
    const silent = admin.subscribe('$JS.API.DIRECT.GET.SILENT', { callback: () => {} });
    await admin.flush();
    expect(code(await get.get({ seq: 1 }).catch((e: unknown) => e))).toBe('TIMEOUT');
    expect(get.inFlight).toBe(0);
    silent.unsubscribe();
    await nc.close();
  });

  it('fails a get pending on a dead connection with a timeout (no hang), and works again after the reconnect', async () => {
    const { nc, get } = await getter(300);
    const { s, pos } = await job(1);
    expect((await get.get({ last_by_subj: s }))?.pos).toBe(pos[0]);
    await nats.stop('SIGKILL');
    const err = await get.get({ last_by_subj: s }).catch((e: unknown) => e);
    expect(code(err)).toBe('TIMEOUT');
    await nats.restart();
    // the inbox subscription is re-made by the client's reconnect: replies arrive again
    const after = await waitFor(
      () =>
        get.get({ last_by_subj: s }).catch((e: unknown) => {
          expect(code(e)).toMatch(/^(TIMEOUT|503)$/);
          return null;
        }),
      { intervalMs: 100, message: 'a get to be answered after the restart' },
    );
    expect(after.pos).toBe(pos[0]);
    await nc.close();
    await waitFor(async () => !admin.isClosed() && (await admin.flush().then(() => true)), { retryErrors: true });
  });

  it('fails what is pending when the connection closes, and refuses gets after close()', async () => {
    const { nc, get } = await getter(60_000, 'CLOSING');
    const silent = admin.subscribe('$JS.API.DIRECT.GET.CLOSING', { callback: () => {} });
    await admin.flush();
    const pending = get.get({ seq: 1 }).catch((e: unknown) => e);
    await waitFor(() => get.inFlight === 1);
    await nc.close();
    expect(code(await pending)).toBe('CONNECTION_CLOSED');
    expect(get.inFlight).toBe(0);
    silent.unsubscribe();

    const other = await getter();
    other.get.close();
    expect(code(await other.get.get({ seq: 1 }).catch((e: unknown) => e))).toBe('CONNECTION_CLOSED');
    await other.nc.close();
  });
});

describe('JetStreamDirectGet from the stream leader (STREAM.MSG.GET, leaderReads)', () => {
  it('gets by seq, last_by_subj and next_by_subj, and answers null when there is no such message', async () => {
    const { nc, get } = await getter(5_000, STREAM, true);
    const { s, pos } = await job(3);
    const bySeq = await get.get({ seq: pos[1]! });
    expect([bySeq?.json, bySeq?.pos, bySeq?.seq, bySeq?.jobId]).toEqual([event(s, 2, 't2'), pos[1], 2, s]);
    const last = await get.get({ last_by_subj: s });
    expect([last?.pos, last?.seq]).toEqual([pos[2], 3]);
    const next = await get.get({ next_by_subj: s, seq: pos[0]! + 1 });
    expect([next?.pos, next?.seq]).toEqual([pos[1], 2]);
    expect(await get.get({ last_by_subj: 'gettest.never' })).toBeNull();
    expect(await get.get({ next_by_subj: s, seq: pos[2]! + 1 })).toBeNull();
    expect(await get.get({ seq: 10_000_000 })).toBeNull();
    const many = await Promise.all(pos.map((p) => get.get({ seq: p })));
    expect(many.map((e) => e?.seq)).toEqual([1, 2, 3]);
    await nc.close();
  });

  it('rejects other JetStream errors with their api_error; a stream that does not exist is a 404 (null)', async () => {
    const { nc, get } = await getter(5_000, STREAM, true);
    // both a sequence and a subject: the server refuses the request (400, err_code 10003 "bad request")
    const bad = { last_by_subj: 'gettest.x', seq: 5 } as unknown as DirectQuery;
    const err = await get.get(bad).catch((e: unknown) => e);
    expect([jsApiError(err)?.code, jsApiError(err)?.err_code]).toEqual([400, 10003]);
    await nc.close();
    const none = await getter(5_000, 'NOSUCHSTREAM', true);
    // a JSON 404 (err_code 10059 "stream not found") is not found, as the log's callers took nats.js's 404 before
    expect(await none.get.get({ seq: 1 })).toBeNull();
    await none.nc.close();
  });
});
