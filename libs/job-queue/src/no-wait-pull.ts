/**
 * A `no_wait` pull from a durable pull consumer (`$JS.API.CONSUMER.MSG.NEXT`) on the public core client API:
 * the messages there now, answered at once (nats.js v3's `fetch` has no `no_wait`). Details: docs/internals.md.
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** A message delivered by a pull, with what the job queue does with it. */
export interface PulledMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** Stream sequence. */
  readonly seq: number;
  /** How many times the server delivered it (1 the first time). */
  readonly deliveries: number;
  ack(): void;
  /** Ack, and wait for the server to confirm it. */
  ackAck(timeoutMs?: number): Promise<void>;
  /** Hand it back, to be delivered again after `delayMs` (at once without). */
  nak(delayMs?: number): void;
  /** Still working on it: restarts the ack wait. */
  working(): void;
}

const encoder = new TextEncoder();
const ACK = encoder.encode('+ACK');
const WPI = encoder.encode('+WPI');
const NAK = encoder.encode('-NAK');

/**
 * Delivered count and stream sequence from a `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
 * reply subject (or the newer one with `<domain>.<account>` first and a token last); null for anything else.
 */
export function ackReplyInfo(reply: string): { deliveries: number; seq: number } | null {
  if (!reply.startsWith('$JS.ACK.')) return null;
  const t = reply.split('.');
  const at = t.length === 9 ? 4 : t.length >= 12 ? 6 : -1;
  if (at < 0) return null;
  const deliveries = Number(t[at]);
  const seq = Number(t[at + 1]);
  return Number.isSafeInteger(deliveries) && Number.isSafeInteger(seq) && seq > 0 ? { deliveries, seq } : null;
}

function pulled(nc: NatsConnection, m: Msg, info: { deliveries: number; seq: number }): PulledMsg {
  const reply = m.reply!;
  return {
    subject: m.subject,
    data: m.data,
    headers: m.headers,
    seq: info.seq,
    deliveries: info.deliveries,
    ack: () => nc.publish(reply, ACK),
    ackAck: async (timeoutMs = 5_000) => {
      await nc.request(reply, ACK, { timeout: timeoutMs });
    },
    nak: (delayMs) =>
      nc.publish(reply, delayMs ? encoder.encode(`-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}`) : NAK),
    working: () => nc.publish(reply, WPI),
  };
}

/** Up to `batch` messages that `consumer` has now (nothing waits on the server). */
export function pullNoWait(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  batch: number,
  timeoutMs: number,
): Promise<PulledMsg[]> {
  return new Promise<PulledMsg[]>((resolve, reject) => {
    const out: PulledMsg[] = [];
    const inbox = createInbox();
    let sub: Subscription | null = null;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sub?.unsubscribe();
      } catch {
        /* the connection is closed already */
      }
      if (err && out.length === 0) reject(err);
      else resolve(out);
    };
    const onMsg = (m: Msg) => {
      const info = m.reply ? ackReplyInfo(m.reply) : null;
      if (info) {
        out.push(pulled(nc, m, info));
        if (out.length >= batch) finish();
        return;
      }
      const code = m.headers?.code ?? 0;
      if (code === 404 || code === 408) return finish();
      if (code === 100) return; // a heartbeat or flow control: not asked for
      finish(
        new Error(`pull from ${consumer}: ${code || 'unexpected message'} ${m.headers?.description ?? ''}`.trim()),
      );
    };
    try {
      sub = nc.subscribe(inbox, { callback: (err, m) => (err ? finish(err) : onMsg(m)) });
      timer = setTimeout(
        () => finish(new Error(`no answer to a pull from ${consumer} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch, no_wait: true }), {
        reply: inbox,
      });
    } catch (err) {
      finish(err as Error); // a closed connection
    }
  });
}
