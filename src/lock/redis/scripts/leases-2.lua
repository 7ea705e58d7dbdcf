-- Lists live leases of one shard, a page at a time, optionally only one owner's.
--
-- KEYS[1]  held sorted set of the shard
-- KEYS[2]  meta hash of the shard
-- ARGV[1]  lock key prefix of the shard (the lock key is this prefix .. resource; same hash tag, same slot)
-- ARGV[2]  owner to match exactly, or '' for every owner
-- ARGV[3]  first rank of the page in `held`
-- ARGV[4]  page size (ranks read, matching or not)
--
-- Reply: {next rank or -1 when the set is exhausted, resource, record, pttl, resource, record, pttl, ...}
-- Only leases whose lock key exists are listed (orphans are not: see orphans-2.lua).

local start = tonumber(ARGV[3])
local size = tonumber(ARGV[4])
local page = redis.call('ZRANGE', KEYS[1], start, start + size - 1)
local reply = {#page < size and -1 or start + size}
for _, resource in ipairs(page) do
  local pttl = redis.call('PTTL', ARGV[1] .. resource)
  if pttl ~= -2 then
    local record = redis.call('HGET', KEYS[2], resource)
    if record then
      local keep = ARGV[2] == ''
      if not keep then
        local bytes, at = string.match(record, '^%d+\t%-?%d+\t(%d+)\t()')
        keep = bytes ~= nil and string.sub(record, at, at + tonumber(bytes) - 1) == ARGV[2]
      end
      if keep then
        reply[#reply + 1] = resource
        reply[#reply + 1] = record
        reply[#reply + 1] = pttl
      end
    end
  end
end
return reply
