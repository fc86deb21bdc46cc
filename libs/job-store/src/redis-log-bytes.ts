/**
 * The Redis keeper of the log-bytes counts (log-bytes.ts explains the buckets). Keys, under the store's prefix:
 * - `lb:t:<tenant>`: a hash bucket → bytes, the tenant's count;
 * - `lb:j:<job id>`: a hash bucket → bytes plus `t` = the tenant, so that a delete takes the job's bytes out of the
 *   buckets they went into.
 * Both expire one retention + one bucket after their last write. Each call is one script (atomic). The release
 * script writes the tenant's key it reads from the job's hash (not declared in KEYS): fine on a standalone Redis or a
 * primary with replicas, as the other scripts of the store (not Redis Cluster).
 */
import type { Redis } from 'ioredis';
import { bucketOf, bucketWidthMs, oldestLiveBucket, secondsUntilOldestLeaves, type LogBytes } from './log-bytes.js';
import { evalScript, script } from '@jobstream/redis';

const SUM = `
local function sum(key, min, prune)
  local total, oldest = 0, -1
  local kv = redis.call('HGETALL', key)
  for i = 1, #kv, 2 do
    local f = kv[i]
    if f ~= 't' then
      local b = tonumber(f)
      if b >= min then
        total = total + tonumber(kv[i + 1])
        if oldest < 0 or b < oldest then oldest = b end
      elseif prune then
        redis.call('HDEL', key, f)
      end
    end
  end
  if total < 0 then total = 0 end
  return total, oldest
end
`;

/** add: KEYS tenant, job; ARGV bucket, bytes, oldest live bucket, ttl ms, tenant → { tenant, job, oldest bucket }. */
const ADD = script(`${SUM}
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 't', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local min = tonumber(ARGV[3])
local t, oldest = sum(KEYS[1], min, true)
local j = sum(KEYS[2], min, true)
return { t, j, oldest }
`);

/** release: KEYS job; ARGV tenant key prefix. The job's bytes leave its tenant's buckets; the job's key goes. */
const RELEASE = script(`
local tenant = redis.call('HGET', KEYS[1], 't')
if tenant then
  local tkey = ARGV[1] .. tenant
  local kv = redis.call('HGETALL', KEYS[1])
  for i = 1, #kv, 2 do
    if kv[i] ~= 't' and redis.call('HEXISTS', tkey, kv[i]) == 1 then
      redis.call('HINCRBY', tkey, kv[i], -tonumber(kv[i + 1]))
    end
  end
end
redis.call('DEL', KEYS[1])
return 1
`);

export class RedisLogBytes {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
  ) {}

  async add(tenant: string, jobId: string, bytes: number, now: number): Promise<LogBytes & { retryAfterS: number }> {
    const ttl = this.retentionMs + 2 * bucketWidthMs(this.retentionMs);
    const r = (await evalScript(
      this.redis,
      ADD,
      [this.tenantKey(tenant), this.jobKey(jobId)],
      [
        String(bucketOf(now, this.retentionMs)),
        String(Math.round(bytes)),
        String(oldestLiveBucket(now, this.retentionMs)),
        String(ttl),
        tenant,
      ],
    )) as number[];
    return this.answer(r, now);
  }

  /**
   * Plain reads (two HGETALLs), not a script: a read must not wait behind writes (a script counts as a write for
   * `CLIENT PAUSE WRITE` and for a replica), and the sum needs no atomicity across the two keys.
   */
  async get(tenant: string, jobId: string | undefined, now: number): Promise<LogBytes & { retryAfterS: number }> {
    const min = oldestLiveBucket(now, this.retentionMs);
    const replies = await this.redis
      .pipeline()
      .hgetall(this.tenantKey(tenant))
      .hgetall(this.jobKey(jobId ?? ''))
      .exec();
    const hashes = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value as Record<string, string>;
    });
    const [t, oldest] = sumLive(hashes[0] ?? {}, min);
    const [j] = sumLive(hashes[1] ?? {}, min);
    return this.answer([t, j, oldest], now);
  }

  async release(jobId: string): Promise<void> {
    await evalScript(this.redis, RELEASE, [this.jobKey(jobId)], [`${this.prefix}lb:t:`]);
  }

  private answer(r: number[], now: number): LogBytes & { retryAfterS: number } {
    const oldest = Number(r[2]);
    return {
      tenant: Number(r[0]),
      job: Number(r[1]),
      retryAfterS: secondsUntilOldestLeaves(oldest >= 0 ? [oldest] : [], now, this.retentionMs),
    };
  }

  private tenantKey(tenant: string): string {
    return `${this.prefix}lb:t:${tenant}`;
  }

  private jobKey(jobId: string): string {
    return `${this.prefix}lb:j:${jobId}`;
  }
}

/** The bytes of a count's live buckets (those ≥ `min`), and its oldest live bucket (-1 when none): SUM in Lua. */
function sumLive(hash: Record<string, string>, min: number): [number, number] {
  let total = 0;
  let oldest = -1;
  for (const [field, value] of Object.entries(hash)) {
    if (field === 't') continue;
    const bucket = Number(field);
    if (bucket < min) continue;
    total += Number(value);
    if (oldest < 0 || bucket < oldest) oldest = bucket;
  }
  return [Math.max(0, total), oldest];
}
