/** What the runner is told: limits, timings, and where it reports (metrics, logs, a thread's turn context). */
import type { DomainLogger, RunnerMetrics, TurnContext } from '@jobstream/job-domain';
import type { JobRecord } from '@jobstream/job-store';

export interface JobRunnerOptions {
  maxAttempts: number;
  /** How often a running job tells the queue it is still being worked on. */
  workingIntervalMs: number;
  /** How long an append is retried while the event log is unavailable (then the run fails and is redelivered); 30 s. */
  appendRetryMs?: number;
  /** MAX_EVENTS_PER_JOB: a job reaching this many events ends with `error` `too_many_events` (default: no cap). */
  maxEventsPerJob?: number;
  /** MAX_EVENT_BYTES: one event's JSON at most (the job domain's event caps); default 256 KiB. */
  maxEventBytes?: number;
  /** MAX_JOB_BYTES: a job's events together at most (`too_many_bytes`); default 64 MiB. */
  maxJobBytes?: number;
  /** TENANT_LOG_BYTES_QUOTA: a tenant's bytes in the log at most (`quota_exceeded`); 0 or unset = none. */
  tenantLogBytesQuota?: number;
  /**
   * Merge the `token` / `thinking` outputs that arrive while an append is in flight into one event
   * (COALESCE_TEXT_EVENTS; output-pipe.ts); default true. Off: one event per output, the agent waiting on each.
   */
  coalesceText?: boolean;
  /** How long a question waits for its answer (INPUT_TIMEOUT_S); default 24 h. */
  inputTimeoutMs?: number;
  metrics?: RunnerMetrics;
  /** What else the agent of a job is given (a thread's turn and the conversation so far). */
  turnContext?: (job: JobRecord) => Promise<TurnContext>;
  /** Where the runner logs; default: nowhere. */
  logger?: DomainLogger;
}
