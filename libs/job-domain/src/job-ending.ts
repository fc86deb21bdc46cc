/**
 * The ONE place a job ends: the runner, the HTTP worker protocol, the API and the watchdog end jobs through
 * {@link endJob} and settle the store from a terminal event someone else appended through {@link settleFromLog}.
 * The log is the arbiter; the rules (idempotence, stale attempts, the store following the log) are in
 * docs/job-ending.md, each covered by job-ending.spec.ts.
 */
import { isTerminalStatus, type TerminalAgentEvent, type TerminalStatus, type Usage } from '@jobstream/contracts';
import {
  JobLogClosedError,
  StaleAttemptError,
  type AppendInput,
  type EventLog,
  type LoggedEvent,
} from '@jobstream/event-log';
import type { JobRecord, JobStore } from '@jobstream/job-store';
import { cancelledDedupId } from './dedup-ids.js';
import { asTerminal, statusOfTerminal, terminalPatch, type TerminalJobEvent } from './terminal.js';

export interface JobEndingDeps {
  store: JobStore;
  log: EventLog;
  /** How to append; default `log.append`. The runner passes its retrying append (it rides out log outages). */
  append?: (jobId: string, input: AppendInput) => Promise<LoggedEvent>;
  /** Told of each status change made in the store here (the metrics' job transitions). */
  onTransition?: (status: TerminalStatus) => void;
}

export interface JobEnding {
  jobId: string;
  /** The attempt the end is appended on (the runner's own; for `scope: 'job'`, the record's current one). */
  attempt: number;
  event: TerminalAgentEvent;
  /** Its dedup id; a function of the attempt when a stale attempt may move the end to a newer one. */
  dedupId: string | ((attempt: number) => string);
  /** Who ends the job: one attempt (the runner) or the job as a whole (API, watchdog). See rule 3. */
  scope: 'attempt' | 'job';
}

export interface JobEnded {
  /** The log's terminal event: this ending's, or the one that got there first. */
  event: TerminalJobEvent;
  status: TerminalStatus;
  /** The log holds THIS ending (appended now, or by an earlier try with the same dedup id). */
  appended: boolean;
  /** The attempt this ending was (last) tried on. */
  attempt: number;
  /** This call moved the record to its terminal status. */
  changed: boolean;
  /** The record was already terminal with another status than the log's (rule 5). */
  conflict: boolean;
}

/** How often a `scope: 'job'` end follows the log to a newer attempt before giving up (the error is thrown). */
const STALE_FOLLOWS = 3;

/** Ends the job: appends `ending.event` and settles the store from the log's terminal event (see the header). */
export async function endJob(deps: JobEndingDeps, ending: JobEnding): Promise<JobEnded> {
  const append = deps.append ?? ((id: string, input: AppendInput) => deps.log.append(id, input));
  const { jobId, event } = ending;
  let attempt = Math.max(1, ending.attempt);
  let terminal: TerminalJobEvent;
  let appended: boolean;
  for (let follows = 0; ; follows++) {
    const dedupId = typeof ending.dedupId === 'function' ? ending.dedupId(attempt) : ending.dedupId;
    try {
      terminal = asTerminal(jobId, (await append(jobId, { event, attempt, dedupId })).event);
      appended = true;
      break;
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        terminal = asTerminal(jobId, err.terminal.event);
        appended = false;
        break;
      }
      if (
        err instanceof StaleAttemptError &&
        ending.scope === 'job' &&
        follows < STALE_FOLLOWS &&
        err.current > attempt
      ) {
        attempt = err.current;
        continue;
      }
      throw err;
    }
  }
  const settled = await settleFromLog(deps, jobId, terminal);
  return {
    event: terminal,
    status: settled.status,
    appended,
    attempt,
    changed: settled.changed,
    conflict: settled.conflict,
  };
}

/**
 * Ends attempt `attempt` `cancelled` (a cancel that reached a job while it was being parked, or one found when a
 * question could not be recorded); the log's terminal event, which may be another ending that got there first.
 */
export async function endCancelled(
  deps: JobEndingDeps,
  jobId: string,
  attempt: number,
  reason: string,
  usage: Usage,
): Promise<TerminalJobEvent> {
  const ended = await endJob(deps, {
    jobId,
    attempt,
    event: { type: 'cancelled', reason, usage: { ...usage } },
    dedupId: cancelledDedupId(jobId),
    scope: 'attempt',
  });
  return ended.event;
}

/**
 * Settles the store from the terminal event the log holds (rules 4 and 5): moves the record to the event's status
 * with its usage, error and time; aligns those fields when the record already has that status.
 */
export async function settleFromLog(
  deps: Pick<JobEndingDeps, 'store' | 'onTransition'>,
  jobId: string,
  terminal: TerminalJobEvent,
): Promise<{ status: TerminalStatus; changed: boolean; conflict: boolean; job: JobRecord | null }> {
  const status = statusOfTerminal(terminal);
  const patch = terminalPatch(terminal);
  const tr = await deps.store.transition(jobId, status, { patch });
  if (tr.changed) {
    deps.onTransition?.(status);
    return { status, changed: true, conflict: false, job: tr.job };
  }
  const rec = tr.job;
  if (!rec || rec.status !== status) {
    // unknown (deleted) job, or a record that ended otherwise and cannot change any more
    return { status, changed: false, conflict: rec !== null && isTerminalStatus(rec.status), job: rec };
  }
  const aligned =
    rec.finished_at === patch.finished_at &&
    JSON.stringify(rec.error) === JSON.stringify(patch.error) &&
    JSON.stringify(rec.usage) === JSON.stringify(patch.usage);
  if (aligned) return { status, changed: false, conflict: false, job: rec };
  return { status, changed: false, conflict: false, job: await deps.store.update(jobId, patch) };
}
