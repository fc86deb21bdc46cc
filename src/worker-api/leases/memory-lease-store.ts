/** The {@link LeaseStore} in process memory: the embedded engine's, and a single API process's without Redis. */
import {
  LEASE_MEMORY_MS,
  type BeginResult,
  type LeaseRecord,
  type LeaseStore,
  type TouchResult,
} from './lease-store.port.js';

interface Held {
  lease: LeaseRecord;
  /** The Producer-Seq reserved by a request in flight, and until when. */
  pending: { seq: number; until: number } | null;
  /** When the sweep should look at it (active: expires_at; lapsed unsettled: the retry time); null = not due. */
  dueAt: number | null;
  /** When it is forgotten. */
  forgetAt: number;
}

export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, Held>();
  private readonly byJob = new Map<string, string>();
  private prunedAt = 0;

  async create(lease: LeaseRecord): Promise<void> {
    this.prune(Date.now());
    this.leases.set(lease.lease_id, {
      lease: { ...lease },
      pending: null,
      dueAt: lease.expires_at,
      forgetAt: lease.expires_at + LEASE_MEMORY_MS,
    });
    this.byJob.set(lease.job_id, lease.lease_id);
  }

  async get(leaseId: string): Promise<LeaseRecord | null> {
    const h = this.leases.get(leaseId);
    return h ? { ...h.lease } : null;
  }

  async currentOf(jobId: string): Promise<LeaseRecord | null> {
    const id = this.byJob.get(jobId);
    return id ? this.get(id) : null;
  }

  async begin(leaseId: string, seq: number, now: number, lockMs: number): Promise<BeginResult> {
    const h = this.leases.get(leaseId);
    if (!h) return { kind: 'unknown' };
    const lease = { ...h.lease };
    if (seq <= h.lease.last_seq) return { kind: 'duplicate', lease };
    if (h.lease.state !== 'active' || h.lease.expires_at <= now) return { kind: 'lost', lease };
    if (seq > h.lease.last_seq + 1) return { kind: 'gap', lease, expected: h.lease.last_seq + 1 };
    if (h.pending && h.pending.seq === seq && h.pending.until > now) return { kind: 'busy', lease };
    h.pending = { seq, until: now + lockMs };
    return { kind: 'reserved', lease };
  }

  async commit(leaseId: string, seq: number, now: number, leaseMs: number, end: boolean): Promise<LeaseRecord | null> {
    const h = this.leases.get(leaseId);
    if (!h || h.pending?.seq !== seq || h.lease.state !== 'active') return null;
    h.pending = null;
    h.lease.last_seq = seq;
    h.lease.expires_at = now + leaseMs;
    if (end) h.lease.state = 'ended';
    h.dueAt = end ? null : h.lease.expires_at;
    h.forgetAt = h.lease.expires_at + LEASE_MEMORY_MS;
    return { ...h.lease };
  }

  async abort(leaseId: string, seq: number): Promise<void> {
    const h = this.leases.get(leaseId);
    if (h?.pending?.seq === seq) h.pending = null;
  }

  async touch(leaseId: string, now: number, leaseMs: number): Promise<TouchResult> {
    const h = this.leases.get(leaseId);
    if (!h) return { kind: 'unknown' };
    if (h.lease.state !== 'active' || h.lease.expires_at <= now) return { kind: 'lost', lease: { ...h.lease } };
    h.lease.expires_at = Math.max(h.lease.expires_at, now + leaseMs);
    h.dueAt = h.lease.expires_at;
    h.forgetAt = h.lease.expires_at + LEASE_MEMORY_MS;
    return { kind: 'ok', lease: { ...h.lease } };
  }

  async end(leaseId: string): Promise<void> {
    const h = this.leases.get(leaseId);
    if (!h || h.lease.state !== 'active') return;
    h.lease.state = 'ended';
    h.dueAt = null;
  }

  async due(now: number, limit: number): Promise<string[]> {
    return [...this.leases.values()]
      .filter((h) => h.dueAt !== null && h.dueAt <= now)
      .sort((a, b) => a.dueAt! - b.dueAt!)
      .slice(0, limit)
      .map((h) => h.lease.lease_id);
  }

  async lapse(leaseId: string, now: number, retryMs: number): Promise<LeaseRecord | null> {
    const h = this.leases.get(leaseId);
    if (!h || h.dueAt === null || h.dueAt > now) return null;
    if (h.lease.state === 'active') {
      if (h.lease.expires_at > now) return null;
      if (h.pending && h.pending.until > now) return null; // a request in flight decides first
      h.lease.state = 'lapsed';
      h.pending = null;
    } else if (h.lease.state !== 'lapsed') {
      return null;
    }
    h.dueAt = now + retryMs;
    return { ...h.lease };
  }

  async settled(leaseId: string): Promise<void> {
    const h = this.leases.get(leaseId);
    if (h && h.lease.state === 'lapsed') h.dueAt = null;
  }

  async activeCount(now: number): Promise<number> {
    let n = 0;
    for (const h of this.leases.values()) if (h.lease.state === 'active' && h.lease.expires_at > now) n++;
    return n;
  }

  async close(): Promise<void> {}

  /** Forgets finished leases past their memory, at most once a minute. */
  private prune(now: number): void {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    for (const [id, h] of this.leases) {
      if (h.forgetAt > now || h.dueAt !== null) continue;
      this.leases.delete(id);
      if (this.byJob.get(h.lease.job_id) === id) this.byJob.delete(h.lease.job_id);
    }
  }
}
