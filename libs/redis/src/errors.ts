/**
 * How a store tells "Redis cannot serve now" (503 + Retry-After) from "this request is wrong": connection trouble,
 * timeouts and the transient replies of a server in transition are unavailability; any other error reply (a
 * script's or a command's own error) passes through as it is.
 */

/** A store's "unavailable" error class (the ports' `…UnavailableError`s). */
export type UnavailableErrorClass = new (message: string, options?: ErrorOptions) => Error;

/**
 * Redis answers that mean "not now" rather than "wrong request": a replica that is (still) read-only after a
 * failover, a server loading its data set, a primary without its replicas, a cluster or sentinel in transition.
 */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|BUSY|NOTBUSY)\b/;

/** An error reply of the Redis server (as opposed to a connection failure). */
export function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** True when `err` says Redis cannot serve now (connection, timeout, a transient reply). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return isReplyError(err) ? UNAVAILABLE_REPLY.test(err.message) : true;
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
