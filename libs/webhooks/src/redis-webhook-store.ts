/**
 * The production webhook store on Redis (ioredis), with the contract of `webhook-store.port.ts`: one script per
 * claim, fair between tenants. Its keys and scripts are described in docs/redis.md ("Key layouts"); with Redis
 * down every call fails fast with {@link WebhookStoreUnavailableError}.
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  connectRedis,
  evalScript,
  redisCall,
  type RedisConnectOptions,
  type Script,
} from '@jobstream/redis';
import { SCRIPTS } from './redis-webhook-scripts.js';
import {
  WebhookLimitError,
  WebhookStoreUnavailableError,
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

export interface RedisWebhookStoreOptions extends RedisConnectOptions {
  /** An existing client instead of `url` / `sentinel` (left open by `close`). */
  client?: Redis;
  prefix?: string;
  /** How long a delivery is kept after its last write (ms). */
  retentionMs: number;
  maxDeliveriesPerEndpoint?: number;
}

export class RedisWebhookStore implements WebhookStore {
  private readonly prefix: string;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly owns: boolean,
    private readonly opts: RedisWebhookStoreOptions,
  ) {
    this.prefix = opts.prefix ?? 'jobstream:wh:';
  }

  static async create(opts: RedisWebhookStoreOptions): Promise<RedisWebhookStore> {
    if (opts.client) return new RedisWebhookStore(opts.client, false, opts);
    return new RedisWebhookStore(await connectRedis(opts, WebhookStoreUnavailableError, 'webhook store'), true, opts);
  }

  async createEndpoint(ep: WebhookEndpoint, maxPerTenant: number): Promise<WebhookEndpoint> {
    const ok = await this.call(() =>
      this.eval(
        SCRIPTS.createEndpoint,
        [this.k(`ep:${ep.id}`), this.tenantKey(ep.tenant)],
        [ep.id, JSON.stringify(ep), String(maxPerTenant)],
      ),
    );
    if (ok !== 1) throw new WebhookLimitError(maxPerTenant);
    return structuredClone(ep);
  }

  async listEndpoints(tenant: string): Promise<WebhookEndpoint[]> {
    const ids = await this.call(() => this.redis.zrevrangebylex(this.tenantKey(tenant), '+', '-'));
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.mget(ids.map((id) => this.k(`ep:${id}`))));
    return docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as WebhookEndpoint);
  }

  async getEndpoint(tenant: string, id: string): Promise<WebhookEndpoint | null> {
    const ep = await this.getEndpointById(id);
    return ep && ep.tenant === tenant ? ep : null;
  }

  async getEndpointById(id: string): Promise<WebhookEndpoint | null> {
    const d = await this.call(() => this.redis.get(this.k(`ep:${id}`)));
    return d === null ? null : (JSON.parse(d) as WebhookEndpoint);
  }

  async deleteEndpoint(tenant: string, id: string): Promise<boolean> {
    const ep = await this.getEndpoint(tenant, id);
    if (!ep) return false;
    const r = await this.call(() =>
      this.eval(
        SCRIPTS.deleteEndpoint,
        [this.k('tenants'), this.k(`ep:${id}`), this.tenantKey(tenant), this.k(`eplog:${id}`)],
        [id, this.prefix, tenant],
      ),
    );
    return r === 1;
  }

  async createDelivery(d: NewDelivery): Promise<Delivery | null> {
    const rec = newDelivery(d);
    const ok = await this.call(() =>
      this.eval(
        SCRIPTS.createDelivery,
        [this.k('tenants'), this.k(`dedup:${d.dedupKey}`), this.dlvKey(d.id), this.k(`eplog:${d.webhook_id}`)],
        [
          d.id,
          JSON.stringify(rec),
          String(this.opts.retentionMs),
          String(d.now.getTime()),
          String(this.opts.maxDeliveriesPerEndpoint ?? 1_000),
          this.prefix,
          d.tenant,
        ],
      ),
    );
    return ok === 1 ? rec : null;
  }

  async getDelivery(tenant: string, webhookId: string, id: string): Promise<Delivery | null> {
    const d = await this.load(id);
    return d && d.tenant === tenant && d.webhook_id === webhookId ? d : null;
  }

  async listDeliveries(tenant: string, webhookId: string, limit: number, before?: string | null): Promise<Delivery[]> {
    const max = before ? `(${before}` : '+';
    const ids = await this.call(() =>
      this.redis.zrevrangebylex(this.k(`eplog:${webhookId}`), max, '-', 'LIMIT', 0, Math.max(1, limit)),
    );
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.mget(ids.map((id) => this.dlvKey(id))));
    return docs
      .filter((d): d is string => d !== null)
      .map((d) => JSON.parse(d) as Delivery)
      .filter((d) => d.tenant === tenant);
  }

  async claimDue(now: Date, limit: number, leaseMs: number, maxInFlightPerTenant = 0): Promise<Delivery[]> {
    if (limit <= 0) return [];
    const t = now.getTime();
    const flat = (await this.call(() =>
      this.eval(
        SCRIPTS.claim,
        [this.k('tenants'), this.k('due')],
        [String(t), String(limit), String(t + leaseMs), String(maxInFlightPerTenant), this.prefix],
      ),
    )) as string[];
    if (flat.length === 0) return [];
    const ids = flat.filter((_, i) => i % 2 === 0);
    const docs = await this.call(() => this.redis.mget(ids.map((id) => this.dlvKey(id))));
    const out: Delivery[] = [];
    const gone: [string, string][] = [];
    ids.forEach((id, i) => {
      const d = docs[i];
      if (d === null || d === undefined) gone.push([id, flat[2 * i + 1]!]);
      else out.push(JSON.parse(d) as Delivery);
    });
    // a delivery that expired while scheduled: off its tenant's schedule and in-flight set
    for (const [id, tenant] of gone) await this.settle(id, tenant, null);
    return out;
  }

  async recordAttempt(
    id: string,
    attempt: Omit<DeliveryAttempt, 'attempt' | 'trigger'>,
    outcome: AttemptOutcome,
  ): Promise<Delivery | null> {
    // Only the holder of the claim's lease writes here; a concurrent redeliver request may be overwritten by the
    // try's outcome, which is harmless (the delivery was just tried).
    const d = await this.load(id);
    if (!d) return null;
    const next = applyAttempt(d, attempt, outcome);
    await this.settle(id, d.tenant, next, outcome.kind === 'retry' ? outcome.at : null);
    return next;
  }

  /** Writes the delivery (when given) and applies its schedule: due again at `retryAt`, or off the schedule. */
  private async settle(id: string, tenant: string, d: Delivery | null, retryAt: Date | null = null): Promise<void> {
    await this.call(() =>
      this.eval(
        SCRIPTS.record,
        [this.k('tenants'), this.dlvKey(d ? id : '')],
        [
          id,
          d ? JSON.stringify(d) : '',
          String(this.opts.retentionMs),
          retryAt ? String(retryAt.getTime()) : '',
          this.prefix,
          tenant,
        ],
      ),
    );
  }

  async redeliver(tenant: string, webhookId: string, id: string, now: Date): Promise<Delivery | null> {
    const d = await this.getDelivery(tenant, webhookId, id);
    if (!d) return null;
    const next = applyRedeliver(d, now);
    await this.settle(id, tenant, next, now);
    return next;
  }

  async pendingCount(): Promise<number> {
    const tenants = await this.call(() => this.redis.zrange(this.k('tenants'), '0', '-1'));
    const legacy = await this.call(() => this.redis.zcard(this.k('due')));
    if (tenants.length === 0) return legacy;
    const p = this.redis.pipeline();
    for (const t of tenants) p.zcard(this.k(`due:${t}`));
    const counts = await this.call(() => p.exec());
    return (counts ?? []).reduce<number>((n, [, c]) => n + Number(c ?? 0), legacy);
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owns) await closeRedis(this.redis);
  }

  private async load(id: string): Promise<Delivery | null> {
    const d = await this.call(() => this.redis.get(this.dlvKey(id)));
    return d === null ? null : (JSON.parse(d) as Delivery);
  }

  private eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    return evalScript(this.redis, s, keys, args);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WebhookStoreUnavailableError('webhook store is closed'));
    return redisCall(fn, WebhookStoreUnavailableError, 'webhook store');
  }

  private k(s: string): string {
    return this.prefix + s;
  }
  private dlvKey(id: string): string {
    return this.k(`dlv:${id}`);
  }
  private tenantKey(tenant: string): string {
    return this.k(`tenant:${tenant}`);
  }
}
