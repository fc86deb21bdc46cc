/**
 * The Lua scripts of the Redis thread store (keys and their meaning: see redis-thread-store.ts). Every state change
 * is one script.
 */
import { script } from '@jobstream/redis';

const COMMON = `
local function load(key)
  local s = redis.call('HGET', key, 's')
  if not s then return nil end
  local st = cjson.decode(s)
  if type(st.pending) ~= 'table' then st.pending = {} end
  if type(st.canc) ~= 'table' then st.canc = {} end
  return st
end
local function remove(list, x)
  for i, j in ipairs(list) do
    if j == x then
      table.remove(list, i)
      return true
    end
  end
  return false
end
local function save(key, busy, idle, id, st, nowMs)
  local enc = cjson.encode(st)
  enc = string.gsub(enc, '"pending":{}', '"pending":[]')
  enc = string.gsub(enc, '"canc":{}', '"canc":[]')
  redis.call('HSET', key, 's', enc)
  if st.active ~= '' or #st.canc > 0 then
    redis.call('ZADD', busy, nowMs, id)
    redis.call('ZREM', idle, id)
  else
    redis.call('ZREM', busy, id)
    redis.call('ZADD', idle, nowMs, id)
  end
  return enc
end
`;

/** KEYS thread, jobs, idem, busy, idle; ARGV jobId, policy, idemKey, fingerprint, nowMs, nowIso, ttlMs, threadId. */
const BEGIN = `${COMMON}
local st = load(KEYS[1])
if not st then return cjson.encode({kind='not_found'}) end
local now = tonumber(ARGV[5])
if ARGV[3] ~= '' then
  local seen = redis.call('HGET', KEYS[3], ARGV[3])
  if seen then
    local s = cjson.decode(seen)
    if tonumber(s.e) > now then
      if s.f ~= ARGV[4] then return cjson.encode({kind='conflict'}) end
      return cjson.encode({kind='existing', job_id=s.j})
    end
  end
end
if st.active ~= '' and ARGV[2] == 'reject' then return cjson.encode({kind='busy', active_job_id=st.active}) end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], cjson.encode({j=ARGV[1], f=ARGV[4], e=now + tonumber(ARGV[7])}))
end
st.turns = st.turns + 1
st.last = ARGV[1]
st.updated_at = ARGV[6]
redis.call('RPUSH', KEYS[2], ARGV[1])
local kind = 'started'
local interrupt = {}
if st.active == '' then
  st.active = ARGV[1]
  st.started = false
else
  kind = 'queued'
  if ARGV[2] == 'interrupt' then
    table.insert(interrupt, st.active)
    for _, j in ipairs(st.pending) do
      table.insert(interrupt, j)
      table.insert(st.canc, j)
    end
    st.pending = { ARGV[1] }
    st.intr = st.active
  else
    table.insert(st.pending, ARGV[1])
  end
end
local enc = save(KEYS[1], KEYS[4], KEYS[5], ARGV[8], st, now)
return cjson.encode({kind=kind, turn=st.turns, state=enc, interrupt=interrupt})
`;

/** KEYS thread, busy, idle; ARGV jobId, nowMs, nowIso, threadId. */
const SETTLE = `${COMMON}
local st = load(KEYS[1])
if not st then return '' end
local dropped = remove(st.canc, ARGV[1])
if st.active == ARGV[1] then
  local nxt = table.remove(st.pending, 1)
  st.active = nxt or ''
  st.started = false
  st.intr = ''
  st.updated_at = ARGV[3]
  save(KEYS[1], KEYS[2], KEYS[3], ARGV[4], st, tonumber(ARGV[2]))
  return st.active
end
if remove(st.pending, ARGV[1]) or dropped then
  st.updated_at = ARGV[3]
  save(KEYS[1], KEYS[2], KEYS[3], ARGV[4], st, tonumber(ARGV[2]))
end
return ''
`;

/** KEYS thread; ARGV jobId. */
const MARK_STARTED = `
local s = redis.call('HGET', KEYS[1], 's')
if not s then return 0 end
local st = cjson.decode(s)
if st.active ~= ARGV[1] then return 0 end
st.started = true
local enc = cjson.encode(st)
enc = string.gsub(enc, '"pending":{}', '"pending":[]')
enc = string.gsub(enc, '"canc":{}', '"canc":[]')
redis.call('HSET', KEYS[1], 's', enc)
return 1
`;

/** KEYS thread, jobs, idem, busy, tenant set, idle, external names; ARGV threadId, external id ('' = none). */
const DELETE = `
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {'not_found'} end
local st = cjson.decode(s)
if st.active ~= '' then return {'busy', st.active} end
local jobs = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[7], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[7], ARGV[2]) end
table.insert(jobs, 1, 'deleted')
return jobs
`;

/**
 * KEYS external names, thread, tenant set, idle; ARGV external id, threadId, m, s, max threads of the tenant
 * (0 = no quota), now ms. Returns the named thread's id, or '' when a new one would pass the quota.
 */
const ENSURE = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then return held end
local max = tonumber(ARGV[5])
if max > 0 and redis.call('ZCARD', KEYS[3]) >= max then return '' end
redis.call('HSET', KEYS[2], 'm', ARGV[3], 's', ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`;

/**
 * KEYS thread, tenant set, idle; ARGV threadId, fixed json, state json, max threads of the tenant (0 = no quota),
 * now ms.
 */
const CREATE = `
local max = tonumber(ARGV[4])
if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then return 0 end
redis.call('HSET', KEYS[1], 'm', ARGV[2], 's', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
return 1
`;

export const SCRIPTS = {
  create: script(CREATE),
  begin: script(BEGIN),
  settle: script(SETTLE),
  markStarted: script(MARK_STARTED),
  delete: script(DELETE),
  ensure: script(ENSURE),
};
