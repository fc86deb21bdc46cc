/** The embedded engine's thread store: in-process, each operation one synchronous step (atomic by construction). */
import {
  decodeThreadCursor,
  threadsQuotaError,
  decodeTurnCursor,
  encodeThreadCursor,
  encodeTurnCursor,
  type BeginTurnInput,
  type BeginTurnResult,
  type DeleteThreadResult,
  type ThreadPage,
  type ThreadRecord,
  type ThreadStore,
  type ThreadStoreOptions,
  type TurnPage,
} from './thread-store.port.js';

interface Held {
  thread: ThreadRecord;
  jobs: string[];
  idem: Map<string, { jobId: string; fingerprint: string; expiresAt: number }>;
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryThreadStore implements ThreadStore {
  private readonly threads = new Map<string, Held>();
  /** tenant → thread ids, sorted (ids are time-sortable). */
  private readonly byTenant = new Map<string, string[]>();
  /** tenant + NUL + external id → thread id. */
  private readonly byExternal = new Map<string, string>();

  constructor(
    private readonly opts: ThreadStoreOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async create(thread: ThreadRecord, maxPerTenant = 0): Promise<void> {
    if (maxPerTenant > 0 && (this.byTenant.get(thread.tenant)?.length ?? 0) >= maxPerTenant)
      throw threadsQuotaError(maxPerTenant);
    this.threads.set(thread.id, { thread: clone(thread), jobs: [], idem: new Map() });
    const ids = this.byTenant.get(thread.tenant) ?? [];
    ids.push(thread.id);
    ids.sort();
    this.byTenant.set(thread.tenant, ids);
  }

  async ensureExternal(
    thread: ThreadRecord & { external_id: string },
    maxPerTenant = 0,
  ): Promise<{ thread: ThreadRecord; created: boolean }> {
    const name = `${thread.tenant}\0${thread.external_id}`;
    const held = this.byExternal.get(name);
    if (held !== undefined) return { thread: clone(this.threads.get(held)!.thread), created: false };
    if (maxPerTenant > 0 && (this.byTenant.get(thread.tenant)?.length ?? 0) >= maxPerTenant)
      throw threadsQuotaError(maxPerTenant);
    this.byExternal.set(name, thread.id); // before any await: concurrent first uses see the name
    await this.create(thread);
    return { thread: clone(thread), created: true };
  }

  async getExternal(tenant: string, externalId: string): Promise<ThreadRecord | null> {
    const id = this.byExternal.get(`${tenant}\0${externalId}`);
    return id === undefined ? null : this.get(id);
  }

  async get(id: string): Promise<ThreadRecord | null> {
    const h = this.threads.get(id);
    return h ? clone(h.thread) : null;
  }

  async list(tenant: string, q: { limit: number; cursor?: string | null }): Promise<ThreadPage> {
    const ids = this.byTenant.get(tenant) ?? [];
    const before = q.cursor ? decodeThreadCursor(q.cursor) : null;
    const older = (before === null ? ids : ids.filter((i) => i < before)).slice().reverse();
    const page = older.slice(0, Math.max(1, q.limit));
    const items = page.map((i) => clone(this.threads.get(i)!.thread));
    return { items, next_cursor: older.length > page.length ? encodeThreadCursor(page[page.length - 1]!) : null };
  }

  async turns(id: string, q: { limit: number; cursor?: string | null }): Promise<TurnPage> {
    const h = this.threads.get(id);
    if (!h) return { items: [], next_cursor: null };
    const after = q.cursor ? decodeTurnCursor(q.cursor) : 0;
    const slice = h.jobs.slice(after, after + Math.max(1, q.limit));
    const items = slice.map((job_id, i) => ({ turn: after + i + 1, job_id }));
    const lastTurn = after + slice.length;
    return { items, next_cursor: lastTurn < h.jobs.length ? encodeTurnCursor(lastTurn) : null };
  }

  async beginTurn(id: string, input: BeginTurnInput): Promise<BeginTurnResult> {
    const h = this.threads.get(id);
    if (!h) return { kind: 'not_found' };
    const now = this.now();
    if (input.idempotency) {
      const seen = h.idem.get(input.idempotency.key);
      if (seen && seen.expiresAt > now) {
        if (seen.fingerprint !== input.idempotency.fingerprint) return { kind: 'conflict' };
        return { kind: 'existing', job_id: seen.jobId };
      }
    }
    const t = h.thread;
    if (t.active_job_id !== null && input.ifBusy === 'reject') return { kind: 'busy', active_job_id: t.active_job_id };
    if (input.idempotency) {
      h.idem.set(input.idempotency.key, {
        jobId: input.jobId,
        fingerprint: input.idempotency.fingerprint,
        expiresAt: now + this.opts.idempotencyTtlMs,
      });
    }
    t.turns += 1;
    t.last_job_id = input.jobId;
    t.updated_at = new Date(now).toISOString();
    h.jobs.push(input.jobId);
    const turn = t.turns;
    if (t.active_job_id === null) {
      t.active_job_id = input.jobId;
      t.active_started = false;
      return { kind: 'started', turn, thread: clone(t) };
    }
    let interrupt: string[] = [];
    if (input.ifBusy === 'interrupt') {
      interrupt = [t.active_job_id, ...t.pending];
      t.cancelling.push(...t.pending);
      t.pending = [input.jobId];
      t.interrupting = t.active_job_id;
    } else {
      t.pending.push(input.jobId);
    }
    return { kind: 'queued', turn, thread: clone(t), interrupt };
  }

  async settle(id: string, jobId: string): Promise<{ next: string | null }> {
    const h = this.threads.get(id);
    if (!h) return { next: null };
    const t = h.thread;
    const dropped = t.cancelling.indexOf(jobId);
    if (dropped >= 0) t.cancelling.splice(dropped, 1);
    if (t.active_job_id === jobId) {
      t.active_job_id = t.pending.shift() ?? null;
      t.active_started = false;
      t.interrupting = null;
      t.updated_at = new Date(this.now()).toISOString();
      return { next: t.active_job_id };
    }
    const at = t.pending.indexOf(jobId);
    if (at >= 0) t.pending.splice(at, 1);
    if (at >= 0 || dropped >= 0) t.updated_at = new Date(this.now()).toISOString();
    return { next: null };
  }

  async listIdle(olderThan: Date, limit: number): Promise<ThreadRecord[]> {
    const before = olderThan.getTime();
    return [...this.threads.values()]
      .map((h) => h.thread)
      .filter(
        (t) =>
          t.active_job_id === null &&
          t.pending.length === 0 &&
          t.cancelling.length === 0 &&
          Date.parse(t.updated_at) < before,
      )
      .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))
      .slice(0, Math.max(1, Math.floor(limit)))
      .map(clone);
  }

