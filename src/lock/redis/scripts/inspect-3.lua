-- Reads one resource's state.
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  meta hash of the shard
-- KEYS[3]  held sorted set of the shard
-- ARGV[1]  resource
--
-- Reply: {pttl of the lock (-2 when absent), record or false, deadline in server ms or false (released)}
--   lock absent + a deadline = an orphan: the lease expired without being released.

return {
  redis.call('PTTL', KEYS[1]),
  redis.call('HGET', KEYS[2], ARGV[1]),
  redis.call('ZSCORE', KEYS[3], ARGV[1]),
}
