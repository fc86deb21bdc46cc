/**
 * The platform's own `error` endings of an attempt (a limit reached, the worker lost, the history gone, a bad
 * question), worded once for the TypeScript runner and the HTTP worker protocol alike.
 */
import type { AgentEventOf, Usage } from '@jobstream/contracts';

export type PlatformError = AgentEventOf<'error'>;

function platformError(code: string, message: string, retryable: boolean, usage: Usage): PlatformError {
  return { type: 'error', code, message, retryable, usage: { ...usage } };
}

/** The event log cannot take more (it never evicts running work): retryable. */
export function eventLogFullError(usage: Usage): PlatformError {
  return platformError(
    'event_log_full',
    'the event log is full (JETSTREAM_MAX_BYTES, or the embedded EMBEDDED_MAX_EVENTS / EMBEDDED_MAX_BYTES); retry later',
    true,
    usage,
  );
}

/** The job reached MAX_EVENTS_PER_JOB (`cap`). */
export function tooManyEventsError(cap: number, usage: Usage): PlatformError {
  return platformError(
    'too_many_events',
    `the job reached the limit of ${cap} events (MAX_EVENTS_PER_JOB)`,
    false,
    usage,
  );
}

/** The worker running the job was lost `times` times and MAX_ATTEMPTS are spent. */
export function workerLostError(times: number, usage: Usage): PlatformError {
  return platformError(
    'worker_lost',
    `the worker running this job was lost ${times} time(s); no attempts left`,
    false,
    usage,
  );
}

/** A job continued after an answer whose attempt's events the log no longer holds. */
export function historyExpiredError(usage: Usage): PlatformError {
  return platformError(
    'history_expired',
    'the events of this job are no longer retained (EVENT_RETENTION_S): it cannot continue',
    false,
    usage,
  );
}

/** A question refused (see `inputRequestProblem`). */
export function invalidInputRequestError(message: string, usage: Usage): PlatformError {
  return platformError('invalid_input_request', message, false, usage);
}