  async markStarted(id: string, jobId: string): Promise<boolean> {
    const t = this.threads.get(id)?.thread;
    if (!t || t.active_job_id !== jobId) return false;
    t.active_started = true;
    return true;
  }

  async delete(id: string): Promise<DeleteThreadResult> {
    const h = this.threads.get(id);
    if (!h) return { kind: 'not_found' };
    if (h.thread.active_job_id !== null) return { kind: 'busy', active_job_id: h.thread.active_job_id };
    this.threads.delete(id);
    if (h.thread.external_id !== null) this.byExternal.delete(`${h.thread.tenant}\0${h.thread.external_id}`);
    const ids = this.byTenant.get(h.thread.tenant);
    if (ids) {
      const at = ids.indexOf(id);
      if (at >= 0) ids.splice(at, 1);
      if (ids.length === 0) this.byTenant.delete(h.thread.tenant);
    }
    return { kind: 'deleted', job_ids: h.jobs.slice() };
  }

  async listBusy(olderThan: Date, limit: number): Promise<ThreadRecord[]> {
    const before = olderThan.getTime();
    const out: ThreadRecord[] = [];
    for (const { thread } of this.threads.values()) {
      const busy = thread.active_job_id !== null || thread.cancelling.length > 0;
      if (busy && Date.parse(thread.updated_at) < before) out.push(clone(thread));
    }
    out.sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at));
    return out.slice(0, Math.max(1, limit));
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  /** Threads held now (tests). */
  size(): number {
    return this.threads.size;
  }
}
