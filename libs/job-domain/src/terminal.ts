/** What a job's terminal event means for its record: the status it settles and the fields it writes. */
import { isTerminalEvent, type JobEvent } from '@jobstream/contracts';
import type { JobPatch } from '@jobstream/job-store';

export { statusOfTerminal } from '@jobstream/contracts';

/** A terminal event as stored in the log (`done`, `error`, `cancelled`). */
export type TerminalJobEvent = JobEvent<'done' | 'error' | 'cancelled'>;

/** The store fields a terminal event settles (finished_at is the event's own time, so log and store agree). */
export function terminalPatch(e: TerminalJobEvent): Required<Pick<JobPatch, 'usage' | 'error' | 'finished_at'>> {
  return {
    usage: e.usage,
    error: e.type === 'error' ? { code: e.code, message: e.message } : null,
    finished_at: e.ts,
  };
}

/** `e` as a terminal event; throws when the log handed back something else (a driver bug, never a user error). */
export function asTerminal(jobId: string, e: JobEvent): TerminalJobEvent {
  if (!isTerminalEvent(e)) throw new Error(`job ${jobId}: expected a terminal event, got "${e.type}"`);
  return e as TerminalJobEvent;
}
