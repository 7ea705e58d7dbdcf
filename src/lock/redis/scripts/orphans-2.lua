-- Lists leases of one shard that expired without being released. Reads only entries whose deadline passed.
--
-- KEYS[1]  held sorted set of the shard
-- KEYS[2]  meta hash of the shard
-- ARGV[1]  lock key prefix of the shard (the lock key is this prefix .. resource; same hash tag, same slot)
-- ARGV[2]  at most this many
-- ARGV[3]  resource prefix: only resources that start with it ('' for every resource)
--
-- Reply: flat list of triples: resource, record, deadline (server ms), oldest deadline first.
--
-- Entries that do not count (another prefix's, or a lease still live) are read past, in pages of 1,000, up to
-- SKIP_CAP of them: orphans nobody takes again (the liveness leases of conductors never restarted, say) must not
-- hide the ones asked for behind the limit, and one call must not hold the server for long. Past SKIP_CAP such
-- entries ahead of them, orphans asked for are not found by this call.

local SKIP_CAP = 20000
local PAGE = 1000
local _, now_ms = server_now()
local limit = tonumber(ARGV[2])
local prefix = ARGV[3]
local prefix_len = #prefix
local reply = {}
local found = 0
local skipped = 0
local offset = 0
while skipped < SKIP_CAP do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'WITHSCORES', 'LIMIT', offset, PAGE)
  for i = 1, #due, 2 do
    local resource = due[i]
    local record = false
    if (prefix_len == 0 or string.sub(resource, 1, prefix_len) == prefix) and redis.call('EXISTS', ARGV[1] .. resource) == 0 then
      record = redis.call('HGET', KEYS[2], resource)
    end
    if record then
      reply[#reply + 1] = resource
      reply[#reply + 1] = record
      reply[#reply + 1] = due[i + 1]
      found = found + 1
      if found == limit then
        return reply
      end
    else
      skipped = skipped + 1
    end
  end
  if #due < 2 * PAGE then
    break
  end
  offset = offset + PAGE
end
return reply
