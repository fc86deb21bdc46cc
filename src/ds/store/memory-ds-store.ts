/** The embedded {@link DsStore}: records in a map per tenant (copied in and out, as a remote store would). */
import type { CreateResult, DsStore, DsStreamRecord } from './ds-store.port.js';

interface Entry {
  json: string;
  rev: number;
  touchedAt: number;
}

export class MemoryDsStore implements DsStore {
  private readonly tenants = new Map<string, Map<string, Entry>>();

  private of(tenant: string): Map<string, Entry> {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = new Map();
      this.tenants.set(tenant, t);
    }
    return t;
  }

  get(tenant: string, name: string): Promise<{ record: DsStreamRecord; touchedAt: number } | null> {
    const e = this.tenants.get(tenant)?.get(name);
    return Promise.resolve(e ? { record: JSON.parse(e.json) as DsStreamRecord, touchedAt: e.touchedAt } : null);
  }

  create(tenant: string, name: string, record: DsStreamRecord, maxStreams: number): Promise<CreateResult> {
    const t = this.of(tenant);
    if (t.has(name)) return Promise.resolve('exists');
    if (t.size >= maxStreams) return Promise.resolve('quota');
    t.set(name, { json: JSON.stringify(record), rev: record.rev, touchedAt: Date.now() });
    return Promise.resolve('created');
  }

  replace(tenant: string, name: string, next: DsStreamRecord, expectedRev: number): Promise<boolean> {
    const e = this.tenants.get(tenant)?.get(name);
    if (!e || e.rev !== expectedRev) return Promise.resolve(false);
    e.json = JSON.stringify(next);
    e.rev = next.rev;
    return Promise.resolve(true);
  }

  touch(tenant: string, name: string, at: number): Promise<void> {
    const e = this.tenants.get(tenant)?.get(name);
    if (e) e.touchedAt = Math.max(e.touchedAt, at);
    return Promise.resolve();
  }

  remove(tenant: string, name: string, expectedRev: number): Promise<boolean> {
    const t = this.tenants.get(tenant);
    const e = t?.get(name);
    if (!t || !e || e.rev !== expectedRev) return Promise.resolve(false);
    t.delete(name);
    if (t.size === 0) this.tenants.delete(tenant);
    return Promise.resolve(true);
  }

  count(tenant: string): Promise<number> {
    return Promise.resolve(this.tenants.get(tenant)?.size ?? 0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
