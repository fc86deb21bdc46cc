/**
 * The production webhook store on Redis (ioredis), with the contract of `webhook-store.port.ts`.
 *
 * Keys (under a prefix, default `jobstream:wh:`):
 * - `ep:<id>`: the endpoint as JSON (its secret included: it signs every delivery; never logged).
 * - `tenant:<tenant>`: sorted set of the tenant's endpoint ids (lex order = creation order, ids are ULIDs).
 * - `dlv:<id>`: a delivery as JSON, expiring `retentionMs` after its last write.
 * - `eplog:<webhook id>`: sorted set of the endpoint's delivery ids (lex order), trimmed to the newest N; it
 *   expires with the endpoint's last delivery (`PEXPIRE retention` on every write) and goes with the endpoint.
 * - `dedup:<key>`: `SET NX PX retention`, so a job event observed twice (two API processes, a redelivered feed
 *   message) creates ONE delivery — done in the same script that stores and schedules the delivery.
 * - `due:<tenant>`: sorted set of the tenant's scheduled delivery ids, score = due time (ms).
 * - `fly:<tenant>`: the tenant's tries in flight, score = the end of their lease (a claimer that died leaves an
 *   entry that simply runs out: the count heals itself).
 * - `tenants`: sorted set of the tenants with scheduled deliveries, score = when the tenant has something to
 *   claim: its earliest due time or, at its in-flight cap, its first lease end. `served`: hash tenant → when a
 *   claim last served it. `claimDue` is one script: of the tenants with something to claim, it takes those served
 *   longest ago first (round-robin), one delivery each per round, pushes each claimed delivery's score to now + lease (so concurrent claimers in several processes
 *   never get the same one, and a claimer that dies mid-try only delays it by the lease).
 * The scripts build the per-tenant key names from the prefix (standalone Redis or Sentinel, not Redis Cluster,
 * like the job store).
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

/**
 * Shared by the scripts: a tenant's place in `tenants` (KEYS[1] of each script): when it has something to claim —
 * its earliest due time, or at its in-flight cap `capUntil` (its first lease end) when that is later.
 */
const RESCORE = `
local function rescore(tenants, p, t, capUntil)
  local first = redis.call('ZRANGE', p .. 'due:' .. t, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', tenants, t)
    redis.call('HDEL', p .. 'served', t)
    return
  end
  local at = tonumber(first[2])
  if capUntil and capUntil > at then at = capUntil end
  redis.call('ZADD', tenants, at, t)
end
`;

/** KEYS tenants, dedup, dlv, eplog; ARGV id, json, retentionMs, dueMs, maxPerEndpoint, prefix, tenant */
const CREATE_DELIVERY = `${RESCORE}
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
local p, t = ARGV[6], ARGV[7]
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('ZADD', p .. 'due:' .. t, ARGV[4], ARGV[1])
local n = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[5])
if n > 0 then
  local old = redis.call('ZRANGE', KEYS[4], 0, n - 1)
  for _, id in ipairs(old) do
    redis.call('DEL', p .. 'dlv:' .. id)
    redis.call('ZREM', p .. 'due:' .. t, id)
    redis.call('ZREM', p .. 'fly:' .. t, id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, n - 1)
end
rescore(KEYS[1], p, t, nil)
return 1
`;

/**
 * KEYS tenants, legacy due; ARGV now, limit, leaseUntil, per-tenant cap (0 = none), prefix.
 * Returns [id, tenant, id, tenant, …].
 */
