-- Releases a lease if, and only if, the token still holds it. Idempotent.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  held sorted set of the shard
-- KEYS[3]  wait mark of the resource (see acquire-4.lua): it was about this lease, so it goes with it
-- ARGV[1]  resource
-- ARGV[2]  token
--
-- Reply: 1 when released; 0 when the token did not hold the lock (already released, expired, or another
-- holder's): nothing is changed then, so an expired lease's orphan entry stays for recovery to find.
-- The record in the meta hash stays: it keeps the last fence (and names the last holder).

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
