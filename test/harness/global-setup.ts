import type { TestProject } from 'vitest/node';
import { startCluster } from './redis-cluster.js';
import { assertRedisInstalled, RedisServer, startMasters } from './redis-server.js';
import type { Address, RedisTopology } from './topology.js';

const address = ({ host, port }: Address): Address => ({ host, port });

/**
 * Vitest global setup: starts the shared servers (one standalone, three independent masters,
 * one 3+3 cluster) in parallel, provides their addresses as `inject('redis')`, and returns a
 * teardown that stops them all (vitest runs it even when tests fail).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisInstalled();
  const started = await Promise.allSettled([RedisServer.start(), startMasters(3), startCluster()] as const);
  const [standalone, masters, cluster] = started;
  const stopAll = async (): Promise<void> => {
    const stops: Promise<void>[] = [];
    if (standalone.status === 'fulfilled') stops.push(standalone.value.stop());
    if (masters.status === 'fulfilled') stops.push(...masters.value.map((m) => m.stop()));
    if (cluster.status === 'fulfilled') stops.push(cluster.value.stop());
    await Promise.all(stops);
  };
  if (standalone.status === 'rejected' || masters.status === 'rejected' || cluster.status === 'rejected') {
    await stopAll();
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw failure?.reason instanceof Error ? failure.reason : new Error(String(failure?.reason));
  }
  const topology: RedisTopology = {
    standalone: address(standalone.value),
    masters: masters.value.map(address),
    cluster: cluster.value.startupNodes,
  };
  project.provide('redis', topology);
  return stopAll;
}
