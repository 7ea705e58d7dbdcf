-- Renews many leases of one shard, all with the same TTL, in one call (the batched heartbeat).
--
-- KEYS[1]  held sorted set of the shard
-- ARGV[1]  ttl in ms
-- ARGV[2]  lock key prefix of the shard (a lock key is this prefix .. resource; same hash tag, same slot)
-- ARGV[3]  the leases, packed: for each, "<resource length in bytes>:<resource><token>\n" (tokens hold no ':' or
--          '\n'; a resource may hold anything, hence its length)
--
-- Reply: the 1-based positions, in ARGV[3], of the leases whose token no longer held the lock (expired, deleted, or
-- taken by another holder: lost; their locks are left untouched). Every other lease was renewed to ttl, and its
-- deadline written to `held` with one ZADD (the caller sends at most 1,000 leases).
--
-- One packed argument, not two or four per lease: encoding and decoding arguments was most of a big heartbeat's
-- cost, on the client and on the server. The reply names only the lost, usually none.

local _, now_ms = server_now()
local ttl = tonumber(ARGV[1])
local deadline = decimal(now_ms + ttl)
local prefix = ARGV[2]
local packed = ARGV[3]
local lost = {}
local deadlines = {}
local position = 0
local at = 1
local size = #packed
while at <= size do
  position = position + 1
  local colon = string.find(packed, ':', at, true)
  local resource_end = colon + tonumber(string.sub(packed, at, colon - 1))
  local newline = string.find(packed, '\n', resource_end + 1, true)
  local resource = string.sub(packed, colon + 1, resource_end)
  local key = prefix .. resource
  if redis.call('GET', key) == string.sub(packed, resource_end + 1, newline - 1) then
    redis.call('PEXPIRE', key, ttl)
    deadlines[#deadlines + 1] = deadline
    deadlines[#deadlines + 1] = resource
  else
    lost[#lost + 1] = position
  end
  at = newline + 1
end
if #deadlines > 0 then
  redis.call('ZADD', KEYS[1], unpack(deadlines))
end
return lost
