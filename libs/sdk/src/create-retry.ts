/**
 * Creates (a job, a rerun, a thread turn, a batch) always carry an Idempotency-Key — the caller's, or one made up
 * here — and are retried with that same key when the answer was lost or was a 408/429/5xx: the server's answer is
 * the truth (a non-2xx leaves no job that will run; a replay answers the one job), so a retry never runs a job twice.
 */
import { JobstreamError, isRetryable } from './errors.js';
import { sleep } from './backoff.js';

/** Retries of one create after its first try; default 3. */
export const DEFAULT_CREATE_RETRIES = 3;
/** The longest the SDK waits between two tries of a create (a longer `Retry-After` is cut to it). */
const MAX_CREATE_DELAY_MS = 30_000;

/** A fresh Idempotency-Key: a random UUID (any runtime with Web Crypto: Node ≥ 18, browsers). */
export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Runs `attempt` until it succeeds, fails for good, or `retries` retries are spent. */
export async function withCreateRetries<T>(
  attempt: () => Promise<T>,
  retries: number,
  signal?: AbortSignal,
): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt();
    } catch (err) {
      if (failures >= retries || !isRetryable(err) || signal?.aborted) throw err;
      const hinted = err instanceof JobstreamError ? err.retryAfterMs : undefined;
      const backoff = 250 * 2 ** failures * (0.5 + Math.random() / 2);
      await sleep(Math.min(hinted ?? backoff, MAX_CREATE_DELAY_MS), signal);
    }
  }
}
