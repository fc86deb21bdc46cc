/** Request bodies of the HTTP worker protocol (validated with zod; a failure is a 400 naming the field). */
import { z } from 'zod';
import { CATALOG_LIMITS } from '@jobstream/job-queue';

/** The longest long-poll of a claim (s). */
export const MAX_WAIT_S = 30;

export const claimBodySchema = z.strictObject({
  worker_id: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'must be 1–128 characters of letters, digits and _ . : @ -'),
  agents: z
    .array(
      z.strictObject({
        name: z.string(),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1)
    .max(CATALOG_LIMITS.agentsPerAnnounce),
  wait_s: z.number().min(0).max(MAX_WAIT_S).optional(),
});
export type ClaimBody = z.infer<typeof claimBodySchema>;

/** `200` of a claim: the lease and what the agent runs on. */
export interface LeaseGrant {
  lease_id: string;
  job_id: string;
  attempt: number;
  agent: string;
  input: Record<string, unknown>;
  /** This attempt's events so far (a TypeScript agent's `ctx.history`); empty on a fresh start. */
  history: unknown[];
  lease_expires_at: string;
  /** The attempt's usage when it parked (a job continuing after an answer); absent on a fresh start. */
  usage?: { input_tokens: number; output_tokens: number };
}

/** `200` of an append. */
export interface AppendAnswer {
  next_producer_seq: number;
  cancel_requested: boolean;
  /** The reason the cancel gave, when one was asked for. */
  cancel_reason?: string;
  lease_expires_at: string;
  /** The SSE cursor of the last event appended (for `Last-Event-ID` / `after`). */
  last_event_id: string | null;
}

/** `200` of a heartbeat. */
export interface HeartbeatAnswer {
  cancel_requested: boolean;
  cancel_reason?: string;
  lease_expires_at: string;
}
