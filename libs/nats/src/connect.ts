/**
 * The one way a process connects to NATS (nats.js v3): reconnecting forever, every 250 ms, without a stack trace
 * captured per request. A process opens ONE connection and shares it (engine, drivers, Nest's NATS transport).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

export type { Msg, NatsConnection, Status, Subscription } from '@nats-io/transport-node';

export interface NatsConnectOptions {
  /** NATS servers: a list, or one string with comma-separated URLs. */
  servers: string | string[];
  /** Connection name (shown by the server's monitoring). */
  name: string;
  /** Connect timeout (ms); default 5000. */
  timeoutMs?: number;
}

/** Splits a `NATS_URL`-style value (`nats://a:4222,nats://b:4222`) into servers. */
export function natsServers(servers: string | string[]): string[] {
  return (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter(Boolean);
}

export function connectNats(opts: NatsConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: natsServers(opts.servers),
    name: opts.name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: opts.timeoutMs ?? 5_000,
    // nats.js otherwise captures a stack trace (`new Error()`) for every request and request timer: with one
    // JetStream publish per appended event that was a large share of the worker's CPU (bench/README.md)
    noAsyncTraces: true,
  });
}

/** Redacts credentials from a server list before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//***@');
}
