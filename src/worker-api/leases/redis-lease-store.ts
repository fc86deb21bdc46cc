/**
 * The {@link LeaseStore} on Redis, on the job store's connection. Keys (under the prefix, default `jobstream:`):
 * - `wlease:<id>`: a hash — the lease's fields, `seq` (last accepted), `exp` (ms), `state`, and the reservation of a
 *   request in flight (`pseq`, `puntil`); expires LEASE_MEMORY_MS after the lease's own end.
 * - `wlease:job:<job_id>`: the job's newest lease id.
 * - `wleases:due`: a sorted set of the leases the sweep must look at (score = when): current leases by `exp`,
 *   lapses taken but not settled by their retry time.
 * Each decision (begin, commit, touch, lapse) is one Lua script: check and write in one atomic step, whichever API
 * process runs it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JobStoreUnavailableError } from '@jobstream/job-store';
import {
  LEASE_MEMORY_MS,
  type BeginResult,
  type LeaseRecord,
  type LeaseState,
  type LeaseStore,
  type TouchResult,
} from './lease-store.port.js';

const FIELDS = ['job', 'tenant', 'agent', 'worker', 'attempt', 'seq', 'exp', 'state'] as const;

/** KEYS lease, due; ARGV seq, now, lockMs. Returns {verdict, ...fields} */
const BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
local f = redis.call('HMGET', KEYS[1], 'job', 'tenant', 'agent', 'worker', 'attempt', 'seq', 'exp', 'state', 'pseq', 'puntil')
local seq, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(f[6])
local v
if seq <= last then v = 'duplicate'
elseif f[8] ~= 'active' or tonumber(f[7]) <= now then v = 'lost'
elseif seq > last + 1 then v = 'gap'
elseif f[9] and tonumber(f[9]) == seq and tonumber(f[10]) > now then v = 'busy'
else
  redis.call('HSET', KEYS[1], 'pseq', seq, 'puntil', now + tonumber(ARGV[3]))
  v = 'reserved'
end
return {v, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]}
`;

/** KEYS lease, due; ARGV seq, now, leaseMs, end ('1'/'0'), memoryMs, id */
const COMMIT = `
local f = redis.call('HMGET', KEYS[1], 'state', 'pseq')
if f[1] ~= 'active' or not f[2] or tonumber(f[2]) ~= tonumber(ARGV[1]) then return {'no'} end
local exp = tonumber(ARGV[2]) + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'exp', exp)
redis.call('HDEL', KEYS[1], 'pseq', 'puntil')
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'ended')
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('ZADD', KEYS[2], exp, ARGV[6])
end
redis.call('PEXPIRE', KEYS[1], exp - tonumber(ARGV[2]) + tonumber(ARGV[5]))
local g = redis.call('HMGET', KEYS[1], 'job', 'tenant', 'agent', 'worker', 'attempt', 'seq', 'exp', 'state')
return {'ok', g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]}
`;

/** KEYS lease; ARGV seq */
const ABORT = `
local p = redis.call('HGET', KEYS[1], 'pseq')
if p and tonumber(p) == tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], 'pseq', 'puntil') end
return 1
`;

/** KEYS lease, due; ARGV now, leaseMs, memoryMs, id */
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
local f = redis.call('HMGET', KEYS[1], 'job', 'tenant', 'agent', 'worker', 'attempt', 'seq', 'exp', 'state')
local now = tonumber(ARGV[1])
if f[8] ~= 'active' or tonumber(f[7]) <= now then return {'lost', f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]} end
local exp = math.max(tonumber(f[7]), now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'exp', exp)
redis.call('ZADD', KEYS[2], exp, ARGV[4])
redis.call('PEXPIRE', KEYS[1], exp - now + tonumber(ARGV[3]))
return {'ok', f[1], f[2], f[3], f[4], f[5], f[6], tostring(exp), f[8]}
`;

/** KEYS lease, due; ARGV id */
const END = `
if redis.call('HGET', KEYS[1], 'state') == 'active' then redis.call('HSET', KEYS[1], 'state', 'ended') end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/** KEYS lease, due; ARGV id, now, retryMs */
const LAPSE = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
local now = tonumber(ARGV[2])
if not score or tonumber(score) > now then return {'no'} end
local f = redis.call('HMGET', KEYS[1], 'job', 'tenant', 'agent', 'worker', 'attempt', 'seq', 'exp', 'state', 'puntil')
if not f[8] then redis.call('ZREM', KEYS[2], ARGV[1]) return {'no'} end
if f[8] == 'active' then
  if tonumber(f[7]) > now then redis.call('ZADD', KEYS[2], f[7], ARGV[1]) return {'no'} end
  if f[9] and tonumber(f[9]) > now then return {'no'} end
  redis.call('HSET', KEYS[1], 'state', 'lapsed')
  redis.call('HDEL', KEYS[1], 'pseq', 'puntil')
  f[8] = 'lapsed'
elseif f[8] ~= 'lapsed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'no'}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return {'ok', f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]}
`;

interface Script {
  src: string;
  sha: string;
}
const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });
const S = {
  begin: script(BEGIN),
  commit: script(COMMIT),
  abort: script(ABORT),
  touch: script(TOUCH),
  end: script(END),
  lapse: script(LAPSE),
};

