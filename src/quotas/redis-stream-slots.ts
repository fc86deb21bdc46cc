/**
 * StreamSlots on Redis: `streams:<tenant>` is a sorted set of the tenant's open stream ids, score = the end of the
 * slot's lease (ms). Acquire is one script (drop the leases that ran out, count, add); this process renews its own
 * slots every third of the lease, so only the slots of a process that died run out.
 */
import type { Redis } from 'ioredis';
import { evalScript, redisCall, script } from '@jobstream/redis';
import { JobStoreUnavailableError } from '@jobstream/job-store';
import type { StreamSlots } from './stream-slots.js';

/** KEYS slots; ARGV now, lease until, max (0 = no quota), id, key ttl ms */
const ACQUIRE = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local max = tonumber(ARGV[3])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`);

export interface RedisStreamSlotsOptions {
  prefix?: string;
  /** How long a slot lives without renewal (ms); default 60 s. */
  leaseMs?: number;
}

export class RedisStreamSlots implements StreamSlots {
  private readonly held = new Map<string, string>(); // stream id → tenant
  private readonly prefix: string;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    opts: RedisStreamSlotsOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'jobstream:';
    this.leaseMs = opts.leaseMs ?? 60_000;
  }

  async acquire(tenant: string, id: string, max: number): Promise<boolean> {
    const now = Date.now();
    const ok = await this.call(() =>
      evalScript(
        this.redis,
        ACQUIRE,
        [this.key(tenant)],
        [String(now), String(now + this.leaseMs), String(max), id, String(this.leaseMs * 2)],
      ),
    );
    if (ok !== 1) return false;
    this.held.set(id, tenant);
    this.startRenewing();
    return true;
  }

  async release(tenant: string, id: string): Promise<void> {
    if (!this.held.delete(id)) return;
    await this.call(() => this.redis.zrem(this.key(tenant), id)).catch(() => {}); // else it runs out
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Renews every slot this process holds (XX: a slot already given back is not brought back). */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const until = Date.now() + this.leaseMs;
    const p = this.redis.pipeline();
    for (const [id, tenant] of this.held) {
      p.zadd(this.key(tenant), 'XX', until, id);
      p.pexpire(this.key(tenant), this.leaseMs * 2);
    }
    await this.call(() => p.exec()).catch(() => {}); // Redis away: the next renewal tries again
  }

  private startRenewing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return redisCall(fn, JobStoreUnavailableError, 'stream slots');
  }

  private key(tenant: string): string {
    return `${this.prefix}streams:${tenant}`;
  }
}
