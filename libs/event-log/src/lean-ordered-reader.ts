/**
 * A lean ordered push consumer for long replays (what nats.js's ordered consumer does, without its per-message
 * machinery), deleted when the replay ends. Details: docs/internals.md.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';

export interface LeanOrderedReaderOptions {
  stream: string;
  /** The subject the consumer is filtered on. */
  subject: string;
  /** First stream sequence to deliver (1 = from the start). */
  startSeq: number;
  /** Server idle heartbeat interval (ms); default 1000. */
  heartbeatMs?: number;
  /** No message for this long while heartbeats say the consumer is in sync: nothing left (ms); default 5000. */
  idleMs?: number;
  /** The server deletes the consumer after this long without interest (ms); default 60 000. */
  inactiveMs?: number;
}

/** Silence (no message, no heartbeat) for this many heartbeat intervals while waiting: the consumer is gone. */
export const MISSED_HEARTBEATS = 3;
/** Consumers recreated in a row without a message in between before giving up. */
const MAX_RECREATES = 5;

/** One delivered message (`data` null: a flow-control request to answer with `reply` once reached). */
interface Entry {
  data: Uint8Array | null;
  sseq: number;
  pending: number;
  reply: string;
  gen: number;
}

/** Sequences read from a JetStream reply subject (reused: one per reader). */
export interface AckInfo {
  sseq: number;
  dseq: number;
  pending: number;
}

/**
 * Reads the stream sequence, consumer sequence and pending count from a `$JS.ACK.…` reply subject into `out`;
 * false when the subject does not have either known shape. Digits are read in place (no split, no substrings).
 */
export function readAckReply(reply: string, out: AckInfo): boolean {
  if (!reply.startsWith('$JS.ACK.')) return false;
  // token boundaries from the end: the last 4 (v1) or 5 (v2) dots suffice; count all dots for the shape
  let dots = 0;
  for (let i = 0; i < reply.length; i++) if (reply.charCodeAt(i) === 0x2e) dots++;
  let tokensFromEnd: number; // index (from the end, 0 = last) of the pending token
  if (dots === 8) tokensFromEnd = 0;
  else if (dots >= 11) tokensFromEnd = 1;
  else return false;
  // walk back over tokens: [pending, ts, dseq, sseq] are tokens tokensFromEnd .. tokensFromEnd+3 from the end
  let end = reply.length;
  let k = 0;
  const nums = [0, 0, 0, 0]; // pending, (ts), dseq, sseq
  for (let i = reply.length - 1; i >= -1 && k < tokensFromEnd + 4; i--) {
    if (i >= 0 && reply.charCodeAt(i) !== 0x2e) continue;
    const idx = k - tokensFromEnd;
    if (idx >= 0 && idx !== 1) {
      // (idx 1 = the timestamp, in ns: not read)
      if (end - (i + 1) < 1 || end - (i + 1) > 15) return false;
      let v = 0;
      for (let j = i + 1; j < end; j++) {
        const c = reply.charCodeAt(j) - 0x30;
        if (c < 0 || c > 9) return false;
        v = v * 10 + c;
      }
      nums[idx] = v;
    }
    end = i;
    k++;
  }
  out.pending = nums[0]!;
  out.dseq = nums[2]!;
  out.sseq = nums[3]!;
  return true;
}

const ns = (ms: number) => Math.round(ms * 1_000_000);