export class RedisLeaseStore implements LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'jobstream:',
  ) {}

  private key(id: string): string {
    return `${this.prefix}wlease:${id}`;
  }
  private jobKey(jobId: string): string {
    return `${this.prefix}wlease:job:${jobId}`;
  }
  private get dueKey(): string {
    return `${this.prefix}wleases:due`;
  }

  async create(l: LeaseRecord): Promise<void> {
    const ttl = Math.max(1, l.expires_at - Date.now()) + LEASE_MEMORY_MS;
    await this.call('create', () =>
      this.redis
        .multi()
        .hset(this.key(l.lease_id), {
          job: l.job_id,
          tenant: l.tenant,
          agent: l.agent,
          worker: l.worker_id,
          attempt: l.attempt,
          seq: l.last_seq,
          exp: l.expires_at,
          state: l.state,
        })
        .pexpire(this.key(l.lease_id), ttl)
        .set(this.jobKey(l.job_id), l.lease_id, 'PX', ttl)
        .zadd(this.dueKey, l.expires_at, l.lease_id)
        .exec(),
    );
  }

  async get(leaseId: string): Promise<LeaseRecord | null> {
    const f = await this.call('get', () => this.redis.hmget(this.key(leaseId), ...FIELDS));
    return f[0] === null ? null : toLease(leaseId, f);
  }

  async currentOf(jobId: string): Promise<LeaseRecord | null> {
    const id = await this.call('currentOf', () => this.redis.get(this.jobKey(jobId)));
    return id ? this.get(id) : null;
  }

  async begin(leaseId: string, seq: number, now: number, lockMs: number): Promise<BeginResult> {
    const r = await this.run(S.begin, [this.key(leaseId), this.dueKey], [seq, now, lockMs]);
    const v = r[0];
    if (v === 'unknown') return { kind: 'unknown' };
    const lease = toLease(leaseId, r.slice(1));
    if (v === 'gap') return { kind: 'gap', lease, expected: lease.last_seq + 1 };
    return { kind: v as 'duplicate' | 'lost' | 'busy' | 'reserved', lease };
  }

  async commit(leaseId: string, seq: number, now: number, leaseMs: number, end: boolean): Promise<LeaseRecord | null> {
    const r = await this.run(
      S.commit,
      [this.key(leaseId), this.dueKey],
      [seq, now, leaseMs, end ? '1' : '0', LEASE_MEMORY_MS, leaseId],
    );
    return r[0] === 'ok' ? toLease(leaseId, r.slice(1)) : null;
  }

  async abort(leaseId: string, seq: number): Promise<void> {
    await this.run(S.abort, [this.key(leaseId)], [seq]);
  }

  async touch(leaseId: string, now: number, leaseMs: number): Promise<TouchResult> {
    const r = await this.run(S.touch, [this.key(leaseId), this.dueKey], [now, leaseMs, LEASE_MEMORY_MS, leaseId]);
    if (r[0] === 'unknown') return { kind: 'unknown' };
    return { kind: r[0] as 'lost' | 'ok', lease: toLease(leaseId, r.slice(1)) };
  }

  async end(leaseId: string): Promise<void> {
    await this.run(S.end, [this.key(leaseId), this.dueKey], [leaseId]);
  }

  async due(now: number, limit: number): Promise<string[]> {
    return this.call('due', () => this.redis.zrangebyscore(this.dueKey, '-inf', now, 'LIMIT', 0, limit));
  }

  async lapse(leaseId: string, now: number, retryMs: number): Promise<LeaseRecord | null> {
    const r = await this.run(S.lapse, [this.key(leaseId), this.dueKey], [leaseId, now, retryMs]);
    return r[0] === 'ok' ? toLease(leaseId, r.slice(1)) : null;
  }

  async settled(leaseId: string): Promise<void> {
    await this.call('settled', () => this.redis.zrem(this.dueKey, leaseId));
  }

  async activeCount(now: number): Promise<number> {
    // the due set holds current leases by expiry (and the few lapses being handled, scored in the near future)
    return this.call('activeCount', () => this.redis.zcount(this.dueKey, `(${now}`, '+inf'));
  }

  async close(): Promise<void> {}

  private async run(s: Script, keys: string[], args: (string | number)[]): Promise<(string | null)[]> {
    return this.call('script', async () => {
      try {
        return (await this.redis.evalsha(s.sha, keys.length, ...keys, ...args)) as (string | null)[];
      } catch (err) {
        if (err instanceof Error && err.name === 'ReplyError' && /NOSCRIPT/.test(err.message))
          return (await this.redis.eval(s.src, keys.length, ...keys, ...args)) as (string | null)[];
        throw err;
      }
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError' && !/^(READONLY|LOADING|MASTERDOWN|BUSY)/.test(err.message))
        throw err;
      throw new JobStoreUnavailableError(`lease store unavailable (${what}): ${String(err)}`, { cause: err });
    }
  }
}

function toLease(id: string, f: (string | null)[]): LeaseRecord {
  return {
    lease_id: id,
    job_id: f[0] ?? '',
    tenant: f[1] ?? '',
    agent: f[2] ?? '',
    worker_id: f[3] ?? '',
    attempt: Number(f[4]),
    last_seq: Number(f[5]),
    expires_at: Number(f[6]),
    state: (f[7] ?? 'ended') as LeaseState,
  };
}
