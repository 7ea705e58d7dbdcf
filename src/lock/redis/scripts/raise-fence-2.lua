-- Raises the fence recorded for a lease its token still holds, so the master remembers a fence issued by a quorum
-- (quorum mode: the lease's fence is the highest any master of the quorum issued, written back to each of them).
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  meta hash of the resource's shard
-- ARGV[1]  resource
-- ARGV[2]  token
-- ARGV[3]  fence (decimal string)
--
-- Reply: 1 when the record now holds a fence >= ARGV[3]; 0 when the token no longer holds the lock.

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then
  return 0
end
local digits, offset, rest = string.match(record, '^(%d+)\t(%-?%d+)(\t.*)$')
if digits and (#digits < #ARGV[3] or (#digits == #ARGV[3] and digits < ARGV[3])) then
  -- The acquiredAt offset is relative to the fence: keep the same acquiredAt under the new fence.
  local at_ms = math.floor(tonumber(digits) / 1000) + tonumber(offset)
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. '\t' .. at_offset(at_ms, tonumber(ARGV[3])) .. rest)
end
return 1
