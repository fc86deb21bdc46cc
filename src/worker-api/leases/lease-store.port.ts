/**
 * Leases of the HTTP worker protocol: which worker holds which attempt of a job, the last `Producer-Seq` accepted
 * on it, and until when it lives. Durable in the job store's service, so every API process agrees on every lease.
 *
 * LeaseStore contract (checked by `testing/lease-store.conformance.ts` against every driver):
 * - **Check-and-reserve.** `begin(n)` decides a request atomically: unknown lease; `n` ≤ last accepted ⇒
 *   `duplicate` (also once the lease is over); the lease not current (ended, lapsed, or past `expires_at`) ⇒
 *   `lost`; `n` > last + 1 ⇒ `gap` with the number expected; the same `n` reserved by a request still in flight
 *   (its lock not yet run out) ⇒ `busy`; else `n` is reserved for this request until `lockMs` from now.
 * - **Commit.** `commit(n)` accepts the reserved `n` (last = n), extends the lease to `now + leaseMs`, and ends it
 *   when asked; it fails (null) when `n` is not the reservation (another process took over after the lock ran out).
 *   `abort(n)` drops the reservation (nothing was accepted: the same `n` may be sent again).
 * - **Touch.** A heartbeat extends a current lease; a lease past `expires_at` is not current any more.
 * - **Lapse.** `due(now)` lists leases whose time ran out; `lapse(id)` takes one atomically — a current lease
 *   past `expires_at` with no live reservation — and returns it to exactly one caller, which handles the lost
 *   worker and then calls `settled`. A lease taken but never settled (its handler died) is due again after
 *   `retryMs`, so a lapse is handled at least once (its handling is idempotent).
 * - **Unavailable.** A backing service that cannot answer fails with `JobStoreUnavailableError` (a 503).
 */

export type LeaseState = 'active' | 'ended' | 'lapsed';

export interface LeaseRecord {
  lease_id: string;
  job_id: string;
  tenant: string;
  agent: string;
  worker_id: string;
  attempt: number;
  /** The last accepted Producer-Seq; -1 before the first. */
  last_seq: number;
  /** When the lease runs out without an accepted request (ms since the epoch). */
  expires_at: number;
  state: LeaseState;
}

export type BeginResult =
  | { kind: 'unknown' }
  | { kind: 'duplicate'; lease: LeaseRecord }
  | { kind: 'lost'; lease: LeaseRecord }
  | { kind: 'gap'; lease: LeaseRecord; expected: number }
  | { kind: 'busy'; lease: LeaseRecord }
  | { kind: 'reserved'; lease: LeaseRecord };

export type TouchResult =
  { kind: 'unknown' } | { kind: 'lost'; lease: LeaseRecord } | { kind: 'ok'; lease: LeaseRecord };

export interface LeaseStore {
  /** Stores a new lease and makes it its job's current one. */
  create(lease: LeaseRecord): Promise<void>;
  get(leaseId: string): Promise<LeaseRecord | null>;
  /** The job's newest lease, whatever its state; null when none. */
  currentOf(jobId: string): Promise<LeaseRecord | null>;
  begin(leaseId: string, seq: number, now: number, lockMs: number): Promise<BeginResult>;
  commit(leaseId: string, seq: number, now: number, leaseMs: number, end: boolean): Promise<LeaseRecord | null>;
  abort(leaseId: string, seq: number): Promise<void>;
  touch(leaseId: string, now: number, leaseMs: number): Promise<TouchResult>;
  /** Ends the lease (its job ended, or moved to another attempt): nothing more is accepted on it. */
  end(leaseId: string): Promise<void>;
  /** Leases whose time ran out by `now` (and lapses left unsettled), oldest first. */
  due(now: number, limit: number): Promise<string[]>;
  lapse(leaseId: string, now: number, retryMs: number): Promise<LeaseRecord | null>;
  settled(leaseId: string): Promise<void>;
  /** Leases current now (for the `jobstream_worker_leases` gauge). */
  activeCount(now: number): Promise<number>;
  close(): Promise<void>;
}

/** How long a finished lease is remembered, so that a retry of its last request still gets its `204`. */
export const LEASE_MEMORY_MS = 24 * 3_600_000;
