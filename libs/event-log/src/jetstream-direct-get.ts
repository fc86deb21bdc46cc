/**
 * A lean JetStream direct get for the event log's single-event reads (`last`, `first`, short reads, the event of a
 * duplicate ack): what `jsm.direct.getMessage` does, without nats.js's per-request machinery.
 *
 * `jsm.direct.getMessage` is an `nc.request` through the connection's request mux: per get an `__awaiter`
 * generator, a `RequestOne` with a deferred and its own timeout timer, and after every successful request a
 * `NatsError('CANCELLED')` (with a stack) built to reject the already settled deferred; then the reply's headers
 * decoded into a map to read `Nats-Sequence`. The API makes one such get per catch-up step (cursor check, the live
 * hub's gap repair, short reads): ~6 % of its busy time under load, most of nats.js's error objects (issue 15).
 * Here, per get: one small JSON body, one map entry, one `nc.publish`; the replies come back on ONE wildcard inbox
 * subscription (`<inbox>.<token>`), one shared sweeper (an interval running only while gets are pending) fails the
 * ones not answered within the timeout, and the event is built from the reply's bytes and the `Nats-Sequence` value
 * read from the raw header block (as the live path does).
 *
 * The request and its answers, as nats-server 2.9.10 gives them (checked by jetstream-direct-get.int-spec.ts):
 * - `$JS.API.DIRECT.GET.<stream>` with `{"seq":n}`, `{"last_by_subj":s}` or `{"next_by_subj":s,"seq":n}`;
 * - found: the stored message (its payload; its own headers, then `Nats-Stream`, `Nats-Subject`, `Nats-Sequence`,
 *   `Nats-Time-Stamp` appended by the server: the LAST `Nats-Sequence` is the server's, as nats.js reads it);
 * - not found: a status `404 Message Not Found` without payload → resolves `null`;
 * - other statuses without payload (408, 400, …) reject as nats.js's `checkJsErrorCode` maps them; a `503` status
 *   (no responders: a server without JetStream) rejects with code `503`. A stream that does not exist (or does not
 *   allow direct gets) gets no answer at all: the server's JetStream API takes every `$JS.API.>` subject, so that
 *   is a timeout, as with `jsm.direct.getMessage`;
 * - no reply within the timeout rejects with code `TIMEOUT` (replies to gets sent before a disconnect are lost; the
 *   connection reconnects by itself and re-makes its subscriptions, this inbox included);
 * - a closed connection rejects at once and fails every pending get (`CONNECTION_CLOSED`).
 *
 * With `leader` (the log's `leaderReads`, on with replicas > 1: a replica catching up would answer with an old view)
 * the same queries go to `$JS.API.STREAM.MSG.GET.<stream>`, answered by the stream leader with JSON
 * (`{ message: { seq, data: base64 } }` or `{ error }`); a 404 error (no such message, and also no such stream, as
 * the log's callers took nats.js's 404 before) → null, other errors reject as nats.js maps them.
 */
import { createInbox, ErrorCode, NatsError, type Msg, type NatsConnection, type Subscription } from 'nats';
import { apiError } from './jetstream-publisher.js';
import { StoredEvent } from './stored-event.js';

/** The direct-get queries the event log uses. */
export type DirectQuery = { seq: number } | { last_by_subj: string } | { next_by_subj: string; seq: number };

