/**
 * Delivery bookkeeping: which jobs run in this process. One run per job: a job delivered again while it runs here
 * is adopted by the run; one delivered while its run winds down after parking continues once that run is over; a
 * run superseded by a newer attempt elsewhere (`StaleAttemptError`) stops silently. Cancel and hand-back abort the
 * run's agent.
 */
import type { QueuedJob } from '@jobstream/job-queue';
import { StaleAttemptError } from '@jobstream/event-log';
import type { DomainLogger } from '@jobstream/job-domain';

/** The state of one job's run in this process. */
export interface Running {
  /** Settles when this process is done with the job (every delivery of it is settled then). */
  done: Promise<void>;
  /** Further deliveries of the same job that reached this process while it ran. */
  adopted: QueuedJob[];
  abort: AbortController;
  cancelReason: string | null;
  /** Aborted to be handed back to the queue (shutdown), not cancelled. */
  handBack: boolean;
  /** The job waits for input now: this run is only winding down (a new delivery is a new run, after this one). */
  parked: boolean;
}

export class Deliveries {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly logger: DomainLogger,
    /** Runs one delivery (the attempt start) with its run state. */
    private readonly start: (q: QueuedJob, state: Running) => Promise<void>,
  ) {}

  /** Jobs running in this process now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /** Aborts the job if it runs here; true when it did. */
  cancel(jobId: string, reason: string): boolean {
    const r = this.running.get(jobId);
    if (!r) return false;
    r.cancelReason ??= reason;
    r.abort.abort(new Error(`cancelled: ${reason}`));
    return true;
  }

  /** Stops the job if it runs here, to give it back to the queue (no terminal event). True when it did. */
  handBack(jobId: string): boolean {
    const r = this.running.get(jobId);
    if (!r) return false;
    r.handBack = true;
    r.abort.abort(new Error('handed back: the worker is shutting down'));
    return true;
  }

  async handle(q: QueuedJob): Promise<void> {
    const jobId = q.jobId;
    const current = this.running.get(jobId);
    if (current?.parked) {
      // Answered while this run was still letting go of the job: the new delivery continues it once it has.
      return current.done.then(() => this.handle(q));
    }
    if (current) {
      this.logger.warn({ msg: 'job delivered again while it runs here; the run goes on', job_id: jobId });
      current.adopted.push(q);
      return current.done;
    }
    // Registered before anything else, so a cancel that arrives while the job is being started is not missed.
    const state: Running = {
      done: Promise.resolve(),
      adopted: [],
      abort: new AbortController(),
      cancelReason: null,
      handBack: false,
      parked: false,
    };
    this.running.set(jobId, state);
    state.done = (async () => {
      const holder = holderOf(q, state);
      try {
        await this.start(holder, state);
      } catch (err) {
        if (!(err instanceof StaleAttemptError)) throw err;
        state.abort.abort(new Error('superseded by a newer attempt'));
        this.logger.warn({
          msg: 'attempt superseded by a newer one elsewhere; stopped',
          job_id: jobId,
          attempt: err.attempt,
          current: err.current,
        });
        holder.abandon();
      } finally {
        if (this.running.get(jobId) === state) this.running.delete(jobId);
      }
    })();
    return state.done;
  }
}

/** One handle over the job's first delivery and any adopted later ones: every call reaches all of them. */
function holderOf(first: QueuedJob, state: Running): QueuedJob {
  const all = () => [first, ...state.adopted];
  return {
    jobId: first.jobId,
    agent: first.agent,
    tenant: first.tenant,
    deliveries: first.deliveries,
    ...(first.lastEvent ? { lastEvent: first.lastEvent } : {}),
    working: () => all().forEach((d) => d.working()),
    ack: async () => {
      await Promise.all(all().map((d) => d.ack()));
    },
    release: async (delayMs?: number) => {
      await Promise.all(all().map((d) => d.release(delayMs)));
    },
    abandon: () => all().forEach((d) => d.abandon()),
  };
}
