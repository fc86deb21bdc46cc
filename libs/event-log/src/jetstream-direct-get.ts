/**
 * A lean JetStream direct get for the event log's single-event reads (`last`, `first`, short reads, the event of a
 * duplicate ack): what `jsm.direct.getMessage` does, without nats.js's per-request machinery (a request through the
 * connection's mux with its own deferred and timer, then a `StoredMsg` wrapper). The API makes one such get per
 * catch-up step (cursor check, the live hub's gap repair, short reads). Here, per get: one small JSON body, one map
 * entry, one `nc.publish`; the replies come back on ONE wildcard inbox subscription (`<inbox>.<token>`), one shared
 * sweeper (an interval running only while gets are pending) fails the ones not answered within the timeout, and the
 * event is built from the reply's bytes and its `Nats-Sequence` header. Public client API only.
 *
 * The request and its answers, as nats-server 2.9.10 gives them (checked by jetstream-direct-get.int-spec.ts):
 * - `$JS.API.DIRECT.GET.<stream>` with `{"seq":n}`, `{"last_by_subj":s}` or `{"next_by_subj":s,"seq":n}`;
 * - found: the stored message (its payload; its own headers, then `Nats-Stream`, `Nats-Subject`, `Nats-Sequence`,
 *   `Nats-Time-Stamp` appended by the server: the LAST `Nats-Sequence` is the server's, as nats.js reads it);
 * - not found: a status `404 Message Not Found` without payload → resolves `null`;
 * - other statuses without payload (408, 400, …) reject with a `JetStreamApiError` of that status; a `503` status
 *   (no responders: a server without JetStream) rejects with `NoRespondersError`. A stream that does not exist (or does not
 *   allow direct gets) gets no answer at all: the server's JetStream API takes every `$JS.API.>` subject, so that
 *   is a timeout, as with `jsm.direct.getMessage`;
 * - no reply within the timeout rejects with `TimeoutError` (replies to gets sent before a disconnect are lost; the
 *   connection reconnects by itself and re-makes its subscriptions, this inbox included);
 * - a closed connection rejects at once and fails every pending get (`ClosedConnectionError`).
 *
 * With `leader` (the log's `leaderReads`, on with replicas > 1: a replica catching up would answer with an old view)
 * the same queries go to `$JS.API.STREAM.MSG.GET.<stream>`, answered by the stream leader with JSON
 * (`{ message: { seq, data: base64 } }` or `{ error }`); a 404 error (no such message, and also no such stream, as
 * the log's callers took nats.js's 404 before) → null, other errors reject with a `JetStreamApiError`.
 */
import { NoRespondersError, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamError } from '@nats-io/jetstream';
import { toJsApiError } from '@jobstream/nats';
import { InboxRequests } from './inbox-requests.js';
import { StoredEvent } from './stored-event.js';

/** The direct-get queries the event log uses. */
export type DirectQuery = { seq: number } | { last_by_subj: string } | { next_by_subj: string; seq: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `Nats-Sequence` of a direct-get reply: the LAST one (the server's, after the stored message's own headers). */
function replySequence(m: Msg): number {
  return Number(m.headers?.last('Nats-Sequence'));
}

interface MsgGetResponse {
  message?: { seq?: number; data?: string };
  error?: { code: number; err_code?: number; description?: string };
}

/**
 * A `STREAM.MSG.GET` reply (leader reads): `{ message: { seq, data: base64, … } }`, or `{ error }` — 404 / err_code
 * 10037 "no message found" → null, anything else rejects with a `JetStreamApiError`.
 */
function fromLeaderReply(data: Uint8Array): StoredEvent | null {
  const r = JSON.parse(decoder.decode(data)) as MsgGetResponse;
  if (r.error) {
    if (r.error.code === 404 || r.error.err_code === 10037) return null;
    throw toJsApiError(r.error);
  }
  const seq = r.message?.seq;
  if (typeof seq !== 'number' || !(seq >= 1) || typeof r.message?.data !== 'string') {
    throw new JetStreamError('stream message get reply without a message');
  }
  return new StoredEvent(Buffer.from(r.message.data, 'base64').toString('utf8'), seq);
}

export class JetStreamDirectGet {
  private readonly requests: InboxRequests<StoredEvent | null>;
  private readonly subject: string;

  /**
   * @param stream the stream to read
   * @param timeoutMs how long a get waits for its reply
   * @param leader ask the stream leader (`STREAM.MSG.GET`, JSON reply) instead of any replica (direct get)
   * @param sweepMs how often pending gets are checked for their deadline (default: timeout / 10, 10–250 ms)
   */
  constructor(nc: NatsConnection, stream: string, timeoutMs: number, leader = false, sweepMs?: number) {
    this.subject = leader ? `$JS.API.STREAM.MSG.GET.${stream}` : `$JS.API.DIRECT.GET.${stream}`;
    this.requests = new InboxRequests(nc, (m) => decodeReply(m, leader), timeoutMs, sweepMs);
  }

  /** The stored event the query finds, or null when there is none (404). */
  get(query: DirectQuery): Promise<StoredEvent | null> {
    return this.requests.request(this.subject, encoder.encode(JSON.stringify(query)));
  }

  /** Gets still waiting for their reply. */
  get inFlight(): number {
    return this.requests.inFlight;
  }

  /** Refuses new gets; the inbox subscription goes once the pending ones are settled. */
  close(): void {
    this.requests.close();
  }
}

/** The stored event of a reply, null for "no such message", or what went wrong (thrown: the get rejects with it). */
function decodeReply(m: Msg, leader: boolean): StoredEvent | null {
  if (m.data.length === 0) {
    // a status without payload: 404 = no such message; 503 = no responders; else a JetStream error
    const h = m.headers;
    const code = h?.code ?? 0;
    if (code === 404) return null;
    if (code === 503) throw new NoRespondersError(m.subject);
    if (code >= 300) throw toJsApiError({ code, description: h?.description });
  }
  if (leader) return fromLeaderReply(m.data);
  const pos = replySequence(m);
  if (!Number.isSafeInteger(pos) || pos < 1) {
    throw new JetStreamError('direct get reply without Nats-Sequence');
  }
  return new StoredEvent(decoder.decode(m.data), pos);
}
