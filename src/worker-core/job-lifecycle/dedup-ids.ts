/**
 * The dedup ids of the platform's own appends that several places (runner, API, watchdog) must agree on: an append
 * repeated with the same id is stored once (EventLog contract), so a retry, or two processes doing the same step,
 * never write an event twice.
 */

/** The runner's terminal event of one attempt. */
export const endDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:end`;

/** The watchdog's `worker_lost` of one attempt (every watchdog in every process uses it). */
export const watchdogDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:watchdog`;

/** A cancel (of a queued or waiting job by the API, or by the runner that parks a cancelled job): one per job. */
export const cancelledDedupId = (jobId: string) => `${jobId}:cancelled`;

/** The `input_timeout` of one question. */
export const inputTimeoutDedupId = (jobId: string, requestId: string) => `${jobId}:input-timeout:${requestId}`;

/** Dedup id of the `status: waiting_for_input` after a question (appended by the runner, or by the API's answer if first). */
export function waitingDedupId(jobId: string, attempt: number, requestId: string): string {
  return `${jobId}:${attempt}:w:${requestId}`;
}
