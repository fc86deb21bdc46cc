/**
 * Promise-style helpers:
 * - {@link streamJobUntilComplete}: follow a job to its end and get the final job, its text and its events;
 * - {@link waitFor}: the first event that matches a predicate.
 */
import type { JobEvent } from '@jobstream/contracts/events';
import { isTerminalEvent } from './terminal.js';
import type { Job } from '@jobstream/contracts/job';
import { isTerminalStatus } from './terminal.js';
import { backoffDelay, resolveReconnect, sleep } from './backoff.js';
import { JobstreamTimeoutError, JobstreamUnmatchedError, abortReason, isRetryable } from './errors.js';
import { createStreamWith, isSnapshot, type SnapshotStreamOptions, type StreamOptions } from './stream.js';
import { subscribeWith, type SubscribeHandlers, type TerminalJobEvent } from './subscribe.js';
import { resolveTransport, type ClientSource, type Transport } from './transport.js';

export interface CompletedJob {
  /** The job after its terminal event (status `completed`, `failed` or `cancelled`). */
  job: Job;
  /** Token text of the final attempt — equal to `done.output.text` for a completed job. */
  text: string;
  /** Every event delivered, in seq order (including earlier attempts' events and the terminal one). */
  events: JobEvent[];
  /** The terminal event. */
  terminal: TerminalJobEvent;
}

export type UntilCompleteOptions = StreamOptions &
  ClientSource &
  Pick<SubscribeHandlers, 'onToken' | 'onAttempt' | 'onEvent' | 'onInputRequired'> & {
    /** Seconds the final `GET /wait` may block if the job's status lags its terminal event. Default 10. */
    settleTimeoutS?: number;
  };

/**
 * Follows the job (reconnecting) until its terminal event, then fetches the final job. A job that fails or is
 * cancelled still resolves (look at `job.status` / `terminal.type`); the promise rejects only when streaming fails
 * (the error carries `job` from a final status check when the state was unclear) or `signal` aborts (its reason).
 */
export async function streamJobUntilComplete(jobId: string, options: UntilCompleteOptions): Promise<CompletedJob> {
  const transport = resolveTransport(options);
  const events: JobEvent[] = [];
  const sub = subscribeWith(
    transport,
    jobId,
    {
      onEvent: (e) => {
        events.push(e);
        options.onEvent?.(e);
      },
      ...(options.onToken ? { onToken: options.onToken } : {}),
      ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
      // a job that asks is answered by this handler (return the input, or call respond)
      ...(options.onInputRequired ? { onInputRequired: options.onInputRequired } : {}),
    },
    options,
  );
  const result = await sub.done;
  if (result.outcome === 'failed') throw result.error;
  if (result.outcome === 'closed')
    throw options.signal ? abortReason(options.signal) : new DOMException('aborted', 'AbortError');
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  const init = options.signal ? { signal: options.signal } : {};
  // The final look-ups ride out connection failures like the stream did (same reconnect policy).
  let job = await getWithRetry<Job>(transport, path, init, options);
  if (!isTerminalStatus(job.status)) {
    // The status may trail the terminal event by a moment: let the server tell us when it settles.
    job = await getWithRetry<Job>(
      transport,
      `${path}/wait`,
      { ...init, query: { timeout_s: options.settleTimeoutS ?? 10 } },
      options,
    );
  }
  return { job, text: result.text, events, terminal: result.terminal };
}

/** A GET retried on connection failures and retryable statuses with the stream's backoff (none if `reconnect: false`). */
async function getWithRetry<T>(
  transport: Transport,
  path: string,
  init: Parameters<Transport['json']>[2],
  options: StreamOptions,
): Promise<T> {
  const policy =
    options.reconnect === false ? null : resolveReconnect(options.reconnect === true ? undefined : options.reconnect);
  for (let failures = 0; ;) {
    try {
      return (await transport.json<T>('GET', path, init)).body;
    } catch (err) {
      failures++;
      if (!policy || !isRetryable(err) || failures > policy.maxRetries || options.signal?.aborted) throw err;
      await sleep(backoffDelay(failures, policy), options.signal);
    }
  }
}

export type WaitForOptions = StreamOptions &
  ClientSource & {
    /** Reject with {@link JobstreamTimeoutError} when nothing matched within this many ms (default: no limit). */
    timeoutMs?: number;
  };

/**
 * Streams the job and resolves with the first event for which `predicate` is true (the terminal event included).
 * Rejects with {@link JobstreamTimeoutError} after `timeoutMs`, {@link JobstreamUnmatchedError} when the job ended
 * without a match, a streaming error, or the signal's reason on abort.
 */
export function waitFor<E extends JobEvent>(
  jobId: string,
  predicate: (event: JobEvent) => event is E,
  options: WaitForOptions,
): Promise<E>;
export function waitFor(
  jobId: string,
  predicate: (event: JobEvent) => boolean,
  options: WaitForOptions,
): Promise<JobEvent>;
export async function waitFor(
  jobId: string,
  predicate: (event: JobEvent) => boolean,
  options: WaitForOptions,
): Promise<JobEvent> {
  // snapshots (when the options ask for them) are not events: skipped below
  const stream = createStreamWith(resolveTransport(options), jobId, options as SnapshotStreamOptions);
  let timedOut = false;
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          stream.close();
        }, options.timeoutMs)
      : undefined;
  try {
    for await (const item of stream) {
      if (isSnapshot(item)) continue;
      const event = item;
      if (predicate(event)) return event;
      if (isTerminalEvent(event)) {
        throw new JobstreamUnmatchedError(`job ${jobId} ended (${event.type}) without a matching event`);
      }
    }
    if (timedOut) throw new JobstreamTimeoutError(`no matching event of job ${jobId} within ${options.timeoutMs} ms`);
    throw options.signal ? abortReason(options.signal) : new DOMException('aborted', 'AbortError');
  } finally {
    clearTimeout(timer);
    stream.close();
  }
}