export class LeanOrderedReader {
  private sub: Subscription | null = null;
  private name = '';
  /** Generation of the consumer (flow-control requests of an older one are not answered). */
  private gen = 0;
  private queue: Entry[] = [];
  private head = 0;
  /** Last message received from the current consumer (dseq) and from any (sseq: where a new one starts after). */
  private dseq = 0;
  private sseq: number;
  private lastSeen = Date.now();
  private lastData = Date.now();
  /** A heartbeat in sync and not stalled came after the last message: the server had nothing left to send. */
  private quiet = false;
  private recreates = 0;
  private recreating: Promise<void> | null = null;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly ack: AckInfo = { sseq: 0, dseq: 0, pending: 0 };
  private readonly hbMs: number;
  private readonly idleMs: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly opts: LeanOrderedReaderOptions,
  ) {
    this.sseq = opts.startSeq - 1;
    this.hbMs = opts.heartbeatMs ?? 1_000;
    this.idleMs = opts.idleMs ?? 5_000;
  }

  /** Creates the consumer; rejects with the JetStream API's or the connection's error. */
  static async open(nc: NatsConnection, jsm: JetStreamManager, opts: LeanOrderedReaderOptions) {
    const r = new LeanOrderedReader(nc, jsm, opts);
    await r.start();
    return r;
  }

  /** The consumer's name on the server (changes when it is recreated). */
  get consumerName(): string {
    return this.name;
  }

  /** Received and not yet handed out: messages, and whether a flow-control request waits among them. */
  get buffered(): { messages: number; flowControl: boolean } {
    let messages = 0;
    let flowControl = false;
    for (let i = this.head; i < this.queue.length; i++) {
      if (this.queue[i]!.data === null) flowControl = true;
      else messages++;
    }
    return { messages, flowControl };
  }

  /**
   * Hands the messages in order to `each` (data, stream sequence, pending after it) until it returns false (→ false),
   * or nothing is left (→ true: no message for `idleMs` while the consumer is alive and in sync, or the reader was
   * closed). Waits for messages when none is queued. Rejects when the consumer cannot be recreated.
   */
  async pull(each: (data: Uint8Array, sseq: number, pending: number) => boolean): Promise<boolean> {
    this.lastData = Date.now(); // idle = nothing during this pull
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closed) return true;
      const q = this.queue;
      while (this.head < q.length) {
        const e = q[this.head++]!;
        if (e.data === null) {
          if (e.gen === this.gen) this.respond(e.reply);
          continue;
        }
        if (!each(e.data, e.sseq, e.pending)) {
          if (this.head === q.length) this.reset();
          return false;
        }
      }
      this.reset();
      if (await this.waitForMore()) return true;
    }
  }

  /** Deletes the consumer (best effort) and drops the subscription; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drop();
    this.queue = [];
    this.head = 0;
    this.wake?.();
  }

  private reset(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Resolves true when nothing is left, false when something was queued (or a failure / close happened). */
  private waitForMore(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (ended: boolean) => {
        clearInterval(timer);
        this.wake = null;
        resolve(ended);
      };
      this.wake = () => done(false);
      const timer = setInterval(() => {
        const now = Date.now();
        if (this.recreating) return;
        if (now - this.lastSeen >= MISSED_HEARTBEATS * this.hbMs) {
          // neither messages nor heartbeats: the consumer is gone (deleted, server restarted) or the link is down
          if (++this.recreates > MAX_RECREATES) {
            this.fail(new Error(`consumer lost ${MAX_RECREATES} times without delivering`));
            done(false);
          } else this.recreate();
        } else if (this.quiet && now - this.lastData >= this.idleMs) done(true); // alive, in sync, nothing to send
      }, this.hbMs);
    });
  }

  private async start(): Promise<void> {
    const gen = ++this.gen;
    const inbox = createInbox();
    this.sub?.unsubscribe();
    this.sub = this.nc.subscribe(inbox, {
      callback: (err, m) => {
        if (!err) this.onMessage(m, gen);
      },
    });
    this.dseq = 0;
    this.quiet = false;
    this.lastSeen = Date.now();
    try {
      const info = await this.jsm.consumers.add(this.opts.stream, {
        deliver_subject: inbox,
        filter_subject: this.opts.subject,
        ack_policy: 'none' as never,
        max_deliver: 1,
        ...(this.sseq > 0
          ? { deliver_policy: 'by_start_sequence' as never, opt_start_seq: this.sseq + 1 }
          : { deliver_policy: 'all' as never }),
        flow_control: true,
        idle_heartbeat: ns(this.hbMs),
        mem_storage: true,
        num_replicas: 1,
        inactive_threshold: ns(this.opts.inactiveMs ?? 60_000),
      });
      if (this.closed || gen !== this.gen) this.deleteConsumer(info.name);
      else this.name = info.name;
    } catch (err) {
      if (gen === this.gen) {
        this.sub?.unsubscribe();
        this.sub = null;
      }
      throw err;
    }
    this.lastSeen = Date.now();
  }

  private recreate(): void {
    if (this.closed || this.recreating) return;
    this.drop();
    this.recreating = this.start()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.recreating = null;
      });
  }

  private drop(): void {
    this.gen++;
    try {
      this.sub?.unsubscribe();
    } catch {
      /* connection closed */
    }
    this.sub = null;
    if (this.name) this.deleteConsumer(this.name);
    this.name = '';
  }

  private deleteConsumer(name: string): void {
    if (this.nc.isClosed()) return;
    this.jsm.consumers.delete(this.opts.stream, name).catch(() => {
      /* gone already, or the server is away: inactive_threshold removes it */
    });
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
    this.wake?.();
  }

  private respond(reply: string): void {
    try {
      this.nc.publish(reply);
    } catch {
      /* connection closed: the consumer goes with it */
    }
  }

  private onMessage(m: Msg, gen: number): void {
    if (gen !== this.gen || this.closed) return;
    this.lastSeen = Date.now();
    const data = m.data;
    if (data.length === 0 && m.headers) {
      this.onStatus(m, gen);
      return;
    }
    const a = this.ack;
    if (!readAckReply(m.reply ?? '', a)) return; // not a JetStream delivery
    if (a.dseq !== this.dseq + 1) {
      this.recreate(); // a message was lost: start again after the last one received
      return;
    }
    this.dseq = a.dseq;
    this.sseq = a.sseq;
    this.lastData = this.lastSeen;
    this.quiet = false;
    this.recreates = 0;
    this.queue.push({ data, sseq: a.sseq, pending: a.pending, reply: '', gen });
    this.wake?.();
  }

  private onStatus(m: Msg, gen: number): void {
    const h = m.headers!;
    if (h.code !== 100) return;
    if (h.description === 'Idle Heartbeat') {
      const stalled = h.get('Nats-Consumer-Stalled');
      if (stalled && this.head >= this.queue.length) this.respond(stalled);
      const last = Number(h.get('Nats-Last-Consumer'));
      if (Number.isSafeInteger(last) && last !== this.dseq) this.recreate();
      else if (!stalled) this.quiet = true;
      return;
    }
    if (m.reply) {
      this.queue.push({ data: null, sseq: 0, pending: 0, reply: m.reply, gen });
      this.wake?.();
    }
  }
}
