-- Breaks one live lease on purpose, turning it into an orphan at once: for a holder known to be dead (a crashed
-- incarnation of a restarted conductor) or an operator's forced recovery. Only the acquisition named by its fence
-- is broken, never a newer one.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  meta hash of the resource's shard
-- KEYS[3]  held sorted set of the shard
-- ARGV[1]  resource
-- ARGV[2]  fence of the lease to break (decimal string)
--
-- Reply, broken: {1, record, expiredAtMs}: the lock key is deleted and the deadline in `held` set to now, so the
--   resource is an orphan (its holder's next heartbeat finds its token gone and reports the lease lost).
-- Reply, not broken: {0, record or false, pttl}: the lock is free (pttl -2) or held under another fence.

local record = redis.call('HGET', KEYS[2], ARGV[1])
local pttl = redis.call('PTTL', KEYS[1])
if pttl == -2 or not record or string.match(record, '^%d+') ~= ARGV[2] then
  return {0, record or false, pttl}
end
redis.call('DEL', KEYS[1])
local _, now_ms = server_now()
redis.call('ZADD', KEYS[3], now_ms, ARGV[1])
return {1, record, now_ms}
