-- Takes a resource if nobody holds it, issuing a fence that only grows.
--
-- KEYS[1]  lock key of the resource           (string: the holder's token, PX ttl)
-- KEYS[2]  meta hash of the resource's shard  (resource -> record, see lib.lua)
-- KEYS[3]  held sorted set of the shard       (resource -> lease deadline, server ms; removed on release)
-- ARGV[1]  resource
-- ARGV[2]  token
-- ARGV[3]  ttl in ms
-- ARGV[4]  owner
-- ARGV[5]  purpose ('' for none)
-- ARGV[6]  minimum fence (decimal string, '0' for none): a quorum writes back the highest fence it saw
--
-- Reply, granted: {1, fence, acquiredAtMs, previousRecord or false, previousDeadlineMs or false}
--   previousRecord is the record of a holder whose lease expired without being released (an orphan): the
--   resource was still in `held`; previousDeadlineMs is when that lease expired.
-- Reply, refused: {0, holderRecord or false, pttl of the holder's lease}
--
-- fence = max(last + 1, server time in us, minimum): it keeps growing even when Redis lost the last fence
-- (restart without persistence, failover that lost writes), as long as the server clock does not step back.

local resource = ARGV[1]
local ttl = tonumber(ARGV[3])
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ttl) then
  return {0, redis.call('HGET', KEYS[2], resource), redis.call('PTTL', KEYS[1])}
end

local now_us, now_ms = server_now()
local record = redis.call('HGET', KEYS[2], resource)
local last = 0
if record then
  last = tonumber(string.match(record, '^%d+')) or 0
end
local previous = false
local expired_at = false
-- Usually the resource is not in `held` (released, or never taken): ZADD NX adds it in one command. When it is
-- there, its lease expired unreleased: read that deadline before overwriting it.
if redis.call('ZADD', KEYS[3], 'NX', now_ms + ttl, resource) == 0 then
  expired_at = redis.call('ZSCORE', KEYS[3], resource)
  redis.call('ZADD', KEYS[3], now_ms + ttl, resource)
  if record then
    previous = record
  end
end

local fence_n = math.max(last + 1, now_us, tonumber(ARGV[6]))
local fence = decimal(fence_n)
redis.call('HSET', KEYS[2], resource, fence .. '\t' .. at_offset(now_ms, fence_n) .. '\t' .. #ARGV[4] .. '\t' .. ARGV[4] .. ARGV[5])
return {1, fence, now_ms, previous, previous and expired_at}
