/** The embedded engine's agent catalogue (in-process). */
import type { AgentCatalog, AgentDefinition, AgentEntry } from './agent-catalog.port.js';

export class MemoryAgentCatalog implements AgentCatalog {
  private readonly defs = new Map<string, { def: AgentDefinition; at: string }>();
  /** agent → worker id → liveness deadline (ms). */
  private readonly live = new Map<string, Map<string, number>>();

  async announce(workerId: string, agents: readonly AgentDefinition[], ttlMs: number): Promise<void> {
    const at = new Date().toISOString();
    for (const a of agents) {
      this.defs.set(a.name, { def: structuredClone(a), at });
      const workers = this.live.get(a.name) ?? new Map<string, number>();
      workers.set(workerId, Date.now() + ttlMs);
      this.live.set(a.name, workers);
    }
  }

  async withdraw(workerId: string, names: readonly string[]): Promise<void> {
    for (const n of names) this.live.get(n)?.delete(workerId);
  }

  async get(name: string): Promise<AgentEntry | null> {
    const d = this.defs.get(name);
    return d ? { ...structuredClone(d.def), workers: this.liveCount(name), announced_at: d.at } : null;
  }

  async list(): Promise<AgentEntry[]> {
    const names = [...this.defs.keys()].sort();
    return (await Promise.all(names.map((n) => this.get(n)))).filter((e): e is AgentEntry => e !== null);
  }

  async forget(name: string): Promise<void> {
    this.defs.delete(name);
    this.live.delete(name);
  }

  async close(): Promise<void> {}

  private liveCount(name: string): number {
    const workers = this.live.get(name);
    if (!workers) return 0;
    const now = Date.now();
    for (const [w, until] of workers) if (until <= now) workers.delete(w);
    return workers.size;
  }
}
