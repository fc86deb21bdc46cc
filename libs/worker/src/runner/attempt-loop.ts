/**
 * The attempt loop: runs the agent (agent-pass.ts) for one attempt and ends it — a terminal event, a parked
 * question, or a hand-back. A heartbeat (queue `working()`, store `heartbeat_at`, a cancel read back) runs until the
 * very end, through the final append's retries; when the log lost this attempt's events (`LogRollbackError`) the
 * next attempt (reason `log_rollback`) runs the agent again from the start.
 */
import type { JobStatus, TerminalAgentEvent, Usage } from '@jobstream/contracts';
import { isTerminalStatus } from '@jobstream/contracts';
import { LOG_ROLLBACK_REASON, LogRollbackError } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import {
  DEFAULT_MAX_JOB_BYTES,
  JobLogAccount,
  rollbackDedupId,
  statusOfTerminal,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
import type { JobRecord } from '@jobstream/job-store';
import { AgentPass } from './agent-pass.js';
import type { Outcome } from './attempt-ending.js';
import { errorMessage, type RunnerCore } from './core.js';
import type { Running } from './deliveries.js';

export interface AttemptResult {
  outcome: Outcome;
  status: JobStatus;
}

export class AttemptLoop {
  constructor(
    private readonly core: RunnerCore,
    /** The log-bytes account of each job running here (every append of the runner is counted in it). */
    private readonly accounts: Map<string, JobLogAccount>,
  ) {}

  /**
   * Runs the job from `attempt` until it ends, parks or is handed back: what to do with the queue message.
   * `opening`: the first attempt's log-bytes account, already being opened ({@link AttemptLoop.openAccount}).
   */
  async run(
    job: JobRecord,
    attempt: number,
    q: QueuedJob,
    state: Running,
    resume: boolean,
    opening?: Promise<JobLogAccount>,
  ): Promise<Outcome> {
    for (let rollbacks = 0; ; rollbacks++) {
      const started = performance.now();
      try {
        const account = rollbacks === 0 && opening ? opening : this.openAccount(job);
        const { outcome, status } = await this.runAttempt(job, attempt, q, state, resume, account);
        this.core.opts.metrics?.jobRunFinished(job.agent, status, (performance.now() - started) / 1000);
        return outcome;
      } catch (err) {
        if (!(err instanceof LogRollbackError)) throw err;
        const next = await this.voidAttempt(job, attempt, err, state, rollbacks);
        if (next === null) return 'ack';
        attempt = next;
        job = { ...job, attempt: next };
        resume = false; // the new attempt starts from scratch
      }
    }
  }

  /**
   * The log lost events of this attempt: stop the agent, append the next attempt's `attempt` event (reason
   * `log_rollback`), record the attempt in the store, and return it — or null when the job ended meanwhile. Past
   * MAX_ATTEMPTS rollbacks in one run the job ends with a retryable `log_rollback` error instead.
   */
  private async voidAttempt(
    job: JobRecord,
    attempt: number,
    err: LogRollbackError,
    state: Running,
    rollbacks: number,
  ): Promise<number | null> {
    const { core } = this;
    const jobId = job.id;
    state.abort.abort(new Error('attempt void: the log lost its events'));
    const next = attempt + 1;
    core.logger.warn({
      msg: 'the log lost acknowledged events (failover rollback); voiding the attempt',
      job_id: jobId,
      attempt,
      next_attempt: next,
      acknowledged_seq: err.acknowledged,
      found_seq: err.found,
    });
    const voided = { type: 'attempt' as const, attempt: next, reason: LOG_ROLLBACK_REASON };
    if (!(await core.ending.append(jobId, next, voided, rollbackDedupId(jobId, next)))) return null;
    const tr = await core.store.transition(jobId, 'running', {
      from: ['running'],
      patch: { attempt: next, heartbeat_at: new Date().toISOString() },
    });
    if (!tr.changed && tr.job && isTerminalStatus(tr.job.status)) return null;
    // a fresh signal for the new run; a cancel that arrived meanwhile still wins
    state.abort = new AbortController();
    if (state.cancelReason !== null) state.abort.abort(new Error(`cancelled: ${state.cancelReason}`));
    else if (state.handBack) state.abort.abort(new Error('handed back: the worker is shutting down'));
    if (rollbacks + 1 >= core.opts.maxAttempts) {
      await core.ending.end(jobId, next, {
        type: 'error',
        code: 'log_rollback',
        message: `the event log lost this job's events ${rollbacks + 1} time(s) (broker failovers); create the job again`,
        retryable: true,
        usage: { input_tokens: 0, output_tokens: 0 },
      });
      return null;
    }
    return next;
  }

  /** The job's log-bytes account (never rejects: counts from zero when the store cannot say). */
  openAccount(job: JobRecord): Promise<JobLogAccount> {
    const { core } = this;
    return JobLogAccount.open(
      core.store,
      job,
      { maxJobBytes: core.opts.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES, tenantQuota: core.opts.tenantLogBytesQuota ?? 0 },
      core.logger,
    );
  }

  /** One attempt with its keepalive and its log-bytes account (see the header). */
  private async runAttempt(
    job: JobRecord,
    attempt: number,
    q: QueuedJob,
    state: Running,
    resume: boolean,
    opening: Promise<JobLogAccount>,
  ): Promise<AttemptResult> {
    const { core } = this;
    const jobId = job.id;
    const keepalive = setInterval(() => {
      q.working();
      core.store.heartbeat(jobId, new Date()).catch((err: unknown) => {
        // the queue still holds the job; a missed heartbeat only matters if it lasts 2 × the stall timeout
        core.logger.warn({ msg: 'heartbeat failed', job_id: jobId, error: errorMessage(err) });
      });
      if (state.cancelReason === null) this.noticeRecordedCancel(jobId, state);
    }, core.opts.workingIntervalMs);
    keepalive.unref();
    const account = await opening;
    this.accounts.set(jobId, account);
    try {
      // Continuing after an answer: the usage of the attempt so far was saved when the job parked.
      const usage: Usage = resume ? { ...job.usage } : { input_tokens: 0, output_tokens: 0 };
      const pass = await new AgentPass(core, job, attempt, state, resume, account, usage).run();
      return await this.finish(job, attempt, state, pass.ended, pass.pending, pass.parked, usage);
    } finally {
      clearInterval(keepalive);
      if (this.accounts.get(jobId) === account) this.accounts.delete(jobId);
      await account.flush();
    }
  }

  /** Ends the attempt after the agent stopped: its terminal event, a parked question, or a hand-back. */
  private async finish(
    job: JobRecord,
    attempt: number,
    state: Running,
    ended: TerminalJobEvent | null,
    pending: TerminalAgentEvent | null,
    parked: boolean,
    usage: Usage,
  ): Promise<AttemptResult> {
    const { core } = this;
    const jobId = job.id;
    if (parked) return { outcome: 'ack', status: 'waiting_for_input' };
    if (ended) {
      await core.ending.settle(jobId, ended);
      return { outcome: 'ack', status: statusOfTerminal(ended) };
    }
    if (!pending && state.abort.signal.aborted && state.handBack && state.cancelReason === null) {
      const outcome = await core.ending.handBack(jobId, attempt);
      return {
        outcome,
        status: outcome === 'release' ? 'queued' : ((await core.store.get(jobId))?.status ?? 'queued'),
      };
    }
    const final: TerminalAgentEvent =
      pending ??
      (state.abort.signal.aborted
        ? { type: 'cancelled', reason: state.cancelReason ?? '', usage: { ...usage } }
        : {
            type: 'error',
            code: 'agent_incomplete',
            message: 'the agent ended without a terminal event',
            retryable: false,
            usage: { ...usage },
          });
    return { outcome: 'ack', status: await core.ending.end(jobId, attempt, final) };
  }

  /**
   * The cancel message to this worker is one core-NATS message, so it can be lost; the API records the cancel in
   * the store first, and each heartbeat reads it back (one read per `workingIntervalMs`).
   */
  private noticeRecordedCancel(jobId: string, state: Running): void {
    this.core.store.get(jobId).then(
      (rec) => {
        const reason = rec?.cancel_reason;
        if (reason == null || state.cancelReason !== null) return;
        this.core.logger.log({ msg: 'cancel seen in the store (its message did not arrive)', job_id: jobId });
        state.cancelReason = reason;
        state.abort.abort(new Error(`cancelled: ${reason}`));
      },
      () => {
        /* an outage: the heartbeat reports it; the next tick reads again */
      },
    );
  }
}
