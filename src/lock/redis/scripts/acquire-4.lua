-- Takes a resource if nobody holds it, issuing a fence that only grows.
--
-- KEYS[1]  lock key of the resource           (string: the holder's token, PX ttl)
-- KEYS[2]  meta hash of the resource's shard  (resource -> record, see lib.lua)
-- KEYS[3]  held sorted set of the shard       (resource -> lease deadline, server ms; removed on release)
-- KEYS[4]  wait mark of the resource          (string, PX: another manager waits for it; see hand-over-4.lua)
-- ARGV[1]  resource
-- ARGV[2]  token
-- ARGV[3]  ttl in ms
-- ARGV[4]  owner
-- ARGV[5]  purpose ('' for none)
-- ARGV[6]  minimum fence (decimal string, '0' for none): a quorum writes back the highest fence it saw
-- ARGV[7]  waiter: the caller's token prefix when it will ask again after a refusal, else ''. A refusal by a
--          holder whose token does not start with it marks the resource waited for (KEYS[4]), for the lease's
--          time left, so that the holder's manager does not hand it to its own waiters (hand-over-4.lua).
--
-- Reply, granted: {1, fence, acquiredAtMs, previousRecord or false, previousDeadlineMs or false}
--   previousRecord is the record of a holder whose lease expired without being released (an orphan): the
--   resource was still in `held`; previousDeadlineMs is when that lease expired.
-- Reply, refused: {0, holderRecord or false, pttl of the holder's lease}
-- Reply, {4}: this very token holds the lock, nothing is changed. The call ran before and its answer was lost: a
--   client that sends unanswered commands again after a reconnect (ioredis does by default) runs it twice. Whether
--   that first run took over an orphan is not known any more.
--
-- fence = max(last + 1, server time in us, minimum): it keeps growing even when Redis lost the last fence
-- (restart without persistence, failover that lost writes), as long as the server clock does not step back.

local resource = ARGV[1]
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then
  local holder = redis.call('GET', KEYS[1])
  if holder == ARGV[2] then
    return {4}
  end
  local pttl = redis.call('PTTL', KEYS[1])
  local waiter = ARGV[7]
  if waiter ~= '' and pttl > 0 and holder and string.sub(holder, 1, #waiter) ~= waiter then
    redis.call('SET', KEYS[4], '1', 'PX', pttl)
  end
  return {0, redis.call('HGET', KEYS[2], resource), pttl}
end

-- The hot path keeps string work to a minimum (measured: it was a third of the script's own cost). Usually the
-- fence is the server's time in us, written from TIME's two fields without number formatting; only when the last
-- fence or the minimum is higher (clock stepped back, or a quorum's write-back) is it formatted as a number.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local fence = t[1] * 1000000 + t[2]
local fence_s = t[1] .. string.sub(t[2] + 1000000, 2) -- seconds, then microseconds zero-padded to 6 digits
local offset = 0 -- the record's acquiredAt offset (see lib.lua): 0 while the fence is the server's time
local record = redis.call('HGET', KEYS[2], resource)
local floor = tonumber(ARGV[6])
if record then
  local tab = string.find(record, '\t', 1, true)
  local last = tab and tonumber(string.sub(record, 1, tab - 1))
  if last and last + 1 > floor then
    floor = last + 1
  end
end
if floor > fence then
  fence = floor
  fence_s = string.format('%.0f', fence)
  offset = now_ms - math.floor(fence / 1000)
end

local previous = false
local expired_at = false
-- Usually the resource is not in `held` (released, or never taken): ZADD NX adds it in one command. When it is
-- there, its lease expired unreleased: read that deadline before overwriting it.
if redis.call('ZADD', KEYS[3], 'NX', now_ms + ARGV[3], resource) == 0 then
  expired_at = redis.call('ZSCORE', KEYS[3], resource)
  redis.call('ZADD', KEYS[3], now_ms + ARGV[3], resource)
  if record then
    previous = record
  end
end

redis.call('HSET', KEYS[2], resource, fence_s .. '\t' .. offset .. '\t' .. #ARGV[4] .. '\t' .. ARGV[4] .. ARGV[5])
return {1, fence_s, now_ms, previous, previous and expired_at}
