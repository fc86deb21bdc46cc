/**
 * The production webhook store on Redis (ioredis), with the contract of `webhook-store.port.ts`.
 *
 * Keys (under a prefix, default `jobstream:wh:`):
 * - `ep:<id>`: the endpoint as JSON (its secret included: it signs every delivery; never logged).
 * - `tenant:<tenant>`: sorted set of the tenant's endpoint ids (lex order = creation order, ids are ULIDs).
 * - `dlv:<id>`: a delivery as JSON, expiring `retentionMs` after its last write.
 * - `eplog:<webhook id>`: sorted set of the endpoint's delivery ids (lex order), trimmed to the newest N.
 * - `dedup:<key>`: `SET NX PX retention`, so a job event observed twice (two API processes, a redelivered feed
 *   message) creates ONE delivery — done in the same script that stores and schedules the delivery.
 * - `due`: sorted set of scheduled delivery ids, score = due time (ms). `claimDue` is one script: read the due ids
 *   and push each one's score to now + lease, so concurrent claimers in several processes never get the same one,
 *   and a claimer that dies mid-try only delays it by the lease.
 *
 * Redis down: every call fails fast with {@link WebhookStoreUnavailableError} (no offline queue); ioredis
 * reconnects by itself.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { evalScript, redisCall, script, type Script } from '@jobstream/job-store/redis-scripts';
import {
  WebhookLimitError,
  WebhookStoreUnavailableError,
  applyAttempt,
  applyRedeliver,
  type AttemptOutcome,
  type Delivery,
  type DeliveryAttempt,
  type NewDelivery,
  type WebhookEndpoint,
  type WebhookStore,
} from './webhook-store.port.js';

export interface RedisWebhookStoreOptions {
  url?: string;
  client?: Redis;
  prefix?: string;
  /** How long a delivery is kept after its last write (ms). */
  retentionMs: number;
  maxDeliveriesPerEndpoint?: number;
  commandTimeoutMs?: number;
}

/** KEYS ep, tenant set; ARGV id, json, max */
const CREATE_ENDPOINT = `
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`;

/** KEYS dedup, dlv, eplog, due; ARGV id, json, retentionMs, dueMs, maxPerEndpoint, dlvPrefix */
const CREATE_DELIVERY = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
local n = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if n > 0 then
  local old = redis.call('ZRANGE', KEYS[3], 0, n - 1)
  for _, id in ipairs(old) do
    redis.call('DEL', ARGV[6] .. id)
    redis.call('ZREM', KEYS[4], id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - 1)
end
return 1
`;

/** KEYS due; ARGV now, limit, leaseUntil */
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
`;

const SCRIPTS = {
  createEndpoint: script(CREATE_ENDPOINT),
  createDelivery: script(CREATE_DELIVERY),
  claim: script(CLAIM),
};

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
    if (!opts.url) throw new TypeError('RedisWebhookStore needs `url` or `client`');
    let givenUp = false;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      disconnectTimeout: 200,
      retryStrategy: (times) => (givenUp ? null : Math.min(50 * times, 1_000)),
    };
    const redis = new Redis(opts.url, options);
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (err) {
      givenUp = true;
      redis.disconnect();
      throw new WebhookStoreUnavailableError(`webhook store unavailable (connect): ${(err as Error).message}`, {
        cause: err,
      });
    }
    redis.options.commandTimeout = opts.commandTimeoutMs ?? 2_000;
    return new RedisWebhookStore(redis, true, opts);
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
    await this.call(() =>
      this.redis
        .multi()
        .del(this.k(`ep:${id}`))
        .zrem(this.tenantKey(tenant), id)
        .exec(),
    );
    return true;
  }

  async createDelivery(d: NewDelivery): Promise<Delivery | null> {
    const at = d.now.toISOString();
    const rec: Delivery = {
      id: d.id,
      webhook_id: d.webhook_id,
      tenant: d.tenant,
      event_type: d.event_type,
      job_id: d.job_id,
      status: 'pending',
      created_at: at,
      updated_at: at,
      next_attempt_at: at,
      attempt_count: 0,
      schedule_index: 0,
      manual: false,
      attempts: [],
      payload: d.payload,
    };
    const ok = await this.call(() =>
      this.eval(
        SCRIPTS.createDelivery,
        [this.k(`dedup:${d.dedupKey}`), this.dlvKey(d.id), this.k(`eplog:${d.webhook_id}`), this.k('due')],
        [
          d.id,
          JSON.stringify(rec),
          String(this.opts.retentionMs),
          String(d.now.getTime()),
          String(this.opts.maxDeliveriesPerEndpoint ?? 1_000),
          this.dlvKey(''),
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

  async claimDue(now: Date, limit: number, leaseMs: number): Promise<Delivery[]> {
    if (limit <= 0) return [];
    const t = now.getTime();
    const ids = (await this.call(() =>
      this.eval(SCRIPTS.claim, [this.k('due')], [String(t), String(limit), String(t + leaseMs)]),
    )) as string[];
    if (ids.length === 0) return [];
    const docs = await this.call(() => this.redis.mget(ids.map((id) => this.dlvKey(id))));
    const out: Delivery[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const d = docs[i];
      if (d === null || d === undefined) gone.push(id);
      else out.push(JSON.parse(d) as Delivery);
    });
    if (gone.length) await this.call(() => this.redis.zrem(this.k('due'), ...gone));
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
    const m = this.redis.multi().set(this.dlvKey(id), JSON.stringify(next), 'PX', this.opts.retentionMs);
    if (outcome.kind === 'retry') m.zadd(this.k('due'), outcome.at.getTime(), id);
    else m.zrem(this.k('due'), id);
    await this.call(() => m.exec());
    return next;
  }

  async redeliver(tenant: string, webhookId: string, id: string, now: Date): Promise<Delivery | null> {
    const d = await this.getDelivery(tenant, webhookId, id);
    if (!d) return null;
    const next = applyRedeliver(d, now);
    await this.call(() =>
      this.redis
        .multi()
        .set(this.dlvKey(id), JSON.stringify(next), 'PX', this.opts.retentionMs)
        .zadd(this.k('due'), now.getTime(), id)
        .exec(),
    );
    return next;
  }

  async pendingCount(): Promise<number> {
    return this.call(() => this.redis.zcard(this.k('due')));
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owns) await this.redis.quit().catch(() => this.redis.disconnect());
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
