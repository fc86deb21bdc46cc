/** Job statuses: their own module, so that events.ts (status events) and job.ts (the job) both use them without a cycle. */
export const JOB_STATUSES = ['queued', 'running', 'waiting_for_input', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
