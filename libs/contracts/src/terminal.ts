/**
 * The terminal list, once: the events that end a job and the status each one settles. Free of zod, so the SDK's
 * browser bundle can use it at runtime.
 */
import type { JobStatus } from './status.js';

export const TERMINAL_EVENT_TYPES = ['done', 'error', 'cancelled'] as const;
export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];

/** The job status each terminal event settles. */
export const TERMINAL_STATUS_OF = {
  done: 'completed',
  error: 'failed',
  cancelled: 'cancelled',
} as const satisfies Record<TerminalEventType, JobStatus>;

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

const TERMINAL_TYPES: ReadonlySet<string> = new Set(TERMINAL_EVENT_TYPES);
const TERMINAL_STATUS_SET: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

export function isTerminalEvent<E extends { type: string }>(e: E): e is E & { type: TerminalEventType } {
  return TERMINAL_TYPES.has(e.type);
}

export function isTerminalStatus(s: JobStatus): s is TerminalStatus {
  return TERMINAL_STATUS_SET.has(s);
}

/** The status a terminal event settles. */
export function statusOfTerminal(e: { type: TerminalEventType }): TerminalStatus {
  return TERMINAL_STATUS_OF[e.type];
}
