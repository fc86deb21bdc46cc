import { describe, expect, it } from '@jest/globals';
import { headers, type Msg, type MsgCallback, type NatsConnection } from '@nats-io/transport-node';
import { ackReplyInfo, pullNoWait } from './no-wait-pull.js';

/** A connection whose server answers each pull with `answer(batch)` on the pull's inbox (real JetStream shapes). */
function answering(answer: (batch: number) => Partial<Msg>[]) {
  const subs = new Map<string, MsgCallback<Msg>>();
  const sent: [string, string][] = [];
  const nc = {
    subscribe: (subject: string, opts: { callback: MsgCallback<Msg> }) => {
      subs.set(subject, opts.callback);
      return { unsubscribe: () => subs.delete(subject) };
    },
    publish: (subject: string, data: string | Uint8Array, opts?: { reply?: string }) => {
      sent.push([subject, typeof data === 'string' ? data : new TextDecoder().decode(data)]);
      if (!opts?.reply) return;
      const cb = subs.get(opts.reply);
      const { batch } = JSON.parse(String(data)) as { batch: number };
      queueMicrotask(() => {
        for (const m of answer(batch)) void cb?.(null, { subject: opts.reply, data: new Uint8Array(), ...m } as Msg);
      });
    },
  } as unknown as NatsConnection;
  return { nc, subs, sent };
}

const delivery = (sseq: number, delivered = 1): Partial<Msg> => ({
  data: new TextEncoder().encode(`job_${sseq}`),
  reply: `$JS.ACK.S.C.${delivered}.${sseq}.${sseq}.1700000000000000000.0`,
});

describe('ackReplyInfo', () => {
  it('reads the delivery count and stream sequence of both reply subject shapes, null for anything else', () => {
    expect(ackReplyInfo('$JS.ACK.S.C.3.42.7.1700000000000000000.0')).toEqual({ deliveries: 3, seq: 42 });
    expect(ackReplyInfo('$JS.ACK.dom.acc.S.C.2.43.8.1700000000000000000.0.tok')).toEqual({ deliveries: 2, seq: 43 });
    for (const bad of ['_INBOX.x', '$JS.ACK.S.C.1.x.7.1.3', '$JS.ACK.S.C.1.2.3', ''])
      expect(ackReplyInfo(bad)).toBeNull();
  });
});

describe('pullNoWait', () => {
  it('takes what is there and ends on "no messages" at once; acks, naks and progress go to the reply subject', async () => {
    const { nc, subs, sent } = answering(() => [delivery(5), delivery(6, 2), { headers: headers(404, 'No Messages') }]);
    const got = await pullNoWait(nc, 'S', 'C', 10, 5_000);
    expect(got.map((m) => [m.seq, m.deliveries, new TextDecoder().decode(m.data)])).toEqual([
      [5, 1, 'job_5'],
      [6, 2, 'job_6'],
    ]);
    expect(sent[0]).toEqual(['$JS.API.CONSUMER.MSG.NEXT.S.C', '{"batch":10,"no_wait":true}']);
    expect(subs.size).toBe(0);
    got[0]!.ack();
    got[1]!.nak(1_000);
    got[1]!.working();
    expect(sent.slice(1).map(([, d]) => d)).toEqual(['+ACK', '-NAK {"delay":1000000000}', '+WPI']);
  });

  it('ends when the batch is full, and rejects a status other than 404 / 408 (no such consumer)', async () => {
    const full = answering((batch) => Array.from({ length: batch }, (_, i) => delivery(i + 1)));
    expect(await pullNoWait(full.nc, 'S', 'C', 2, 5_000)).toHaveLength(2);
    const none = answering(() => [{ headers: headers(503, 'No Responders') }]);
    await expect(pullNoWait(none.nc, 'S', 'C', 1, 5_000)).rejects.toThrow(/503/);
    const closed = {
      subscribe: () => {
        throw new Error('closed connection');
      },
    } as unknown as NatsConnection;
    await expect(pullNoWait(closed, 'S', 'C', 1, 5_000)).rejects.toThrow(/closed/);
  });
});
