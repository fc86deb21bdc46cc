/** Conversations (threads), job management and share links: public shapes and request schemas. */
import { z } from 'zod';
import { MAX_METADATA_BYTES, createJobRequestSchema } from './job.js';

export const THREAD_STATUSES = ['idle', 'busy'] as const;
export type ThreadStatus = (typeof THREAD_STATUSES)[number];

/** What a new turn does when the thread's previous turn is still active. */
export const IF_BUSY_POLICIES = ['reject', 'interrupt', 'enqueue'] as const;
export type IfBusy = (typeof IF_BUSY_POLICIES)[number];

/** The cancel reason of a turn ended by a newer turn (`if_busy: "interrupt"`). */
export const INTERRUPTED_REASON = 'interrupted';

/** The thread as the REST API returns it. */
export interface Thread {
  id: string;
  agent: string;
  status: ThreadStatus;
  /** Turns created so far (including queued ones). */
  turns: number;
  active_job_id: string | null;
  last_job_id: string | null;
  created_at: string;
  updated_at: string;
  metadata: Record<string, unknown> | null;
  /** The thread's name in an outside system (an AG-UI `threadId`); present only on such threads. */
  external_id?: string;
}

/** One earlier turn of a conversation, as the agent of a later turn receives it. */
export interface ConversationTurn {
  turn: number;
  job_id: string;
  input: Record<string, unknown>;
  /** The turn's final text (`done.output.text`); null when it did not complete. */
  output_text: string | null;
}

/** The user's text of a turn's input: `message` (echo), `prompt` (openai), else its user messages, else the JSON. */
export function turnInputText(input: Record<string, unknown>): string {
  if (typeof input['message'] === 'string') return input['message'];
  if (typeof input['prompt'] === 'string') return input['prompt'];
  const messages = input['messages'];
  if (Array.isArray(messages)) {
    return messages
      .filter(
        (m): m is { role: string; content: unknown } =>
          !!m && typeof m === 'object' && (m as { role?: unknown }).role === 'user',
      )
      .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
      .join('\n');
  }
  return JSON.stringify(input);
}

/** Characters of a history: each turn's input text plus its output text (what echo reports as `history_chars`). */
export function historyChars(history: readonly ConversationTurn[]): number {
  return history.reduce((n, t) => n + turnInputText(t.input).length + (t.output_text?.length ?? 0), 0);
}

const metadataSchema = z
  .record(z.string(), z.unknown())
  .optional()
  .refine((m) => m === undefined || JSON.stringify(m).length <= MAX_METADATA_BYTES, {
    message: `metadata must serialize to at most ${MAX_METADATA_BYTES} bytes`,
  });

export const createThreadRequestSchema = z.strictObject({
  agent: z.string().min(1, 'agent is required').max(64),
  metadata: metadataSchema,
});
export type CreateThreadRequest = z.infer<typeof createThreadRequestSchema>;

export const createTurnRequestSchema = z.strictObject({
  input: z.record(z.string(), z.unknown()),
  metadata: metadataSchema,
  if_busy: z.enum(IF_BUSY_POLICIES).optional(),
});
export type CreateTurnRequest = z.infer<typeof createTurnRequestSchema>;

export const rerunJobRequestSchema = z.strictObject({ if_busy: z.enum(IF_BUSY_POLICIES).optional() });
export type RerunJobRequest = z.infer<typeof rerunJobRequestSchema>;

export const BATCH_MAX_ITEMS = 100;
/** One batch item: a create request plus its own idempotency key. Validated item by item (not here). */
export const batchItemSchema = createJobRequestSchema.extend({
  idempotency_key: z.string().optional(),
});
export const batchJobsRequestSchema = z.strictObject({
  jobs: z
    .array(z.unknown())
    .min(1, 'jobs must hold 1 to 100 items')
    .max(BATCH_MAX_ITEMS, 'jobs must hold 1 to 100 items'),
});
export type BatchJobsRequest = z.infer<typeof batchJobsRequestSchema>;

export const SHARE_DEFAULT_TTL_S = 7 * 24 * 3600;
export const SHARE_MAX_TTL_S = 30 * 24 * 3600;
/** Most live share links per job. */
export const SHARES_PER_JOB_MAX = 100;

export const createShareRequestSchema = z.strictObject({
  expires_in_s: z.number().int().min(1).max(SHARE_MAX_TTL_S).optional(),
});
export type CreateShareRequest = z.infer<typeof createShareRequestSchema>;

/** A share link as listed (the token itself is shown once, at creation). */
export interface Share {
  id: string;
  job_id: string;
  created_at: string;
  expires_at: string;
}

export interface IssuedShare extends Share {
  token: string;
  stream_url: string;
  events_url: string;
  job_url: string;
}
