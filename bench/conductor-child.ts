// A conductor in a process of its own for the recovery benchmarks, driven by bench/conductor-process.ts over IPC
// and killed with SIGKILL. Wired as a service would wire it: one ioredis client, a LockManager on a RedisBackend,
// a RedisNodeStore and a RedisConductorRegistry handed to a Conductor.
// Run as `node --import tsx --import ./tools/lua-text.mjs bench/conductor-child.ts`.
//
// env: REDIS_URL, PREFIX, ID, TTL_MS; optional CLUSTER_NODES (`host:port,host:port,...`: the locks and the registry
//      go to that Redis Cluster through an ioredis Cluster client instead of REDIS_URL) and STORE_URL (the node store
//      on that standalone server instead of the lock client's)
//
// parent -> child: { type: 'reserve', nodeIds, to, purpose, concurrency }  reserve each node (real Conductor.reserve,
//                                                                           at most `concurrency` at once), then move
//                                                                           it to `to`; the tasks stay held
// child -> parent: { type: 'ready', pid }, { type: 'reserved', count, ms },
//                  { type: 'beat', leases, renewed, lost, durationMs, cpuUs (the process's user + system CPU so far), rssBytes },
//                  { type: 'lost', resource, reason }, { type: 'failed', error }
import { Cluster, Redis } from 'ioredis';
import { Conductor, LockManager, RedisBackend, RedisConductorRegistry, RedisNodeStore, type NodeTask, type ProvisionStateValue } from '../src/index.js';

/** A command from the parent. */
export interface ChildCommand {
  readonly type: 'reserve';
  readonly nodeIds: readonly string[];
  readonly to: ProvisionStateValue;
  readonly purpose: string;
  readonly concurrency: number;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`bench/conductor-child.ts needs ${name}`);
  return value;
};
const send = (message: object): void => void process.send?.(message);
const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const clusterNodes = process.env.CLUSTER_NODES;
const redis = clusterNodes
  ? new Cluster(
      clusterNodes.split(',').map((address) => {
        const [host, port] = address.split(':');
        return { host: host!, port: Number(port) };
      }),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    )
  : new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
const storeUrl = process.env.STORE_URL;
const storeClient = storeUrl ? new Redis(storeUrl, { maxRetriesPerRequest: 1 }) : redis;
const prefix = env('PREFIX');
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: Number(env('TTL_MS')) });
const conductor = new Conductor({
  id: env('ID'),
  locks,
  nodes: new RedisNodeStore(storeClient, { prefix }),
  registry: new RedisConductorRegistry(redis, { prefix }),
  lockRetry: { attempts: 1, intervalMs: 0 },
});
locks.on('heartbeat', (report) => {
  const cpu = process.cpuUsage();
  send({ type: 'beat', ...report, cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss() });
});
locks.on('lost', (lease, error) => send({ type: 'lost', resource: lease.resource, reason: error.reason }));
locks.on('error', (error) => send({ type: 'failed', error: describe(error) }));
conductor.on('error', (error) => send({ type: 'failed', error: describe(error) }));
/** The tasks held until the process is killed (kept reachable on purpose). */
const held: NodeTask[] = [];

async function reserve(command: ChildCommand): Promise<void> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < command.nodeIds.length) {
      const nodeId = command.nodeIds[next++]!;
      const task = await conductor.reserve(nodeId, { purpose: command.purpose });
      held.push(task);
      await task.transition(command.to, { targetState: 'active' });
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.nodeIds.length) }, worker));
  send({ type: 'reserved', count: command.nodeIds.length, ms: performance.now() - started });
}

process.on('message', (command: ChildCommand) => {
  reserve(command).catch((error: unknown) => send({ type: 'failed', error: describe(error) }));
});
await conductor.start();
send({ type: 'ready', pid: process.pid });
