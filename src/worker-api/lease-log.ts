/** The HTTP worker protocol's appends, which ride out a short event-log outage. */
import { EventLogUnavailableError, type AppendInput, type EventLog, type LoggedEvent } from '@jobstream/event-log';
import { retry } from '@jobstream/nats';

/** How long one request retries an append while the log is unavailable (then the worker gets a 503 and retries). */
export const APPEND_RETRY_MS = 5_000;

/** Appends, retried with the same dedup id while the log is unavailable, for up to `retryMs`. */
export async function appendRetrying(
  log: EventLog,
  jobId: string,
  input: AppendInput,
  retryMs = APPEND_RETRY_MS,
): Promise<LoggedEvent> {
  return retry(() => log.append(jobId, input), {
    firstMs: 100,
    maxMs: 1_000,
    forMs: retryMs,
    retryIf: (err) => err instanceof EventLogUnavailableError,
  });
}
