/**
 * Lua scripts for the Redis drivers (job, thread and webhook stores): a script is run by its SHA-1 and loaded on
 * the first NOSCRIPT reply (a restarted or failed-over server has an empty script cache).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Script {
  src: string;
  sha: string;
}

export const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });

/** An error reply of the Redis server (as opposed to a connection failure). */
export function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * EVALSHA, falling back to EVAL when the server does not have the script cached. A read-only script (flagged
 * `#!lua flags=no-writes`) goes as EVALSHA_RO / EVAL_RO: served while writes are paused (CLIENT PAUSE WRITE, a
 * failover), even before the server has cached it.
 */
export async function evalScript(
  redis: Redis,
  s: Script,
  keys: string[],
  args: string[],
  opts: { readOnly?: boolean } = {},
): Promise<unknown> {
  try {
    return await (opts.readOnly
      ? redis.evalsha_ro(s.sha, keys.length, ...keys, ...args)
      : redis.evalsha(s.sha, keys.length, ...keys, ...args));
  } catch (err) {
    if (isReplyError(err) && /NOSCRIPT/.test((err as Error).message))
      return opts.readOnly
        ? redis.eval_ro(s.src, keys.length, ...keys, ...args)
        : redis.eval(s.src, keys.length, ...keys, ...args);
    throw err;
  }
}

/**
 * Runs one Redis call of a store: an error reply of the server (a script's or a command's own error) passes through
 * as it is; anything else (connection lost, timeout, READONLY replica) becomes the store's "unavailable" error,
 * which the API answers with 503 + Retry-After.
 */
export async function redisCall<T>(
  fn: () => Promise<T>,
  Unavailable: new (message: string, options?: ErrorOptions) => Error,
  what: string,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Unavailable || isReplyError(err) || !(err instanceof Error)) throw err;
    throw new Unavailable(`${what} unavailable: ${err.message}`, { cause: err });
  }
}
