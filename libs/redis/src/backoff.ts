/** The one retry schedule of the Redis plumbing: doubling from `firstMs`, capped at `maxMs`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

/** The delay before try `attempt` (1-based) of a retry loop. */
export function backoffDelay(attempt: number, b: Backoff): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(b.maxMs, b.firstMs * 2 ** Math.min(n - 1, 30));
}

/** Reconnecting to a server: at first quickly, at most every second. */
export const RECONNECT: Backoff = { firstMs: 50, maxMs: 1_000 };
/** Asking the sentinels again while they elect a new primary. */
export const SENTINEL_RETRY: Backoff = { firstMs: 100, maxMs: 1_000 };
