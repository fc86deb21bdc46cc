/** The ShareStore conformance suite: every driver (memory, Redis) must pass it unchanged. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { newJobId, newShareId } from '@jobstream/contracts';
import type { ShareRecord, ShareStore } from '../share-store.port.js';

export function shareRecord(jobId: string, ttlMs = 60_000): ShareRecord {
  const now = Date.now();
  return {
    id: newShareId(),
    tenant: 'acme',
    job_id: jobId,
    token_digest: createHash('sha256').update(randomBytes(16)).digest('hex'),
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + ttlMs).toISOString(),
  };
}

export function shareStoreConformance(driver: string, factory: () => Promise<ShareStore>): void {
  describe(`ShareStore conformance: ${driver}`, () => {
    const stores: ShareStore[] = [];
    const make = async () => {
      const s = await factory();
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('finds a live share by digest on every handle, lists and revokes it', async () => {
      const a = await make();
      const b = await make();
      const job = newJobId();
      const s1 = shareRecord(job);
      const s2 = shareRecord(job);
      await a.create(s1);
      await a.create(s2);
      expect(await b.byDigest(s1.token_digest)).toEqual(s1);
      expect(await b.list(job)).toEqual([s1, s2]);
      expect(await b.delete(job, s1.id)).toBe(true);
      expect(await a.byDigest(s1.token_digest)).toBeNull();
      expect(await a.delete(job, s1.id)).toBe(false);
      expect(await a.list(job)).toEqual([s2]);
      await a.deleteForJob(job);
      expect(await b.byDigest(s2.token_digest)).toBeNull();
      expect(await b.list(job)).toEqual([]);
    });

    it('forgets an expired share', async () => {
      const s = await make();
      const job = newJobId();
      const short = shareRecord(job, 30);
      await s.create(short);
      await new Promise((r) => setTimeout(r, 60));
      expect(await s.byDigest(short.token_digest)).toBeNull();
      expect(await s.list(job)).toEqual([]);
    });
  });
}
