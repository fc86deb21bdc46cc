/**
 * The ONE place a job ends: the runner (an agent's end, a crash, a cancel, `worker_lost` when the attempts are
 * spent, a budget or rollback error), the API (a cancel of a queued or waiting job, an expired question answered
 * late) and the watchdog (`worker_lost`, `input_timeout`) all end jobs through {@link endJob}, and settle the store
 * from a terminal event someone else appended through {@link settleFromLog}.
 *
 * Rules (each covered by job-ending.spec.ts):
 *
 * 1. **The log is the arbiter.** A job has exactly one terminal event: the first one its log accepted (the log
 *    refuses any later append with `JobLogClosedError`). Ending = append the terminal event, then settle the store
 *    from *whichever terminal event the log holds* — ours, or the one that got there first (another process's
 *    cancel, the watchdog, the agent's own `done`; the same attempt or another one). Log first, store second: a
 *    crash between the two leaves a closed log and an active record, which the next try settles (rule 2), and
 *    readers already take the outcome from the log (`toJob`).
 * 2. **Idempotent.** Every ending has a stable dedup id (dedup-ids.ts): repeating a half-done end (appended, store
 *    not settled) appends nothing — the log hands back the event stored the first time, or refuses as closed with
 *    it — and settles the store. Never a second terminal event.
 * 3. **Stale attempts.** The log fences attempts: an append of an attempt older than the log's newest one is
 *    refused with `StaleAttemptError`. What that means depends on who ends the job:
 *    - `scope: 'attempt'` — a runner ending the attempt it ran. A newer attempt runs elsewhere (its job was
 *      delivered again): this attempt is superseded and must not end the job nor touch the record, which belongs
 *      to the newer attempt. Nothing is written; the `StaleAttemptError` is thrown to the runner, which lets go of
 *      the job silently.
 *    - `scope: 'job'` — the API's cancel, the watchdog, an input timeout: they end *the job*, whichever attempt
 *      holds it. The end is appended again on the log's current attempt (with that attempt's dedup id, when the
 *      dedup id depends on the attempt), e.g. a worker that died between appending its `attempt` event and writing
 *      the record: the log is on attempt n+1, the record still says n, and the job ends on n+1.
 * 4. **The store follows the log, whatever the record's attempt.** Once the log is closed no attempt can append
 *    anything, so settling an active record from the log's terminal event is always right, even when the record
 *    names a newer attempt than the terminal event (a record left active would never end).
 * 5. **Store already terminal.** Nothing leaves a terminal status. When the record already has the log's status
 *    (a queued job cancelled store-first, another process settled it), its terminal fields (usage, error,
 *    finished_at) are aligned with the event, so log and store agree on the end time. When it has another status
 *    (cannot happen with the paths above: kept as a guard) the record is left alone and `conflict` is reported.
 */
import { isTerminalStatus, type TerminalAgentEvent, type TerminalStatus } from '@jobstream/contracts';
import {
  JobLogClosedError,
  StaleAttemptError,
  type AppendInput,
  type EventLog,
  type LoggedEvent,
} from '@jobstream/event-log';
import type { JobRecord, JobStore } from '@jobstream/job-store';
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
