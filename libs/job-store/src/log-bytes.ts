/**
 * Bytes each tenant holds in the event log, for the log-bytes quota (both drivers keep them with this arithmetic).
 *
 * The log removes an event when its age passes the retention, so bytes are counted in **time buckets** by when
 * they were written (width {@link bucketWidthMs}: a 24th of the retention, at least a second) and a bucket stops
 * counting once all its events are past the retention. A tenant's count is the sum of its live buckets: it may stay
 * up to one bucket width after the events left (the quota errs on the safe side), never less. A job's bytes are
 * kept per bucket too, so deleting the job takes exactly its bytes out of the buckets they were added to. Events
 * a log evicts otherwise (the embedded engine's finished jobs under memory pressure) still count until they age out.
 */
export interface LogBytes {
  /** The tenant's bytes in the log now. */
  tenant: number;
  /** The job's bytes in the log (0 when no job was asked about). */
  job: number;
}

export function bucketWidthMs(retentionMs: number): number {
  return Math.max(1_000, Math.ceil(retentionMs / 24));
}

export function bucketOf(at: number, retentionMs: number): number {
  return Math.floor(at / bucketWidthMs(retentionMs));
}

/** The oldest bucket still counted at `now`: its end plus the retention is still ahead. */
export function oldestLiveBucket(now: number, retentionMs: number): number {
  return Math.floor((now - retentionMs) / bucketWidthMs(retentionMs));
}

/** How long the tenant's oldest counted bytes still count: a fair `Retry-After` for a tenant over its quota. */
export function secondsUntilOldestLeaves(buckets: Iterable<number>, now: number, retentionMs: number): number {
  const w = bucketWidthMs(retentionMs);
  let oldest = Infinity;
  for (const b of buckets) if (b >= oldestLiveBucket(now, retentionMs)) oldest = Math.min(oldest, b);
  if (oldest === Infinity) return 1;
  return Math.max(1, Math.ceil(((oldest + 1) * w + retentionMs - now) / 1000));
}

interface JobBytes {
  tenant: string;
  buckets: Map<number, number>;
}

/** The in-memory keeper of the counts (the memory job store's). */
export class MemoryLogBytes {
  private readonly tenants = new Map<string, Map<number, number>>();
  private readonly jobs = new Map<string, JobBytes>();

  constructor(private readonly retentionMs: number) {}

  add(tenant: string, jobId: string, bytes: number, now: number): LogBytes & { retryAfterS: number } {
    const b = bucketOf(now, this.retentionMs);
    const t = this.tenants.get(tenant) ?? new Map<number, number>();
    this.tenants.set(tenant, t);
    t.set(b, (t.get(b) ?? 0) + bytes);
    const j = this.jobs.get(jobId) ?? { tenant, buckets: new Map<number, number>() };
    this.jobs.set(jobId, j);
    j.buckets.set(b, (j.buckets.get(b) ?? 0) + bytes);
    return this.get(tenant, jobId, now);
  }

  get(tenant: string, jobId: string | undefined, now: number): LogBytes & { retryAfterS: number } {
    return {
      tenant: this.sum(this.tenants.get(tenant), now),
      job: jobId === undefined ? 0 : this.sum(this.jobs.get(jobId)?.buckets, now),
      retryAfterS: secondsUntilOldestLeaves(this.tenants.get(tenant)?.keys() ?? [], now, this.retentionMs),
    };
  }

  /** The job was deleted: its bytes leave its tenant's count. */
  release(jobId: string): void {
    const j = this.jobs.get(jobId);
    if (!j) return;
    this.jobs.delete(jobId);
    const t = this.tenants.get(j.tenant);
    if (!t) return;
    for (const [b, n] of j.buckets) if (t.has(b)) t.set(b, t.get(b)! - n);
  }

  /** Drops buckets (and jobs) that no longer count. */
  prune(now: number): void {
    const min = oldestLiveBucket(now, this.retentionMs);
    for (const [tenant, t] of this.tenants) {
      for (const b of t.keys()) if (b < min) t.delete(b);
      if (t.size === 0) this.tenants.delete(tenant);
    }
    for (const [id, j] of this.jobs) {
      for (const b of j.buckets.keys()) if (b < min) j.buckets.delete(b);
      if (j.buckets.size === 0) this.jobs.delete(id);
    }
  }

  private sum(buckets: Map<number, number> | undefined, now: number): number {
    if (!buckets) return 0;
    const min = oldestLiveBucket(now, this.retentionMs);
    let total = 0;
    for (const [b, n] of buckets) if (b >= min) total += n;
    return Math.max(0, total);
  }
}
