/**
 * Terminal checks, duplicated here on purpose: the contracts' runtime modules pull in zod, and the SDK imports
 * only *types* from them so a browser bundle stays small. `terminal.spec.ts` keeps the copies in line.
 */
import type { JobEvent, TerminalEventType } from '@jobstream/contracts/events';
import type { JobStatus, TerminalStatus } from '@jobstream/contracts/job';

export function isTerminalEvent<E extends { type: string }>(e: E): e is E & { type: TerminalEventType } {
  return e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
}

export function isTerminalStatus(s: JobStatus): s is TerminalStatus {
  return s === 'completed' || s === 'failed' || s === 'cancelled';
}

export type TerminalJobEvent = JobEvent<TerminalEventType>;
