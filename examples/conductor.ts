import { Redis } from 'ioredis';
import { Conductor, LockManager, NodeExistsError, RedisBackend, RedisConductorRegistry, RedisNodeStore } from 'leasehold';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = 'example';
const nodes = new RedisNodeStore(redis, { prefix }); // or PostgresNodeStore from 'leasehold/postgres'
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 10_000 });
const registry = new RedisConductorRegistry(redis, { prefix });
const conductor = new Conductor({ id: 'conductor-a', locks, nodes, registry, drivers: ['ipmi'] });
await conductor.start(); // registers it; a crashed conductor-a's nodes are failed now, not after their TTL

await nodes.create({ id: 'node-1', provisionState: 'available' }).catch((e: unknown) => {
  if (!(e instanceof NodeExistsError)) throw e;
});
// Deploy node-1 under an exclusive lease: every write is fenced, the lease is released at the end.
const node = await conductor.withNode('node-1', { purpose: 'deploy' }, async (task) => {
  await task.transition('deploying', { targetState: 'active' });
  task.signal.throwIfAborted(); // aborted when the lease is lost: stop working on the node
  return task.transition('active', { targetState: null });
});
console.log(`node-1 is ${node.provisionState}, written with fence ${node.fence}`);

await conductor.stop(); // waits for running tasks, releases every lease, marks conductor-a offline
await locks.close();
redis.disconnect();
