/**
 * The {@link DsStore} on Redis. Per tenant: a hash per stream `<prefix>ds:<tenant>:s:<name>` (`rev`, `json`,
 * `touched`, `bytes`), a counter `<prefix>ds:<tenant>:count` (the streams quota) and `<prefix>ds:<tenant>:bytes` (the
 * sum of the records' `bytes`: the bytes quota). Create, replace and remove are Lua scripts, so
 * each check-and-write is atomic; a retried call after a lost reply sees its own write (create: `exists`; replace:
 * a rev mismatch, and the caller re-reads).
 */
import type { Redis } from 'ioredis';
import { redisCall } from '@jobstream/redis';
import type { CreateResult, DsStore, DsStreamRecord } from './ds-store.port.js';

export class DsStoreUnavailableError extends Error {
  override readonly name = 'DsStoreUnavailableError';
}

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 'quota' end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'json', ARGV[2], 'touched', ARGV[4], 'bytes', ARGV[5])
redis.call('INCR', KEYS[2])
redis.call('INCRBY', KEYS[3], ARGV[5])
return 'created'`;

const REPLACE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
local delta = tonumber(ARGV[4]) - tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3], 'bytes', ARGV[4])
if delta ~= 0 and tonumber(redis.call('INCRBY', KEYS[2], delta)) <= 0 then redis.call('DEL', KEYS[2]) end
return 1`;

const REMOVE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
redis.call('DEL', KEYS[1])
if tonumber(redis.call('DECR', KEYS[2])) <= 0 then redis.call('DEL', KEYS[2]) end
if bytes ~= 0 and tonumber(redis.call('DECRBY', KEYS[3], bytes)) <= 0 then redis.call('DEL', KEYS[3]) end
return 1`;

const TOUCH = `
local t = redis.call('HGET', KEYS[1], 'touched')
if t and tonumber(t) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'touched', ARGV[1]) end
return 1`;

export class RedisDsStore implements DsStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'jobstream:',
  ) {}

  private key(tenant: string, name: string): string {
    return `${this.prefix}ds:${tenant}:s:${name}`;
  }

  private countKey(tenant: string): string {
    return `${this.prefix}ds:${tenant}:count`;
  }

  private bytesKey(tenant: string): string {
    return `${this.prefix}ds:${tenant}:bytes`;
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return redisCall(fn, DsStoreUnavailableError, 'durable streams store');
  }

  async get(tenant: string, name: string): Promise<{ record: DsStreamRecord; touchedAt: number } | null> {
    const [json, touched] = await this.call(() => this.redis.hmget(this.key(tenant, name), 'json', 'touched'));
    if (!json) return null;
    return { record: JSON.parse(json) as DsStreamRecord, touchedAt: Number(touched ?? 0) };
  }

  async create(tenant: string, name: string, record: DsStreamRecord, maxStreams: number): Promise<CreateResult> {
    const r = await this.call(() =>
      this.redis.eval(
        CREATE,
        3,
        this.key(tenant, name),
        this.countKey(tenant),
        this.bytesKey(tenant),
        String(record.rev),
        JSON.stringify(record),
        String(maxStreams),
        String(Date.now()),
        String(record.bytes ?? 0),
      ),
    );
    return r as CreateResult;
  }

  async replace(tenant: string, name: string, next: DsStreamRecord, expectedRev: number): Promise<boolean> {
    const r = await this.call(() =>
      this.redis.eval(
        REPLACE,
        2,
        this.key(tenant, name),
        this.bytesKey(tenant),
        String(expectedRev),
        String(next.rev),
        JSON.stringify(next),
        String(next.bytes ?? 0),
      ),
    );
    return r === 1;
  }

  async touch(tenant: string, name: string, at: number): Promise<void> {
    await this.call(() => this.redis.eval(TOUCH, 1, this.key(tenant, name), String(at)));
  }

  async remove(tenant: string, name: string, expectedRev: number): Promise<boolean> {
    const r = await this.call(() =>
      this.redis.eval(
        REMOVE,
        3,
        this.key(tenant, name),
        this.countKey(tenant),
        this.bytesKey(tenant),
        String(expectedRev),
      ),
    );
    return r === 1;
  }

  async count(tenant: string): Promise<number> {
    return Number((await this.call(() => this.redis.get(this.countKey(tenant)))) ?? 0);
  }

  async bytes(tenant: string): Promise<number> {
    return Number((await this.call(() => this.redis.get(this.bytesKey(tenant)))) ?? 0);
  }

  close(): Promise<void> {
    // the connection belongs to the engine's job store
    return Promise.resolve();
  }
}
