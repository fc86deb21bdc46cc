/** The event-log steps of the HTTP worker protocol: appends that ride out a short outage, and an attempt's history. */
import { START, type JobEvent } from '@jobstream/contracts';
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

/**
 * The events of `attempt` in the job's log, oldest first (a TypeScript agent's `ctx.history`); empty when the log
 * no longer holds the job's start.
 */
export async function attemptHistory(log: EventLog, jobId: string, attempt: number): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  let after = START;
  let first = true;
  for (;;) {
    const page = await log.read(jobId, after, 2000);
    if (page.length === 0) break;
    if (first && page[0]!.event.seq !== 1) return [];
    first = false;
    for (const e of page) if (e.event.attempt === attempt) out.push(e.event);
    const last = page[page.length - 1]!;
    after = { seq: last.event.seq, pos: last.pos };
  }
  return out;
}
