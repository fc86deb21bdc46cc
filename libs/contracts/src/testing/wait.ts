/**
 * Waiting in tests, in one place for the whole repository (test/, the libraries' conformance suites and int-specs;
 * test/support/wait.ts re-exports it for the test tree). Not part of any build (tsconfig.build.json leaves out
 * `testing/`).
 *
 * The rule it serves: a test waits for a condition, never for a fixed time, and never asserts on how long
 * something took. A timeout here only bounds a test that is already broken, so it is generous, and when it fires
 * the message says what was awaited, for how long, and what was last seen.
 */

/** Resolves after `ms`. For pacing a load or a poll, never as synchronization (use {@link waitFor}). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a condition yields once it holds. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitForOptions {
  /** Give up after this long (default 15 000 ms). Only a broken test reaches it: be generous. */
  timeoutMs?: number;
  /** Pause between two polls (default 25 ms). */
  intervalMs?: number;
  /**
   * What is awaited, for the failure message ("job j1 to complete"). A function is called when the wait fails, so it
   * can describe the state then ("status was running").
   */
  message?: string | (() => string);
  /**
   * An error thrown by the condition counts as "not yet" (the last one is reported if the wait fails), for
   * conditions that may fail while a server restarts. Default false: the error fails the wait at once.
   */
  retryErrors?: boolean;
}

/** The error a wait fails with; `cause` is the condition's last error, if it threw. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/**
 * Polls `condition` until it returns a truthy value (or a promise of one) and returns that value; fails with a
 * {@link WaitTimeoutError} naming `message` after `timeoutMs`. The condition is always tried at least once, and
 * once more at the deadline, so a slow machine never fails a wait whose condition holds.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const last = Date.now() >= deadline;
    let threw: boolean;
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
      threw = false;
    } catch (err) {
      if (!options.retryErrors) throw err;
      lastError = err;
      threw = true;
    }
    if (last) {
      const what = typeof options.message === 'function' ? options.message() : (options.message ?? 'the condition');
      const why = threw ? `; it last threw: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${what}${why}`,
        threw ? { cause: lastError } : undefined,
      );
    }
    await sleep(Math.max(0, Math.min(intervalMs, deadline - Date.now())));
  }
}
