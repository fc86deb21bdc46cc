/**
 * The production job store on Redis (ioredis), with the contract of `job-store.port.ts`.
 *
 * Keys (all under a prefix, default `jobstream:`, so that deployments and tests can share a Redis):
 * - `job:<id>`: a hash `{ v, d }`: `d` the JobRecord as JSON, `v` a version bumped by every write.
 * - `list:all:<tenant>` and `list:<status>:<tenant>`: sorted sets of job ids, score 0, so that a lex range gives
 *   id order = creation order (ids are time-sortable ULIDs). Pages are `ZREVRANGEBYLEX` from the cursor id
 *   (exclusive): exact, no skip, no repeat. The status filter has its own set, kept in step with the record.
 * - `idem:<len(tenant)>:<tenant>:<key>`: `{ jobId, fingerprint }` with a TTL of `idempotencyTtlMs`.
 * - `expiring`: sorted set of finished jobs by removal time, so that their ids are taken out of the list sets.
 * - `active`: sorted set of the ids of running jobs, score = last sign of life (`heartbeat_at`, else `updated_at`,
 *   in ms). Every create and compare-and-set writes it in the same script as the record (added or re-scored while
 *   running, removed otherwise), so `listStale` is one range read.
 * - `undispatched`: sorted set of the ids of queued jobs whose dispatch is unconfirmed (`dispatched_at: null`),
 *   score = creation time (ms); written by the same scripts, read by `listUndispatched`.
 * - `waiting`: sorted set of the ids of jobs `waiting_for_input`, score = `input_request.expires_at` (ms), kept the
 *   same way, so `listInputExpired` is one range read (v1.1).
 *
 * Atomicity: transitions and updates are optimistic. The record is read, the shared pure rules
 * (`applyTransition` / `applyPatch`) compute the next record, and a Lua compare-and-set writes it only if the
 * version is unchanged (otherwise: read again, bounded). Lua on one connection instead of WATCH/MULTI, because
 * WATCH is per connection and the store multiplexes concurrent calls on one. Create (with its idempotency key)
 * is one Lua script. Note: the create script reads `job:<id>` of an idempotency hit, a key it cannot declare in
 * advance: fine on a standalone Redis (or a primary with replicas), not for Redis Cluster.
 *
 * Expiry: a job entering a terminal status gets `PEXPIRE retentionMs`; its ids leave the list sets lazily (a list
 * that meets a vanished record removes it) and by a periodic sweep of `expiring`.
 *
 * Availability: `enableOfflineQueue: false`, one retry per request and a command timeout, so that with Redis down
 * every call fails fast with {@link JobStoreUnavailableError}; ioredis reconnects on its own and the same store
 * works again once Redis is back (scripts are re-sent after a restart empties the script cache).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { evalScript, isReplyError, script, type Script } from './redis-scripts.js';
import { isTerminalStatus, type JobStatus } from '@jobstream/contracts';
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
} from './job-store.port.js';
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

export interface RedisJobStoreOptions extends JobStoreOptions {
  /**
   * `redis://host:port/db` (never logged), or an existing client (left open by `close`). With `sentinel`, only the
   * URL's credentials, db and scheme (`rediss` = TLS) are used: the primary's address comes from Sentinel.
   */
  url?: string;
  /** Redis Sentinel discovery (ioredis's own): the sentinels and the master name; follows failovers by itself. */
  sentinel?: { sentinels: { host: string; port: number }[]; name: string };
  client?: Redis;
  /** Key prefix; default `jobstream:`. */
  prefix?: string;
  /** Connect timeout (ms); default 2000. */
  connectTimeoutMs?: number;
  /** Per-command timeout (ms); default 2000. */
  commandTimeoutMs?: number;
  /** How often finished jobs' ids are swept from the list sets (ms); default min(60 s, retention). */
  sweepIntervalMs?: number;
}

