/** Jobs: statuses, the public job representation and the create request. */
import { z } from 'zod';
import type { InputKind, RequestedToolCall } from './events.js';
import type { JobStatus } from './status.js';
import type { Usage } from './usage.js';

export { JOB_STATUSES, type JobStatus } from './status.js';

export {
  TERMINAL_STATUSES,
  TERMINAL_STATUS_OF,
  isTerminalStatus,
  statusOfTerminal,
  type TerminalStatus,
} from './terminal.js';

/**
 * Which status may follow which. Nothing leaves a terminal status; `running → queued` is a retry hand-back;
 * `waiting_for_input → queued` is an answered job dispatched again.
 */
export const STATUS_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['waiting_for_input', 'completed', 'failed', 'cancelled', 'queued', 'running'],
  waiting_for_input: ['queued', 'running', 'cancelled', 'failed', 'completed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to);
}

export interface JobError {
  code: string;
  message: string;
}

/** The open question of a job that waits for input: what its `input_required` event asked. */
export interface PendingInput {
  request_id: string;
  kind: InputKind;
  prompt: string;
  /** The JSON Schema the answer must satisfy. */
  schema: Record<string, unknown>;
  tool_calls?: RequestedToolCall[];
  expires_at: string;
}

/** The job as the REST API returns it. */
export interface Job {
  id: string;
  agent: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempt: number;
  /** Cursor of the newest event in the job's log, or null before the first. */
  last_event_id: string | null;
  usage: Usage;
  error: JobError | null;
  metadata: Record<string, unknown> | null;
  /** The open request while the job is `waiting_for_input`, else null (optional: older servers omit it). */
  pending_input?: PendingInput | null;
  /**
   * On `GET /v1/jobs/:id` of a `queued` job: true when no live worker serves its agent now (the job waits for one
   * to announce itself), false when one does. Absent in other states and on lists.
   */
  waiting_for_worker?: boolean;
  stream_url: string;
  events_url: string;
  /** The thread this job is a turn of, and which turn (1, 2, 3 …). Absent outside threads. */
  thread_id?: string;
  turn?: number;
  /** The job this one reruns. */
  rerun_of?: string;
}

export const MAX_METADATA_BYTES = 16 * 1024;

export const createJobRequestSchema = z.strictObject({
  agent: z.string().min(1, 'agent is required').max(64),
  input: z.record(z.string(), z.unknown()),
  metadata: z
    .record(z.string(), z.unknown())
    .optional()
    .refine((m) => m === undefined || JSON.stringify(m).length <= MAX_METADATA_BYTES, {
      message: `metadata must serialize to at most ${MAX_METADATA_BYTES} bytes`,
    }),
});
export type CreateJobRequest = z.infer<typeof createJobRequestSchema>;

export const cancelJobRequestSchema = z.strictObject({ reason: z.string().max(1024).optional() });
export type CancelJobRequest = z.infer<typeof cancelJobRequestSchema>;

/** Largest accepted answer (`input` as JSON). */
export const MAX_INPUT_ANSWER_BYTES = 256 * 1024;

/** `POST /v1/jobs/:id/input`. */
export const inputJobRequestSchema = z.strictObject({
  request_id: z.string().min(1, 'request_id is required').max(512),
  input: z.record(z.string(), z.unknown()),
});
export type InputJobRequest = z.infer<typeof inputJobRequestSchema>;

export const JOB_ID_PATTERN = /^job_[0-9A-HJKMNP-TV-Z]{26}$/;
