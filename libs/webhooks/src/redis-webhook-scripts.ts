/**
 * The Lua scripts of the Redis webhook store (keys and their meaning: see redis-webhook-store.ts). Per-tenant key
 * names are built from the prefix inside the scripts.
 */
import { script } from '@jobstream/redis';

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

export const SCRIPTS = {
  createEndpoint: script(CREATE_ENDPOINT),
  createDelivery: script(CREATE_DELIVERY),
  claim: script(CLAIM),
  record: script(RECORD),
  deleteEndpoint: script(DELETE_ENDPOINT),
};