/**
 * create: KEYS job, list:all, list:<status>, active, waiting, undispatched, abandoned (the tombstone of an abandoned
 * create), idem (a placeholder name without a key), list:queued, list:running, list:waiting_for_input (the tenant's
 * open jobs, for the quota);
 * ARGV id, json, status, fingerprint, idemTtlMs, jobKeyPrefix, active score ('' = not active), waiting score ('' = not waiting),
 * undispatched score ('' = dispatched), has idempotency key ('1' / '0'), most open jobs of the tenant (0 = no quota).
 * The quota is counted from the status sets themselves (kept with every record in the same scripts), so there is
 * no separate counter that a lost decrement could leave wrong.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[7]) == 1 then return {'abandoned'} end
if ARGV[10] == '1' then
  local seen = redis.call('GET', KEYS[8])
  if seen then
    local s = cjson.decode(seen)
    if s.fingerprint ~= ARGV[4] then return {'conflict'} end
    local d = redis.call('HGET', ARGV[6] .. s.jobId, 'd')
    if d then return {'existing', d} end
  end
end
local quota = tonumber(ARGV[11])
if quota > 0 then
  local open = redis.call('ZCARD', KEYS[9]) + redis.call('ZCARD', KEYS[10]) + redis.call('ZCARD', KEYS[11])
  if open >= quota then return {'quota', tostring(open)} end
end
if ARGV[10] == '1' then
  redis.call('SET', KEYS[8], cjson.encode({ jobId = ARGV[1], fingerprint = ARGV[4] }), 'PX', ARGV[5])
end
redis.call('HSET', KEYS[1], 'v', 1, 'd', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1]) end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[5], ARGV[8], ARGV[1]) end
if ARGV[9] ~= '' then redis.call('ZADD', KEYS[6], ARGV[9], ARGV[1]) end
return {'created'}
`;

/**
 * compare-and-set: KEYS job, list:<old>:<t>, list:<new>:<t>, expiring, active, waiting, undispatched;
 * ARGV expected version, json, id, ttlMs (0 = none), expiring member, expiring score, active score ('' = remove),
 * waiting score ('' = remove), undispatched score ('' = remove).
 */
const CAS = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 'd', ARGV[2])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[3])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
end
if ARGV[7] == '' then
  redis.call('ZREM', KEYS[5], ARGV[3])
else
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[3])
end
if ARGV[8] == '' then
  redis.call('ZREM', KEYS[6], ARGV[3])
else
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[3])
end
if ARGV[9] == '' then
  redis.call('ZREM', KEYS[7], ARGV[3])
else
  redis.call('ZADD', KEYS[7], ARGV[9], ARGV[3])
end
return 1
`;

/** sweep: KEYS expiring; ARGV now, batch, list prefix, statuses…  Members are JSON [id, tenant]. */
const SWEEP = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local e = cjson.decode(m)
  for i = 4, #ARGV do redis.call('ZREM', ARGV[3] .. ARGV[i] .. ':' .. e[2], e[1]) end
  redis.call('ZREM', KEYS[1], m)
end
return #due
`;

/**
 * delete: KEYS job, active, expiring, idem ('' = none), waiting, list keys…; ARGV id, expiring member.
 * The idempotency key goes only while it still names this job.
 */
