/**
 * The production thread store on Redis, with the contract of `thread-store.port.ts`. Every state change is one Lua
 * script, so concurrent API processes and workers never interleave a read and a write.
 *
 * Keys (under a prefix, default `jobstream:`):
 * - `thread:<id>`: a hash: `m` the fixed part as JSON (id, tenant, agent, metadata, created_at — never decoded by
 *   Lua, so user metadata round-trips exactly), `s` the state as JSON (`turns`, `active` ('' = none), `started`,
 *   `last`, `pending`, `intr` (the job an interrupting turn waits on, '' = none), `canc` (waiting turns an interrupt
 *   dropped, until they end), `updated_at`), decoded and rewritten by the scripts.
 * - `thread:<id>:jobs`: a list of the thread's job ids, turn n at index n - 1.
 * - `thread:<id>:idem`: a hash idempotency key → `{ j: job id, f: fingerprint, e: expiry ms }`.
 * - `threads:<tenant>`: a sorted set of the tenant's thread ids, score 0 (lex order = creation order).
 * - `threads:busy`: a sorted set of busy threads (an active turn, or dropped turns not ended yet), score = the ms of
 *   their last state change (for the sweep).
 * - `threads:idle`: the other threads, score = the ms of their last state change (for the expiry of idle threads).
 * - `threads-ext:<tenant>`: a hash external id → thread id (names from outside systems, e.g. AG-UI thread ids).
 * Deleting a thread removes all four of its own keys, its members of the three sets and its external name.
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  connectRedis,
  evalScript,
  redisCall,
  ReplicaAck,
  type RedisConnectOptions,
  type ReplicaAckOptions,
  type Script,
} from '@jobstream/redis';
import { SCRIPTS } from './redis-thread-store.scripts.js';
import {
  ThreadStoreUnavailableError,
  decodeThreadCursor,
  threadsQuotaError,
  decodeTurnCursor,
  encodeThreadCursor,
  encodeTurnCursor,
  type BeginTurnInput,
  type BeginTurnResult,
  type DeleteThreadResult,
  type ThreadPage,
  type ThreadRecord,
  type ThreadStore,
  type ThreadStoreOptions,
  type TurnPage,
} from './thread-store.port.js';

export interface RedisThreadStoreOptions extends ThreadStoreOptions, RedisConnectOptions {
  /** An existing client instead of `url` / `sentinel` (left open by `close`). */
  client?: Redis;
  prefix?: string;
  /** Creating a thread and beginning a turn (both answered to a client) wait for this many replicas. */
  replicaAck?: ReplicaAckOptions;
}

interface State {
  turns: number;
  active: string;
  started: boolean;
  last: string;
  pending: string[] | Record<string, never>;
  intr?: string;
  canc?: string[] | Record<string, never>;
  updated_at: string;
}
type Fixed = Pick<ThreadRecord, 'id' | 'tenant' | 'agent' | 'metadata' | 'created_at'> & { external_id?: string };

function toRecord(m: string, s: string): ThreadRecord {
  const fixed = JSON.parse(m) as Fixed;
  const st = JSON.parse(s) as State;
  return {
    ...fixed,
    external_id: fixed.external_id ?? null,
    updated_at: st.updated_at,
    turns: st.turns,
    active_job_id: st.active === '' ? null : st.active,
    active_started: st.started === true,
    last_job_id: st.last === '' ? null : st.last,
    pending: Array.isArray(st.pending) ? st.pending : [],
    interrupting: st.intr ? st.intr : null,
    cancelling: Array.isArray(st.canc) ? st.canc : [],
  };
}

/** The hash fields `m` (fixed part) and `s` (state) of a thread. */
function encode(t: ThreadRecord): [string, string] {
  const fixed: Fixed = { id: t.id, tenant: t.tenant, agent: t.agent, metadata: t.metadata, created_at: t.created_at };
  if (t.external_id !== null) fixed.external_id = t.external_id;
  const state: State = {
    turns: t.turns,
    active: t.active_job_id ?? '',
    started: t.active_started,
    last: t.last_job_id ?? '',
    pending: t.pending,
    intr: t.interrupting ?? '',
    canc: t.cancelling,
    updated_at: t.updated_at,
  };
  return [JSON.stringify(fixed), JSON.stringify(state)];
}

