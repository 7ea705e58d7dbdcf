-- Gives a lease back without clearing its orphan status: deletes the lock if the token still holds it and leaves the
-- resource an orphan at once. Used when an acquisition that may have taken over an orphan is given back unused
-- (aborted, too late, no quorum, or its answer was lost): a plain release would erase the orphan record and leave
-- the dead holder's node stuck.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  meta hash of the resource's shard
-- KEYS[3]  held sorted set of the shard
-- ARGV[1]  resource
-- ARGV[2]  token
-- ARGV[3]  the record of the orphan this acquisition took over (see lib.lua), or '' when unknown
-- ARGV[4]  that orphan's deadline (server ms), with ARGV[3]
--
-- With a record, the orphan is put back as it was (its holder, fence and deadline): the acquisition was never
-- handed out, so its own fence was never used and its record may go. Without one, the record of this acquisition
-- stays and its deadline becomes now: recovery then finds an orphan of this holder.
--
-- Reply: 1 when abandoned; 0 when the token did not hold the lock (nothing changed).

if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), ARGV[1])
else
  local _, now_ms = server_now()
  redis.call('ZADD', KEYS[3], now_ms, ARGV[1])
end
return 1
