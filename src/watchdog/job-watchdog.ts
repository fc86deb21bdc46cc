/**
 * The watchdog: every stream ends, even when the worker running a job vanished and no worker is left to take the job
 * again (a stale heartbeat re-dispatches it, then ends it). How it decides: docs/internals.md.
 */
import { Logger } from '@nestjs/common';
import type { EventLog } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import { isActiveStatus, lastSignOfLife, type JobRecord, type JobStore } from '@jobstream/job-store';
import { endJob, inputTimeoutDedupId, watchdogDedupId } from '@jobstream/job-domain';
import { answeredRequest, dispatchJob } from '@jobstream/job-domain';

export interface JobWatchdogOptions {
  /** A job whose last sign of life is older than this is ended (ms); 2 × JOB_STALL_TIMEOUT_MS. */
  staleAfterMs: number;
  /** Most jobs ended (and, separately, re-dispatched) per sweep. */
  batch?: number;
  /** A queued job whose dispatch is still unconfirmed this long after its creation is dispatched again (ms); 5000. */
  dispatchGraceMs?: number;
}

/** Several jobs of one sweep failed; the others were handled. */
export class SweepErrors extends Error {
  override readonly name = 'SweepErrors';
  constructor(readonly errors: { jobId: string; error: unknown }[]) {
    super(
      `${errors.length} job(s) could not be handled this sweep: ` +
        errors
          .slice(0, 3)
          .map((e) => `${e.jobId}: ${e.error instanceof Error ? e.error.message : String(e.error)}`)
          .join('; '),
    );
  }
}

export class JobWatchdog {
  private readonly logger = new Logger('Watchdog');

  constructor(
    private readonly store: JobStore,
    private readonly log: EventLog,
    private readonly opts: JobWatchdogOptions,
    /** Without a queue (unit tests of the stale rule), stranded dispatches are not swept. */
    private readonly queue?: JobQueue,
  ) {}

  /**
   * Ends the stale jobs found now and re-dispatches stranded ones; returns the ids of the jobs it ended (or found
   * ended and settled). Every job is tried; if some failed, {@link SweepErrors} is thrown after all were tried.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const errors: { jobId: string; error: unknown }[] = [];
    const ended = await this.endStale(now, errors);
    if (this.queue) await this.redispatch(now, errors);
    if (errors.length > 0) throw new SweepErrors(errors);
    return ended;
  }

  /** Queued jobs re-dispatched by the last sweeps (ids), for tests and logs. */
  readonly redispatched: string[] = [];

  private async endStale(now: number, errors: { jobId: string; error: unknown }[]): Promise<string[]> {
    const olderThan = now - this.opts.staleAfterMs;
    const stale = await this.store.listStale(new Date(olderThan), this.opts.batch ?? 100);
    const ended: string[] = [];
    for (const candidate of stale) {
      try {
        // re-read: a worker may have taken the job over since the list was read
        const job = await this.store.get(candidate.id);
        if (!job || !isActiveStatus(job.status) || lastSignOfLife(job) >= olderThan) continue;
        await this.end(job, now - lastSignOfLife(job));
        ended.push(job.id);
      } catch (error) {
        errors.push({ jobId: candidate.id, error });
      }
    }
    return ended;
  }

  private async redispatch(now: number, errors: { jobId: string; error: unknown }[]): Promise<void> {
    const grace = this.opts.dispatchGraceMs ?? 5_000;
    const stranded = await this.store.listUndispatched(new Date(now - grace), this.opts.batch ?? 100);
    for (const job of stranded) {
      // a job queued again by an answer: its creation is old, so wait the grace from the answer (its API is at it)
      if (answeredRequest(job) && Date.parse(job.updated_at) >= now - grace) continue;
      try {
        await dispatchJob({ store: this.store, log: this.log, queue: this.queue! }, job);
        this.redispatched.push(job.id);
        if (this.redispatched.length > 1000) this.redispatched.splice(0, 500);
        this.logger.warn({
          msg: 'dispatched a job whose dispatch was never confirmed',
          job_id: job.id,
          age_ms: now - Date.parse(job.created_at),
        });
      } catch (error) {
        errors.push({ jobId: job.id, error });
      }
    }
  }

  /**
   * Ends the waiting jobs whose question expired by `now`; returns their ids. A job that cannot be ended is logged
   * (its id and the error) and the sweep goes on with the others; {@link SweepErrors} is thrown after all were tried.
   */
  async sweepInputs(now = Date.now()): Promise<string[]> {
    const due = await this.store.listInputExpired(new Date(now), this.opts.batch ?? 100);
    const ended: string[] = [];
    const errors: { jobId: string; error: unknown }[] = [];
    for (const candidate of due) {
      try {
        const job = await this.store.get(candidate.id); // answered meanwhile?
        const req = job?.input_request;
        if (
          !job ||
          job.status !== 'waiting_for_input' ||
          !req ||
          req.answer !== null ||
          Date.parse(req.expires_at) > now
        )
          continue;
        await expireInput(this.store, this.log, job);
        this.logger.log({ msg: 'input request expired; job ended', job_id: job.id, request_id: req.request_id });
        ended.push(job.id);
      } catch (error) {
        errors.push({ jobId: candidate.id, error });
        this.logger.warn({
          msg: 'input expiry: could not end a job; going on with the others',
          job_id: candidate.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (errors.length > 0) throw new SweepErrors(errors);
    return ended;
  }

  /**
   * Ends a silent job with `worker_lost` (the job domain's job-ending, scope 'job': on a log that is on a newer
   * attempt than the record, the job ends on that attempt; on a closed log the store follows the log).
   */
  private async end(job: JobRecord, silentMs: number): Promise<void> {
    const ended = await endJob(
      { store: this.store, log: this.log },
      {
        jobId: job.id,
        attempt: job.attempt,
        event: {
          type: 'error',
          code: 'worker_lost',
          message: `the worker running this job stopped responding (no heartbeat for ${Math.round(silentMs / 1000)} s) and no worker took it over`,
          retryable: true,
          usage: job.usage,
        },
        dedupId: (attempt) => watchdogDedupId(job.id, attempt),
        scope: 'job',
      },
    );
    this.logger.warn({
      msg: 'ended a job whose worker went silent',
      job_id: job.id,
      attempt: ended.attempt,
      silent_ms: silentMs,
      outcome: ended.event.type,
    });
  }
}

/** Ends a waiting job whose open request expired: `error` `input_timeout` (also used by the API on a late answer). */
export async function expireInput(store: JobStore, log: EventLog, job: JobRecord) {
  const req = job.input_request!;
  return endJob(
    { store, log },
    {
      jobId: job.id,
      attempt: job.attempt,
      event: {
        type: 'error',
        code: 'input_timeout',
        message: `no answer to input request ${req.request_id} before ${req.expires_at}`,
        retryable: false,
        usage: job.usage,
      },
      dedupId: inputTimeoutDedupId(job.id, req.request_id),
      scope: 'job',
    },
  );
}
