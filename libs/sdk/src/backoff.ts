/**
 * Reconnect delays: exponential backoff with "full jitter" (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the n-th consecutive failure waits a uniformly random time in `[0, min(maxDelayMs, base · 2^(n-1)))`.
 * `base` is the server's `retry:` hint when it sent one, else `initialDelayMs`. A `Retry-After` from a 429/503 is a
 * floor on top of that.
 */

export interface ReconnectOptions {
  /** Consecutive failed connection attempts (without a new event in between) before giving up. Default 8. */
  maxRetries?: number;
  /** Base delay when the server sent no `retry:`. Default 500 ms. */
  initialDelayMs?: number;
  /** Cap of the exponential part. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Use the server's `retry:` field as the base delay. Default true. */
  honorServerRetry?: boolean;
  /** Source of randomness in [0, 1) — inject a seeded one for reproducible tests. Default `Math.random`. */
  random?: () => number;
}

export type ResolvedReconnectOptions = Required<ReconnectOptions>;

export const DEFAULT_RECONNECT: Readonly<ResolvedReconnectOptions> = Object.freeze({
  maxRetries: 8,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  honorServerRetry: true,
  random: Math.random,
});

export function resolveReconnect(o: ReconnectOptions | undefined): ResolvedReconnectOptions {
  return { ...DEFAULT_RECONNECT, ...stripUndefined(o ?? {}) };
}

/**
 * Delay before reconnect number `failures` (1 = first retry after a failure).
 * @param serverRetryMs the last `retry:` value the server sent, if any
 * @param retryAfterMs a `Retry-After` of the failed response, if any (a floor)
 */
export function backoffDelay(
  failures: number,
  o: ResolvedReconnectOptions,
  serverRetryMs?: number,
  retryAfterMs?: number,
): number {
  const base = o.honorServerRetry && serverRetryMs !== undefined ? serverRetryMs : o.initialDelayMs;
  const exp = Math.min(o.maxDelayMs, base * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  const jittered = Math.floor(o.random() * exp);
  return retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A small seeded PRNG (mulberry32) — handy for reproducible jitter in tests and simulations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
