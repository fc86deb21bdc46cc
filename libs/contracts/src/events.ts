/**
 * Job events: one discriminated union on `type`, validated with zod where events enter the log.
 *
 * An agent produces an {@link AgentEvent} (the type plus its own fields). The event log stamps it into a
 * {@link JobEvent} by adding the envelope: `job_id`, `seq` (dense per job, from 1), `ts` (ISO time) and
 * `attempt` (1-based). Clients receive JobEvents.
 */
import { z } from 'zod';
import { JOB_STATUSES } from './status.js';
import { usageSchema } from './usage.js';
import type { TerminalEventType } from './terminal.js';

export { usageSchema, ZERO_USAGE, type Usage } from './usage.js';

const nonEmpty = z.string().min(1).max(512);

export const statusEventSchema = z.strictObject({ type: z.literal('status'), status: z.enum(JOB_STATUSES) });
export const tokenEventSchema = z.strictObject({ type: z.literal('token'), text: z.string() });
export const thinkingEventSchema = z.strictObject({ type: z.literal('thinking'), text: z.string() });
export const toolCallStartEventSchema = z.strictObject({
  type: z.literal('tool_call_start'),
  call_id: nonEmpty,
  name: nonEmpty,
  arguments: z.unknown(),
});
export const toolCallEndEventSchema = z
  .strictObject({
    type: z.literal('tool_call_end'),
    call_id: nonEmpty,
    name: nonEmpty,
    result: z.unknown().optional(),
    error: z.string().optional(),
  })
  .refine((e) => (e.result !== undefined) !== (e.error !== undefined), {
    message: 'tool_call_end carries exactly one of result or error',
  });
export const attemptEventSchema = z.strictObject({
  type: z.literal('attempt'),
  attempt: z.number().int().min(1),
  reason: z.string(),
});
/** What an `input_required` asks for: a yes/no approval, free text, or the results of client-side tools. */
export const INPUT_KINDS = ['approval', 'text', 'tool_results'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** A tool call the client must run, as listed in an `input_required` of kind `tool_results`. */
export const requestedToolCallSchema = z.strictObject({ call_id: nonEmpty, name: nonEmpty, arguments: z.unknown() });
export type RequestedToolCall = z.infer<typeof requestedToolCallSchema>;

/**
 * The agent stops and waits for an answer (`POST /v1/jobs/:id/input`). `kind`, `tool_calls` and `expires_at` are
 * optional here so that logs written before they existed still parse (the platform fills them in for every new
 * request).
 */
export const inputRequiredEventSchema = z.strictObject({
  type: z.literal('input_required'),
  request_id: nonEmpty,
  kind: z.enum(INPUT_KINDS).optional(),
  prompt: z.string(),
  schema: z.record(z.string(), z.unknown()).optional(),
  tool_calls: z.array(requestedToolCallSchema).optional(),
  expires_at: z.string().optional(),
});
/** An answer to the open `input_required` was accepted. Not terminal. */
export const inputReceivedEventSchema = z.strictObject({
  type: z.literal('input_received'),
  request_id: nonEmpty,
  input: z.record(z.string(), z.unknown()),
});
export const doneEventSchema = z.strictObject({
  type: z.literal('done'),
  usage: usageSchema,
  /** `turn` and `history_chars`: echo in a thread reports which turn it was and how much history it got. */
  /** `text` is absent, and `truncated: true`, when the text alone would pass MAX_EVENT_BYTES (the tokens carry it). */
  output: z.strictObject({
    text: z.string().optional(),
    truncated: z.literal(true).optional(),
    turn: z.number().int().min(1).optional(),
    history_chars: z.number().int().min(0).optional(),
  }),
});
export const errorEventSchema = z.strictObject({
  type: z.literal('error'),
  code: nonEmpty,
  message: z.string(),
  retryable: z.boolean(),
  usage: usageSchema,
});
export const cancelledEventSchema = z.strictObject({
  type: z.literal('cancelled'),
  reason: z.string(),
  usage: usageSchema,
});

/** Every event an agent (or the platform) may append, discriminated on `type`. */
export const agentEventSchema = z.discriminatedUnion('type', [
  statusEventSchema,
  tokenEventSchema,
  thinkingEventSchema,
  toolCallStartEventSchema,
  toolCallEndEventSchema,
  attemptEventSchema,
  inputRequiredEventSchema,
  inputReceivedEventSchema,
  doneEventSchema,
  errorEventSchema,
  cancelledEventSchema,
]);

export type AgentEvent = z.infer<typeof agentEventSchema>;
export type EventType = AgentEvent['type'];
export type AgentEventOf<T extends EventType> = Extract<AgentEvent, { type: T }>;

export const EVENT_TYPES = [
  'status',
  'token',
  'thinking',
  'tool_call_start',
  'tool_call_end',
  'attempt',
  'input_required',
  'input_received',
  'done',
  'error',
  'cancelled',
] as const satisfies readonly EventType[];

/** The envelope the log adds to every event. */
export interface EventEnvelope {
  job_id: string;
  /** 1, 2, 3… dense per job. */
  seq: number;
  /** ISO-8601 time the event was appended. */
  ts: string;
  /** 1-based attempt that produced the event. */
  attempt: number;
}

/** An event as stored in the log and delivered to clients. */
export type JobEvent<T extends EventType = EventType> = EventEnvelope & AgentEventOf<T>;

export { TERMINAL_EVENT_TYPES, isTerminalEvent, type TerminalEventType } from './terminal.js';
export type TerminalAgentEvent = AgentEventOf<TerminalEventType>;

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
  }
}

function tokenFast(value: unknown): AgentEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { type?: unknown; text?: unknown };
  if (v.type !== 'token' || typeof v.text !== 'string') return null;
  const keys = Object.keys(v);
  if (keys.length !== 2 || !Object.hasOwn(v, 'type') || !Object.hasOwn(v, 'text')) return null;
  return { type: 'token', text: v.text };
}

/** Validates an agent event; throws {@link InvalidEventError} naming what is wrong. */
export function parseAgentEvent(value: unknown): AgentEvent {
  // Fast path for the event appended most (one per streamed token): exactly `{ type: 'token', text: string }`
  // is what the schema accepts for a token; anything else (an extra key, a wrong text) goes through the schema.
  const token = tokenFast(value);
  if (token) return token;
  const res = agentEventSchema.safeParse(value);
  if (res.success) return res.data;
  const issues = res.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  throw new InvalidEventError(
    `invalid event${typeof type === 'string' ? ` of type "${type}"` : ''}: ${issues.join('; ')}`,
    issues,
  );
}
