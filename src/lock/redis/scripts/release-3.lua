-- Releases a lease if, and only if, the token still holds it. Idempotent.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  held sorted set of the shard
-- KEYS[3]  waiting set of the shard (resources someone waits for, registered by acquire-4.lua)
-- ARGV[1]  resource
-- ARGV[2]  token
-- ARGV[3]  the shard's release channel
--
-- Reply: 1 when released; 0 when the token did not hold the lock (already released, expired, or another
-- holder's): nothing is changed then, so an expired lease's orphan entry stays for recovery to find.
-- The record in the meta hash stays: it keeps the last fence (and names the last holder).
-- When someone waits for the resource, the release is published (its waiters try at once instead of at their
-- next poll); uncontended releases publish nothing.

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('SREM', KEYS[3], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[3], ARGV[1])
end
return 1
