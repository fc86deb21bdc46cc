/**
 * A lean JetStream direct get (or, with `leader`, the leader's `STREAM.MSG.GET`) for the event log's single-event
 * reads, replies muxed on one inbox subscription. Requests and answers as nats-server 2.9 gives them: docs/internals.md.
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