interface Pending {
  resolve: (e: StoredEvent | null) => void;
  reject: (err: unknown) => void;
  deadline: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SEQ_HEADER = encoder.encode('\r\nNats-Sequence:');

/**
 * The value of the LAST `Nats-Sequence:` line of a header block `buf[0, end)` (the server appends its own after the
 * stored message's headers), or undefined when there is none or it is not a plain number.
 */
export function lastNatsSequenceIn(buf: Uint8Array, end: number): number | undefined {
  const n = SEQ_HEADER.length;
  let found: number | undefined;
  outer: for (let i = buf.indexOf(0x0d); i >= 0 && i + n <= end; i = buf.indexOf(0x0d, i + 1)) {
    for (let k = 1; k < n; k++) if (buf[i + k] !== SEQ_HEADER[k]) continue outer;
    let j = i + n;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    let v = 0;
    const from = j;
    for (; j < end && buf[j]! >= 0x30 && buf[j]! <= 0x39 && j - from < 16; j++) v = v * 10 + buf[j]! - 0x30;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    found = j === from || j - from > 15 || buf[j] !== 0x0d ? undefined : v;
  }
  return found;
}

/** `Nats-Sequence` of a direct-get reply: from the raw header block when nats.js exposes it, else its header map. */
function replySequence(m: Msg): number {
  const raw = m as unknown as { _rdata?: unknown; _msg?: { hdr?: unknown } };
  const buf = raw._rdata;
  const hdr = raw._msg?.hdr;
  if (buf instanceof Uint8Array && typeof hdr === 'number' && hdr > 0 && hdr <= buf.length) {
    const v = lastNatsSequenceIn(buf, hdr);
    if (v !== undefined) return v;
  }
  return Number(m.headers?.last('Nats-Sequence'));
}

interface MsgGetResponse {
  message?: { seq?: number; data?: string };
  error?: { code: number; err_code?: number; description?: string };
}

/**
 * A `STREAM.MSG.GET` reply (leader reads): `{ message: { seq, data: base64, … } }`, or `{ error }` — 404 / err_code
 * 10037 "no message found" → null, anything else rejects as nats.js maps it.
 */
function fromLeaderReply(data: Uint8Array): StoredEvent | null {
  const r = JSON.parse(decoder.decode(data)) as MsgGetResponse;
  if (r.error) {
    if (r.error.code === 404 || r.error.err_code === 10037) return null;
    throw apiError(r.error);
  }
  const seq = r.message?.seq;
  if (typeof seq !== 'number' || !(seq >= 1) || typeof r.message?.data !== 'string') {
    throw new NatsError('stream message get reply without a message', ErrorCode.JetStreamInvalidAck);
  }
  return new StoredEvent(Buffer.from(r.message.data, 'base64').toString('utf8'), seq);
}

export class JetStreamDirectGet {
  private readonly pending = new Map<string, Pending>();
  private readonly prefix: string;
  private readonly subject: string;
  private sub: Subscription | null = null;
  private next = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * @param stream the stream to read
   * @param timeoutMs how long a get waits for its reply
   * @param sweepMs how often pending gets are checked for their deadline (default: timeout / 10, 10–250 ms)
   */
  constructor(
    private readonly nc: NatsConnection,
    stream: string,
    private readonly timeoutMs: number,
    /** Ask the stream leader (`STREAM.MSG.GET`, JSON reply) instead of any replica (direct get). */
    private readonly leader = false,
    private readonly sweepMs = Math.min(250, Math.max(10, Math.floor(timeoutMs / 10))),
  ) {
    this.subject = leader ? `$JS.API.STREAM.MSG.GET.${stream}` : `$JS.API.DIRECT.GET.${stream}`;
    this.prefix = `${createInbox()}.`;
    nc.closed()
      .then(() => this.failAll(NatsError.errorForCode(ErrorCode.ConnectionClosed)))
      .catch(() => {});
  }

  /** The stored event the query finds, or null when there is none (404). */
  get(query: DirectQuery): Promise<StoredEvent | null> {
    return new Promise<StoredEvent | null>((resolve, reject) => {
      if (this.closed) {
        reject(NatsError.errorForCode(ErrorCode.ConnectionClosed));
        return;
      }
      const token = (this.next++).toString(36);
      try {
        this.sub ??= this.nc.subscribe(`${this.prefix}*`, { callback: (err, m) => !err && this.onReply(m) });
        this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
        this.nc.publish(this.subject, encoder.encode(JSON.stringify(query)), { reply: this.prefix + token });
      } catch (err) {
        this.pending.delete(token);
        reject(err);
        return;
      }
      this.sweeper ??= setInterval(this.sweep, this.sweepMs).unref();
    });
  }

  /** Gets still waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Refuses new gets; the inbox subscription goes once the pending ones are settled. */
  close(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    if (!this.closed || this.pending.size > 0 || !this.sub) return;
    try {
      this.sub.unsubscribe();
    } catch {
      /* the connection is closed already */
    }
    this.sub = null;
  }

  private onReply(m: Msg): void {
    const token = m.subject.slice(this.prefix.length);
    const p = this.pending.get(token);
    if (!p) return; // timed out already
    this.pending.delete(token);
    if (this.closed) this.release();
    try {
      if (m.data.length === 0) {
        // a status without payload: 404 = no such message; 503 = no responders; else a JetStream error
        const h = m.headers;
        const code = h?.code ?? 0;
        if (code === 404) return p.resolve(null);
        if (code === 503) return p.reject(NatsError.errorForCode(ErrorCode.NoResponders));
        if (code >= 300) return p.reject(apiError({ code, description: h?.description }));
      }
      if (this.leader) return p.resolve(fromLeaderReply(m.data));
      const pos = replySequence(m);
      if (!Number.isSafeInteger(pos) || pos < 1) {
        throw new NatsError('direct get reply without Nats-Sequence', ErrorCode.JetStreamInvalidAck);
      }
      p.resolve(new StoredEvent(decoder.decode(m.data), pos));
    } catch (err) {
      p.reject(err);
    }
  }

  /** Fails the gets past their deadline (entries are in send order, all with the same timeout). */
  private readonly sweep = (): void => {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper!);
      this.sweeper = null;
      return;
    }
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(token);
      p.reject(NatsError.errorForCode(ErrorCode.Timeout));
    }
    this.release();
  };

  private failAll(err: NatsError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.release();
  }
}
