// Through an ioredis Sentinel client: a forced failover while leases are held and renewed. Heartbeats resume on the
// new master or leases are reported lost (never silently kept), fences after the failover exceed every fence before
// it, and orphans left across the failover are still recovered.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LockManager,
  RecoveryManager,
  RedisBackend,
  RedisNodeStore,
  nodeResource,
  type Lease,
  type LeaseLostError,
  type RecoveredEvent,
} from '../../src/index.js';
import { uniquePrefix } from '../harness/env.js';
import { startSentinelSet, type SentinelSet } from '../harness/redis-sentinel.js';
import { sleep } from '../support/wait.js';

let set: SentinelSet;
let redis: Redis;

beforeAll(async () => {
  set = await startSentinelSet();
  redis = set.client();
  redis.on('error', () => undefined);
  await redis.ping();
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await set?.stop();
});

it('a Sentinel failover keeps or loudly loses every lease, keeps fences growing, and recovers orphans', async () => {
  const prefix = uniquePrefix('sentinel');
  const ttlMs = 3_000;
  const backend = new RedisBackend(redis, { prefix });
  const nodes = new RedisNodeStore(redis, { prefix });
  const locks = new LockManager({ backend, ttlMs });
  const backgroundErrors: unknown[] = [];
  locks.on('error', (e) => backgroundErrors.push(e));
  const leases: Lease[] = [];
  for (let i = 0; i < 20; i++) leases.push(await locks.acquire(`s-${i}`, { owner: 'conductor-a' }));
  const lost = new Map<string, LeaseLostError>();
  for (const lease of leases) lease.on('lost', (e) => lost.set(lease.resource, e));
  const before = Math.max(...leases.map((l) => l.fence));

  // Two nodes whose holders die: one expires before the failover, one across it.
  for (const [id, ttl] of [['o-before', 500], ['o-across', 2_500]] as const) {
    await nodes.create({ id, provisionState: 'available' });
    const taken = await backend.acquire({ resource: nodeResource(id), token: `t-${id}`, owner: 'conductor-dead', purpose: 'deploy', ttlMs: ttl });
    if (!taken.acquired) throw new Error('not acquired');
    await nodes.transition(id, { from: ['available'], to: 'deploying', fence: taken.fence });
  }
  await sleep(800);
  await redis.call('WAIT', 1, 2_000); // the replica has every write so far
  const oldMaster = await set.masterPort();

  await set.failover();
  expect(await set.masterPort()).not.toBe(oldMaster);
  await sleep(2 * ttlMs);

  // Every lease is either still held, and then really held on the new master under its own fence, or reported lost.
  for (const lease of leases) {
    if (lease.state === 'held') {
      const info = await locks.inspect(lease.resource);
      expect(info.holder?.fence, `${lease.resource} held locally must be held in Redis`).toBe(lease.fence);
    } else {
      expect(lease.state).toBe('lost');
      expect(lost.get(lease.resource)).toBeDefined();
      expect(lease.signal.aborted).toBe(true);
    }
  }
  const after = await locks.acquire('s-new', { owner: 'conductor-b' });
  expect(after.fence).toBeGreaterThan(before);

  const recovery = new RecoveryManager({ locks, nodes, subscriber: redis, sweepIntervalMs: 300 });
  const recovered: RecoveredEvent[] = [];
  recovery.on('recovered', (e) => recovered.push(e));
  await recovery.start();
  const until = Date.now() + 10_000;
  while (recovered.length < 2 && Date.now() < until) await sleep(50);
  expect(recovered.map((e) => e.nodeId).sort()).toEqual(['o-across', 'o-before']);
  for (const id of ['o-across', 'o-before']) expect((await nodes.get(id)).provisionState).toBe('deploy failed');
  console.log(`sentinel failover: ${leases.filter((l) => l.state === 'held').length} of 20 leases kept, ${lost.size} reported lost, ${backgroundErrors.length} background errors`);
  await recovery.stop();
  await locks.close();
}, 60_000);
