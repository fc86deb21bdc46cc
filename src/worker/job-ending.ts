/**
 * Ends a job from outside a runner (a cancel of a waiting job, an input timeout): appends the terminal event —
 * unless the log already holds one, which then wins — and settles the job store from whichever terminal event the
 * log holds. The log is the arbiter: a job has exactly one terminal event, and the store follows it.
 */
import { isTerminalEvent, type JobEvent, type JobStatus, type TerminalAgentEvent } from '@jobstream/contracts';
import { JobLogClosedError, type EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import { statusOfTerminal, terminalPatch } from './job-runner.js';

export async function endJob(
  store: JobStore,
  log: EventLog,
  jobId: string,
  attempt: number,
  event: TerminalAgentEvent,
  dedupId: string,
): Promise<{ event: JobEvent<'done' | 'error' | 'cancelled'>; status: JobStatus; changed: boolean }> {
  let terminal: JobEvent;
  try {
    terminal = (await log.append(jobId, { event, attempt, dedupId })).event;
  } catch (err) {
    if (!(err instanceof JobLogClosedError)) throw err;
    terminal = err.terminal.event;
  }
  if (!isTerminalEvent(terminal)) throw new Error(`job ${jobId}: expected a terminal event, got "${terminal.type}"`);
  const t = terminal as JobEvent<'done' | 'error' | 'cancelled'>;
  const status = statusOfTerminal(t);
  const tr = await store.transition(jobId, status, { patch: terminalPatch(t) });
  return { event: t, status, changed: tr.changed };
}
