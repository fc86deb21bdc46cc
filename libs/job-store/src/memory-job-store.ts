/** The embedded engine's job store: in-process, with the same contract as the Redis driver. */
import { isTerminalStatus, type JobStatus } from '@jobstream/contracts';
import {
  IdempotencyConflictError,
  OPEN_STATUSES,
  openJobsQuotaError,
  type CreateQuota,
  JobStoreUnavailableError,
  type IdempotencyInput,
  type JobPatch,
  type JobRecord,
  type JobStore,
  type JobStoreOptions,
  type ListPage,
  type LogBytesCount,
  type ListQuery,
  type TransitionOptions,
  type TransitionResult,
} from './job-store.port.js';
import { MemoryLogBytes } from './log-bytes.js';
import {
  applyPatch,
  applyTransition,
  decodeListCursor,
  encodeListCursor,
  inputDeadline,
  isActiveStatus,
  lastSignOfLife,
  needsDispatch,
} from './transitions.js';

interface IdemEntry {
  jobId: string;
  fingerprint: string;
  expiresAt: number;
}

/** First index whose id is ≥ `id` in a sorted array. */
function lowerBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  /** tenant → job ids in creation (= id) order. */
  private readonly byTenant = new Map<string, string[]>();
  private readonly idem = new Map<string, IdemEntry>();
  /** Finished jobs in the order they finished, for expiry (finishing times only grow). */
  private readonly finished: { id: string; at: number }[] = [];
  private finishedHead = 0;
  /** Ids of running jobs, for `listStale`. */
  private readonly active = new Set<string>();
  /** Ids of queued jobs whose dispatch is unconfirmed, for `listUndispatched`. */
  private readonly undispatched = new Set<string>();
  /** Ids whose create was abandoned (see `abandon`), until when. */
  private readonly abandoned = new Map<string, number>();
  /** Ids of jobs waiting for input, for `listInputExpired`. */
  private readonly waiting = new Set<string>();
  /** tenant → ids of its jobs in an open status (the open-jobs quota), kept by `index` like the sets above. */
  private readonly open = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;
  private readonly logBytesKeeper: MemoryLogBytes;

  constructor(
    private readonly opts: JobStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.logBytesKeeper = new MemoryLogBytes(opts.logRetentionMs ?? opts.retentionMs);
    this.timer = setInterval(
      () => {
        this.sweep();
        this.logBytesKeeper.prune(this.now());
      },
      Math.min(60_000, Math.max(50, opts.retentionMs)),
    );
    this.timer.unref();
  }

  async create(
    job: JobRecord,
    idempotency?: IdempotencyInput,
    quota?: CreateQuota,
  ): Promise<{ job: JobRecord; created: boolean }> {
    this.sweep();
    if ((this.abandoned.get(job.id) ?? 0) > this.now())
      throw new JobStoreUnavailableError(`the create of ${job.id} was abandoned`);
    const k = idempotency ? `${job.tenant}\u0000${idempotency.key}` : '';
    if (idempotency) {
      const seen = this.idem.get(k);
      if (seen && seen.expiresAt > this.now()) {
        if (seen.fingerprint !== idempotency.fingerprint) throw new IdempotencyConflictError(idempotency.key);
        const existing = this.jobs.get(seen.jobId);
        if (existing) return { job: clone(existing), created: false };
      }
    }
    if (quota && quota.maxOpenJobs > 0 && (this.open.get(job.tenant)?.size ?? 0) >= quota.maxOpenJobs)
      throw openJobsQuotaError(quota);
    if (idempotency) {
      this.idem.set(k, {
        jobId: job.id,
        fingerprint: idempotency.fingerprint,
        expiresAt: this.now() + this.opts.idempotencyTtlMs,
      });
    }
    this.jobs.set(job.id, clone(job));
    this.index(job);
    const ids = this.byTenant.get(job.tenant) ?? [];
    ids.push(job.id);
    // ids are time-sortable; keep the list sorted even if two ids from the same millisecond arrive out of order
    for (let i = ids.length - 1; i > 0 && ids[i - 1]! > ids[i]!; i--) [ids[i - 1], ids[i]] = [ids[i]!, ids[i - 1]!];
    this.byTenant.set(job.tenant, ids);
    return { job: clone(job), created: true };
  }

  async get(id: string): Promise<JobRecord | null> {
    this.sweep();
    const j = this.jobs.get(id);
    return j ? clone(j) : null;
  }

  async list(tenant: string, q: ListQuery): Promise<ListPage> {
    this.sweep();
    const ids = this.byTenant.get(tenant) ?? [];
    const before = q.cursor ? decodeListCursor(q.cursor) : null;
    let i = ids.length - 1;
    if (before !== null) i = lowerBound(ids, before) - 1;
    const items: JobRecord[] = [];
    for (; i >= 0 && items.length < q.limit; i--) {
      const j = this.jobs.get(ids[i]!);
      if (j && (!q.status || j.status === q.status)) items.push(clone(j));
    }
    // More only if some older job matches.
    let more = false;
    for (let k = i; k >= 0; k--) {
      const j = this.jobs.get(ids[k]!);
      if (j && (!q.status || j.status === q.status)) {
        more = true;
        break;
      }
    }
    const last = items[items.length - 1];
    return { items, next_cursor: more && last ? encodeListCursor(last.id) : null };
  }

  async transition(id: string, to: JobStatus, opts: TransitionOptions = {}): Promise<TransitionResult> {
    const j = this.jobs.get(id);
    if (!j) return { job: null, changed: false };
    const next = applyTransition(j, to, opts, new Date(this.now()));
    if (!next) return { job: clone(j), changed: false };
    this.jobs.set(id, next);
    this.index(next);
    if (isTerminalStatus(to)) this.finished.push({ id, at: Date.parse(next.finished_at ?? next.updated_at) });
    return { job: clone(next), changed: true };
  }

  async update(id: string, patch: JobPatch): Promise<JobRecord | null> {
    const j = this.jobs.get(id);
    if (!j) return null;
    const next = applyPatch(j, patch, new Date(this.now()));
    this.jobs.set(id, next);
    this.index(next);
    return clone(next);
  }

  async heartbeat(id: string, at: Date): Promise<boolean> {
    const j = this.jobs.get(id);
    if (!j || !isActiveStatus(j.status)) return false;
    this.jobs.set(id, applyPatch(j, { heartbeat_at: at.toISOString() }, new Date(this.now())));
    return true;
  }

  async listStale(olderThan: Date, limit: number): Promise<JobRecord[]> {
    const before = olderThan.getTime();
    const stale: JobRecord[] = [];
    for (const id of this.active) {
      const j = this.jobs.get(id);
      if (j && isActiveStatus(j.status) && lastSignOfLife(j) < before) stale.push(j);
    }
    stale.sort((a, b) => lastSignOfLife(a) - lastSignOfLife(b));
    return stale.slice(0, Math.max(1, Math.floor(limit))).map(clone);
  }

  async listUndispatched(olderThan: Date, limit: number): Promise<JobRecord[]> {
    const before = olderThan.getTime();
    const out: JobRecord[] = [];
    for (const id of this.undispatched) {
      const j = this.jobs.get(id);
      if (j && needsDispatch(j) && Date.parse(j.created_at) < before) out.push(j);
    }
    out.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : 1));
    return out.slice(0, Math.max(1, Math.floor(limit))).map(clone);
  }

  async abandon(job: JobRecord): Promise<'absent' | 'removed' | 'kept'> {
    this.abandoned.set(job.id, this.now() + this.opts.idempotencyTtlMs);
    const j = this.jobs.get(job.id);
    if (!j) return 'absent';
    if (j.status !== 'queued' || j.dispatched_at !== null) return 'kept';
    await this.delete(job.id);
    return 'removed';
  }

  async delete(id: string): Promise<boolean> {
    const j = this.jobs.get(id);
    if (!j) return false;
    this.jobs.delete(id);
    this.logBytesKeeper.release(id);
    this.active.delete(id);
    this.waiting.delete(id);
    this.undispatched.delete(id);
    this.unopen(j.tenant, id);
    const ids = this.byTenant.get(j.tenant);
    if (ids) {
      const at = lowerBound(ids, id);
      if (ids[at] === id) ids.splice(at, 1);
      if (ids.length === 0) this.byTenant.delete(j.tenant);
    }
    if (j.idempotency_key !== undefined) {
      const k = `${j.tenant}\u0000${j.idempotency_key}`;
      if (this.idem.get(k)?.jobId === id) this.idem.delete(k);
    }
    return true;
  }

  async addLogBytes(tenant: string, jobId: string, bytes: number): Promise<LogBytesCount> {
    return this.logBytesKeeper.add(tenant, jobId, bytes, this.now());
  }

  async logBytes(tenant: string, jobId?: string): Promise<LogBytesCount> {
    return this.logBytesKeeper.get(tenant, jobId, this.now());
  }

  async listInputExpired(now: Date, limit: number): Promise<JobRecord[]> {
    const at = now.getTime();
    const due: { job: JobRecord; deadline: number }[] = [];
    for (const id of this.waiting) {
      const j = this.jobs.get(id);
      const deadline = j ? inputDeadline(j) : null;
      if (j && deadline !== null && deadline <= at) due.push({ job: j, deadline });
    }
    due.sort((a, b) => a.deadline - b.deadline);
    return due.slice(0, Math.max(1, Math.floor(limit))).map((d) => clone(d.job));
  }

  async ping(): Promise<void> {}

  private index(job: JobRecord): void {
    if (isActiveStatus(job.status)) this.active.add(job.id);
    else this.active.delete(job.id);
    if (needsDispatch(job)) this.undispatched.add(job.id);
    else this.undispatched.delete(job.id);
    if (inputDeadline(job) !== null) this.waiting.add(job.id);
    else this.waiting.delete(job.id);
    if ((OPEN_STATUSES as readonly string[]).includes(job.status)) {
      const set = this.open.get(job.tenant) ?? new Set<string>();
      set.add(job.id);
      this.open.set(job.tenant, set);
    } else this.unopen(job.tenant, job.id);
  }

  private unopen(tenant: string, id: string): void {
    const set = this.open.get(tenant);
    if (set?.delete(id) && set.size === 0) this.open.delete(tenant);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Drops expired idempotency keys (Map order = insertion order = expiry order) and expired finished jobs. */
  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.idem) {
      if (e.expiresAt > now) break;
      this.idem.delete(k);
    }
    for (const [id, until] of this.abandoned) {
      if (until > now) break;
      this.abandoned.delete(id);
    }
    while (this.finishedHead < this.finished.length) {
      const f = this.finished[this.finishedHead]!;
      if (f.at + this.opts.retentionMs > now) break;
      this.finishedHead++;
      const j = this.jobs.get(f.id);
      if (!j) continue;
      this.jobs.delete(f.id);
      const ids = this.byTenant.get(j.tenant);
      if (ids) {
        const at = lowerBound(ids, f.id);
        if (ids[at] === f.id) ids.splice(at, 1);
        if (ids.length === 0) this.byTenant.delete(j.tenant);
      }
    }
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }
}
