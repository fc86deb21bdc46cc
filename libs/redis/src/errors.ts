/**
 * How a store tells "Redis cannot serve now" (503 + Retry-After) from "this request is wrong": connection trouble,
 * timeouts and the transient replies of a server in transition are unavailability; any other error reply (a
 * script's or a command's own error) passes through as it is. Told apart by ioredis's own error classes (its
 * `ReplyError`, and redis-errors' `RedisError` family for aborted commands) and the exact errors it raises.
 */
import { ReplyError as IoredisReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { CONNECTION_CLOSED_ERROR_MSG } from 'ioredis/built/utils/index.js';

/** A store's "unavailable" error class (the ports' `…UnavailableError`s). */
export type UnavailableErrorClass = new (message: string, options?: ErrorOptions) => Error;

/** The class of the Redis server's error replies, as ioredis throws them (redis-errors' `ReplyError`). */
export const ReplyError = IoredisReplyError as new (message: string) => Error;
/**
 * redis-errors' base class: besides replies, ioredis throws its subclasses only for commands it could not get
 * answered (`AbortError`, `MaxRetriesPerRequestError`, `ClusterAllFailedError`, a protocol `ParserError`).
 */
const RedisError = Object.getPrototypeOf(ReplyError) as new (message: string) => Error;
const ABORTED: readonly (abstract new (...args: never[]) => object)[] = [RedisError, MaxRetriesPerRequestError];
/** The plain errors ioredis rejects a command with when the connection is down (no classes of their own). */
const CONNECTION_ERRORS: ReadonlySet<string> = new Set([
  CONNECTION_CLOSED_ERROR_MSG,
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Command timed out',
]);

/**
 * Redis reply codes that mean "not now" rather than "wrong request": a replica that is (still) read-only after a
 * failover, a server loading its data set, a primary without its replicas, a cluster or sentinel in transition.
 */
const UNAVAILABLE_REPLIES: ReadonlySet<string> = new Set([
  'READONLY',
  'LOADING',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'NOREPLICAS',
  'BUSY',
  'NOTBUSY',
]);

/** An error reply of the Redis server (as opposed to a connection failure). */
export function isReplyError(err: unknown): boolean {
  return err instanceof ReplyError;
}

/** The error code of a Redis error reply: its first word (`ERR`, `READONLY`, `NOSCRIPT` …). */
export function replyCode(err: Error): string {
  return /^[A-Z]+/.exec(err.message)?.[0] ?? '';
}

/** True when `err` says Redis cannot serve now (connection, timeout, a transient reply). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return isReplyError(err) ? UNAVAILABLE_REPLIES.has(replyCode(err)) : true;
}

/**
 * Stricter than {@link isRedisUnavailable} (which a store applies to what its own Redis calls throw): true only when
 * `err` or one of its causes is an error ioredis raises for an outage — a transient reply, an aborted command, a
 * closed or unwritable connection, a command timeout. Any other error (a bug) is not.
 */
export function isRedisOutage(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (isReplyError(e)) return UNAVAILABLE_REPLIES.has(replyCode(e));
    if (ABORTED.some((c) => e instanceof c)) return true;
    if (CONNECTION_ERRORS.has(e.message)) return true;
  }
  return false;
}

/** `err` as the store's unavailable error when it is unavailability; otherwise `err` itself. */
export function toUnavailable(err: unknown, Unavailable: UnavailableErrorClass, what: string): unknown {
  if (err instanceof Unavailable || !isRedisUnavailable(err)) return err;
  return new Unavailable(`${what} unavailable: ${(err as Error).message}`, { cause: err });
}

/** Runs one Redis call of a store, turning unavailability into the store's unavailable error. */
export async function redisCall<T>(fn: () => Promise<T>, Unavailable: UnavailableErrorClass, what: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toUnavailable(err, Unavailable, what);
  }
}
