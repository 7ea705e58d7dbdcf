import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, ClusterOptions } from 'ioredis';
import { createClusterClient } from './clients.js';
import { startServers, type RedisServer } from './redis-server.js';
import type { Address } from './topology.js';

const run = promisify(execFile);

const HEALTHY_TIMEOUT_MS = 60_000;

/** Every node is a cluster node; `nodes.conf` is relative to the node's own `--dir`. */
const CLUSTER_ARGS = [
  '--cluster-enabled', 'yes',
  '--cluster-config-file', 'nodes.conf',
  '--cluster-node-timeout', '2000',
  // Replicas sync at once instead of after the default 5s diskless-sync delay.
  '--repl-diskless-sync-delay', '0',
];

/** One line of CLUSTER NODES. */
interface NodeEntry {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: string[];
}

/** Options for {@link startCluster}. */
export interface ClusterStartOptions {
  /** Number of masters (at least 3, redis-cli's minimum). Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicasPerMaster?: number;
}

/** Options for {@link RedisClusterHandle.failover}. */
export interface FailoverOptions {
  /** `FORCE` or `TAKEOVER` when the master is down; default is a coordinated manual failover. */
  mode?: 'FORCE' | 'TAKEOVER';
}

/** A private Redis Cluster made of {@link RedisServer}s. */
export interface RedisClusterHandle {
  /** All nodes, masters and replicas, in start order (roles change on failover). */
  nodes: RedisServer[];
  /** Addresses of all nodes, for cluster clients. */
  startupNodes: Address[];
  /** The current masters that own slots, per CLUSTER NODES. */
  masters(): Promise<RedisServer[]>;
  /** A healthy replica of `master`. */
  replicaOf(master: RedisServer): Promise<RedisServer>;
  /** Promotes a replica of `master` with CLUSTER FAILOVER, waits for the cluster to settle, returns the new master. */
  failover(master: RedisServer, opts?: FailoverOptions): Promise<RedisServer>;
  /** Waits until every live node reports cluster_state:ok, full slot coverage and the same topology. */
  waitHealthy(): Promise<void>;
  /** A new ioredis Cluster client with fail-fast-ish settings. The caller must quit it. */
  client(opts?: ClusterOptions): Cluster;
  /** Stops all nodes. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `masters * (1 + replicasPerMaster)` cluster-enabled servers (default 3 + 3), joins them with
 * `redis-cli --cluster create`, and resolves once the cluster is healthy and every replica is linked.
 */
export async function startCluster(opts: ClusterStartOptions = {}): Promise<RedisClusterHandle> {
  const masterCount = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const nodes = await startServers(masterCount * (1 + replicas), { args: CLUSTER_ARGS });
  const handle = clusterHandle(nodes);
  try {
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: HEALTHY_TIMEOUT_MS },
    );
    await handle.waitHealthy();
    const masters = await handle.masters();
    if (masters.length !== masterCount) throw new Error(`expected ${masterCount} masters, found ${masters.length}`);
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

function clusterHandle(nodes: RedisServer[]): RedisClusterHandle {
  const byPort = (port: number): RedisServer => {
    const node = nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`port ${port} is not a node of this cluster`);
    return node;
  };
  const live = (): RedisServer[] => nodes.filter((n) => n.alive && !n.paused);

  /** CLUSTER NODES as seen by the first live node that answers. */
  const view = async (): Promise<NodeEntry[]> => {
    for (const node of live()) {
      const entries = await clusterNodes(node).catch(() => undefined);
      if (entries !== undefined) return entries;
    }
    throw new Error('no cluster node answers CLUSTER NODES');
  };

