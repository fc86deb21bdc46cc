/**
 * How the runner writes the platform's own steps of an attempt: a platform event that may find the job already
 * ended, the end of an attempt (through the job domain's `endJob`, scope 'attempt'), a cancel that reached a job
 * being parked, and the hand-back of a stopped job to the queue as its next attempt.
 */
import type { AgentEvent, JobStatus, TerminalAgentEvent, Usage } from '@jobstream/contracts';
import { isTerminalStatus } from '@jobstream/contracts';
import { EventLogFullError, JobLogClosedError, type AppendInput, type EventLog } from '@jobstream/event-log';
import {
  attemptDedupId,
  endCancelled,
  endDedupId,
  endJob,
  eventLogFullError,
  handBackQueuedDedupId,
  settleFromLog,
  type DomainLogger,
  type JobEndingDeps,
  type RunnerMetrics,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
import type { JobStore } from '@jobstream/job-store';

/** What to do with the queue message once the runner is done with a job. */
export type Outcome = 'ack' | 'release';

export class AttemptEnding {
  constructor(
    private readonly store: JobStore,
    /** The retrying log (retrying-event-log.ts). */
    private readonly log: EventLog,
    private readonly logger: DomainLogger,
    private readonly metrics?: RunnerMetrics,
  ) {}

  get deps(): JobEndingDeps {
    return {
      store: this.store,
      log: this.log,
      onTransition: (status) => this.metrics?.jobTransition(status),
    };
  }

  /** Ends this attempt of the job (scope 'attempt'); the job's final status. */
  async end(jobId: string, attempt: number, event: TerminalAgentEvent): Promise<JobStatus> {
    const ended = await endJob(this.deps, {
      jobId,
      attempt,
      event,
      dedupId: endDedupId(jobId, attempt),
      scope: 'attempt',
    });
    return ended.status;
  }

  /** The log holds the job's terminal event: the store follows it. */
  async settle(jobId: string, event: TerminalJobEvent): Promise<void> {
    await settleFromLog(this.deps, jobId, event);
  }

  /** A cancel that reached a job while it was being parked: ended here, the log's terminal event returned. */
  async endCancelled(jobId: string, attempt: number, reason: string, usage: Usage): Promise<TerminalJobEvent> {
    return endCancelled(this.deps, jobId, attempt, reason, usage);
  }

  /** Appends a platform event; false when the job already ended (the store is settled from the log). */
  async append(
    jobId: string,
    attempt: number,
    event: AgentEvent,
    dedupId: string,
    lastEvent?: AppendInput['lastEvent'],
  ): Promise<boolean> {
    try {
      await this.log.append(jobId, { event, attempt, dedupId, ...(lastEvent ? { lastEvent } : {}) });
      return true;
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        await this.settle(jobId, err.terminal.event as TerminalJobEvent);
        return false;
      }
      if (err instanceof EventLogFullError) {
        // no room for even a status event: end the job now (a terminal event always fits)
        const rec = await this.store.get(jobId);
        if (rec) await this.end(jobId, attempt, eventLogFullError(rec.usage));
        return false;
      }
      throw err;
    }
  }

  /**
   * Gives a stopped job back to the queue as its next attempt: its `attempt` event (reason `worker_shutdown`) and
   * `status: queued`, the record back to `queued`; 'ack' when it ended meanwhile.
   */
  async handBack(jobId: string, attempt: number): Promise<Outcome> {
    const next = attempt + 1;
    // Same dedup id as the `attempt` event a next holder appends for a lost worker: whichever comes first counts once.
    const event: AgentEvent = { type: 'attempt', attempt: next, reason: 'worker_shutdown' };
    if (!(await this.append(jobId, next, event, attemptDedupId(jobId, next)))) return 'ack';
    if (!(await this.append(jobId, next, { type: 'status', status: 'queued' }, handBackQueuedDedupId(jobId, next))))
      return 'ack';
    const tr = await this.store.transition(jobId, 'queued', {
      from: ['running'],
      patch: { attempt: next, heartbeat_at: null },
    });
    if (!tr.changed && tr.job && isTerminalStatus(tr.job.status)) return 'ack';
    this.logger.log({ msg: 'job handed back', job_id: jobId, next_attempt: next });
    return 'release';
  }
}
