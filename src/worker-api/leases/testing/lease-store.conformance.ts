/** The LeaseStore contract (lease-store.port.ts), run against every driver. */
import { describe, expect, it } from '@jest/globals';
import type { LeaseRecord, LeaseStore } from '../lease-store.port.js';

let n = 0;
function lease(over: Partial<LeaseRecord> = {}): LeaseRecord {
  n++;
  return {
    lease_id: `lease_${Date.now()}_${n}`,
    job_id: `job_${Date.now()}_${n}`,
    tenant: 't',
    agent: 'a',
    worker_id: 'w',
    attempt: 1,
    last_seq: -1,
    expires_at: Date.now() + 30_000,
    state: 'active',
    ...over,
  };
}

export function leaseStoreConformance(name: string, make: () => Promise<LeaseStore>): void {
  describe(`LeaseStore conformance: ${name}`, () => {
    it('begin decides next, repeat, gap, busy and unknown; commit accepts the reservation only', async () => {
      const s = await make();
      const l = lease();
      await s.create(l);
      const now = Date.now();
      expect(await s.begin('lease_nope', 0, now, 1000)).toEqual({ kind: 'unknown' });
      expect((await s.begin(l.lease_id, 1, now, 1000)).kind).toBe('gap');
      expect(await s.begin(l.lease_id, 1, now, 1000)).toMatchObject({ kind: 'gap', expected: 0 });
      expect((await s.begin(l.lease_id, 0, now, 1000)).kind).toBe('reserved');
      expect((await s.begin(l.lease_id, 0, now, 1000)).kind).toBe('busy');
      expect(await s.commit(l.lease_id, 1, now, 30_000, false)).toBeNull();
      const c = await s.commit(l.lease_id, 0, now, 30_000, false);
      expect(c).toMatchObject({ last_seq: 0, state: 'active', expires_at: now + 30_000 });
      expect((await s.begin(l.lease_id, 0, now, 1000)).kind).toBe('duplicate');
      // a reservation whose lock ran out can be taken again; an aborted one at once
      expect((await s.begin(l.lease_id, 1, now, 10)).kind).toBe('reserved');
      expect((await s.begin(l.lease_id, 1, now + 20, 1000)).kind).toBe('reserved');
      await s.abort(l.lease_id, 1);
      expect((await s.begin(l.lease_id, 1, now + 20, 1000)).kind).toBe('reserved');
      expect(await s.commit(l.lease_id, 1, now, 30_000, true)).toMatchObject({ state: 'ended', last_seq: 1 });
      expect((await s.begin(l.lease_id, 1, now, 1000)).kind).toBe('duplicate');
      expect((await s.begin(l.lease_id, 2, now, 1000)).kind).toBe('lost');
      expect((await s.touch(l.lease_id, now, 30_000)).kind).toBe('lost');
      expect(await s.currentOf(l.job_id)).toMatchObject({ lease_id: l.lease_id, state: 'ended' });
      await s.close();
    });

    it('an expired lease is not current; it lapses once, to one caller, and is due again until settled', async () => {
      const s = await make();
      const now = Date.now();
      const l = lease({ expires_at: now + 1_000 });
      await s.create(l);
      expect((await s.touch(l.lease_id, now, 2_000)).kind).toBe('ok');
      expect(await s.get(l.lease_id)).toMatchObject({ expires_at: now + 2_000 });
      expect(await s.due(now + 1_500, 10)).not.toContain(l.lease_id);
      expect(await s.lapse(l.lease_id, now + 1_500, 5_000)).toBeNull(); // still current
      const later = now + 2_001;
      expect((await s.begin(l.lease_id, 0, later, 1000)).kind).toBe('lost');
      expect((await s.touch(l.lease_id, later, 2_000)).kind).toBe('lost');
      expect(await s.due(later, 10)).toContain(l.lease_id);
      const [x, y] = await Promise.all([s.lapse(l.lease_id, later, 5_000), s.lapse(l.lease_id, later, 5_000)]);
      expect([x, y].filter(Boolean)).toHaveLength(1);
      expect(x ?? y).toMatchObject({ state: 'lapsed', job_id: l.job_id });
      expect(await s.due(later + 1_000, 10)).not.toContain(l.lease_id);
      expect(await s.due(later + 5_000, 10)).toContain(l.lease_id); // its handler died: due again
      await s.settled(l.lease_id);
      expect(await s.due(later + 60_000, 10)).not.toContain(l.lease_id);
      await s.close();
    });

    it('a request in flight keeps the lapse off until its lock runs out; end takes a lease out of the sweep', async () => {
      const s = await make();
      const now = Date.now();
      const l = lease({ expires_at: now + 100 });
      await s.create(l);
      expect((await s.begin(l.lease_id, 0, now + 50, 1_000)).kind).toBe('reserved');
      expect(await s.lapse(l.lease_id, now + 200, 5_000)).toBeNull();
      expect(await s.commit(l.lease_id, 0, now + 300, 1_000, false)).toMatchObject({ expires_at: now + 1_300 });
      const other = lease();
      await s.create(other);
      await s.end(other.lease_id);
      expect(await s.due(other.expires_at + 1, 100)).not.toContain(other.lease_id);
      expect(await s.activeCount(now + 400)).toBeGreaterThanOrEqual(1);
      await s.close();
    });
  });
}
