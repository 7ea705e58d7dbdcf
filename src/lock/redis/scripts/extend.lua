-- Renews many leases of one shard, all with the same TTL, in one call (the batched heartbeat).
--
-- KEYS[1]      held sorted set of the shard
-- KEYS[2..n+1] lock keys of the n leases (each is the shard's lock key prefix followed by the resource)
-- ARGV[1]      ttl in ms
-- ARGV[2]      length of the shard's lock key prefix, in bytes
-- ARGV[3..n+2] the leases' tokens, in the order of their keys
--
-- Reply: n integers, 1 where the token still held the lock (now renewed to ttl), 0 where it did not
-- (expired, deleted, or taken by another holder: that lease is lost; its lock is left untouched).
-- The renewed leases' deadlines are written to `held` with one ZADD (the caller sends at most 1,000 leases).
-- Two arguments per lease, not four: encoding arguments is most of a big heartbeat's client-side cost.

local _, now_ms = server_now()
local ttl = tonumber(ARGV[1])
local deadline = now_ms + ttl
local skip = tonumber(ARGV[2]) + 1
local reply = {}
local deadlines = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ttl)
    deadlines[#deadlines + 1] = deadline
    deadlines[#deadlines + 1] = string.sub(KEYS[i], skip)
    reply[i - 1] = 1
  else
    reply[i - 1] = 0
  end
end
if #deadlines > 0 then
  redis.call('ZADD', KEYS[1], unpack(deadlines))
end
return reply
