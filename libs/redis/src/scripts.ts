/**
 * Lua scripts: a script is run by its SHA-1 and loaded on the first NOSCRIPT reply (a restarted or failed-over
 * server has an empty script cache).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isReplyError, replyCode } from './errors.js';

export interface Script {
  src: string;
  sha: string;
}

export const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });

/** True for the NOSCRIPT reply (the server does not have the script cached). */
export function isNoScript(err: unknown): boolean {
  return isReplyError(err) && replyCode(err as Error) === 'NOSCRIPT';
}

/** EVALSHA, falling back to EVAL when the server does not have the script cached. */
export async function evalScript(redis: Redis, s: Script, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (isNoScript(err)) return redis.eval(s.src, keys.length, ...keys, ...args);
    throw err;
  }
}
