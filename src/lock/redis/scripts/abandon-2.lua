-- Gives a lease back without clearing its orphan status: deletes the lock if the token still holds it and sets its
-- deadline in `held` to now, so the resource is an orphan at once (of this holder, whose record stays). Used when an
-- acquisition that may have taken over an orphan is given back unused (aborted, too late, or its answer was lost):
-- a plain release would erase the orphan record and leave the dead holder's node stuck.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  held sorted set of the shard
-- ARGV[1]  resource
-- ARGV[2]  token
--
-- Reply: 1 when abandoned; 0 when the token did not hold the lock (nothing changed).

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
local _, now_ms = server_now()
redis.call('ZADD', KEYS[2], now_ms, ARGV[1])
return 1
