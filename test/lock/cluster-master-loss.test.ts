// One Cluster master dies (SIGKILL) while leases are renewed: only the leases on that master may be lost, and
// they are reported lost; the leases on the healthy masters are kept (a failed shard never drags the others down).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockManager, RedisBackend } from '../../src/index.js';
import { startCluster, type RedisClusterHandle } from '../harness/redis-cluster.js';

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('a Cluster master stalled or killed (private 3+3 cluster)', () => {
  it('a master stalled (CLIENT PAUSE) past the TTL loses only its own leases: the others are renewed meanwhile', async () => {
    const redis = cluster.client();
    const backend = new RedisBackend(redis, { prefix: 'master-stall' });
    // The others' slack while one master stalls is min(0.75 × heartbeat, validity − heartbeat): a beat waits for the
    // stalled master until the latest deadline, then retries a quarter period later. About 1.27 s here.
    const locks = new LockManager({ backend, ttlMs: 3_000, heartbeatMs: 1_700 });
    locks.on('error', () => undefined); // the stalled master's calls time out; expected
    try {
      const leases = await Promise.all(Array.from({ length: 48 }, (_, i) => locks.acquire(`node-${i}`, { owner: 'a' })));
      const portOf = new Map<string, number>();
      for (const lease of leases) {
        const slot = Number(await redis.cluster('KEYSLOT', backend.keys.lockKey(lease.resource)));
        portOf.set(lease.resource, Number(redis.slots[slot]![0]!.split(':')[1]));
      }
      const victim = cluster.nodes.find((n) => n.port === portOf.get('node-0'))!;
      await victim.clientPause(3_500); // longer than the TTL: its leases must be reported lost
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      for (const lease of leases) {
        const expected = portOf.get(lease.resource) === victim.port ? 'lost' : 'held';
        expect(lease.state, `${lease.resource} on :${portOf.get(lease.resource)} (stalled :${victim.port})`).toBe(expected);
      }
    } finally {
      await locks.close().catch(() => undefined);
      redis.disconnect();
    }
  });

  it('loses only the leases that master served, loudly; the others stay held', async () => {
    const redis = cluster.client();
    const backend = new RedisBackend(redis, { prefix: 'master-loss' });
    // Between the moment the other nodes mark the dead master FAIL and its replica's promotion, a Cluster that
    // requires full slot coverage (the default) answers CLUSTERDOWN on every master: no lease can be renewed
    // anywhere. The TTL is longer than that window (node timeout 2 s + election), so healthy leases must survive.
    const locks = new LockManager({ backend, ttlMs: 6_000 });
    const lost = new Set<string>();
    locks.on('lost', (lease) => lost.add(lease.resource));
    locks.on('error', () => undefined); // the failed master's calls are reported here; expected
    try {
      const names = Array.from({ length: 64 }, (_, i) => `node-${i}`);
      const leases = await Promise.all(names.map((resource) => locks.acquire(resource, { owner: 'a' })));
      const node = cluster.nodes[0]!;
      const ranges = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const portOf = new Map<string, number>();
      for (const resource of names) {
        const slot = Number(await node.call('CLUSTER', 'KEYSLOT', backend.keys.lockKey(resource)));
        portOf.set(resource, Number(ranges.find(([from, to]) => from <= slot && slot <= to)![2][1]));
      }
      const victim = cluster.nodes.find((n) => n.port === portOf.get('node-0'))!;
      const onVictim = new Set(names.filter((resource) => portOf.get(resource) === victim.port));
      expect(onVictim.size).toBeGreaterThan(0);
      expect(onVictim.size).toBeLessThan(names.length);

      await victim.kill();
      await new Promise((resolve) => setTimeout(resolve, 12_000)); // 2 TTLs

      for (const lease of leases) {
        if (onVictim.has(lease.resource)) {
          // Lost and reported, or — if its replica took over in time — renewed for real on the new master.
          if (lease.state === 'held') expect(lost.has(lease.resource)).toBe(false);
          else expect(lost.has(lease.resource)).toBe(true);
        } else {
          expect(lease.state, `${lease.resource} on a healthy master`).toBe('held');
        }
      }
      expect([...lost].filter((resource) => !onVictim.has(resource))).toEqual([]);
    } finally {
      await locks.close().catch(() => undefined);
      redis.disconnect();
    }
  });
});
