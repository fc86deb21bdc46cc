/**
 * The watchdog: every stream ends, even when the worker running a job vanished and no worker is left to take the
 * job again.
 *
 * A running job's worker records a heartbeat in the store every `JOB_STALL_TIMEOUT_MS / 3` (with the queue's
 * `working()`). After one stall timeout without it, the queue redelivers the job to another worker (a new attempt).
 * After TWO stall timeouts with no sign of life — nobody took it over — the watchdog ends the job with `error`
 * `worker_lost` (`retryable: true`: the client may create it again) and settles the store.
 *
 * It runs in every API and worker process at once. That is safe: the event log accepts exactly one terminal event
 * per job (all watchdogs use one dedup id per attempt, and a job that ended otherwise refuses the append with
 * {@link JobLogClosedError}), and the store's transitions are atomic. The job's queue message, if any, is acked by
 * the next worker that receives it (it finds the job terminal).
 *
 * A job is re-read just before it is ended, so one that a worker took over meanwhile (new heartbeat or attempt) is
 * left alone; the remaining window (a takeover between that read and the append) needs a worker to come back after
 * 2 × the stall timeout of silence, and ends the job cleanly as `worker_lost` (the late worker then stops: its next
 * append is refused).
 *
 * Interactive jobs (v1.1): a job `waiting_for_input` holds no worker and sends no heartbeat; it is never stale.
 * {@link JobWatchdog.sweepInputs} ends the ones whose open request passed its `expires_at` (from the store's
 * deadline index, so it is exact across restarts) with `error` `input_timeout`, `retryable: false`.
 */
import { Logger } from '@nestjs/common';
import { JobLogClosedError, type EventLog } from '../../libs/event-log/src/index.js';
import { isActiveStatus, lastSignOfLife, type JobRecord, type JobStore } from '../../libs/job-store/src/index.js';
import type { JobEvent } from '../../libs/contracts/src/index.js';
import { endJob } from '../worker/job-ending.js';
import { statusOfTerminal, terminalPatch } from '../worker/job-runner.js';

export interface JobWatchdogOptions {
  /** A job whose last sign of life is older than this is ended (ms); 2 × JOB_STALL_TIMEOUT_MS. */
  staleAfterMs: number;
  /** Most jobs ended per sweep. */
  batch?: number;
}

export class JobWatchdog {
  private readonly logger = new Logger('Watchdog');

  constructor(
    private readonly store: JobStore,
    private readonly log: EventLog,
    private readonly opts: JobWatchdogOptions,
  ) {}

  /** Ends the stale jobs found now; returns the ids of the jobs it ended (or found ended and settled). */
  async sweep(now = Date.now()): Promise<string[]> {
    const olderThan = now - this.opts.staleAfterMs;
    const stale = await this.store.listStale(new Date(olderThan), this.opts.batch ?? 100);
    const ended: string[] = [];
    for (const candidate of stale) {
      // re-read: a worker may have taken the job over since the list was read
      const job = await this.store.get(candidate.id);
      if (!job || !isActiveStatus(job.status) || lastSignOfLife(job) >= olderThan) continue;
      await this.end(job, now - lastSignOfLife(job));
      ended.push(job.id);
    }
    return ended;
  }

  /** Ends the waiting jobs whose question expired by `now`; returns their ids. */
  async sweepInputs(now = Date.now()): Promise<string[]> {
    const due = await this.store.listInputExpired(new Date(now), this.opts.batch ?? 100);
    const ended: string[] = [];
    for (const candidate of due) {
      const job = await this.store.get(candidate.id); // answered meanwhile?
      const req = job?.input_request;
      if (!job || job.status !== 'waiting_for_input' || !req || req.answer !== null || Date.parse(req.expires_at) > now) continue;
      await expireInput(this.store, this.log, job);
      this.logger.log({ msg: 'input request expired; job ended', job_id: job.id, request_id: req.request_id });
      ended.push(job.id);
    }
    return ended;
  }

  private async end(job: JobRecord, silentMs: number): Promise<void> {
    const attempt = Math.max(1, job.attempt);
    let terminal: JobEvent;
    try {
      const stored = await this.log.append(job.id, {
        event: {
          type: 'error',
          code: 'worker_lost',
          message: `the worker running this job stopped responding (no heartbeat for ${Math.round(silentMs / 1000)} s) and no worker took it over`,
          retryable: true,
          usage: job.usage,
        },
        attempt,
        dedupId: `${job.id}:${attempt}:watchdog`,
      });
      terminal = stored.event;
    } catch (err) {
      if (!(err instanceof JobLogClosedError)) throw err;
      terminal = err.terminal.event; // it ended otherwise; only the store lagged behind
    }
    if (terminal.type !== 'done' && terminal.type !== 'error' && terminal.type !== 'cancelled') return;
    const t = terminal as JobEvent<'done' | 'error' | 'cancelled'>;
    await this.store.transition(job.id, statusOfTerminal(t), { patch: terminalPatch(t) });
    this.logger.warn({ msg: 'ended a job whose worker went silent', job_id: job.id, attempt, silent_ms: silentMs, outcome: t.type });
  }
}

/** Ends a waiting job whose open request expired: `error` `input_timeout` (also used by the API on a late answer). */
export async function expireInput(store: JobStore, log: EventLog, job: JobRecord) {
  const req = job.input_request!;
  return endJob(
    store,
    log,
    job.id,
    Math.max(1, job.attempt),
    {
      type: 'error',
      code: 'input_timeout',
      message: `no answer to input request ${req.request_id} before ${req.expires_at}`,
      retryable: false,
      usage: job.usage,
    },
    `${job.id}:input-timeout:${req.request_id}`,
  );
}
