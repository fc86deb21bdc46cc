/**
 * A lean JetStream publish for the event log's appends (same headers, ack and errors as `js.publish`), acks muxed on
 * one inbox subscription with one timeout sweeper. Details: docs/internals.md.
 */
import {
  headers,
  InvalidArgumentError,
  NoRespondersError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import { JetStreamError } from '@nats-io/jetstream';
import { toJsApiError } from '@jobstream/nats';
import { InboxRequests } from './inbox-requests.js';

export interface PublishAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface LeanPublishOptions {
  /** `Nats-Msg-Id`: JetStream drops a second message with the same id within the stream's duplicate window. */
  msgID?: string;
  /** `Nats-Expected-Last-Subject-Sequence`: refused (err_code 10071) unless the subject's last message has it. */
  lastSubjectSequence?: number;
}

interface ApiError {
  code: number;
  err_code?: number;
  description?: string;
}

const decoder = new TextDecoder();
/** Header values must not break the header block. */
const BAD_HEADER_VALUE = /[\r\n]/;

/** The headers of a publish, or undefined when it has none. */
function publishHeaders(opts: LeanPublishOptions): MsgHdrs | undefined {
  if (!opts.msgID && typeof opts.lastSubjectSequence !== 'number') return undefined;
  const h = headers();
  if (opts.msgID) {
    if (BAD_HEADER_VALUE.test(opts.msgID)) {
      throw new InvalidArgumentError('invalid header value - \\r and \\n are not allowed.');
    }
    h.set('Nats-Msg-Id', opts.msgID.trim());
  }
  if (typeof opts.lastSubjectSequence === 'number') {
    h.set('Nats-Expected-Last-Subject-Sequence', `${opts.lastSubjectSequence}`);
  }
  return h;
}

export class JetStreamPublisher {
  private readonly requests: InboxRequests<PublishAck>;

  /**
   * @param timeoutMs how long a publish waits for its ack
   * @param sweepMs how often pending publishes are checked for their deadline (default: timeout / 10, 10–250 ms)
   */
  constructor(nc: NatsConnection, timeoutMs: number, sweepMs?: number) {
    this.requests = new InboxRequests(nc, decodeAck, timeoutMs, sweepMs);
  }

  /** Publishes `data` to `subject` and resolves with the JetStream ack. */
  publish(subject: string, data: Uint8Array, opts: LeanPublishOptions = {}): Promise<PublishAck> {
    let hdrs;
    try {
      hdrs = publishHeaders(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.requests.request(subject, data, hdrs);
  }

  /** Publishes still waiting for their ack. */
  get inFlight(): number {
    return this.requests.inFlight;
  }

  /**
   * Refuses new publishes; the inbox subscription goes once the pending ones are settled (acked, failed or timed
   * out by the sweeper), so a close on a shared connection does not cut appends already sent.
   */
  close(): void {
    this.requests.close();
  }
}

/** A JetStream ack, or what it says went wrong (thrown: the publish rejects with it). */
function decodeAck(m: Msg): PublishAck {
  if (m.data.length === 0) {
    // a status message: 503 = no responders (no stream for the subject, JetStream unavailable)
    throw m.headers?.code === 503 ? new NoRespondersError(m.subject) : new JetStreamError('invalid JetStream ack');
  }
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: ApiError };
  try {
    ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
  } catch (err) {
    throw new JetStreamError(`bad JetStream ack: ${(err as Error).message}`);
  }
  if (ack.error && ack.error.code >= 300) throw toJsApiError(ack.error);
  if (!ack.stream || typeof ack.seq !== 'number') throw new JetStreamError('invalid JetStream ack');
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}