const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
if KEYS[4] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen and cjson.decode(seen).jobId == ARGV[1] then redis.call('DEL', KEYS[4]) end
end
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`;

/**
 * abandon: KEYS job, abandoned, undispatched, idem ('' = none), list keys…; ARGV id, ttlMs. The tombstone first (a
 * create still on its way is refused), then a landed record that was never dispatched goes, as `delete` does.
 */
const ABANDON = `
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return 'absent' end
local j = cjson.decode(d)
if j.status ~= 'queued' or j.dispatched_at ~= cjson.null then return 'kept' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if KEYS[4] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen and cjson.decode(seen).jobId == ARGV[1] then redis.call('DEL', KEYS[4]) end
end
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 'removed'
`;

const ALL_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'waiting_for_input',
  'completed',
  'failed',
  'cancelled',
];
const MAX_CAS_ATTEMPTS = 100;

const SCRIPTS = {
  create: script(CREATE),
  cas: script(CAS),
  sweep: script(SWEEP),
  delete: script(DELETE),
  abandon: script(ABANDON),
};

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

/**
 * Redis answers that mean "not now" rather than "wrong request": a replica that is (still) read-only after a
 * failover, a server loading its data set, a primary without its replicas, a cluster or sentinel in transition.
 */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|BUSY|NOTBUSY)\b/;

export class RedisJobStore implements JobStore {
  private readonly prefix: string;
  private readonly timer: NodeJS.Timeout;
  private readonly logBytesKeeper: RedisLogBytes;
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
  }

  /** Connects (unless given `client`) and returns the store; fails with {@link JobStoreUnavailableError}. */
  static async create(opts: RedisJobStoreOptions): Promise<RedisJobStore> {
    if (!opts.client && !opts.url && !opts.sentinel)
      throw new TypeError('RedisJobStore needs `url`, `sentinel` or `client`');
    if (opts.client) return new RedisJobStore(opts.client, false, opts);
    let givenUp = false;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: opts.connectTimeoutMs ?? 2_000,
      // how long a disconnect waits for the socket to close before forcing it (default 2 s keeps tests alive)
      disconnectTimeout: 200,
      // reconnect forever, quickly at first, at most every second
      retryStrategy: (times) => (givenUp ? null : Math.min(50 * times, 1_000)),
    };
    let redis: Redis;
    if (opts.sentinel) {
      const u = opts.url ? new URL(opts.url) : null;
      const db = u && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
      redis = new Redis({
        ...options,
        sentinels: opts.sentinel.sentinels,
        name: opts.sentinel.name,
        role: 'master',
        ...(u?.username ? { username: decodeURIComponent(u.username) } : {}),
        ...(u?.password ? { password: decodeURIComponent(u.password) } : {}),
        ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
        ...(u?.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        // ask the sentinels again quickly while they elect a new primary; follow +switch-master at once
        sentinelRetryStrategy: (times: number) => (givenUp ? null : Math.min(100 * times, 1_000)),
        failoverDetector: true,
      });
    } else {
      redis = new Redis(opts.url!, options);
    }
    // Connection errors surface on calls as JobStoreUnavailableError; the emitter must not crash the process.
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (err) {
      givenUp = true;
      redis.disconnect();
      throw new JobStoreUnavailableError(`job store unavailable (connect): ${(err as Error).message}`, { cause: err });
    }
    // Set only once connected: a failed first connect would otherwise leave a command timer running.
    redis.options.commandTimeout = opts.commandTimeoutMs ?? 2_000;
    return new RedisJobStore(redis, true, opts);
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
      this.eval(SCRIPTS.create, keys, [
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
      ]),
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
      const docs = await this.call(() => this.redis.pipeline(ids.map((id) => ['hget', this.jobKey(id), 'd'])).exec());
      const gone: string[] = [];
      ids.forEach((id, i) => {
        const [err, d] = docs?.[i] ?? [null, null];
        if (err) throw this.map(err);
        if (d === null) {
          gone.push(id);
          return;
        }
        const job = JSON.parse(d as string) as JobRecord;
        // A record whose status moved on since this page's set was read is left to its own set.
        if (q.status === undefined || job.status === q.status) found.push(job);
      });
      if (gone.length > 0) await this.dropFromLists(tenant, gone);
      max = `(${ids[ids.length - 1]!}`;
      if (ids.length < want) break;
    }
    const items = found.slice(0, limit);
    const more = found.length > limit;
    return { items, next_cursor: more ? encodeListCursor(items[items.length - 1]!.id) : null };
  }

  async transition(id: string, to: JobStatus, opts: TransitionOptions = {}): Promise<TransitionResult> {
    return this.compareAndSet(id, (job) => applyTransition(job, to, opts, new Date()));
  }

  async update(id: string, patch: JobPatch): Promise<JobRecord | null> {
    return (await this.compareAndSet(id, (job) => applyPatch(job, patch, new Date()))).job;
  }

  async heartbeat(id: string, at: Date): Promise<boolean> {
    const iso = at.toISOString();
    const r = await this.compareAndSet(id, (job) =>
      isActiveStatus(job.status) ? applyPatch(job, { heartbeat_at: iso }, new Date()) : null,
    );
    return r.changed;
  }

  async listStale(olderThan: Date, limit: number): Promise<JobRecord[]> {
    const n = Math.max(1, Math.floor(limit));
    const before = olderThan.getTime();
    const ids = await this.call(() =>
      this.redis.zrangebyscore(this.key('active'), '-inf', `(${before}`, 'LIMIT', 0, n),
    );
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.pipeline(ids.map((id) => ['hget', this.jobKey(id), 'd'])).exec());
    const out: JobRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [err, d] = docs?.[i] ?? [null, null];
      if (err) throw this.map(err);
      if (d === null) {
        gone.push(id); // the record vanished (a flushed Redis): drop the index entry
        return;
      }
      const job = JSON.parse(d as string) as JobRecord;
      // the index moves with the record, but a write may have landed between the range read and the get
      if (isActiveStatus(job.status) && lastSignOfLife(job) < before) out.push(job);
    });
    if (gone.length > 0) await this.call(() => this.redis.zrem(this.key('active'), ...gone));
    return out;
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
    return (await this.call(() => this.eval(SCRIPTS.abandon, keys, [job.id, String(this.opts.idempotencyTtlMs)]))) as
      'absent' | 'removed' | 'kept';
  }

  async addLogBytes(tenant: string, jobId: string, bytes: number): Promise<LogBytesCount> {
    return this.call(() => this.logBytesKeeper.add(tenant, jobId, bytes, Date.now()));
  }

  async logBytes(tenant: string, jobId?: string): Promise<LogBytesCount> {
    return this.call(() => this.logBytesKeeper.get(tenant, jobId, Date.now()));
  }

  async listInputExpired(now: Date, limit: number): Promise<JobRecord[]> {
    const n = Math.max(1, Math.floor(limit));
    const at = now.getTime();
    const ids = await this.call(() => this.redis.zrangebyscore(this.key('waiting'), '-inf', String(at), 'LIMIT', 0, n));
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.pipeline(ids.map((id) => ['hget', this.jobKey(id), 'd'])).exec());
    const out: JobRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [err, d] = docs?.[i] ?? [null, null];
      if (err) throw this.map(err);
      if (d === null) {
        gone.push(id);
        return;
      }
      const job = JSON.parse(d as string) as JobRecord;
      const deadline = inputDeadline(job);
      if (deadline !== null && deadline <= at) out.push(job);
    });
    if (gone.length > 0) await this.call(() => this.redis.zrem(this.key('waiting'), ...gone));
    return out;
  }

  async listUndispatched(olderThan: Date, limit: number): Promise<JobRecord[]> {
    const n = Math.max(1, Math.floor(limit));
    const before = olderThan.getTime();
    const ids = await this.call(() =>
      this.redis.zrangebyscore(this.key('undispatched'), '-inf', `(${before}`, 'LIMIT', 0, n),
    );
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.pipeline(ids.map((id) => ['hget', this.jobKey(id), 'd'])).exec());
    const out: JobRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [err, d] = docs?.[i] ?? [null, null];
      if (err) throw this.map(err);
      if (d === null) {
        gone.push(id);
        return;
      }
      const job = JSON.parse(d as string) as JobRecord;
      if (needsDispatch(job)) out.push(job);
    });
    if (gone.length > 0) await this.call(() => this.redis.zrem(this.key('undispatched'), ...gone));
    return out;
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
    if (!this.ownsClient) return;
    try {
      await this.redis.quit();
    } catch {
      /* disconnected below anyway */
    } finally {
      // also ends the connector's own connections (Sentinel mode: the failover detector's subscriptions to every
      // sentinel, which QUIT leaves open)
      this.redis.disconnect();
    }
  }

  /** Removes the ids of expired finished jobs from the list sets (also done lazily by `list`). */
  async sweep(now = Date.now()): Promise<number> {
    const statuses = ['all', ...ALL_STATUSES];
    return (await this.call(() =>
      this.eval(SCRIPTS.sweep, [this.key('expiring')], [String(now), '500', this.key('list:'), ...statuses]),
    )) as number;
  }

  private async compareAndSet(id: string, next: (job: JobRecord) => JobRecord | null): Promise<TransitionResult> {
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

  /** EVALSHA, falling back to EVAL when the script cache is empty (a restarted Redis). */
  private eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    return evalScript(this.redis, s, keys, args);
  }

  /** Runs a Redis call; connection trouble becomes {@link JobStoreUnavailableError}. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new JobStoreUnavailableError('job store is closed');
    try {
      return await fn();
    } catch (err) {
      throw this.map(err);
    }
  }

  private map(err: unknown): unknown {
    if (err instanceof JobStoreUnavailableError) return err;
    if (isReplyError(err)) {
      const msg = (err as Error).message;
      return UNAVAILABLE_REPLY.test(msg)
        ? new JobStoreUnavailableError(`job store unavailable: ${msg}`, { cause: err })
        : err;
    }
    if (!(err instanceof Error)) return err;
    return new JobStoreUnavailableError(`job store unavailable: ${err.message}`, { cause: err });
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
