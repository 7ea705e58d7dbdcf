// One conductor process of the demo: holds its nodes with leasehold until told to stop, or until it is killed.
// Talks to the demo over IPC: sends `held` (its leases) and `lost` (a lease it lost); receives `stop`.
import { Redis } from 'ioredis';
import { LockManager, RedisBackend } from 'leasehold';

const [url, prefix, id, ttl, ...nodes] = process.argv.slice(2);
if (!url || !prefix || !id || !ttl || !process.send) throw new Error('run by examples/demo.ts');
const send = (message: object): void => void process.send?.(message);

const redis = new Redis(url);
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: Number(ttl) });
locks.on('lost', (lease, error) => send({ type: 'lost', node: lease.resource, reason: error.reason }));

const leases = await Promise.all(nodes.map((node) => locks.acquire(node, { owner: id, purpose: 'deploy', waitMs: 5_000 })));
send({ type: 'held', leases: leases.map((lease) => ({ node: lease.resource, fence: lease.fence })) });

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  void locks.close().then(() => {
    redis.disconnect();
    process.disconnect();
  });
});
