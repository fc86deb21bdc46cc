/**
 * Lapsed leases: an HTTP worker that sent nothing for WORKER_LEASE_S is a lost worker. Every API process sweeps the
 * lease store's due leases every second (at most a quarter lease); `lapse` hands each one to exactly one process,
 * which then, on the job as it is now:
 * - cancel asked for ⇒ the job ends `cancelled` (the worker did not stop by itself);
 * - attempts spent (MAX_ATTEMPTS) ⇒ the job ends `worker_lost`, as the runner ends a job it finds lost once more;
 * - else ⇒ the job goes back to the queue (still `running`: the next claim — HTTP worker or TypeScript runner —
 *   finds its holder lost and starts it as the next attempt with its `attempt` event).
 * Each step is idempotent (dispatch and end dedup ids), and a lapse whose handler died is due again after 10 s.
 */
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { StaleAttemptError, type EventLog } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import type { JobStore } from '@jobstream/job-store';
import { PeriodicPass } from '../common/periodic-pass.js';
import { AppConfig } from '../config/config.js';
import { EVENT_LOG, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import type { LeaseRecord, LeaseStore } from './leases/lease-store.port.js';
import { appendRetrying } from './lease-log.js';
import { endCancelled, endDedupId, endJob, leaseLapseDedupId, workerLostError } from './runner-parts.js';
import { WORKER_LEASES } from './worker-api.constants.js';
import { WorkerApiMetrics, type LapseOutcome } from './worker-api.metrics.js';

const RETRY_MS = 10_000;

@Injectable()
export class LeaseSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerApi');
  private readonly passes = new PeriodicPass(
    () => this.sweep(),
    (err, inARow) => {
      if (inARow === 1) this.logger.warn({ msg: 'lease sweep failed', error: String(err) });
    },
  );

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(WORKER_LEASES) private readonly leases: LeaseStore,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: WorkerApiMetrics,
  ) {}

  get intervalMs(): number {
    return Math.max(100, Math.min(1_000, Math.floor(this.config.workerApi.leaseMs / 4)));
  }

  onApplicationBootstrap(): void {
    this.passes.start(this.intervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }

  /** Handles the leases due now; returns how many lapsed here. */
  async sweep(now = Date.now()): Promise<number> {
    let n = 0;
    for (const id of await this.leases.due(now, 100)) {
      const lease = await this.leases.lapse(id, now, RETRY_MS);
      if (!lease) continue;
      let outcome: LapseOutcome;
      try {
        outcome = await this.handle(lease);
        await this.leases.settled(id);
      } catch (err) {
        // one job's failure does not hold up the others; this lapse is due again after RETRY_MS
        this.logger.warn({
          msg: 'lapsed lease not handled yet',
          lease_id: id,
          job_id: lease.job_id,
          error: String(err),
        });
        continue;
      }
      this.metrics?.lapse(outcome);
      this.logger.warn({
        msg: 'HTTP worker lease lapsed',
        job_id: lease.job_id,
        lease_id: lease.lease_id,
        worker_id: lease.worker_id,
        attempt: lease.attempt,
        outcome,
      });
      n++;
    }
    return n;
  }

  private async handle(lease: LeaseRecord): Promise<LapseOutcome> {
    const jobId = lease.job_id;
    const rec = await this.store.get(jobId);
    if (!rec || rec.status !== 'running' || rec.attempt !== lease.attempt) return 'gone';
    const deps = {
      store: this.store,
      log: this.log,
      append: (id: string, input: Parameters<EventLog['append']>[1]) => appendRetrying(this.log, id, input),
    };
    try {
      if (rec.cancel_reason !== null) {
        await endCancelled(deps, jobId, lease.attempt, rec.cancel_reason, rec.usage);
        return 'cancelled';
      }
      if (lease.attempt >= this.config.maxAttempts) {
        await endJob(deps, {
          jobId,
          attempt: lease.attempt,
          event: workerLostError(lease.attempt, rec.usage),
          dedupId: endDedupId(jobId, lease.attempt),
          scope: 'attempt',
        });
        return 'worker_lost';
      }
    } catch (err) {
      if (err instanceof StaleAttemptError) return 'gone';
      throw err;
    }
    await this.queue.enqueue(jobId, {
      agent: rec.agent,
      tenant: rec.tenant,
      dedupId: leaseLapseDedupId(jobId, lease.lease_id),
    });
    return 'retried';
  }
}
