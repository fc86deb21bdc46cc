/**
 * The one retry schedule of the server's retry loops (NATS and Redis outages, handlers that fail for a while): a
 * delay doubling from `firstMs` up to `maxMs`, optionally spread by ± `jitter`, and a retry loop that stops at a
 * deadline, a number of tries, an error it must not retry, or an abort. (ioredis's own reconnect strategies use
 * @jobstream/redis's schedule; the SDK, a client package, has its own.)
 */

export interface RetrySchedule {
  /** Delay before the second try (after the first failure), ms. */
  firstMs: number;
  /** The delay never grows past this (before jitter), ms. */
  maxMs: number;
  /** Spread of each delay, a fraction in [0, 1]: the delay is in [d × (1 − jitter), d × (1 + jitter)]. Default 0. */
  jitter?: number;
}

/** The delay after failure number `failures` (1-based): `firstMs × 2^(failures − 1)`, at most `maxMs`, jittered. */
export function retryDelay(failures: number, s: RetrySchedule, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(failures) || 1);
  const base = Math.min(s.maxMs, s.firstMs * 2 ** Math.min(n - 1, 30));
  const jitter = Math.min(1, Math.max(0, s.jitter ?? 0));
  return jitter === 0 ? base : Math.round(base * (1 - jitter + 2 * jitter * random()));
}

/**
 * Waits `ms`; ends early (resolves) when `signal` aborts. `unref`: the timer does not keep the process alive.
 */
export function sleep(ms: number, signal?: AbortSignal, opts: { unref?: boolean } = {}): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (opts.unref) timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions extends RetrySchedule {
  /** Tries at most (the first included). Default: no limit. */
  tries?: number;
  /** Gives up when the next try would start more than `forMs` after the first one. Default: no limit. */
  forMs?: number;
  /** Retries only the errors this accepts (default: every error). */
  retryIf?: (err: unknown) => boolean;
  /** Told before each wait (to log it, or keep a lease alive). */
  onRetry?: (err: unknown, failures: number, delayMs: number) => void;
  /** Stops retrying: the last error is thrown at once (a wait in progress ends). */
  signal?: AbortSignal;
  /** The waits do not keep the process alive. */
  unref?: boolean;
  random?: () => number;
}

/** `fn` until it succeeds; when it gives up, the last error is thrown. `fn` is told the try number (1-based). */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const deadline = o.forMs === undefined ? Infinity : Date.now() + o.forMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = retryDelay(attempt, o, o.random);
      const last =
        o.signal?.aborted ||
        (o.retryIf !== undefined && !o.retryIf(err)) ||
        (o.tries !== undefined && attempt >= o.tries) ||
        Date.now() + delay > deadline;
      if (last) throw err;
      o.onRetry?.(err, attempt, delay);
      await sleep(delay, o.signal, { unref: o.unref });
      if (o.signal?.aborted) throw err;
    }
  }
}
