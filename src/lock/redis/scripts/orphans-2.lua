-- Lists leases of one shard that expired without being released. Reads only entries whose deadline passed.
--
-- KEYS[1]  held sorted set of the shard
-- KEYS[2]  meta hash of the shard
-- ARGV[1]  lock key prefix of the shard (the lock key is this prefix .. resource; same hash tag, same slot)
-- ARGV[2]  at most this many
--
-- Reply: flat list of triples: resource, record, deadline (server ms).

local _, now_ms = server_now()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local reply = {}
for i = 1, #due, 2 do
  local resource = due[i]
  if redis.call('EXISTS', ARGV[1] .. resource) == 0 then
    local record = redis.call('HGET', KEYS[2], resource)
    if record then
      reply[#reply + 1] = resource
      reply[#reply + 1] = record
      reply[#reply + 1] = due[i + 1]
    end
  end
end
return reply
