// Leases survive a coordinated CLUSTER FAILOVER of a master that serves some of them: a manual failover loses no
// acknowledged write, so no lease may be lost, heartbeats must resume on the promoted replica, fences keep growing
// and an orphan left before the failover is still found after it. A private cluster, since the test breaks it.
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockManager, RedisBackend, type HeartbeatReport, type Lease, type LeaseLostError } from '../../src/index.js';
import { startCluster, type RedisClusterHandle } from '../harness/redis-cluster.js';
import type { RedisServer } from '../harness/redis-server.js';
import { eventually, sleep } from '../support/wait.js';
import { resourcesCoveringShards } from '../support/shards.js';

const TTL_MS = 2_000;
const LEASES = 64;

describe('CLUSTER FAILOVER of a master serving leases (private 3+3 cluster)', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
    redis = cluster.client();
  }, 120_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  /** The master that serves `key` now, per CLUSTER KEYSLOT and CLUSTER SLOTS of a live node. */
  async function masterOf(key: string): Promise<RedisServer> {
    const node = cluster.nodes.find((n) => n.alive && !n.paused);
    if (node === undefined) throw new Error('no live cluster node');
    const slot = Number(await node.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    const range = ranges.find(([start, end]) => start <= slot && slot <= end);
    if (range === undefined) throw new Error(`slot ${slot} of ${key} is not served`);
    const port = Number(range[2][1]);
    const master = cluster.nodes.find((n) => n.port === port);
    if (master === undefined) throw new Error(`slot ${slot} is served by :${port}, not a node of this cluster`);
    return master;
  }

  it('loses no lease, resumes heartbeats, keeps fences growing and still lists an orphan', async () => {
    const backend = new RedisBackend(redis, { prefix: 'failover' });
    const locks = new LockManager({ backend, ttlMs: TTL_MS });
    const beats: { report: HeartbeatReport; at: number }[] = [];
    const losses: { resource: string; error: LeaseLostError; at: number }[] = [];
    const errors: { error: unknown; at: number }[] = [];
    locks.on('heartbeat', (report) => beats.push({ report, at: performance.now() }));
    locks.on('lost', (lease, error) => losses.push({ resource: lease.resource, error, at: performance.now() }));
    locks.on('error', (error) => errors.push({ error, at: performance.now() }));

    try {
      // Leases on every shard, hence on every master.
      const resources = resourcesCoveringShards(backend.keys, LEASES);
      const leases = await Promise.all(resources.map((resource) => locks.acquire(resource, { owner: 'conductor-a', purpose: 'deploy' })));
      const masterOfResource = new Map<string, RedisServer>();
      for (const resource of resources) masterOfResource.set(resource, await masterOf(backend.keys.lockKey(resource)));
      expect(new Set(resources.map((resource) => backend.keys.shardOf(resource))).size).toBe(backend.keys.shards);
      expect(new Set(masterOfResource.values()).size).toBe(3);

      // The victim: the master serving the first resource, and the leases it serves.
      const victim = masterOfResource.get(resources[0]!)!;
      const onVictim = leases.filter((lease) => masterOfResource.get(lease.resource) === victim);
      expect(onVictim.length).toBeGreaterThan(0);
      expect(onVictim.length).toBeLessThan(LEASES);
      const fenceBefore = new Map(onVictim.map((lease) => [lease.resource, lease.fence]));

      // Orphans on the victim's slots: taken by a "dead" holder through the backend directly, never renewed.
      // One expires before the failover, one is still live when the failover starts and expires after it.
      const orphanNames: string[] = [];
      for (let i = 0; orphanNames.length < 2; i++) {
        if ((await masterOf(backend.keys.lockKey(`orphan-${i}`))) === victim) orphanNames.push(`orphan-${i}`);
      }
      const [expiredEarly, expiresLater] = orphanNames as [string, string];
      const early = await backend.acquire({ resource: expiredEarly, token: 'dead-1', owner: 'dead-conductor', purpose: 'clean', ttlMs: 300 });
      expect(early.acquired).toBe(true);

      // Steady state first: a full beat renewed everything, and the early orphan is already listed.
      await eventually<HeartbeatReport>((done) => locks.once('heartbeat', done), 5 * TTL_MS, 'a heartbeat before the failover');
      await sleep(400);
      expect((await locks.orphans()).map((o) => o.resource)).toEqual([expiredEarly]);
      const later = await backend.acquire({ resource: expiresLater, token: 'dead-2', owner: 'dead-conductor', purpose: 'clean', ttlMs: 1_000 });
      if (!later.acquired) throw new Error(`${expiresLater} was not granted`);
      expect(losses).toEqual([]);

      const failoverStarted = performance.now();
      const promoted = await cluster.failover(victim);
      const failoverDone = performance.now();
      expect(promoted).not.toBe(victim);
      expect(await masterOf(backend.keys.lockKey(onVictim[0]!.resource))).toBe(promoted);

      await sleep(3 * TTL_MS);

      // What happened, in ms from the start of the failover: the message of the assertions below.
      const timeline = JSON.stringify({
        failoverMs: Math.round(failoverDone - failoverStarted),
        beats: beats.map((b) => ({ ...b.report, durationMs: Math.round(b.report.durationMs), at: Math.round(b.at - failoverStarted) })),
        losses: losses.map((l) => ({ resource: l.resource, reason: l.error.reason, cause: String(l.error.cause), at: Math.round(l.at - failoverStarted) })),
        errors: errors.map((e) => ({ error: String(e.error), at: Math.round(e.at - failoverStarted) })),
      });

      // No lease was lost, and all are still held.
      expect(losses, timeline).toEqual([]);
      expect(leases.filter((lease) => lease.state !== 'held').map((lease) => lease.resource)).toEqual([]);
      expect(locks.size).toBe(LEASES);

      // Heartbeats resumed after the failover and renewed every lease, every time.
      const after = beats.filter((beat) => beat.at > failoverDone).map((beat) => beat.report);
      expect(after.length, timeline).toBeGreaterThanOrEqual(3);
      for (const report of after) expect(report, timeline).toMatchObject({ leases: LEASES, renewed: LEASES, lost: 0 });

      // The failed-over shard's locks live on the promoted master now, renewed there (3 TTLs after the failover).
      for (const lease of onVictim) {
        expect(await promoted.call('GET', backend.keys.lockKey(lease.resource))).toBe(lease.token);
        expect(Number(await promoted.call('PTTL', backend.keys.lockKey(lease.resource)))).toBeGreaterThan(0);
      }

      // Redis agrees: each resource is held by its lease, with its fence, on a live lock.
      for (const lease of leases) {
        const info = await locks.inspect(lease.resource);
        expect(info).toMatchObject({ resource: lease.resource, holder: { owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' }, lastFence: lease.fence, orphan: null });
        expect(info.ttlMs).toBeGreaterThan(0);
      }

      // Both orphans of the failed-over master are listed, with their last holder; no held lease is.
      const orphans = await locks.orphans();
      expect(orphans.map((o) => o.resource).sort()).toEqual([expiredEarly, expiresLater].sort());
      for (const orphan of orphans) expect(orphan.holder).toMatchObject({ owner: 'dead-conductor', purpose: 'clean' });
      expect((await locks.inspect(expiresLater)).orphan).toMatchObject({ resource: expiresLater, holder: { owner: 'dead-conductor' } });

      // Released cleanly (each lock still carried its lease's token), then fences keep growing on the promoted master.
      expect(await Promise.all(leases.map((lease) => lease.release()))).toEqual(leases.map(() => true));
      for (const [resource, fence] of fenceBefore) {
        const again: Lease = await locks.acquire(resource, { owner: 'conductor-b' });
        expect(again.fence).toBeGreaterThan(fence);
        expect(again.previous).toBeNull(); // released, not orphaned
        await again.release();
      }
      const recovered = await locks.acquire(expiresLater, { owner: 'recovery:conductor-b' });
      expect(recovered.previous).toMatchObject({ owner: 'dead-conductor', purpose: 'clean' });
      expect(recovered.fence).toBeGreaterThan(later.fence);
      await recovered.release();
    } finally {
      await locks.close();
    }
  }, 180_000);
});
