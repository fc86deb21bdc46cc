/**
 * StreamSlots: a tenant's open SSE streams counted over every API process (the `streams` quota,
 * MAX_STREAMS_PER_TENANT). A slot is a lease: the process that holds it renews it while the stream is open and
 * gives it back when it closes; a process that dies stops renewing, and its slots run out by themselves — the count
 * heals instead of drifting. Drivers: memory (one process: the embedded engine, or no Redis) and Redis.
 */
export interface StreamSlots {
  /**
   * Takes a slot for stream `id` of `tenant` unless the tenant already holds `max` live ones — one atomic step, so
   * concurrent opens on any number of processes never pass the quota. True when taken.
   */
  acquire(tenant: string, id: string, max: number): Promise<boolean>;
  /** Gives the slot back (idempotent; a failure only leaves it to run out). */
  release(tenant: string, id: string): Promise<void>;
  close(): Promise<void>;
}

/** One process: a set of stream ids per tenant. */
export class MemoryStreamSlots implements StreamSlots {
  private readonly held = new Map<string, Set<string>>();

  async acquire(tenant: string, id: string, max: number): Promise<boolean> {
    const set = this.held.get(tenant) ?? new Set<string>();
    if (max > 0 && set.size >= max) return false;
    set.add(id);
    this.held.set(tenant, set);
    return true;
  }

  async release(tenant: string, id: string): Promise<void> {
    const set = this.held.get(tenant);
    if (set?.delete(id) && set.size === 0) this.held.delete(tenant);
  }

  async close(): Promise<void> {}
}
