/** The NATS connection a driver uses: given (left open by `close`) or its own (closed by `close`). */
import { connectNats, type NatsConnection } from '@jobstream/nats';

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
  const nc = await connectNats({ servers: opts.servers, name });
  return { nc, owns: true };
}
