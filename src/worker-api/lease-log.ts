/** The HTTP worker protocol's appends, which ride out a short event-log outage. */
import { EventLogUnavailableError, type AppendInput, type EventLog, type LoggedEvent } from '@jobstream/event-log';

/** How long one request retries an append while the log is unavailable (then the worker gets a 503 and retries). */
export const APPEND_RETRY_MS = 5_000;

/** Appends, retried with the same dedup id while the log is unavailable, for up to `retryMs`. */
export async function appendRetrying(
  log: EventLog,
  jobId: string,
  input: AppendInput,
  retryMs = APPEND_RETRY_MS,
): Promise<LoggedEvent> {
  const deadline = Date.now() + retryMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      return await log.append(jobId, input);
    } catch (err) {
      if (!(err instanceof EventLogUnavailableError) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
