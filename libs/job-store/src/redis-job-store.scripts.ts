/**
 * The Lua scripts of the Redis job store (`redis-job-store.ts` documents the keys). Every state change of a record
 * and its indexes is one script, so concurrent API processes and workers never interleave a read and a write.
 */
import { script } from '@jobstream/redis';

/**
 * create: KEYS job, list:all, list:<status>, active, waiting, undispatched, abandoned (the tombstone of an abandoned
 * create), idem (a placeholder name without a key), list:queued, list:running, list:waiting_for_input (the tenant's
 * open jobs, for the quota);
 * ARGV id, json, status, fingerprint, idemTtlMs, jobKeyPrefix, active score ('' = not active), waiting score ('' = not waiting),
 * undispatched score ('' = dispatched), has idempotency key ('1' / '0'), most open jobs of the tenant (0 = no quota).
 * The quota is counted from the status sets themselves (kept with every record in the same scripts), so there is
 * no separate counter that a lost decrement could leave wrong.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[7]) == 1 then return {'abandoned'} end
if ARGV[10] == '1' then
  local seen = redis.call('GET', KEYS[8])
  if seen then
    local s = cjson.decode(seen)
    if s.fingerprint ~= ARGV[4] then return {'conflict'} end
    local d = redis.call('HGET', ARGV[6] .. s.jobId, 'd')
    if d then return {'existing', d} end
  end
end
local quota = tonumber(ARGV[11])
if quota > 0 then
  local open = redis.call('ZCARD', KEYS[9]) + redis.call('ZCARD', KEYS[10]) + redis.call('ZCARD', KEYS[11])
  if open >= quota then return {'quota', tostring(open)} end
end
if ARGV[10] == '1' then
  redis.call('SET', KEYS[8], cjson.encode({ jobId = ARGV[1], fingerprint = ARGV[4] }), 'PX', ARGV[5])
end
redis.call('HSET', KEYS[1], 'v', 1, 'd', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1]) end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[5], ARGV[8], ARGV[1]) end
if ARGV[9] ~= '' then redis.call('ZADD', KEYS[6], ARGV[9], ARGV[1]) end
return {'created'}
`;

/**
 * compare-and-set: KEYS job, list:<old>:<t>, list:<new>:<t>, expiring, active, waiting, undispatched;
 * ARGV expected version, json, id, ttlMs (0 = none), expiring member, expiring score, active score ('' = remove),
 * waiting score ('' = remove), undispatched score ('' = remove).
 */
const CAS = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 'd', ARGV[2])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[3])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
end
-- the active, waiting and undispatched indexes (KEYS 5..7, scores ARGV 7..9)
for i = 0, 2 do
  if ARGV[7 + i] == '' then
    redis.call('ZREM', KEYS[5 + i], ARGV[3])
  else
    redis.call('ZADD', KEYS[5 + i], ARGV[7 + i], ARGV[3])
  end
end
return 1
`;

/** sweep: KEYS expiring; ARGV now, batch, list prefix, statuses…  Members are JSON [id, tenant]. */
const SWEEP = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local e = cjson.decode(m)
  for i = 4, #ARGV do redis.call('ZREM', ARGV[3] .. ARGV[i] .. ':' .. e[2], e[1]) end
  redis.call('ZREM', KEYS[1], m)
end
return #due
`;

/** The tail of `delete` and `abandon`: the idempotency key KEYS[4] if it names job ARGV[1], and its list entries. */
const FORGET_IDEM_AND_LISTS = `
if KEYS[4] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen and cjson.decode(seen).jobId == ARGV[1] then redis.call('DEL', KEYS[4]) end
end
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
`;

/**
 * delete: KEYS job, active, expiring, idem ('' = none), waiting, list keys…; ARGV id, expiring member.
 * The idempotency key goes only while it still names this job.
 */
const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
${FORGET_IDEM_AND_LISTS}
return 1
`;

/**
 * abandon: KEYS job, abandoned, undispatched, idem ('' = none), list keys…; ARGV id, ttlMs. The tombstone first (a
 * create still on its way is refused), then a landed record that was never dispatched goes, as `delete` does.
 */
const ABANDON = `
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return 'absent' end
local j = cjson.decode(d)
if j.status ~= 'queued' or j.dispatched_at ~= cjson.null then return 'kept' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
${FORGET_IDEM_AND_LISTS}
return 'removed'
`;

export const SCRIPTS = {
  create: script(CREATE),
  cas: script(CAS),
  sweep: script(SWEEP),
  delete: script(DELETE),
  abandon: script(ABANDON),
};
