/**
 * The NATS transport of the Nest microservices (the API's request-reply API and the worker's diagnostics), with a
 * codec that speaks plain JSON to any NATS client as well as Nest's own envelope to a Nest `ClientProxy`:
 *
 * - A request whose body is Nest's packet (`{ pattern, data, id }`) is handled as Nest does, and answered with
 *   Nest's envelope (`{ id, response | err, isDisposed }`).
 * - Any other body is the payload itself (JSON; empty = `{}`; malformed = `undefined`, which handlers refuse), and
 *   the reply is the handler's answer as plain JSON, so `nats req jobstream.api.jobs.get '{"id":"job_…"}'` or any
 *   NATS client in any language gets `{ "job": … }` or `{ "error": { "code", "message" } }` back.
 *
 * The server rides on the process's one NATS connection (the engine's, `engine.nats`): Nest's `ServerNats` is given
 * a borrowed view of it, whose `close()` removes only the transport's own subscriptions and status listener.
 */
import type { MicroserviceOptions } from '@nestjs/microservices';
import { ServerNats, Transport } from '@nestjs/microservices';
import type { NatsConnection, Status, Subscription } from '@jobstream/nats';
import type { CommonConfig } from '../config/common.config.js';
import { assertJsonStructure, JsonStructureError } from './json-limits.js';

/**
 * A payload refused before parsing (too deep, too wide, a `__proto__` key: the same edge limits as HTTP bodies);
 * the handlers answer it with a 400 `invalid_request` carrying this message.
 */
export class RejectedPayload {
  constructor(readonly message: string) {}
}

/** Marks the ids of plain (non-Nest) requests; the rest of the id is the reply subject, unique per request. */
const PLAIN = 'plain:';
const decoder = new TextDecoder();

interface NatsMsgLike {
  data: Uint8Array;
  reply?: string;
}

type Packet = { pattern: unknown; data: unknown; id?: string };

function isNestPacket(v: unknown): v is Packet {
  return typeof v === 'object' && v !== null && 'pattern' in v && typeof (v as { id?: unknown }).id === 'string';
}

export class PlainJsonNatsDeserializer {
  deserialize(msg: NatsMsgLike, options?: { channel?: string; replyTo?: string }): Packet {
    let value: unknown;
    const text = decoder.decode(msg.data ?? new Uint8Array());
    try {
      assertJsonStructure(msg.data ?? new Uint8Array());
      value = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      value = err instanceof JsonStructureError ? new RejectedPayload(err.message) : undefined;
    }
    if (isNestPacket(value)) return value;
    const reply = options?.replyTo ?? msg.reply;
    return reply
      ? { pattern: options?.channel, data: value, id: PLAIN + reply }
      : { pattern: options?.channel, data: value };
  }
}

export class PlainJsonNatsSerializer {
  serialize(packet: { id?: string; response?: unknown; err?: unknown; isDisposed?: boolean }): {
    data: string;
    headers?: unknown;
  } {
    if (typeof packet?.id === 'string' && packet.id.startsWith(PLAIN)) {
      const body =
        packet.err !== undefined
          ? { error: { code: 'internal_error', message: 'internal error' } }
          : packet.response === undefined
            ? null
            : packet.response;
      return { data: JSON.stringify(body) };
    }
    return { data: JSON.stringify(packet) }; // Nest's envelope, as its NatsRecordSerializer writes a reply
  }
}

/**
 * `nc` as Nest's server may use it: its subscriptions and status iterators are its own, and `close()` ends those
 * (not the connection, which belongs to the engine and is drained by it).
 */
export function borrowConnection(nc: NatsConnection): NatsConnection {
  const subs = new Set<Subscription>();
  const stops = new Set<() => void>();
  const own: Partial<NatsConnection> = {
    subscribe: (subject, opts) => {
      const sub = nc.subscribe(subject, opts);
      subs.add(sub);
      return sub;
    },
    status: () => {
      // ends when the borrower closes (the connection's own status stream goes on)
      const it = nc.status()[Symbol.asyncIterator]();
      let stop!: () => void;
      const stopped = new Promise<IteratorResult<Status>>((resolve) => {
        stop = () => {
          resolve({ done: true, value: undefined });
          void it.return?.();
        };
      });
      stops.add(stop);
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.race([it.next(), stopped]) }) };
    },
    close: async () => {
      for (const sub of subs) sub.unsubscribe();
      subs.clear();
      for (const stop of stops) stop();
      stops.clear();
    },
  };
  return new Proxy(nc, {
    get(target, prop, receiver) {
      if (Object.hasOwn(own, prop)) return own[prop as keyof NatsConnection];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Nest's NATS server on a connection it is lent instead of one of its own. */
class SharedConnectionNatsServer extends ServerNats {
  constructor(
    private readonly nc: NatsConnection,
    options: ConstructorParameters<typeof ServerNats>[0],
  ) {
    super(options);
  }

  override createNatsClient(): ReturnType<ServerNats['createNatsClient']> {
    return Promise.resolve(borrowConnection(this.nc) as unknown as Awaited<ReturnType<ServerNats['createNatsClient']>>);
  }
}

/**
 * Options of a Nest NATS server on the process's NATS connection `nc` (one connection per process); without `nc`,
 * on a connection of its own to the configured NATS servers.
 */
export function natsMicroserviceOptions(
  config: Pick<CommonConfig, 'natsUrl'>,
  opts: { name: string; queue?: string },
  nc?: NatsConnection,
): MicroserviceOptions {
  if (!config.natsUrl) throw new Error('NATS_URL is not set');
  const options = {
    servers: config.natsUrl.split(','),
    name: opts.name,
    queue: opts.queue,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    serializer: new PlainJsonNatsSerializer(),
    deserializer: new PlainJsonNatsDeserializer(),
  };
  if (nc) return { strategy: new SharedConnectionNatsServer(nc, options as never) } as MicroserviceOptions;
  return { transport: Transport.NATS, options } as MicroserviceOptions;
}
