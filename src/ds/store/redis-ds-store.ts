/**
 * The {@link DsStore} on Redis. Per tenant: a hash per stream `<prefix>ds:<tenant>:s:<name>` (`rev`, `json`,
 * `touched`) and a counter `<prefix>ds:<tenant>:count` (the quota). Create, replace and remove are Lua scripts, so
 * each check-and-write is atomic; a retried call after a lost reply sees its own write (create: `exists`; replace:
 * a rev mismatch, and the caller re-reads).
 */
import type { Redis } from 'ioredis';
import type { CreateResult, DsStore, DsStreamRecord } from './ds-store.port.js';

export class DsStoreUnavailableError extends Error {
  override readonly name = 'DsStoreUnavailableError';
}

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 'quota' end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'json', ARGV[2], 'touched', ARGV[4])
redis.call('INCR', KEYS[2])
return 'created'`;

const REPLACE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
return 1`;

const REMOVE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(redis.call('DECR', KEYS[2])) <= 0 then redis.call('DEL', KEYS[2]) end
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

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError' && !/READONLY|LOADING|MASTERDOWN/.test(err.message))
        throw err;
      throw new DsStoreUnavailableError(`durable streams store unavailable: ${String(err)}`, { cause: err });
    }
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
        2,
        this.key(tenant, name),
        this.countKey(tenant),
        String(record.rev),
        JSON.stringify(record),
        String(maxStreams),
        String(Date.now()),
      ),
    );
    return r as CreateResult;
  }

  async replace(tenant: string, name: string, next: DsStreamRecord, expectedRev: number): Promise<boolean> {
    const r = await this.call(() =>
      this.redis.eval(REPLACE, 1, this.key(tenant, name), String(expectedRev), String(next.rev), JSON.stringify(next)),
    );
    return r === 1;
  }

  async touch(tenant: string, name: string, at: number): Promise<void> {
    await this.call(() => this.redis.eval(TOUCH, 1, this.key(tenant, name), String(at)));
  }

  async remove(tenant: string, name: string, expectedRev: number): Promise<boolean> {
    const r = await this.call(() =>
      this.redis.eval(REMOVE, 2, this.key(tenant, name), this.countKey(tenant), String(expectedRev)),
    );
    return r === 1;
  }

  async count(tenant: string): Promise<number> {
    return Number((await this.call(() => this.redis.get(this.countKey(tenant)))) ?? 0);
  }

  close(): Promise<void> {
    // the connection belongs to the engine's job store
    return Promise.resolve();
  }
}
