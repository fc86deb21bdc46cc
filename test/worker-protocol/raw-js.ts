/**
 * The JetStream API as a worker with a bare NATS client sees it (docs/worker-protocol.md): core-NATS requests on
 * `$JS.API.…` subjects and on stream subjects, JSON answers (`{ "error": { code, err_code, description } }` on
 * failure), a `no_wait` pull on `$JS.API.CONSUMER.MSG.NEXT.…`, and acks published on the message's reply subject.
 * Every wait for an answer is bounded.
 */
import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** How long a worker waits for any answer of the server (the built-in worker's bound of a pull). */
export const ANSWER_MS = 5_000;

/** A JetStream API error answer. */
export class JsApiError extends Error {
  constructor(
    readonly code: number,
    readonly errCode: number,
    description: string,
  ) {
    super(`JetStream API error ${code}/${errCode}: ${description}`);
  }
}

/** A request with a JSON answer; a JetStream `error` in it rejects with JsApiError. */
export async function jsRequest<T>(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array | string,
  hdrs?: Record<string, string>,
): Promise<T> {
  let h;
  if (hdrs) {
    h = natsHeaders();
    for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  }
  const data = typeof body === 'string' ? enc.encode(body) : body;
  const m = await nc.request(subject, data, { timeout: ANSWER_MS, ...(h ? { headers: h } : {}) });
  const r = JSON.parse(dec.decode(m.data)) as T & {
    error?: { code: number; err_code?: number; description?: string };
  };
  if (r.error) throw new JsApiError(r.error.code, r.error.err_code ?? 0, r.error.description ?? '');
  return r;
}

/** A JetStream publish (a request on the stream's subject): the stored stream sequence, or the first one's. */
export function jsPublish(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array | string,
  hdrs?: Record<string, string>,
): Promise<{ stream: string; seq: number; duplicate?: boolean }> {
  return jsRequest(nc, subject, body, hdrs);
}

/** A message taken by a pull, settled on its reply subject (`$JS.ACK.…`). */
export interface Pulled {
  subject: string;
  data: Uint8Array;
  /** How many times JetStream has delivered it (1 = first), from the reply subject. */
  delivered: number;
  /** `+ACK`, waiting for the server to confirm it (`ack_ack`). */
  ackAck(): Promise<void>;
  /** `-NAK`, delivered again after `delayMs`. */
  nak(delayMs: number): void;
  /** `+WPI`: the ack wait starts again. */
  working(): void;
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>`, or the longer form with
 * `<domain>.<account hash>` before the stream and a random token at the end: the delivery count.
 */
function deliveredOf(reply: string): number {
  const t = reply.split('.');
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1;
  const n = at < 0 ? NaN : Number(t[at]);
  if (!reply.startsWith('$JS.ACK.') || !Number.isSafeInteger(n)) throw new Error(`not an ack subject: ${reply}`);
  return n;
}

/**
 * One `no_wait` pull of one message: `{"batch":1,"no_wait":true}` on `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`
 * with a reply inbox of its own. Null when the consumer has nothing for us now (a 404 / 408 status); rejects when no answer
 * comes within ANSWER_MS (a pull sent while the consumer's leader is elected), or with another status.
 */
export async function pullOne(nc: NatsConnection, stream: string, consumer: string): Promise<Pulled | null> {
  const m: Msg = await nc.request(
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
    enc.encode(JSON.stringify({ batch: 1, no_wait: true })),
    // its own inbox: the message comes on the stream's subject, not on the inbox a shared reply subscription reads
    { timeout: ANSWER_MS, noMux: true },
  );
  const code = m.headers?.code ?? 0;
  if (code === 404 || code === 408) return null;
  if (code !== 0 || !m.reply) throw new Error(`pull from ${consumer}: ${code} ${m.headers?.description ?? ''}`);
  const reply = m.reply;
  return {
    subject: m.subject,
    data: m.data,
    delivered: deliveredOf(reply),
    ackAck: async () => {
      await nc.request(reply, enc.encode('+ACK'), { timeout: ANSWER_MS });
    },
    nak: (delayMs) => nc.publish(reply, enc.encode(`-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}`)),
    working: () => nc.publish(reply, enc.encode('+WPI')),
  };
}
