-- Renews many leases of one shard in one call (the batched heartbeat).
--
-- KEYS[1]      held sorted set of the shard
-- KEYS[2..n+1] lock keys of the n leases
-- ARGV         n triples: resource, token, ttl in ms
--
-- Reply: n integers, 1 where the token still held the lock (now renewed to ttl), 0 where it did not
-- (expired, deleted, or taken by another holder: that lease is lost; its lock is left untouched).

local _, now_ms = server_now()
local reply = {}
for i = 2, #KEYS do
  local a = (i - 2) * 3
  local resource, token, ttl = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  if redis.call('GET', KEYS[i]) == token then
    redis.call('PEXPIRE', KEYS[i], ttl)
    redis.call('ZADD', KEYS[1], now_ms + ttl, resource)
    reply[i - 1] = 1
  else
    reply[i - 1] = 0
  end
end
return reply
