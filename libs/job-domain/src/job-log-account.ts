/**
 * One run's account of the bytes its job writes to the log, against MAX_JOB_BYTES and the tenant's log-bytes
 * quota. The job's and the tenant's counts come from the job store when the run starts; the run adds what it
 * appends locally (no I/O per event) and flushes to the store every `flushBytes` and at its end, learning the
 * tenant's total (other jobs' writes included) each time. So a tenant may pass its quota by at most `flushBytes` per
 * running job before the run notices.
 */
import type { JobRecord, JobStore } from '@jobstream/job-store';
import type { TerminalAgentEvent, Usage } from '@jobstream/contracts';

export interface LogLimits {
  maxJobBytes: number;
  /** The tenant's log-bytes quota; 0 = none. */
  tenantQuota: number;
}

export interface AccountLogger {
  warn(o: Record<string, unknown>): void;
}

export class JobLogAccount {
  private unflushed = 0;
  private readonly flushBytes: number;

  private constructor(
    private readonly store: JobStore,
    private readonly job: JobRecord,
    private readonly limits: LogLimits,
    private readonly logger: AccountLogger,
    private jobBytes: number,
    private tenantBytes: number,
  ) {
    const quota = limits.tenantQuota > 0 ? limits.tenantQuota : Infinity;
    this.flushBytes = Math.max(16 * 1024, Math.min(1024 * 1024, Math.floor(quota / 64)));
  }

  /** Starts from the store's counts (from zero if the store cannot say now: the flushes catch up). */
  static async open(store: JobStore, job: JobRecord, limits: LogLimits, logger: AccountLogger): Promise<JobLogAccount> {
    let counts = { job: 0, tenant: 0 };
    try {
      counts = await store.logBytes(job.tenant, job.id);
    } catch (err) {
      logger.warn({ msg: 'log-bytes count unavailable; counting from zero', job_id: job.id, error: String(err) });
    }
    return new JobLogAccount(store, job, limits, logger, counts.job, counts.tenant);
  }

  /** The job's bytes so far. */
  get bytes(): number {
    return this.jobBytes;
  }

  /** An event of `bytes` more stays within MAX_JOB_BYTES. */
  fits(bytes: number): boolean {
    return this.jobBytes + bytes <= this.limits.maxJobBytes;
  }

  add(bytes: number): void {
    this.jobBytes += bytes;
    this.tenantBytes += bytes;
    this.unflushed += bytes;
  }

  /** Flushes when enough is pending; then true when the tenant is past its quota. */
  async overQuota(): Promise<boolean> {
    if (this.unflushed >= this.flushBytes) await this.flush();
    return this.limits.tenantQuota > 0 && this.tenantBytes > this.limits.tenantQuota;
  }

  /** Writes what is pending to the store; a failure is logged and the bytes stay pending (the next flush retries). */
  async flush(): Promise<void> {
    const n = this.unflushed;
    if (n === 0) return;
    this.unflushed = 0;
    try {
      const counts = await this.store.addLogBytes(this.job.tenant, this.job.id, n);
      this.tenantBytes = counts.tenant + this.unflushed;
    } catch (err) {
      this.unflushed += n;
      this.logger.warn({ msg: 'log-bytes count not written; retried later', job_id: this.job.id, error: String(err) });
    }
  }

  tooManyBytes(usage: Usage): TerminalAgentEvent {
    return {
      type: 'error',
      code: 'too_many_bytes',
      message: `the job's events reached ${this.limits.maxJobBytes} bytes (MAX_JOB_BYTES)`,
      retryable: false,
      usage: { ...usage },
    };
  }

  quotaExceeded(usage: Usage): TerminalAgentEvent {
    return {
      type: 'error',
      code: 'quota_exceeded',
      message: `the tenant's events in the log passed its quota of ${this.limits.tenantQuota} bytes (TENANT_LOG_BYTES_QUOTA); retry once older events expire`,
      retryable: true,
      usage: { ...usage },
    };
  }
}

/** The terminal event of a job whose agent emitted an event over MAX_EVENT_BYTES that cannot be split. */
export function eventTooLarge(type: string, bytes: number, max: number, usage: Usage): TerminalAgentEvent {
  return {
    type: 'error',
    code: 'event_too_large',
    message: `the agent emitted a "${type}" event of ${bytes} bytes, over MAX_EVENT_BYTES (${max})`,
    retryable: false,
    usage: { ...usage },
  };
}
