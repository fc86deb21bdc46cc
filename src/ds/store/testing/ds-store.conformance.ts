/** The DsStore conformance suite: the memory and Redis drivers must pass it unchanged. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { DsStore, DsStreamRecord } from '../ds-store.port.js';

const record = (over: Partial<DsStreamRecord> = {}): DsStreamRecord => ({
  id: randomUUID().replace(/-/g, ''),
  contentType: 'text/plain',
  createdAt: Date.now(),
  closed: false,
  tail: 0,
  ownLast: 0,
  producers: {},
  segments: [],
  refs: 0,
  deleted: false,
  rev: 1,
  ...over,
});

export function dsStoreConformance(driver: string, factory: () => Promise<DsStore>): void {
  describe(`DsStore conformance: ${driver}`, () => {
    const stores: DsStore[] = [];
    const make = async () => {
      const s = await factory();
      stores.push(s);
      return s;
    };
    const tenant = () => `t-${randomUUID()}`;
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('creates a name once per tenant, within the tenant quota', async () => {
      const s = await make();
      const [t, u] = [tenant(), tenant()];
      expect(await s.create(t, 'a', record(), 2)).toBe('created');
      expect(await s.create(t, 'a', record(), 2)).toBe('exists');
      expect(await s.create(u, 'a', record(), 2)).toBe('created');
      expect(await s.create(t, 'b/c', record(), 2)).toBe('created');
      expect(await s.create(t, 'd', record(), 2)).toBe('quota');
      expect(await s.count(t)).toBe(2);
      expect(await s.get(t, 'd')).toBeNull();
    });

    it('replaces by compare-and-set on rev; another writer never loses an update', async () => {
      const [s, other] = [await make(), await make()];
      const t = tenant();
      const r = record();
      await s.create(t, 'x', r, 10);
      expect(await s.replace(t, 'x', { ...r, tail: 5, rev: 2 }, 1)).toBe(true);
      expect(await other.replace(t, 'x', { ...r, tail: 9, rev: 2 }, 1)).toBe(false);
      const got = await other.get(t, 'x');
      expect(got?.record).toMatchObject({ tail: 5, rev: 2, id: r.id });
      expect(await s.replace(t, 'missing', { ...r, rev: 2 }, 1)).toBe(false);
    });

    it('touch moves the access time forward only, outside rev', async () => {
      const s = await make();
      const t = tenant();
      await s.create(t, 'x', record(), 10);
      const before = (await s.get(t, 'x'))!.touchedAt;
      await s.touch(t, 'x', before + 5_000);
      await s.touch(t, 'x', before + 1_000);
      const after = await s.get(t, 'x');
      expect(after?.touchedAt).toBe(before + 5_000);
      expect(after?.record.rev).toBe(1);
    });

    it('removes only at the expected rev, and frees the quota slot', async () => {
      const s = await make();
      const t = tenant();
      await s.create(t, 'x', record(), 1);
      expect(await s.remove(t, 'x', 7)).toBe(false);
      expect(await s.remove(t, 'x', 1)).toBe(true);
      expect(await s.get(t, 'x')).toBeNull();
      expect(await s.count(t)).toBe(0);
      expect(await s.create(t, 'y', record(), 1)).toBe('created');
    });
  });
}
