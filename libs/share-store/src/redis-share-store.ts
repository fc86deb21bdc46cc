/**
 * The share store on Redis. Keys (under a prefix, default `jobstream:`):
 * - `share:<digest>`: the share as JSON, expiring with the share (PEXPIREAT), so an expired token is simply gone;
 * - `shares:<job id>`: a hash share id → the share as JSON, expiring with the job's longest-lived share.
 * Revocation deletes both in one MULTI. Reads go to Redis every time (no cache): revocation is seen at once.
 */
import type { Redis } from 'ioredis';
import { redisCall } from '@jobstream/redis';
import { ShareStoreUnavailableError, type ShareRecord, type ShareStore } from './share-store.port.js';

export class RedisShareStore implements ShareStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string } = {},
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.prefix = opts.prefix ?? 'jobstream:';
  }

  async create(share: ShareRecord): Promise<void> {
    const exp = Date.parse(share.expires_at);
    const json = JSON.stringify(share);
    const jobKey = this.jobKey(share.job_id);
    await this.call(async () => {
      const cur = await this.redis.pexpiretime(jobKey);
      const m = this.redis
        .multi()
        .set(this.digestKey(share.token_digest), json, 'PXAT', exp)
        .hset(jobKey, share.id, json);
      if (cur < exp) m.pexpireat(jobKey, exp);
      await m.exec();
    });
  }

  async byDigest(digest: string): Promise<ShareRecord | null> {
    const d = await this.call(() => this.redis.get(this.digestKey(digest)));
    if (d === null) return null;
    const s = JSON.parse(d) as ShareRecord;
    return Date.parse(s.expires_at) > Date.now() ? s : null;
  }

  async list(jobId: string): Promise<ShareRecord[]> {
    const all = await this.call(() => this.redis.hvals(this.jobKey(jobId)));
    const now = Date.now();
    const shares = all.map((j) => JSON.parse(j) as ShareRecord);
    const expired = shares.filter((s) => Date.parse(s.expires_at) <= now);
    if (expired.length > 0) await this.call(() => this.redis.hdel(this.jobKey(jobId), ...expired.map((s) => s.id)));
    return shares.filter((s) => Date.parse(s.expires_at) > now).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async delete(jobId: string, shareId: string): Promise<boolean> {
    const d = await this.call(() => this.redis.hget(this.jobKey(jobId), shareId));
    if (d === null) return false;
    const s = JSON.parse(d) as ShareRecord;
    await this.call(() =>
      this.redis.multi().del(this.digestKey(s.token_digest)).hdel(this.jobKey(jobId), shareId).exec(),
    );
    return true;
  }

  async deleteForJob(jobId: string): Promise<void> {
    const all = await this.call(() => this.redis.hvals(this.jobKey(jobId)));
    const keys = all.map((j) => this.digestKey((JSON.parse(j) as ShareRecord).token_digest));
    await this.call(() => this.redis.del(this.jobKey(jobId), ...keys));
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return redisCall(fn, ShareStoreUnavailableError, 'share store');
  }

  private digestKey(d: string): string {
    return `${this.prefix}share:${d}`;
  }
  private jobKey(jobId: string): string {
    return `${this.prefix}shares:${jobId}`;
  }
}