export class RedisThreadStore implements ThreadStore {
  private readonly prefix: string;
  /** The connection of the writes that wait for replicas (none without `replicaAck`). */
  private readonly acked: ReplicaAck | null;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly ownsClient: boolean,
    private readonly opts: RedisThreadStoreOptions,
  ) {
    this.prefix = opts.prefix ?? 'jobstream:';
    this.acked = opts.replicaAck ? new ReplicaAck(redis, opts.replicaAck) : null;
  }

  static async create(opts: RedisThreadStoreOptions): Promise<RedisThreadStore> {
    if (opts.client) return new RedisThreadStore(opts.client, false, opts);
    return new RedisThreadStore(await connectRedis(opts, ThreadStoreUnavailableError, 'thread store'), true, opts);
  }

  /** The Redis client (shared by the share store of the same engine). */
  get client(): Redis {
    return this.redis;
  }

  async create(t: ThreadRecord, maxPerTenant = 0): Promise<void> {
    const [m, st] = encode(t);
    const ok = await this.call(() =>
      this.eval(
        SCRIPTS.create,
        [this.threadKey(t.id), this.key(`threads:${t.tenant}`), this.key('threads:idle')],
        [t.id, m, st, String(maxPerTenant), String(Date.parse(t.updated_at))],
        true,
      ),
    );
    if (ok !== 1) throw threadsQuotaError(maxPerTenant);
  }

  async ensureExternal(
    t: ThreadRecord & { external_id: string },
    maxPerTenant = 0,
  ): Promise<{ thread: ThreadRecord; created: boolean }> {
    const [m, st] = encode(t);
    const keys = [
      this.key(`threads-ext:${t.tenant}`),
      this.threadKey(t.id),
      this.key(`threads:${t.tenant}`),
      this.key('threads:idle'),
    ];
    const args = [t.external_id, t.id, m, st, String(maxPerTenant), String(Date.parse(t.updated_at))];
    const id = (await this.call(() => this.eval(SCRIPTS.ensure, keys, args, true))) as string;
    if (id === '') throw threadsQuotaError(maxPerTenant);
    if (id === t.id) return { thread: t, created: true };
    const held = await this.get(id);
    // deleted a moment ago (its name goes with it): name this one instead
    return held ? { thread: held, created: false } : this.ensureExternal(t, maxPerTenant);
  }

  async getExternal(tenant: string, externalId: string): Promise<ThreadRecord | null> {
    const id = await this.call(() => this.redis.hget(this.key(`threads-ext:${tenant}`), externalId));
    return id === null ? null : this.get(id);
  }

  async get(id: string): Promise<ThreadRecord | null> {
    const [m, s] = await this.call(() => this.redis.hmget(this.threadKey(id), 'm', 's'));
    return m && s ? toRecord(m, s) : null;
  }

  async list(tenant: string, q: { limit: number; cursor?: string | null }): Promise<ThreadPage> {
    const limit = Math.max(1, Math.floor(q.limit));
    const max = q.cursor ? `(${decodeThreadCursor(q.cursor)}` : '+';
    const ids = await this.call(() =>
      this.redis.zrevrangebylex(this.key(`threads:${tenant}`), max, '-', 'LIMIT', 0, limit + 1),
    );
    const page = ids.slice(0, limit);
    const docs = await Promise.all(page.map((id) => this.get(id)));
    const items = docs.filter((d): d is ThreadRecord => d !== null);
    return { items, next_cursor: ids.length > limit ? encodeThreadCursor(page[page.length - 1]!) : null };
  }

  async turns(id: string, q: { limit: number; cursor?: string | null }): Promise<TurnPage> {
    const limit = Math.max(1, Math.floor(q.limit));
    const after = q.cursor ? decodeTurnCursor(q.cursor) : 0;
    const key = this.threadKey(id) + ':jobs';
    const [ids, total] = await this.call(async () => {
      const r = await this.redis
        .multi()
        .lrange(key, after, after + limit - 1)
        .llen(key)
        .exec();
      return [r![0]![1] as string[], r![1]![1] as number] as const;
    });
    const items = ids.map((job_id, i) => ({ turn: after + i + 1, job_id }));
    const lastTurn = after + ids.length;
    return { items, next_cursor: lastTurn < total ? encodeTurnCursor(lastTurn) : null };
  }

  async beginTurn(id: string, input: BeginTurnInput): Promise<BeginTurnResult> {
    const now = Date.now();
    const k = this.threadKey(id);
    const raw = (await this.call(() =>
      this.eval(
        SCRIPTS.begin,
        [k, `${k}:jobs`, `${k}:idem`, this.key('threads:busy'), this.key('threads:idle')],
        [
          input.jobId,
          input.ifBusy,
          input.idempotency?.key ?? '',
          input.idempotency?.fingerprint ?? '',
          String(now),
          new Date(now).toISOString(),
          String(this.opts.idempotencyTtlMs),
          id,
        ],
        true,
      ),
    )) as string;
    const r = JSON.parse(raw) as {
      kind: string;
      turn?: number;
      state?: string;
      interrupt?: string[] | object;
      active_job_id?: string;
      job_id?: string;
    };
    if (r.kind === 'not_found' || r.kind === 'conflict') return { kind: r.kind };
    if (r.kind === 'busy') return { kind: 'busy', active_job_id: r.active_job_id! };
    if (r.kind === 'existing') return { kind: 'existing', job_id: r.job_id! };
    const m = await this.call(() => this.redis.hget(k, 'm'));
    const thread = toRecord(m!, r.state!);
    if (r.kind === 'started') return { kind: 'started', turn: r.turn!, thread };
    return { kind: 'queued', turn: r.turn!, thread, interrupt: Array.isArray(r.interrupt) ? r.interrupt : [] };
  }

  async settle(id: string, jobId: string): Promise<{ next: string | null }> {
    const now = Date.now();
    const next = (await this.call(() =>
      this.eval(
        SCRIPTS.settle,
        [this.threadKey(id), this.key('threads:busy'), this.key('threads:idle')],
        [jobId, String(now), new Date(now).toISOString(), id],
      ),
    )) as string;
    return { next: next === '' ? null : next };
  }

  async markStarted(id: string, jobId: string): Promise<boolean> {
    return (await this.call(() => this.eval(SCRIPTS.markStarted, [this.threadKey(id)], [jobId]))) === 1;
  }

  async delete(id: string): Promise<DeleteThreadResult> {
    const t = await this.get(id);
    if (!t) return { kind: 'not_found' };
    const k = this.threadKey(id);
    const r = (await this.call(() =>
      this.eval(
        SCRIPTS.delete,
        [
          k,
          `${k}:jobs`,
          `${k}:idem`,
          this.key('threads:busy'),
          this.key(`threads:${t.tenant}`),
          this.key('threads:idle'),
          this.key(`threads-ext:${t.tenant}`),
        ],
        [id, t.external_id ?? ''],
      ),
    )) as string[];
    if (r[0] === 'not_found') return { kind: 'not_found' };
    if (r[0] === 'busy') return { kind: 'busy', active_job_id: r[1]! };
    return { kind: 'deleted', job_ids: r.slice(1) };
  }

  async listBusy(olderThan: Date, limit: number): Promise<ThreadRecord[]> {
    const ids = await this.call(() =>
      this.redis.zrangebyscore(
        this.key('threads:busy'),
        '-inf',
        `(${olderThan.getTime()}`,
        'LIMIT',
        0,
        Math.max(1, Math.floor(limit)),
      ),
    );
    const docs = await Promise.all(ids.map((id) => this.get(id)));
    return docs.filter((d): d is ThreadRecord => d !== null && (d.active_job_id !== null || d.cancelling.length > 0));
  }

  async listIdle(olderThan: Date, limit: number): Promise<ThreadRecord[]> {
    const ids = await this.call(() =>
      this.redis.zrangebyscore(
        this.key('threads:idle'),
        '-inf',
        `(${olderThan.getTime()}`,
        'LIMIT',
        0,
        Math.max(1, Math.floor(limit)),
      ),
    );
    const docs = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, i) => docs[i] === null);
    if (gone.length > 0) await this.call(() => this.redis.zrem(this.key('threads:idle'), ...gone));
    return docs.filter(
      (d): d is ThreadRecord =>
        d !== null && d.active_job_id === null && d.pending.length === 0 && d.cancelling.length === 0,
    );
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.acked?.close();
    if (this.ownsClient) await closeRedis(this.redis);
  }

  /** Runs a script; a `durable` one waits for the replicas when `replicaAck` is set. */
  private eval(s: Script, keys: string[], args: string[], durable = false): Promise<unknown> {
    return durable && this.acked ? this.acked.eval(s, keys, args) : evalScript(this.redis, s, keys, args);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ThreadStoreUnavailableError('thread store is closed'));
    return redisCall(fn, ThreadStoreUnavailableError, 'thread store');
  }

  private key(k: string): string {
    return this.prefix + k;
  }
  private threadKey(id: string): string {
    return this.key(`thread:${id}`);
  }
}
