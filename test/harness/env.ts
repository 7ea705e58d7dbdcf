import { randomBytes } from 'node:crypto';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { inject } from 'vitest';
import { createClusterClient, createRedisClient } from './clients.js';
import type { Address } from './topology.js';

/** The shared standalone server. Never flush it: use {@link uniquePrefix} for keys. */
export function standalone(): Address {
  return inject('redis').standalone;
}

/** The three shared independent masters. */
export function masters(): Address[] {
  return inject('redis').masters;
}

/** The six nodes of the shared cluster (3 masters + 3 replicas at start). */
export function clusterNodes(): Address[] {
  return inject('redis').cluster;
}

/** A new fail-fast ioredis client on the shared standalone server. The test must quit it. */
export function standaloneClient(opts: RedisOptions = {}): Redis {
  return createRedisClient(standalone(), opts);
}

/** A new fail-fast ioredis client on each shared master. The test must quit them. */
export function masterClients(opts: RedisOptions = {}): Redis[] {
  return masters().map((m) => createRedisClient(m, opts));
}

/** A new ioredis Cluster client on the shared cluster. The test must quit it. */
export function clusterClient(opts: ClusterOptions = {}): Cluster {
  return createClusterClient(clusterNodes(), opts);
}

/** A key prefix unique to one test, e.g. `t:acquire:3f9c1a2b:`, so shared servers never need flushing. */
export function uniquePrefix(label: string): string {
  return `t:${label}:${randomBytes(4).toString('hex')}:`;
}
