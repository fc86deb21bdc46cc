/** Job management: rerun, batch create and delete (thread-aware: a thread's job reruns as a new turn). */
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  batchItemSchema,
  isTerminalStatus,
  type ErrorBody,
  type Job,
  type RerunJobRequest,
} from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import type { ShareStore } from '@jobstream/share-store';
import { ApiError } from '../common/api-error.js';
import { mapError, zodMessage } from '../common/error-mapping.js';
import { EVENT_LOG, JOB_STORE, SHARE_STORE } from '../engine/engine.constants.js';
import { purgeJob } from '../jobs/job-purge.js';
import { toJob } from '../jobs/job-view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
import { ThreadsService } from '../threads/threads.service.js';

export type BatchItem = { job: Job } | ErrorBody;

/** Batch items created at once. */
const BATCH_CONCURRENCY = 10;

@Injectable()
export class JobManagementService {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly jobs: JobsService,
    private readonly threads: ThreadsService,
    private readonly rateLimit: CreateRateLimiter,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(SHARE_STORE) private readonly shares: ShareStore,
  ) {}

  async rerun(
    tenant: string,
    id: string,
    body: RerunJobRequest = {},
    idempotencyKey?: string,
  ): Promise<{ job: Job; created: boolean }> {
    const rec = await this.jobs.record(tenant, id);
    const metadata = rec.metadata ?? undefined;
    if (rec.thread_id !== undefined) {
      return this.threads.createTurn(
        tenant,
        rec.thread_id,
        { input: rec.input, metadata, if_busy: body.if_busy },
        idempotencyKey,
        { rerun_of: id },
      );
    }
    return this.jobs.create(tenant, { agent: rec.agent, input: rec.input, metadata }, idempotencyKey, { rerun_of: id });
  }

  /**
   * Each item on its own: one `{ job }` or `{ error }` per item, in order. Every item takes its own token of the
   * tenant's create rate limit (in order, before any is created), so a batch of 100 costs 100 creates; items past
   * the limit get `{ error: { code: "rate_limited" } }` and nothing is created for them.
   */
  async batch(tenant: string, items: unknown[]): Promise<{ items: BatchItem[] }> {
    const out: BatchItem[] = new Array(items.length);
    let unavailable = 0;
    const limited = items.map((): Error | null => {
      try {
        this.rateLimit.take(tenant);
        return null;
      } catch (err) {
        return err as Error;
      }
    });
    for (let from = 0; from < items.length; from += BATCH_CONCURRENCY) {
      await Promise.all(
        items.slice(from, from + BATCH_CONCURRENCY).map(async (item, k) => {
          const i = from + k;
          try {
            const p = batchItemSchema.safeParse(item);
            if (!p.success) throw ApiError.invalid(zodMessage(p.error, `jobs[${i}]`));
            const { idempotency_key, ...body } = p.data;
            const refused = limited[i];
            if (refused) throw refused;
            out[i] = { job: (await this.jobs.create(tenant, body, idempotency_key)).job };
          } catch (err) {
            const m = mapError(err);
            if (m.status === 503) unavailable++;
            out[i] = m.body;
          }
        }),
      );
    }
    // nothing could be done at all: say so as a whole (503 + Retry-After), so that clients retry the batch
    if (unavailable === items.length)
      throw new ApiError(503, 'service_unavailable', 'the job store is unavailable; retry shortly', {
        'Retry-After': '2',
      });
    this.logger.log({
      msg: 'batch created',
      tenant,
      items: items.length,
      failed: out.filter((o) => 'error' in o).length,
    });
    return { items: out };
  }

  /** Deletes a finished job with its events and share links; 409 `job_active` while it may still run. */
  async delete(tenant: string, id: string): Promise<void> {
    const rec = await this.jobs.record(tenant, id);
    if (!isTerminalStatus(toJob(rec, await this.log.last(id)).status)) {
      throw new ApiError(409, 'job_active', `the job is ${rec.status}; cancel it first`);
    }
    await purgeJob(id, this.store, this.log, this.shares);
    // a thread whose store lagged behind its last job's end is advanced by the thread sweep
    this.logger.log({ msg: 'job deleted', job_id: id, tenant });
  }
}
