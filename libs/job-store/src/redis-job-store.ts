/**
 * The production job store on Redis (ioredis), with the contract of `job-store.port.ts`: optimistic Lua
 * compare-and-set writes, one script per create. Its keys, atomicity, expiry and availability are described in
 * docs/redis.md ("Key layouts").
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  connectRedis,
  evalScript,
  hgetMany,
  ReplicaAck,
  scanIndex,
  toUnavailable,
  type RedisConnectOptions,
  type ReplicaAckOptions,
  type Script,
} from '@jobstream/redis';
import { isTerminalStatus, JOB_STATUSES, type JobStatus } from '@jobstream/contracts';
import {
  IdempotencyConflictError,
  JobStoreUnavailableError,
  openJobsQuotaError,
  OPEN_STATUSES,
  type CreateQuota,
  type IdempotencyInput,
  type JobPatch,
  type JobRecord,
  type JobStore,
  type JobStoreOptions,
  type ListPage,
  type ListQuery,
  type LogBytesCount,
  type TransitionOptions,
  type TransitionResult,
  type WriteOptions,
} from './job-store.port.js';
import { SCRIPTS } from './redis-job-store.scripts.js';
import { RedisLogBytes } from './redis-log-bytes.js';
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

export interface RedisJobStoreOptions extends JobStoreOptions, RedisConnectOptions {
  /** An existing client instead of `url` / `sentinel` (left open by `close`). */
  client?: Redis;
  /** Key prefix; default `jobstream:`. */
  prefix?: string;
  /** Acknowledged writes wait for this many replicas (unset: they do not wait). */
  replicaAck?: ReplicaAckOptions;
  /** How often finished jobs' ids are swept from the list sets (ms); default min(60 s, retention). */
  sweepIntervalMs?: number;
}

const ALL_STATUSES: readonly JobStatus[] = JOB_STATUSES;
const MAX_CAS_ATTEMPTS = 100;

/** The `active` index score of a record: its last sign of life, or '' when the job is not running. */
function activeScore(job: JobRecord): string {
  return isActiveStatus(job.status) ? String(lastSignOfLife(job)) : '';
}

/** The `waiting` index score of a record: its input deadline, or '' when the job is not waiting. */
function waitingScore(job: JobRecord): string {
  const d = inputDeadline(job);
  return d === null ? '' : String(d);
}

/** The `undispatched` index score of a record: its creation time, or '' when its dispatch is confirmed. */
function undispatchedScore(job: JobRecord): string {
  return needsDispatch(job) ? String(Date.parse(job.created_at)) : '';
}

