/**
 * Job snapshots (resume v2): the state of a job at a cursor, computed by ONE pure reducer over its events. The API
 * serves it (`?snapshot=true`, `GET /v1/jobs/:id/snapshot`) and the SDK continues it with the events that follow,
 * so both sides agree by construction.
 *
 * The law (property-tested in `snapshot.spec.ts`): for any events `es` and any cut `k`,
 * `reduceJobEvents(es.slice(k), reduceJobEvents(es.slice(0, k)))` equals `reduceJobEvents(es)` — a snapshot plus the
 * events after it is the same state as all the events.
 *
 * Browser-safe on purpose: only *type* imports (the SDK imports this module at run time; zod stays out of bundles).
 */
import type { JobEvent } from './events.js';
import { TERMINAL_STATUS_OF } from './terminal.js';
import type { JobStatus } from './job.js';
import type { Usage } from './usage.js';

/** A tool call started and not yet ended (in the current attempt). */
export interface OpenToolCall {
  call_id: string;
  name: string;
  arguments: unknown;
}

/** The reduced state of a job after its events up to `seq`. */
export interface JobState {
  /** Seq of the last event reduced (0 = none). */
  seq: number;
  /** From `status` events and the terminal event; `queued` before any. */
  status: JobStatus;
  /** The current attempt (1-based). */
  attempt: number;
  /** The current attempt's token text. */
  text: string;
  /** The current attempt's thinking text. */
  thinking: string;
  /** Tool calls of the current attempt started and not ended, in start order. */
  open_tool_calls: OpenToolCall[];
  /** The open `input_required` event (until its `input_received`), or null. */
  pending_input: JobEvent<'input_required'> | null;
  /** The usage reported so far: zero until the terminal event reports it (as the job's own `usage`). */
  usage: Usage;
}

/** The `snapshot` SSE event's data, and the body of `GET /v1/jobs/:id/snapshot` (which adds `id`, its cursor). */
export interface JobSnapshot extends JobState {
  job_id: string;
  type: 'snapshot';
}

export const SNAPSHOT_EVENT_TYPE = 'snapshot';

/** The state before the first event. */
export function initialJobState(): JobState {
  return {
    seq: 0,
    status: 'queued',
    attempt: 1,
    text: '',
    thinking: '',
    open_tool_calls: [],
    pending_input: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  };
}

/**
 * The state after one more event. Pure: never mutates `s` (nor `e`); returns a new object (sharing what did not
 * change). Rules:
 * - `attempt` starts a new attempt: text, thinking, open tool calls and the pending input of earlier attempts are void;
 * - an event stamped with an older attempt than the current one changes nothing but `seq` (the log fences such
 *   appends; a reducer over arbitrary input stays total anyway);
 * - `tool_call_start` opens a call (a repeated `call_id` replaces the open one), `tool_call_end` closes it;
 * - `input_required` opens the pending input, `input_received` for that `request_id` clears it;
 * - `status` sets the status; a terminal event sets the terminal status and the usage it reports.
 */
export function reduceJobEvent(s: JobState, e: JobEvent): JobState {
  if (e.type === 'attempt') {
    return {
      ...s,
      seq: e.seq,
      attempt: Math.max(s.attempt, e.attempt),
      text: '',
      thinking: '',
      open_tool_calls: [],
      pending_input: null,
    };
  }
  if (e.attempt < s.attempt) return { ...s, seq: e.seq };
  const next: JobState = { ...s, seq: e.seq, attempt: e.attempt };
  switch (e.type) {
    case 'status':
      next.status = e.status;
      break;
    case 'token':
      next.text = s.text + e.text;
      break;
    case 'thinking':
      next.thinking = s.thinking + e.text;
      break;
    case 'tool_call_start':
      next.open_tool_calls = [
        ...s.open_tool_calls.filter((c) => c.call_id !== e.call_id),
        { call_id: e.call_id, name: e.name, arguments: e.arguments },
      ];
      break;
    case 'tool_call_end':
      if (s.open_tool_calls.some((c) => c.call_id === e.call_id)) {
        next.open_tool_calls = s.open_tool_calls.filter((c) => c.call_id !== e.call_id);
      }
      break;
    case 'input_required':
      next.pending_input = e;
      break;
    case 'input_received':
      if (s.pending_input?.request_id === e.request_id) next.pending_input = null;
      break;
    case 'done':
    case 'error':
    case 'cancelled':
      next.status = TERMINAL_STATUS_OF[e.type];
      next.usage = { input_tokens: e.usage.input_tokens, output_tokens: e.usage.output_tokens };
      next.pending_input = null;
      break;
  }
  return next;
}

/** Reduces events in order, from `from` (default: the initial state). */
export function reduceJobEvents(events: Iterable<JobEvent>, from: JobState = initialJobState()): JobState {
  let s = from;
  for (const e of events) s = reduceJobEvent(s, e);
  return s;
}

/** The wire form of a state: the `snapshot` event's data. */
export function toJobSnapshot(jobId: string, s: JobState): JobSnapshot {
  return {
    job_id: jobId,
    seq: s.seq,
    type: 'snapshot',
    status: s.status,
    attempt: s.attempt,
    text: s.text,
    thinking: s.thinking,
    open_tool_calls: s.open_tool_calls,
    pending_input: s.pending_input,
    usage: s.usage,
  };
}

/** The state a snapshot describes (to continue it with the events after it). */
export function stateOfSnapshot(snap: JobSnapshot): JobState {
  return {
    seq: snap.seq,
    status: snap.status,
    attempt: snap.attempt,
    text: snap.text,
    thinking: snap.thinking,
    open_tool_calls: snap.open_tool_calls,
    pending_input: snap.pending_input,
    usage: snap.usage,
  };
}
