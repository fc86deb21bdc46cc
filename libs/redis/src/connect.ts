/**
 * One way to open a store's Redis connection: a `redis://` URL or Sentinel discovery (ioredis's own, following
 * failovers). No offline queue, one retry per request and a command timeout, so that with Redis down every call
 * fails fast (the store's unavailable error, 503); ioredis reconnects by itself and scripts are re-sent after a
 * restart empties the script cache.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { backoffDelay, RECONNECT, SENTINEL_RETRY } from './backoff.js';
import type { UnavailableErrorClass } from './errors.js';

export interface RedisSentinelConfig {
  sentinels: { host: string; port: number }[];
  /** The master name the sentinels monitor. */
  name: string;
}

export interface RedisConnectOptions {
  /**
   * `redis://host:port/db` (never logged). With `sentinel`, only its credentials, db and scheme (`rediss` = TLS)
   * are used: the primary's address comes from Sentinel.
   */
  url?: string;
  sentinel?: RedisSentinelConfig;
  /** Connect timeout (ms); default 2000. */
  connectTimeoutMs?: number;
  /** Per-command timeout (ms); default 2000. */
  commandTimeoutMs?: number;
}

/** Connects; a failure is thrown as `Unavailable` (`what` names the store in the message). */
export async function connectRedis(
  opts: RedisConnectOptions,
  Unavailable: UnavailableErrorClass,
  what: string,
): Promise<Redis> {
  if (!opts.url && !opts.sentinel) throw new TypeError(`${what} needs a Redis \`url\` or \`sentinel\``);
  let givenUp = false;
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: opts.connectTimeoutMs ?? 2_000,
    // how long a disconnect waits for the socket to close before forcing it (the default 2 s keeps tests alive)
    disconnectTimeout: 200,
    retryStrategy: (times) => (givenUp ? null : backoffDelay(times, RECONNECT)),
  };
  const redis = opts.sentinel
    ? new Redis({
        ...options,
        ...sentinelOptions(opts.sentinel, opts.url),
        sentinelRetryStrategy: (times: number) => (givenUp ? null : backoffDelay(times, SENTINEL_RETRY)),
      })
    : new Redis(opts.url!, options);
  // connection errors surface on calls; the emitter must not crash the process
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    givenUp = true;
    redis.disconnect();
    throw new Unavailable(`${what} unavailable (connect): ${(err as Error).message}`, { cause: err });
  }
  // set only once connected: a failed first connect would otherwise leave a command timer running
  redis.options.commandTimeout = opts.commandTimeoutMs ?? 2_000;
  return redis;
}

/** Sentinel discovery of the primary, with the URL's credentials, db and TLS. */
function sentinelOptions(s: RedisSentinelConfig, url: string | undefined): RedisOptions {
  const u = url ? new URL(url) : null;
  const db = u && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    sentinels: s.sentinels,
    name: s.name,
    role: 'master',
    ...(u?.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u?.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u?.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // follow +switch-master at once
    failoverDetector: true,
  };
}

/**
 * Closes a connection this process opened: QUIT, then disconnect, which also ends the connector's own
 * connections (Sentinel mode: the failover detector's subscriptions to every sentinel, which QUIT leaves open).
 */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    /* disconnected below anyway */
  } finally {
    redis.disconnect();
  }
}
