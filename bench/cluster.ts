// A private Redis Cluster for the benchmarks and `npm run scale` (the test harness's: 3 masters + 3 replicas on
// free loopback ports), with a direct connection to each master to read its own INFO: keys, commands and memory
// per master, and which master owns which of leasehold's shards.
import type { Cluster, Redis } from 'ioredis';
import { startCluster, type RedisClusterHandle } from '../test/harness/redis-cluster.js';
import { commandCalls, dataMemory, keyspace, serverCpuMicros, type CommandCalls } from './redis-stats.js';

/** One master of the cluster, with a plain (non-cluster) connection to it. */
export interface ClusterMaster {
  /** `host:port` */
  readonly address: string;
  readonly port: number;
  /** The slot ranges it owns, e.g. `0-5460`. */
  readonly slots: string;
  /** A direct connection, for INFO, FLUSHALL and the like (not for the workload's own traffic). */
  readonly client: Redis;
}

/** What one master reported at one moment. */
export interface MasterSnapshot {
  readonly address: string;
  readonly calls: CommandCalls;
  readonly keys: number;
  readonly expires: number;
  /** `used_memory` without client buffers (see {@link dataMemory}). */
  readonly dataMemory: number;
  /** CPU the redis-server process used since it started, µs. */
  readonly cpuUs: number;
}

export interface BenchCluster {
  readonly handle: RedisClusterHandle;
  /** The masters, in slot order. */
  readonly masters: readonly ClusterMaster[];
  /** Every node as `host:port` (replicas included), for clients in other processes. */
  readonly startupNodes: readonly string[];
  /** The replicas' count. */
  readonly replicas: number;
  /** A new ioredis Cluster client (the harness's fail-fast settings); the caller disconnects it. */
  client(): Cluster;
  /** The index in {@link masters} of the master that owns `key`. */
  masterOf(key: string): Promise<number>;
  /** INFO of every master, at once. */
  snapshot(): Promise<MasterSnapshot[]>;
  /** FLUSHALL SYNC on every master (the replicas follow). */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

type SlotsReply = [number, number, [string, number, ...unknown[]], ...unknown[]][];

/** Starts a private cluster (3 masters + 3 replicas unless told otherwise). */
export async function startBenchCluster(options: { masters?: number; replicasPerMaster?: number } = {}): Promise<BenchCluster> {
  const handle = await startCluster(options);
  const direct: Redis[] = [];
  try {
    const servers = await handle.masters();
    const probe = servers[0]!.client();
    direct.push(probe);
    const ranges = (await probe.cluster('SLOTS')) as unknown as SlotsReply;
    const masters: ClusterMaster[] = servers
      .map((server) => {
        const owned = ranges.filter((r) => Number(r[2][1]) === server.port).sort((a, b) => a[0] - b[0]);
        const client = server.client();
        direct.push(client);
        return { address: `${server.host}:${server.port}`, port: server.port, slots: owned.map((r) => `${r[0]}-${r[1]}`).join(','), client, first: owned[0]?.[0] ?? 0 };
      })
      .sort((a, b) => a.first - b.first)
      .map(({ address, port, slots, client }) => ({ address, port, slots, client }));
    const slotOwner = (slot: number): number => {
      const range = ranges.find((r) => slot >= r[0] && slot <= r[1]);
      const index = masters.findIndex((m) => m.port === Number(range?.[2][1]));
      if (index < 0) throw new Error(`no master owns slot ${slot}`);
      return index;
    };
    return {
      handle,
      masters,
      startupNodes: handle.startupNodes.map(({ host, port }) => `${host}:${port}`),
      replicas: handle.nodes.length - masters.length,
      client: () => handle.client(),
      masterOf: async (key) => slotOwner(Number(await probe.cluster('KEYSLOT', key))),
      snapshot: () =>
        Promise.all(
          masters.map(async (m): Promise<MasterSnapshot> => {
            const [calls, keys, memory, cpuUs] = await Promise.all([commandCalls(m.client), keyspace(m.client), dataMemory(m.client), serverCpuMicros(m.client)]);
            return { address: m.address, calls, keys: keys.keys, expires: keys.expires, dataMemory: memory, cpuUs };
          }),
        ),
      flushAll: async () => void (await Promise.all(masters.map((m) => m.client.flushall('SYNC')))),
      stop: async () => {
        for (const client of direct) client.disconnect();
        await handle.stop();
      },
    };
  } catch (error) {
    for (const client of direct) client.disconnect();
    await handle.stop();
    throw error;
  }
}