  const handle: RedisClusterHandle = {
    nodes,
    startupNodes: nodes.map(({ host, port }) => ({ host, port })),

    async masters() {
      return (await view()).filter((e) => isMaster(e) && e.slots.length > 0).map((e) => byPort(e.port));
    },

    async replicaOf(master) {
      const entries = await view();
      const masterEntry = entries.find((e) => e.port === master.port);
      const replica = entries.find((e) => e.masterId === masterEntry?.id && e.flags.includes('slave') && !isFailing(e));
      if (replica === undefined) throw new Error(`no healthy replica of ${master.host}:${master.port}`);
      return byPort(replica.port);
    },

    async failover(master, opts = {}) {
      const replica = await handle.replicaOf(master);
      await replica.call('CLUSTER', 'FAILOVER', ...(opts.mode === undefined ? [] : [opts.mode]));
      await waitFor(`${replica.url} to become master`, async () => {
        const info = await replica.call('INFO', 'replication');
        return typeof info === 'string' && info.includes('role:master') ? null : 'still a replica';
      });
      await handle.waitHealthy();
      await waitFor(`all nodes to see ${replica.url} as master`, async () =>
        (await handle.masters()).includes(replica) ? null : 'not yet a master in CLUSTER NODES',
      );
      return replica;
    },

    async waitHealthy() {
      await waitFor('the cluster to be healthy', () => unhealthyReason(live()));
    },

    client(opts = {}) {
      return createClusterClient(handle.startupNodes, opts);
    },

    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  return handle;
}

/** Null when all `nodes` are ok and agree on slots and replicas; otherwise why not. */
async function unhealthyReason(nodes: RedisServer[]): Promise<string | null> {
  let agreed: string | undefined;
  for (const node of nodes) {
    const info = String(await node.call('CLUSTER', 'INFO'));
    if (!info.includes('cluster_state:ok')) return `${node.url}: cluster_state not ok`;
    if (!info.includes('cluster_slots_assigned:16384')) return `${node.url}: not all slots assigned`;
    const entries = await clusterNodes(node);
    const signature = topologySignature(entries);
    agreed ??= signature;
    if (signature !== agreed) return `${node.url} disagrees on topology:\n${signature}\nvs\n${agreed}`;
    const self = entries.find((e) => e.flags.includes('myself'));
    if (self?.flags.includes('slave') === true) {
      const replication = String(await node.call('INFO', 'replication'));
      if (!replication.includes('master_link_status:up')) return `${node.url}: replica link not up`;
    }
  }
  return null;
}

/** Slot owners and replica links, ignoring flags that legitimately differ between nodes' views. */
function topologySignature(entries: NodeEntry[]): string {
  const portOf = new Map(entries.map((e) => [e.id, e.port]));
  const masters = entries.filter((e) => isMaster(e) && e.slots.length > 0).map((e) => `${e.port}=${e.slots.join(',')}`);
  const replicas = entries
    .filter((e) => e.flags.includes('slave') && !isFailing(e))
    .map((e) => `${e.port}>${String(portOf.get(e.masterId))}`);
  return [...masters.sort(), ...replicas.sort()].join(' ');
}

async function clusterNodes(node: RedisServer): Promise<NodeEntry[]> {
  const text = String(await node.call('CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      // <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slot>...
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.trim().split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      return { id, port, flags: flags.split(','), masterId, slots: slots.filter((s) => !s.startsWith('[')) };
    });
}

function isMaster(entry: NodeEntry): boolean {
  return entry.flags.includes('master') && !isFailing(entry);
}

function isFailing(entry: NodeEntry): boolean {
  return entry.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'noaddr' || f === 'handshake');
}

/** Polls `check` (null = done, string = reason not yet) until done or {@link HEALTHY_TIMEOUT_MS}. */
async function waitFor(what: string, check: () => Promise<string | null>): Promise<void> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  let reason = 'not checked yet';
  while (Date.now() < deadline) {
    const result = await check().catch((error: unknown) => String(error));
    if (result === null) return;
    reason = result;
    await sleep(100);
  }
  throw new Error(`timed out after ${HEALTHY_TIMEOUT_MS}ms waiting for ${what}: ${reason}`);
}