const CLAIM = `${RESCORE}
local now, limit, lease, cap, p = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
-- deliveries scheduled by an older version in one global set move to their tenant's set (a few per claim)
local legacy = redis.call('ZRANGE', KEYS[2], 0, 99, 'WITHSCORES')
for i = 1, #legacy, 2 do
  local id = legacy[i]
  local d = redis.call('GET', p .. 'dlv:' .. id)
  if d then
    local t = cjson.decode(d).tenant
    redis.call('ZADD', p .. 'due:' .. t, legacy[i + 1], id)
    rescore(KEYS[1], p, t, nil)
  end
  redis.call('ZREM', KEYS[2], id)
end
local out = {}
-- the tenants with something to claim (a window of the earliest), those served longest ago first
local cands = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit * 4 + 16)
local rank = {}
for i = 1, #cands, 2 do
  local t = cands[i]
  rank[#rank + 1] = { t = t, due = tonumber(cands[i + 1]), last = tonumber(redis.call('HGET', p .. 'served', t) or '0') }
end
table.sort(rank, function(x, y)
  if x.last ~= y.last then return x.last < y.last end
  if x.due ~= y.due then return x.due < y.due end
  return x.t < y.t
end)
local tenants, open = {}, {}
for i = 1, math.min(#rank, limit) do
  local t = rank[i].t
  redis.call('ZREMRANGEBYSCORE', p .. 'fly:' .. t, '-inf', now)
  tenants[#tenants + 1] = t
  open[#open + 1] = t
end
local served = {}
-- rounds: one delivery per tenant per round, until the limit or every tenant has nothing more to give
while #out < limit * 2 and #open > 0 do
  local still = {}
  for _, t in ipairs(open) do
    if #out >= limit * 2 then break end
    local room = cap <= 0 or redis.call('ZCARD', p .. 'fly:' .. t) < cap
    local ids = {}
    if room then ids = redis.call('ZRANGEBYSCORE', p .. 'due:' .. t, '-inf', now, 'LIMIT', 0, 1) end
    if #ids == 1 then
      redis.call('ZADD', p .. 'due:' .. t, lease, ids[1])
      if cap > 0 then redis.call('ZADD', p .. 'fly:' .. t, lease, ids[1]) end
      out[#out + 1] = ids[1]
      out[#out + 1] = t
      served[t] = true
      still[#still + 1] = t
    end
  end
  open = still
end
for _, t in ipairs(tenants) do
  if served[t] then redis.call('HSET', p .. 'served', t, now) end
  local capUntil = nil
  if cap > 0 and redis.call('ZCARD', p .. 'fly:' .. t) >= cap then
    local f = redis.call('ZRANGE', p .. 'fly:' .. t, 0, 0, 'WITHSCORES')
    if #f > 0 then capUntil = tonumber(f[2]) end
  end
  rescore(KEYS[1], p, t, capUntil)
end
return out
`;

/**
 * KEYS tenants, dlv; ARGV id, json, retentionMs, retry at ('' = settled), prefix, tenant. A try's outcome: the
 * delivery is written, leaves its tenant's in-flight set, and is scheduled again or taken off the schedule.
 */
const RECORD = `${RESCORE}
local p, t = ARGV[5], ARGV[6]
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('ZADD', p .. 'due:' .. t, ARGV[4], ARGV[1]) else redis.call('ZREM', p .. 'due:' .. t, ARGV[1]) end
redis.call('ZREM', p .. 'fly:' .. t, ARGV[1])
rescore(KEYS[1], p, t, nil)
return 1
`;

/** KEYS tenants, ep, tenant set, eplog; ARGV id, prefix, tenant. The endpoint with its delivery log and schedule. */
const DELETE_ENDPOINT = `${RESCORE}
local p, t = ARGV[2], ARGV[3]
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  redis.call('DEL', p .. 'dlv:' .. id)
  redis.call('ZREM', p .. 'due:' .. t, id)
  redis.call('ZREM', p .. 'fly:' .. t, id)
end
redis.call('DEL', KEYS[4])
rescore(KEYS[1], p, t, nil)
return 1
`;

const SCRIPTS = {
  createEndpoint: script(CREATE_ENDPOINT),
  createDelivery: script(CREATE_DELIVERY),
  claim: script(CLAIM),
  record: script(RECORD),
  deleteEndpoint: script(DELETE_ENDPOINT),
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
