-- Drops a resource's `held` entry on this master when its lock key is gone (quorum mode).
--
-- KEYS[1]  lock key of the resource
-- KEYS[2]  held sorted set of the shard
-- ARGV[1]  resource
--
-- Reply: 1 when an entry was dropped; 0 when the lock key exists (held again meanwhile) or there was no entry.
--
-- Called on a master where a release found the lease's token already gone while a majority released it: the lease
-- lapsed on this master alone (cut off longer than its TTL while the others kept renewing it). The entry left here
-- is then no orphan's, yet every listing would report it as one and recovery would fail the node of a lease that
-- was released cleanly. An older orphan this master still holds is stale too: the lease just released was granted
-- by a majority, which shares a master with that orphan's majority, so it took that orphan over there.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
return redis.call('ZREM', KEYS[2], ARGV[1])
