// Where a fault scenario's leases live: one redis-server (the default), a private Redis Cluster of 3 masters and 3
// replicas, or quorum mode over 3 independent masters. Each gives the lock managers of this process their backend
// and expiry-subscriber template, and the worker processes the env that says how to reach it.
import type { Cluster, Redis } from 'ioredis';
import { QuorumBackend, RedisBackend, type LockBackend } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { startCluster, type RedisClusterHandle } from '../harness/redis-cluster.js';
import { startMasters, type RedisServer } from '../harness/redis-server.js';

export type Topology = 'standalone' | 'cluster' | 'quorum';

/** What one lock manager of this process uses. */
export interface LockConnection {
  readonly backend: LockBackend;
  /** The template of its recovery manager's subscriber connections (quorum mode: every master's client). */
  readonly subscriber: Redis | Cluster | Redis[];
}

export class LockSide {
  readonly #clients: (Redis | Cluster)[] = [];

  private constructor(
    readonly topology: Topology,
    /** The standalone server; in quorum mode the first master; unused by a Cluster. */
    readonly lockServer: RedisServer,
    /** The Cluster, in Cluster mode. */
    readonly cluster: RedisClusterHandle | null,
    /** Quorum mode's masters (`lockServer` first); `[lockServer]` otherwise. */
    readonly masters: readonly RedisServer[],
    readonly prefix: string,
  ) {}

  static async start(topology: Topology, lockServer: RedisServer, prefix: string): Promise<LockSide> {
    if (topology === 'cluster') return new LockSide(topology, lockServer, await startCluster(), [lockServer], prefix);
    if (topology === 'quorum') return new LockSide(topology, lockServer, null, [lockServer, ...(await startMasters(2))], prefix);
    return new LockSide(topology, lockServer, null, [lockServer], prefix);
  }

  /**
   * A fresh connection (closed by {@link stop}), once its clients are ready (quorum mode: those of the live masters).
   * `via` replaces a standalone server's address (a fault proxy).
   */
  async connect(via?: { host: string; port: number }): Promise<LockConnection> {
    const { prefix } = this;
    if (this.cluster) {
      const cluster = this.cluster.client();
      this.#clients.push(cluster);
      return { backend: new RedisBackend(cluster, { prefix }), subscriber: cluster };
    }
    if (this.topology === 'quorum') {
      // No offline queue (a dead master fails at once) and reconnect forever (a master may come back, empty).
      const masters = this.masters.map((m) => createRedisClient(m, { enableOfflineQueue: false, retryStrategy: () => 100 }));
      this.#clients.push(...masters);
      // Without an offline queue a command fails until the client is connected: wait for the masters that are up.
      await Promise.all(masters.flatMap((c, i) => (this.masters[i]!.alive ? [new Promise((ready) => c.once('ready', ready))] : [])));
      return { backend: new QuorumBackend(masters, { prefix }), subscriber: masters };
    }
    // Reconnect forever: an expiry subscriber cut off for seconds must come back (the harness default gives up).
    const client = createRedisClient(via ?? this.lockServer, { maxRetriesPerRequest: 2, retryStrategy: (n) => Math.min(n * 50, 500) });
    this.#clients.push(client);
    return { backend: new RedisBackend(client, { prefix }), subscriber: client };
  }

  /** The env that tells a worker process where the leases are; `via` as in {@link connect}. */
  workerEnv(via?: { host: string; port: number }): Record<string, string> {
    if (via && this.topology !== 'standalone') throw new Error(`fault proxies stand in front of one server, not a ${this.topology}`);
    if (this.cluster) return { LOCK_CLUSTER: this.cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',') };
    if (this.topology === 'quorum') return { LOCK_QUORUM: this.masters.map((m) => m.url).join(',') };
    const to = via ?? this.lockServer;
    return { LOCK_URL: `redis://${to.host}:${to.port}` };
  }

  /** Closes the connections and stops the servers it started (not `lockServer`). */
  async stop(): Promise<void> {
    for (const c of this.#clients) c.disconnect();
    await this.cluster?.stop();
    await Promise.all(this.masters.filter((m) => m !== this.lockServer).map((m) => m.stop()));
  }
}
