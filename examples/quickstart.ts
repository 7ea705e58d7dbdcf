import { Redis } from 'ioredis';
import { LockHeldError, LockManager, RedisBackend } from 'leasehold';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const locks = new LockManager({
  backend: new RedisBackend(redis, { prefix: 'quickstart' }),
  ttlMs: 10_000, // a holder that dies loses its leases within 10 s; heartbeats renew every 3.3 s
});

// Hold node-1 while the work runs; released afterwards, even if the work throws.
await locks.using('node-1', { owner: 'conductor-a', purpose: 'deploy' }, async (lease) => {
  console.log(`conductor-a holds node-1 with fence ${lease.fence}`);
  // Pass lease.fence with every write, and stop when lease.signal aborts (the lease was lost).
  lease.signal.throwIfAborted();

  // Nobody else gets node-1 meanwhile; the error names the holder.
  try {
    await locks.acquire('node-1', { owner: 'conductor-b' });
  } catch (error) {
    if (error instanceof LockHeldError) console.log(`conductor-b refused: held by ${error.holder?.owner}`);
  }
});

await locks.close();
redis.disconnect();
