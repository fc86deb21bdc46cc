/** The NATS connection a driver uses: given (left open by `close`) or its own (closed by `close`). */
import { connect, type NatsConnection } from 'nats';

export interface QueueLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export interface NatsConnectOptions {
  /** NATS servers (the driver owns that connection and closes it). */
  servers?: string | string[];
  /** Or an existing connection (left open by `close`). */
  nc?: NatsConnection;
  logger?: QueueLogger;
}

export async function connectOwned(
  opts: NatsConnectOptions,
  name: string,
): Promise<{ nc: NatsConnection; owns: boolean }> {
  if (opts.nc) return { nc: opts.nc, owns: false };
  if (!opts.servers) throw new TypeError(`${name} needs \`servers\` or \`nc\``);
  // noAsyncTraces: no stack trace captured per request (see src/engine/nats-engine.ts)
  const nc = await connect({
    servers: opts.servers,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
  return { nc, owns: true };
}
