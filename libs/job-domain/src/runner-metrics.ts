import type { JobStatus } from '@jobstream/contracts';

/**
 * What the job runner and the job-ending module report, if anyone listens (the API's Prometheus metrics, provided
 * under the RUNNER_METRICS token); no Nest dependency.
 */
export interface RunnerMetrics {
  /** A status change this process made in the store. */
  jobTransition(status: JobStatus): void;
  /** One attempt ran to its end here: the agent, the job's final status, and how long the attempt ran. */
  jobRunFinished(agent: string, status: JobStatus, seconds: number): void;
  /** A job ended by a limit: `event_too_large`, `too_many_bytes`, `quota_exceeded` or `event_log_full`. */
  jobLimited?(code: string): void;
}
