/**
 * Whether the event log has room for one more job of this tenant, asked before every create (a job, a batch item, a
 * rerun, a thread's turn):
 * - the log is full (JetStream near JETSTREAM_MAX_BYTES, or the embedded memory budget held by running jobs) ⇒ 503
 *   `service_unavailable` + `Retry-After`: nothing is evicted to make room, running jobs keep theirs;
 * - the tenant holds its log-bytes quota (TENANT_LOG_BYTES_QUOTA) ⇒ 429 `quota_exceeded` + `Retry-After` (when its
 *   oldest counted bytes expire). Other tenants are not affected.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { QuotaExceededError } from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { WorkerConfig } from '../config/worker.config.js';
import { EVENT_LOG, JOB_STORE } from '../engine/engine.constants.js';
import { Metrics } from '../metrics/metrics.service.js';

@Injectable()
export class LogRoom {
  private readonly logger = new Logger('Limits');

  constructor(
    private readonly config: WorkerConfig,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /** Throws the 503 or 429 described above; resolves when the job may be created. */
  async check(tenant: string): Promise<void> {
    if (!this.log.hasRoom()) {
      this.logger.warn({ msg: 'job refused: the event log is full', tenant, usage: this.log.usage() });
      this.metrics?.limitRejected('event_memory');
      throw new ApiError(
        503,
        'service_unavailable',
        'the event log is full with running jobs (JETSTREAM_MAX_BYTES, or the embedded memory budget); retry shortly',
        {
          'Retry-After': '5',
        },
      );
    }
    const quota = this.config.tenantLogBytesQuota;
    if (quota <= 0) return;
    const count = await this.store.logBytes(tenant);
    if (count.tenant < quota) return;
    this.metrics?.limitRejected('log_bytes_quota');
    this.metrics?.quotaRefused('log_bytes');
    // the same typed error as the other quotas: one mapping to 429 `quota_exceeded` + Retry-After
    throw new QuotaExceededError(
      'log_bytes',
      quota,
      count.retryAfterS,
      `your events in the log (${count.tenant} bytes) have reached your quota of ${quota} bytes; retry once older events expire`,
    );
  }
}
