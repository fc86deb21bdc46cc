/** The embedded engine's webhook store: in-process maps, the same contract as the Redis driver (not durable). */
import {
  WebhookLimitError,
  applyAttempt,
  applyRedeliver,
  newDelivery,
  type AttemptOutcome,
  type Delivery,
  type DeliveryAttempt,
  type NewDelivery,
  type WebhookEndpoint,
  type WebhookStore,
} from './webhook-store.port.js';

export interface MemoryWebhookStoreOptions {
  /** How long a delivery (and its dedup key) is kept after its creation (ms). */
  retentionMs: number;
  /** Most deliveries kept per endpoint (the oldest go first). */
  maxDeliveriesPerEndpoint?: number;
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryWebhookStore implements WebhookStore {
  private readonly endpoints = new Map<string, WebhookEndpoint>();
  private readonly deliveries = new Map<string, Delivery>();
  /** Delivery ids per endpoint, oldest first. */
  private readonly byEndpoint = new Map<string, string[]>();
  private readonly dedup = new Map<string, number>();
  /** Delivery id → due time (ms). */
  private readonly due = new Map<string, number>();
  /** tenant → its claimed deliveries → lease end (ms). */
  private readonly inFlight = new Map<string, Map<string, number>>();
  /** tenant → when it was last served by a claim (round-robin). */
  private readonly served = new Map<string, number>();

  constructor(private readonly opts: MemoryWebhookStoreOptions) {}

  async createEndpoint(ep: WebhookEndpoint, maxPerTenant: number): Promise<WebhookEndpoint> {
    const count = [...this.endpoints.values()].filter((e) => e.tenant === ep.tenant).length;
    if (count >= maxPerTenant) throw new WebhookLimitError(maxPerTenant);
    this.endpoints.set(ep.id, clone(ep));
    return clone(ep);
  }

  async listEndpoints(tenant: string): Promise<WebhookEndpoint[]> {
    return [...this.endpoints.values()]
      .filter((e) => e.tenant === tenant)
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .map(clone);
  }

  async getEndpoint(tenant: string, id: string): Promise<WebhookEndpoint | null> {
    const e = this.endpoints.get(id);
    return e && e.tenant === tenant ? clone(e) : null;
  }

  async getEndpointById(id: string): Promise<WebhookEndpoint | null> {
    const e = this.endpoints.get(id);
    return e ? clone(e) : null;
  }

  async deleteEndpoint(tenant: string, id: string): Promise<boolean> {
    const e = this.endpoints.get(id);
    if (!e || e.tenant !== tenant) return false;
    this.endpoints.delete(id);
    for (const d of this.byEndpoint.get(id) ?? []) {
      this.deliveries.delete(d);
      this.due.delete(d);
      this.inFlight.get(tenant)?.delete(d);
    }
    this.byEndpoint.delete(id);
    return true;
  }

  async createDelivery(d: NewDelivery): Promise<Delivery | null> {
    this.expire(d.now.getTime());
    if (this.dedup.has(d.dedupKey)) return null;
    this.dedup.set(d.dedupKey, d.now.getTime());
    const rec = newDelivery(d);
    this.deliveries.set(d.id, rec);
    const list = this.byEndpoint.get(d.webhook_id) ?? [];
    list.push(d.id);
    const max = this.opts.maxDeliveriesPerEndpoint ?? 1_000;
    while (list.length > max) {
      const old = list.shift()!;
      this.deliveries.delete(old);
      this.due.delete(old);
    }
    this.byEndpoint.set(d.webhook_id, list);
    this.due.set(d.id, d.now.getTime());
    return clone(rec);
  }

  async getDelivery(tenant: string, webhookId: string, id: string): Promise<Delivery | null> {
    const d = this.deliveries.get(id);
    return d && d.tenant === tenant && d.webhook_id === webhookId ? clone(d) : null;
  }

  async listDeliveries(tenant: string, webhookId: string, limit: number, before?: string | null): Promise<Delivery[]> {
    const ids = [...(this.byEndpoint.get(webhookId) ?? [])].reverse();
    const start = before ? ids.indexOf(before) + 1 : 0;
    if (before && start === 0) return [];
    return ids
      .slice(start)
      .map((id) => this.deliveries.get(id))
      .filter((d): d is Delivery => d !== undefined && d.tenant === tenant)
      .slice(0, Math.max(1, limit))
      .map(clone);
  }

  async claimDue(now: Date, limit: number, leaseMs: number, maxInFlightPerTenant = 0): Promise<Delivery[]> {
    const t = now.getTime();
    // each tenant's due deliveries, oldest first
    const byTenant = new Map<string, [string, number][]>();
    for (const [id, at] of this.due) {
      if (at > t) continue;
      const d = this.deliveries.get(id);
      if (!d) {
        this.due.delete(id);
        continue;
      }
      const list = byTenant.get(d.tenant) ?? [];
      list.push([id, at]);
      byTenant.set(d.tenant, list);
    }
    const room = (tenant: string): boolean => {
      const f = this.inFlight.get(tenant);
      if (f) for (const [id, until] of f) if (until <= t) f.delete(id); // leases that ended
      return maxInFlightPerTenant <= 0 || (f?.size ?? 0) < maxInFlightPerTenant;
    };
    // tenants served longest ago first (then the oldest due delivery), as the Redis driver orders them
    const order = [...byTenant.entries()]
      .map(([tenant, list]) => {
        list.sort((a, b) => a[1] - b[1]);
        return { tenant, list, last: this.served.get(tenant) ?? 0, due: list[0]![1] };
      })
      .filter((x) => room(x.tenant))
      .sort((a, b) => a.last - b.last || a.due - b.due || (a.tenant < b.tenant ? -1 : 1))
      .slice(0, Math.max(0, limit));
    const out: Delivery[] = [];
    let open = order;
    while (out.length < limit && open.length > 0) {
      const still: typeof open = [];
      for (const x of open) {
        if (out.length >= limit) break;
        const next = x.list.shift();
        if (!next || !room(x.tenant)) continue;
        const [id] = next;
        this.due.set(id, t + leaseMs);
        if (maxInFlightPerTenant > 0) {
          const f = this.inFlight.get(x.tenant) ?? new Map<string, number>();
          f.set(id, t + leaseMs);
          this.inFlight.set(x.tenant, f);
        }
        this.served.set(x.tenant, t);
        out.push(clone(this.deliveries.get(id)!));
        still.push(x);
      }
      open = still;
    }
    return out;
  }

  async recordAttempt(
    id: string,
    attempt: Omit<DeliveryAttempt, 'attempt' | 'trigger'>,
    outcome: AttemptOutcome,
  ): Promise<Delivery | null> {
    const d = this.deliveries.get(id);
    if (!d) return null;
    const next = applyAttempt(d, attempt, outcome);
    this.deliveries.set(id, next);
    if (outcome.kind === 'retry') this.due.set(id, outcome.at.getTime());
    else this.due.delete(id);
    const f = this.inFlight.get(d.tenant);
    if (f?.delete(id) && f.size === 0) this.inFlight.delete(d.tenant);
    return clone(next);
  }

  async redeliver(tenant: string, webhookId: string, id: string, now: Date): Promise<Delivery | null> {
    const d = this.deliveries.get(id);
    if (!d || d.tenant !== tenant || d.webhook_id !== webhookId) return null;
    const next = applyRedeliver(d, now);
    this.deliveries.set(id, next);
    this.due.set(id, now.getTime());
    return clone(next);
  }

  async pendingCount(): Promise<number> {
    return this.due.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private expire(now: number): void {
    const cutoff = now - this.opts.retentionMs;
    for (const [k, at] of this.dedup) {
      if (at > cutoff) break; // insertion order = time order
      this.dedup.delete(k);
    }
    for (const [id, d] of this.deliveries) {
      if (Date.parse(d.created_at) > cutoff) break;
      if (this.due.has(id)) continue; // still being tried
      this.deliveries.delete(id);
      const list = this.byEndpoint.get(d.webhook_id);
      if (list) {
        const i = list.indexOf(id);
        if (i >= 0) list.splice(i, 1);
      }
    }
  }
}
