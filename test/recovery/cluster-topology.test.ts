// A RecoveryManager follows a Cluster's topology: after a CLUSTER FAILOVER it listens to the promoted master (and
// no longer to the demoted one), and hears expiries of keys the promoted master now serves. A private cluster,
// since the test changes it.
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LockManager, RecoveryManager, RedisBackend, RedisNodeStore, nodeResource, type RecoveredEvent } from 'leasehold';
import { startCluster, type RedisClusterHandle } from '../harness/redis-cluster.js';
import { uniquePrefix } from '../harness/env.js';
import { sleep } from '../support/wait.js';

let cluster: RedisClusterHandle;
let client: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  client = cluster.client({ slotsRefreshInterval: 500 });
}, 120_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

it('listens to the promoted master after a failover and hears the expiries it serves', async () => {
  const prefix = uniquePrefix('topology');
  const backend = new RedisBackend(client, { prefix });
  const nodes = new RedisNodeStore(client, { prefix });
  const locks = new LockManager({ backend, ttlMs: 2_000 });
  const recovery = new RecoveryManager({ locks, nodes, subscriber: client, sweepIntervalMs: 60_000 }); // events only
  const recovered: RecoveredEvent[] = [];
  recovery.on('recovered', (e) => recovered.push(e));
  await recovery.start();
  const before = recovery.listening;
  expect(before).toHaveLength(3);

  const [victim] = await cluster.masters();
  const promoted = await cluster.failover(victim!);
  const at = (s: { host: string; port: number }): string => `${s.host}:${s.port}`;
  await until(() => recovery.listening.includes(at(promoted)) && !recovery.listening.includes(at(victim!)), 20_000, 'the listener to follow the failover');
  expect(recovery.listening).toHaveLength(3);

  // Orphans whose lock keys the promoted master serves now.
  const ids: string[] = [];
  for (let i = 0; ids.length < 4 && i < 500; i++) {
    const id = `t-${i}`;
    const slot = Number(await client.cluster('KEYSLOT', backend.keys.lockKey(nodeResource(id))));
    const ranges = await client.cluster('SLOTS');
    const owner = ranges.find(([lo, hi]) => slot >= lo && slot <= hi)?.[2];
    if (owner && Number(owner[1]) === promoted.port) ids.push(id);
  }
  expect(ids).toHaveLength(4);
  for (const id of ids) {
    await nodes.create({ id, provisionState: 'available' });
    const taken = await backend.acquire({ resource: nodeResource(id), token: randomBytes(6).toString('hex'), owner: 'dead', purpose: 'deploy', ttlMs: 300 });
    if (!taken.acquired) throw new Error('not acquired');
    await nodes.transition(id, { from: ['available'], to: 'deploying', fence: taken.fence });
  }
  await until(() => recovered.length === ids.length, 10_000, 'expiries on the promoted master');
  expect(recovered.every((e) => e.trigger === 'event')).toBe(true);
  for (const id of ids) expect((await nodes.get(id)).provisionState).toBe('deploy failed');
  await recovery.stop();
  await locks.close();
}, 60_000);