export class RedisJobStore implements JobStore {
  private readonly prefix: string;
  private readonly timer: NodeJS.Timeout;
  private readonly logBytesKeeper: RedisLogBytes;
  /** The connection of the writes that wait for replicas (none without `replicaAck`). */
  private readonly acked: ReplicaAck | null;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly ownsClient: boolean,
    private readonly opts: RedisJobStoreOptions,
  ) {
    this.prefix = opts.prefix ?? 'jobstream:';
    this.logBytesKeeper = new RedisLogBytes(redis, this.prefix, opts.logRetentionMs ?? opts.retentionMs);
    const every = opts.sweepIntervalMs ?? Math.min(60_000, Math.max(100, opts.retentionMs));
    this.timer = setInterval(() => void this.sweep().catch(() => {}), every);
    this.timer.unref();
    this.acked = opts.replicaAck ? new ReplicaAck(redis, opts.replicaAck) : null;
  }

  /** Connects (unless given `client`) and returns the store; fails with {@link JobStoreUnavailableError}. */
  static async create(opts: RedisJobStoreOptions): Promise<RedisJobStore> {
    if (opts.client) return new RedisJobStore(opts.client, false, opts);
    return new RedisJobStore(await connectRedis(opts, JobStoreUnavailableError, 'job store'), true, opts);
  }

  async create(
    job: JobRecord,
    idempotency?: IdempotencyInput,
    quota?: CreateQuota,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const keys = [
      this.jobKey(job.id),
      this.listKey('all', job.tenant),
      this.listKey(job.status, job.tenant),
      this.key('active'),
      this.key('waiting'),
      this.key('undispatched'),
      this.key(`abandoned:${job.id}`),
      // a key name is needed in its place even without a key (never read then)
      idempotency ? this.idemKey(job.tenant, idempotency.key) : this.idemKey(job.tenant, ''),
      ...OPEN_STATUSES.map((st) => this.listKey(st, job.tenant)),
    ];
    const res = (await this.call(() =>
      this.eval(
        SCRIPTS.create,
        keys,
        [
          job.id,
          JSON.stringify(job),
          job.status,
          idempotency?.fingerprint ?? '',
          String(this.opts.idempotencyTtlMs),
          this.jobKey(''),
          activeScore(job),
          waitingScore(job),
          undispatchedScore(job),
          idempotency ? '1' : '0',
          String(quota?.maxOpenJobs ?? 0),
        ],
        true,
      ),
    )) as [string, string?];
    if (res[0] === 'abandoned') throw new JobStoreUnavailableError(`the create of ${job.id} was abandoned`);
    if (res[0] === 'conflict') throw new IdempotencyConflictError(idempotency!.key);
    if (res[0] === 'quota') throw openJobsQuotaError(quota!);
    if (res[0] === 'existing') return { job: JSON.parse(res[1]!) as JobRecord, created: false };
    return { job: structuredClone(job), created: true };
  }

  async get(id: string): Promise<JobRecord | null> {
    const d = await this.call(() => this.redis.hget(this.jobKey(id), 'd'));
    return d === null ? null : (JSON.parse(d) as JobRecord);
  }

  async list(tenant: string, q: ListQuery): Promise<ListPage> {
    const limit = Math.max(1, Math.floor(q.limit));
    const key = this.listKey(q.status ?? 'all', tenant);
    let max = q.cursor ? `(${decodeListCursor(q.cursor)}` : '+';
    const found: JobRecord[] = [];
    // Collect limit + 1 live records (the extra one says whether there is a next page).
    while (found.length <= limit) {
      const want = Math.max(limit + 1 - found.length, 10);
      const ids = await this.call(() => this.redis.zrevrangebylex(key, max, '-', 'LIMIT', 0, want));
      if (ids.length === 0) break;
      const docs = await this.call(() => hgetMany(this.redis, ids, (id) => this.jobKey(id), 'd'));
      for (const { doc } of docs.found) {
        const job = JSON.parse(doc) as JobRecord;
        // A record whose status moved on since this page's set was read is left to its own set.
        if (q.status === undefined || job.status === q.status) found.push(job);
      }
      const gone = docs.gone;
      if (gone.length > 0) await this.dropFromLists(tenant, gone);
      max = `(${ids[ids.length - 1]!}`;
      if (ids.length < want) break;
    }
    const items = found.slice(0, limit);
    const more = found.length > limit;
    return { items, next_cursor: more ? encodeListCursor(items[items.length - 1]!.id) : null };
  }

  async transition(id: string, to: JobStatus, opts: TransitionOptions = {}): Promise<TransitionResult> {
    return this.compareAndSet(id, (job) => applyTransition(job, to, opts, new Date()), opts.durable);
  }

  async update(id: string, patch: JobPatch, opts: WriteOptions = {}): Promise<JobRecord | null> {
    return (await this.compareAndSet(id, (job) => applyPatch(job, patch, new Date()), opts.durable)).job;
  }

  async heartbeat(id: string, at: Date): Promise<boolean> {
    const iso = at.toISOString();
    const r = await this.compareAndSet(id, (job) =>
      isActiveStatus(job.status) ? applyPatch(job, { heartbeat_at: iso }, new Date()) : null,
    );
    return r.changed;
  }

  async listStale(olderThan: Date, limit: number): Promise<JobRecord[]> {
    const before = olderThan.getTime();
    // the index moves with the record, but a write may have landed between the range read and the get
    return (await this.scan('active', `(${before}`, limit)).filter(
      (job) => isActiveStatus(job.status) && lastSignOfLife(job) < before,
    );
  }

  async delete(id: string): Promise<boolean> {
    const job = await this.get(id);
    if (!job) return false;
    const lists = ['all' as const, ...ALL_STATUSES].map((st) => this.listKey(st, job.tenant));
    const idem = job.idempotency_key !== undefined ? this.idemKey(job.tenant, job.idempotency_key) : '';
    // the job's bytes leave its tenant's log-bytes count first (idempotent: a retried delete finds them gone)
    await this.call(() => this.logBytesKeeper.release(id));
    const n = await this.call(() =>
      this.eval(
        SCRIPTS.delete,
        [this.jobKey(id), this.key('active'), this.key('expiring'), idem, this.key('waiting'), ...lists],
        [id, JSON.stringify([id, job.tenant])],
      ),
    );
    return n === 1;
  }

  async abandon(job: JobRecord): Promise<'absent' | 'removed' | 'kept'> {
    const idem = job.idempotency_key !== undefined ? this.idemKey(job.tenant, job.idempotency_key) : '';
    const keys = [this.jobKey(job.id), this.key(`abandoned:${job.id}`), this.key('undispatched'), idem];
    keys.push(...['all' as const, ...ALL_STATUSES].map((st) => this.listKey(st, job.tenant)));
    const args = [job.id, String(this.opts.idempotencyTtlMs)];
    // at once on the shared connection (the tombstone refuses a create still on its way); with `replicaAck` then
    // again (idempotent) until the replicas have it, so that a failover cannot bring back the abandoned record
    const outcome = (await this.call(() => this.eval(SCRIPTS.abandon, keys, args))) as 'absent' | 'removed' | 'kept';
    if (this.acked) await this.call(() => this.eval(SCRIPTS.abandon, keys, args, true));
    return outcome;
  }

  async addLogBytes(tenant: string, jobId: string, bytes: number): Promise<LogBytesCount> {
    return this.call(() => this.logBytesKeeper.add(tenant, jobId, bytes, Date.now()));
  }

  async logBytes(tenant: string, jobId?: string): Promise<LogBytesCount> {
    return this.call(() => this.logBytesKeeper.get(tenant, jobId, Date.now()));
  }

  async listInputExpired(now: Date, limit: number): Promise<JobRecord[]> {
    const at = now.getTime();
    return (await this.scan('waiting', String(at), limit)).filter((job) => {
      const deadline = inputDeadline(job);
      return deadline !== null && deadline <= at;
    });
  }

  async listUndispatched(olderThan: Date, limit: number): Promise<JobRecord[]> {
    return (await this.scan('undispatched', `(${olderThan.getTime()}`, limit)).filter(needsDispatch);
  }

  /** The underlying connection (shared, not owned, by stores that ride on it). */
  get client(): Redis {
    return this.redis;
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.acked?.close();
    if (this.ownsClient) await closeRedis(this.redis);
  }

  /** Removes the ids of expired finished jobs from the list sets (also done lazily by `list`). */
  async sweep(now = Date.now()): Promise<number> {
    const statuses = ['all', ...ALL_STATUSES];
    return (await this.call(() =>
      this.eval(SCRIPTS.sweep, [this.key('expiring')], [String(now), '500', this.key('list:'), ...statuses]),
    )) as number;
  }

  private async compareAndSet(
    id: string,
    next: (job: JobRecord) => JobRecord | null,
    durable = false,
  ): Promise<TransitionResult> {
    for (let attempt = 1; ; attempt++) {
      const [v, d] = await this.call(() => this.redis.hmget(this.jobKey(id), 'v', 'd'));
      if (v === null || d === null) return { job: null, changed: false };
      const job = JSON.parse(d) as JobRecord;
      const updated = next(job);
      if (!updated) return { job, changed: false };
      const finishing = isTerminalStatus(updated.status);
      const removeAt = Date.now() + this.opts.retentionMs;
      const ok = await this.call(() =>
        this.eval(
          SCRIPTS.cas,
          [
            this.jobKey(id),
            this.listKey(job.status, job.tenant),
            this.listKey(updated.status, job.tenant),
            this.key('expiring'),
            this.key('active'),
            this.key('waiting'),
            this.key('undispatched'),
          ],
          [
            v,
            JSON.stringify(updated),
            id,
            finishing ? String(this.opts.retentionMs) : '0',
            JSON.stringify([id, job.tenant]),
            String(removeAt),
            activeScore(updated),
            waitingScore(updated),
            undispatchedScore(updated),
          ],
          durable,
        ),
      );
      if (ok === 1) return { job: updated, changed: true };
      if (attempt >= MAX_CAS_ATTEMPTS)
        throw new JobStoreUnavailableError(`job ${id} changed under ${attempt} writes in a row`);
    }
  }

  private async dropFromLists(tenant: string, ids: string[]): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const s of ['all' as const, ...ALL_STATUSES]) pipe.zrem(this.listKey(s, tenant), ...ids);
    await this.call(() => pipe.exec());
  }

  /** The records of an index's lowest scores up to `max` (ids whose record is gone leave the index). */
  private async scan(index: string, max: string, limit: number): Promise<JobRecord[]> {
    const found = await this.call(() =>
      scanIndex(this.redis, { index: this.key(index), max, limit, keyOf: (id) => this.jobKey(id), field: 'd' }),
    );
    return found.map(({ doc }) => JSON.parse(doc) as JobRecord);
  }

  /** Runs a script; a `durable` one waits for the replicas when `replicaAck` is set. */
  private eval(s: Script, keys: string[], args: string[], durable = false): Promise<unknown> {
    return durable && this.acked ? this.acked.eval(s, keys, args) : evalScript(this.redis, s, keys, args);
  }

  /** Runs a Redis call; connection trouble becomes {@link JobStoreUnavailableError}. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new JobStoreUnavailableError('job store is closed');
    try {
      return await fn();
    } catch (err) {
      throw toUnavailable(err, JobStoreUnavailableError, 'job store');
    }
  }

  private key(k: string): string {
    return this.prefix + k;
  }
  private jobKey(id: string): string {
    return this.key(`job:${id}`);
  }
  private listKey(status: JobStatus | 'all', tenant: string): string {
    return this.key(`list:${status}:${tenant}`);
  }
  private idemKey(tenant: string, key: string): string {
    return this.key(`idem:${tenant.length}:${tenant}:${key}`);
  }
}
