/**
 * A lean JetStream publish for the event log's appends: what `js.publish` does, without its per-request machinery.
 *
 * nats.js's `js.publish` is a `nc.request` through the connection's request mux: per publish a `MsgHdrs` object
 * (each value validated with a regexp), an `__awaiter` generator, a `RequestOne` with a deferred and its own timeout
 * timer, and after every successful request a `NatsError('CANCELLED')` (with a stack) built to reject the already
 * settled deferred; then the ack decoded through the JSON codec. That was ~20 % of the worker's busy time per append
 * (issue 15). Here, per publish: one header string encoded directly, one map entry, one `nc.publish`; the acks come
 * back on ONE wildcard inbox subscription (`<inbox>.<token>`), and one shared sweeper (an interval running only
 * while publishes are pending) fails the ones not answered within the timeout.
 *
 * Same semantics as `js.publish` for what the event log relies on:
 * - headers `Nats-Msg-Id` (dedup) and `Nats-Expected-Last-Subject-Sequence` (fencing), exactly as nats.js writes them;
 * - the ack: `{ stream, seq, duplicate }`; a JetStream error (`{ error: { code, err_code, description } }`) rejects
 *   with a `NatsError` carrying `api_error` (err_code 10071 "wrong last sequence", 10054 "too large", …), mapped as
 *   nats.js's `checkJsErrorCode` does; "no responders" (a 503 status without payload: no stream, JetStream down)
 *   rejects with code `503`;
 * - no ack within the timeout rejects with code `TIMEOUT`: acks of publishes sent before a disconnect are lost, so
 *   they time out (the connection reconnects by itself; its subscriptions, this inbox included, are re-made);
 *   publishes made while disconnected are buffered by nats.js and sent after the reconnect, as before;
 * - a closed connection rejects at once (publish throws) and fails every pending publish (`CONNECTION_CLOSED`).
 */
import { ErrorCode, NatsError, type Msg, type MsgHdrs, type NatsConnection } from 'nats';
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

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Header values must not break the header block (nats.js refuses them the same way). */
const BAD_HEADER_VALUE = /[\r\n]/;

/** nats.js's mapping of a JetStream API error (`checkJsErrorCode`), plus the `api_error` the callers read. */
export function apiError(e: ApiError): NatsError {
  const description = (e.description ?? '').toLowerCase();
  let err: NatsError;
  switch (e.code) {
    case 404:
      err = new NatsError(description, ErrorCode.JetStream404NoMessages);
      break;
    case 408:
      err = new NatsError(description, ErrorCode.JetStream408RequestTimeout);
      break;
    case 409:
      err = new NatsError(description, ErrorCode.JetStream409);
      break;
    case 503:
      err = NatsError.errorForCode(ErrorCode.JetStreamNotEnabled, new Error(description));
      break;
    default:
      err = new NatsError(description || ErrorCode.Unknown, `${e.code}`);
  }
  err.api_error = e as NatsError['api_error'];
  return err;
}

/** A prebuilt header block in the shape nats.js's `publish` uses (it only calls `encode()`). */
function headerBlock(opts: LeanPublishOptions): MsgHdrs | undefined {
  let s = '';
  if (opts.msgID) {
    if (BAD_HEADER_VALUE.test(opts.msgID)) {
      throw new NatsError('invalid header value - \\r and \\n are not allowed.', ErrorCode.BadHeader);
    }
    s += `\r\nNats-Msg-Id: ${opts.msgID.trim()}`;
  }
  if (typeof opts.lastSubjectSequence === 'number') {
    s += `\r\nNats-Expected-Last-Subject-Sequence: ${opts.lastSubjectSequence}`;
  }
  if (s === '') return undefined;
  const bytes = encoder.encode(`NATS/1.0${s}\r\n\r\n`);
  return { encode: () => bytes } as unknown as MsgHdrs;
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
    let headers;
    try {
      headers = headerBlock(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.requests.request(subject, data, headers);
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
    throw m.headers?.code === 503
      ? NatsError.errorForCode(ErrorCode.NoResponders)
      : NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
  }
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: ApiError };
  try {
    ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
  } catch (err) {
    throw new NatsError(`bad JetStream ack: ${(err as Error).message}`, ErrorCode.BadJson);
  }
  if (ack.error && ack.error.code >= 300) throw apiError(ack.error);
  if (!ack.stream || typeof ack.seq !== 'number') throw NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}
