-- Releases a lease and, in the same step, grants the resource to the next acquisition of the same manager: a
-- hand-over, one round trip instead of a release and an acquire. Prepended to acquire-4.lua (see scripts.ts),
-- whose KEYS and ARGV[1..7] it shares; the acquisition part runs only when the release succeeded and nobody else
-- waits.
--
-- KEYS[1..4] as acquire-4.lua (lock key, meta hash, held set, wait mark)
-- ARGV[1..7] as acquire-4.lua, for the acquisition that takes over
-- ARGV[8]    token of the lease being released
--
-- Reply:
--   {4, record}                 the next acquisition's token holds the lock already: this call ran before and its
--                               answer was lost (a client re-sent it after a reconnect); record is its grant's
--   {3}                         the token did not hold the lock: nothing was changed (as release-3.lua's 0)
--   {2}                         released; not handed over, because another manager's acquisition was refused
--                               while the lease was held (KEYS[4]): the resource is free for whoever asks first
--   acquire-4.lua's reply       released and handed over (the grant always succeeds: the lock was just freed)

local current = redis.call('GET', KEYS[1])
if current ~= ARGV[8] then
  if current == ARGV[2] then
    return {4, redis.call('HGET', KEYS[2], ARGV[1])}
  end
  return {3}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('DEL', KEYS[4]) == 1 then
  return {2}
end
