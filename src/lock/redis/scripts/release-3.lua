-- Releases a lease if, and only if, the token still holds it. Idempotent.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  meta hash of the shard
-- KEYS[3]  held sorted set of the shard
-- ARGV[1]  resource
-- ARGV[2]  token
--
-- Reply: 1 when released; 0 when the token did not hold the lock (already released, expired, or another
-- holder's): nothing is changed then, so an expired lease's orphan record stays for recovery to find.

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
local record = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if record then
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({cjson.decode(record)[1]}))
end
return 1
