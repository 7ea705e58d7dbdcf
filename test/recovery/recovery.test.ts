// RecoveryManager against real Redis servers: expiry events, sweeps, lost events, forbidden CONFIG, racing
// managers, a Cluster's masters, and a recovery worker that dies midway. A "dead holder" is a lease taken straight
// through the backend: nobody heartbeats it, so it really expires in Redis, as a killed conductor's would.
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  LockManager,
  QuorumBackend,
  type LockBackend,
  RecoveryManager,
  RedisBackend,
  RedisEventLog,
  RedisNodeStore,
  UnknownOptionError,
  UnknownStateError,
  nodeResource,
  type NodeStore,
  type ProvisionStateValue,
  type RecoveredEvent,
  type SkippedEvent,
  type Transition,
} from 'leasehold';
import { clusterClient, masterClients, standaloneClient, uniquePrefix } from '../harness/env.js';
import { RedisServer } from '../harness/redis-server.js';
import { createRedisClient } from '../harness/clients.js';
import { sleep } from '../support/wait.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
let redis: Redis;

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
  redis.disconnect();
});

/** A node store that counts the transitions it applied per node (wrapping a real store). */
class CountingStore implements NodeStore {
  readonly applied = new Map<string, number>();
  constructor(readonly inner: NodeStore) {}
  get = (id: string) => this.inner.get(id);
  list = (q?: Parameters<NodeStore['list']>[0]) => this.inner.list(q);
  create = (n: Parameters<NodeStore['create']>[0]) => this.inner.create(n);
  transition = async (id: string, t: Transition) => {
    const node = await this.inner.transition(id, t);
    this.applied.set(id, (this.applied.get(id) ?? 0) + 1);
    return node;
  };
}

interface World {
  prefix: string;
  client: Redis | Cluster;
  nodes: CountingStore;
  backend: LockBackend;
  /** What RecoveryManager's subscriber option gets here. */
  subscriber: Redis | Cluster | Redis[];
  manager: (extra?: Partial<ConstructorParameters<typeof RecoveryManager>[0]>) => RecoveryManager;
  /** Creates a node in `state` and leaves it held by a dead holder whose lease expires after `ttlMs`. */
  orphan: (id: string, state: ProvisionStateValue, ttlMs: number, extra?: { maintenance?: boolean; driver?: string }) => Promise<number>;
}

/** A deployment on `client` (with its node store), or in quorum mode over `masters` (the node store stays on `client`). */
function world(client: Redis | Cluster = redis, masters?: Redis[]): World {
  const prefix = uniquePrefix('recovery');
  const backend: LockBackend = masters ? new QuorumBackend(masters, { prefix, timeoutMs: 500 }) : new RedisBackend(client, { prefix });
  const nodes = new CountingStore(new RedisNodeStore(client, { prefix }));
  let fence = 0;
  return {
    prefix,
    client,
    nodes,
    backend,
    subscriber: masters ?? client,
    manager: (extra = {}) => {
      const locks = new LockManager({ backend, ttlMs: 2_000 });
      const manager = new RecoveryManager({ locks, nodes, sweepIntervalMs: 60_000, ...extra });
      cleanup.push(async () => {
        await manager.stop();
        await locks.close();
      });
      return manager;
    },
    orphan: async (id, state, ttlMs, extra = {}) => {
      await nodes.create({ id, provisionState: 'available', ...extra });
      const outcome = await backend.acquire({ resource: nodeResource(id), token: randomBytes(8).toString('hex'), owner: 'conductor-dead', purpose: 'work', ttlMs });
      if (!outcome.acquired) throw new Error('could not take the node');
      fence = outcome.fence;
      if (state !== 'available') await nodes.inner.transition(id, { from: ['available'], to: state, fence, targetState: 'active' });
      return fence;
    },
  };
}

/** Collects a manager's recovered and skipped events. */
function record(manager: RecoveryManager): { recovered: RecoveredEvent[]; skipped: SkippedEvent[] } {
  const seen = { recovered: [] as RecoveredEvent[], skipped: [] as SkippedEvent[] };
  manager.on('recovered', (e) => seen.recovered.push(e));
  manager.on('skipped', (e) => seen.skipped.push(e));
  return seen;
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const STUCK: [string, ProvisionStateValue, ProvisionStateValue][] = [
  ['n-deploying', 'deploying', 'deploy failed'],
  ['n-deploy-wait', 'wait call-back', 'deploy failed'],
  ['n-cleaning', 'cleaning', 'clean failed'],
  ['n-clean-wait', 'clean wait', 'clean failed'],
  ['n-inspecting', 'inspecting', 'inspect failed'],
  ['n-deleting', 'deleting', 'error'],
  ['n-rescue-wait', 'rescue wait', 'rescue failed'],
  ['n-verifying', 'verifying', 'enroll'],
  ['n-servicing', 'servicing', 'service failed'],
];

/** The deployments the generic recovery tests run on: one standalone server, and quorum mode over three masters. */
const deployments: { name: string; world: () => World }[] = [
  { name: 'standalone', world: () => world() },
  {
    name: 'quorum of 3 masters',
    world: () => {
      const clients = masterClients();
      cleanup.push(() => clients.forEach((c) => c.disconnect()));
      return world(redis, clients);
    },
  },
];

describe.each(deployments)('RecoveryManager on $name', (deployment) => {
  it('hears expiry events and fails every stuck node once, maintenance and unknown drivers included', async () => {
    const w = deployment.world();
    const manager = w.manager({ subscriber: w.subscriber, sweepIntervalMs: 60_000 });
    const seen = record(manager);
    await manager.start();
    expect(manager.listening).toHaveLength(Array.isArray(w.subscriber) ? w.subscriber.length : 1);
    for (const [id, state] of STUCK) await w.orphan(id, state, 400, { maintenance: id === 'n-cleaning', driver: id === 'n-inspecting' ? 'no-such-driver' : 'ipmi' });
    await w.orphan('n-active', 'active', 400);
    await until(() => seen.recovered.length === STUCK.length && seen.skipped.length === 1, 10_000, 'every stuck node recovered');
    for (const [id, from, to] of STUCK) {
      const node = await w.nodes.get(id);
      expect(node.provisionState, id).toBe(to);
      expect(node.targetState).toBeNull();
      expect(node.lastError).toMatch(new RegExp(`"conductor-dead" held this node \\(lease fence \\d+, purpose "work"\\) and its lease expired at \\d{4}-.*while the node was "${from}"; moved to "${to}" by recovery:`));
      expect(w.nodes.applied.get(id)).toBe(1);
      expect(seen.recovered.find((e) => e.nodeId === id)).toMatchObject({ from, to, trigger: 'event', previous: { owner: 'conductor-dead' } });
    }
    expect((await w.nodes.get('n-cleaning')).maintenance).toBe(true);
    expect(seen.skipped).toMatchObject([{ nodeId: 'n-active', reason: 'stable', trigger: 'event', previous: { owner: 'conductor-dead' } }]);
    expect(await w.nodes.get('n-active')).toMatchObject({ provisionState: 'active' });
    expect((await w.backend.inspect(nodeResource('n-active'))).orphan).toBeNull(); // its orphan record is cleared
    for (const e of seen.recovered) expect(e.latencyMs).toBeLessThan(5_000);
    expect(manager.counters()).toMatchObject({ recovered: STUCK.length, skipped: 1, failed: 0, orphaned: STUCK.length + 1 });
    expect(await w.backend.orphans(100)).toEqual([]);
  });

  it('sweeps find orphans when there are no events at all', async () => {
    const w = deployment.world();
    const manager = w.manager({ sweepIntervalMs: 200 });
    const seen = record(manager);
    await manager.start();
    await w.orphan('s1', 'deploying', 300);
    await w.orphan('s2', 'cleaning', 300);
    await until(() => seen.recovered.length === 2, 5_000, 'sweep recovery');
    expect(seen.recovered.map((e) => e.trigger)).toEqual(['sweep', 'sweep']);
    expect(manager.lastSweepAt).toBeGreaterThan(Date.now() - 5_000);
  });

  it('sweeps find node orphans behind more than a sweep of orphans nobody recovers (conductors never restarted)', async () => {
    const w = deployment.world();
    const ids = Array.from({ length: 1_100 }, (_, i) => `conductor:gone-${i}`); // more than one sweep reads (1,000)
    // A TTL long enough for quorum mode's per-master timeout (TTL / 10) on a busy machine.
    for (let at = 0; at < ids.length; at += 50) {
      await Promise.all(ids.slice(at, at + 50).map((resource) => w.backend.acquire({ resource, token: randomBytes(8).toString('hex'), owner: resource.slice(10), purpose: 'liveness', ttlMs: 1_500 })));
    }
    await w.orphan('behind', 'deploying', 1_600); // expires after all of them
    await sleep(1_800);
    expect((await w.backend.orphans(1_000)).every((o) => o.resource.startsWith('conductor:'))).toBe(true); // the oldest 1,000
    expect((await w.backend.orphans(10, 'node:')).map((o) => o.resource)).toEqual([nodeResource('behind')]);
    const manager = w.manager({ sweepIntervalMs: 200 });
    const seen = record(manager);
    await manager.start();
    await until(() => seen.recovered.length === 1, 5_000, 'the node found by a sweep');
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'behind', to: 'deploy failed', trigger: 'sweep' });
    expect((await manager.health()).orphansWaiting).toBe(0); // the other orphans are not nodes waiting for recovery
  });

  it('a recovery that fails puts the orphan back as it was: the next one fails the node, naming the dead holder', async () => {
    const w = deployment.world();
    const manager = w.manager({ sweepIntervalMs: 200 });
    const seen = record(manager);
    const failures: unknown[] = [];
    manager.on('failed', (event) => failures.push(event));
    const transition = w.nodes.transition;
    let down = true;
    w.nodes.transition = (id, t) => (down ? Promise.reject(new Error('node table down')).finally(() => (down = false)) : transition(id, t));
    const deadFence = await w.orphan('f1', 'deploying', 300);
    await manager.start();
    await until(() => seen.recovered.length === 1, 5_000, 'the node recovered after one failure');
    expect(failures).toHaveLength(1);
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'f1', to: 'deploy failed', previous: { owner: 'conductor-dead', fence: deadFence } });
    expect((await w.nodes.get('f1')).lastError).toMatch(/"conductor-dead" held this node/);
  });

  it('a recovery that fails with a thrown value no JSON can hold still puts the orphan back, and logs the failure', async () => {
    const w = deployment.world();
    const eventLog = new RedisEventLog(w.client, 'recovery-events', { prefix: w.prefix });
    const manager = w.manager({ sweepIntervalMs: 200, eventLog });
    const seen = record(manager);
    manager.on('error', () => undefined);
    const transition = w.nodes.transition;
    const circular: { self?: unknown } = {};
    circular.self = circular;
    let down = true;
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a store of one's own may throw anything
    w.nodes.transition = (id, t) => (down ? Promise.reject(circular).finally(() => (down = false)) : transition(id, t));
    await w.orphan('f2', 'cleaning', 300);
    await manager.start();
    // Before, writing the failure to the event log threw (JSON.stringify of a circular value) before the orphan was
    // put back: the lease was released instead, the orphan erased, and the node never recovered.
    await until(() => seen.recovered.length === 1, 5_000, 'the node recovered after one failure');
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'f2', to: 'clean failed', previous: { owner: 'conductor-dead' } });
    const logged = await eventLog.tail(10);
    expect(logged.find((e) => e.type === 'failed')).toMatchObject({ body: { nodeId: 'f2', error: '[object Object]' } });
  });

  it('three managers racing, events and sweeps both on, recover each node exactly once', async () => {
    const w = deployment.world();
    const managers = [0, 1, 2].map(() => w.manager({ subscriber: w.subscriber, sweepIntervalMs: 150, concurrency: 4 }));
    const seen = managers.map(record);
    await Promise.all(managers.map((m) => m.start()));
    const ids = Array.from({ length: 30 }, (_, i) => `race-${i}`);
    for (const id of ids) await w.orphan(id, 'deploying', 300 + (id.length % 7) * 10);
    await until(async () => (await w.nodes.list({ state: 'deploy failed' })).length === ids.length, 10_000, 'all recovered');
    await sleep(500); // let any straggling duplicate show itself
    const recovered = seen.flatMap((s) => s.recovered.map((e) => e.nodeId)).sort();
    expect(recovered).toEqual([...ids].sort());
    for (const id of ids) expect(w.nodes.applied.get(id), id).toBe(1);
    expect(seen.filter((s) => s.recovered.length > 0).length).toBeGreaterThanOrEqual(1);
  });

  it('finds a node again when a recovery worker died midway', async () => {
    const w = deployment.world();
    await w.orphan('mid', 'cleaning', 200);
    await sleep(300);
    // A recovery worker takes the orphan, then dies before writing: its own lease expires unreleased.
    const taken = await w.backend.acquire({ resource: nodeResource('mid'), token: 'dying', owner: 'recovery:dying', purpose: 'recovery', ttlMs: 300 });
    expect(taken).toMatchObject({ acquired: true, previous: { owner: 'conductor-dead' } });
    const manager = w.manager({ subscriber: w.subscriber, sweepIntervalMs: 200 });
    const seen = record(manager);
    await manager.start();
    await until(() => seen.recovered.length === 1, 5_000, 'recovery after the dead worker');
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'mid', from: 'cleaning', to: 'clean failed', previous: { owner: 'recovery:dying' } });
    expect(w.nodes.applied.get('mid')).toBe(1);
  });
});

describe('RecoveryManager', () => {
  it('recovers within TTL + one sweep period when the subscriber is disconnected across the expiry', async () => {
    const w = world();
    const sweepMs = 1_000;
    const manager = w.manager({ subscriber: redis, sweepIntervalMs: sweepMs });
    const seen = record(manager);
    await manager.start();
    const ttl = 600;
    await w.orphan('lost-1', 'deploying', ttl);
    const expiresAt = Date.now() + ttl;
    // Keep killing the subscriber connections around the moment of expiry, so the event is most likely gone.
    await sleep(ttl - 150);
    for (let i = 0; i < 15; i++) {
      await redis.client('KILL', 'TYPE', 'pubsub');
      await sleep(20);
    }
    await until(() => seen.recovered.length === 1, 10_000, 'recovery without the event');
    expect(seen.recovered[0]!.nodeId).toBe('lost-1');
    expect(Date.now() - expiresAt).toBeLessThan(sweepMs + 2_000); // TTL + one sweep period, with a generous margin
    expect(w.nodes.applied.get('lost-1')).toBe(1);
  });

  it('recovers by sweep while notifications are turned off behind its back, and turns them on again at a sweep', async () => {
    const server = await RedisServer.start();
    cleanup.push(() => server.stop());
    const client = createRedisClient(server);
    cleanup.push(() => client.disconnect());
    const w = world(client);
    const manager = w.manager({ subscriber: client, sweepIntervalMs: 300 });
    const seen = record(manager);
    await manager.start();
    expect(await client.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', expect.stringMatching(/E/)]);
    await client.config('SET', 'notify-keyspace-events', '');
    await w.orphan('quiet-1', 'clean wait', 300);
    await until(() => seen.recovered.length === 1, 5_000, 'recovery');
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'quiet-1', to: 'clean failed' });
    // A restarted or reconfigured master must not stay silent: each sweep checks the flags and sets them again.
    await until(async () => /E/.test(String(((await client.config('GET', 'notify-keyspace-events')) as string[])[1])), 5_000, 'notifications on again');
    await w.orphan('quiet-2', 'clean wait', 300);
    await until(() => seen.recovered.length === 2, 5_000, 'second recovery');
    await until(() => manager.counters().events >= 1, 5_000, 'an expiry event heard again');
  });

  it('says once that CONFIG is forbidden, and relies on sweeps', async () => {
    const server = await RedisServer.start({ args: ['--rename-command', 'CONFIG', '""'] });
    cleanup.push(() => server.stop());
    const client = createRedisClient(server);
    cleanup.push(() => client.disconnect());
    const w = world(client);
    const manager = w.manager({ subscriber: client, sweepIntervalMs: 200 });
    const degraded: string[] = [];
    manager.on('degraded', (message) => degraded.push(message));
    const seen = record(manager);
    await manager.start();
    await w.orphan('c1', 'inspecting', 300);
    await until(() => seen.recovered.length === 1, 5_000, 'sweep recovery');
    expect(seen.recovered[0]).toMatchObject({ nodeId: 'c1', to: 'inspect failed', trigger: 'sweep' });
    // Once about expiry events, once about the eviction policy it could not check either (see eviction.test.ts).
    expect(degraded.filter((m) => !/eviction policy/.test(m))).toHaveLength(1);
    expect(degraded.find((m) => !/eviction policy/.test(m))).toMatch(/CONFIG refused.*only sweeps find orphans/);
    expect(degraded.filter((m) => /could not check the eviction policy/.test(m))).toHaveLength(1);
  });

  it('rejects bad options with typed errors', () => {
    const w = world();
    const locks = new LockManager({ backend: w.backend, ttlMs: 1_000 });
    const bad = (v: unknown): never => v as never;
    expect(() => new RecoveryManager(bad(undefined))).toThrow(InvalidOptionError);
    expect(() => new RecoveryManager(bad({ locks: {}, nodes: w.nodes }))).toThrow(InvalidOptionError);
    expect(() => new RecoveryManager(bad({ locks, nodes: {} }))).toThrow(InvalidOptionError);
    expect(() => new RecoveryManager({ locks, nodes: w.nodes, sweepIntervalMs: 0 })).toThrow(/sweepIntervalMs/);
    expect(() => new RecoveryManager({ locks, nodes: w.nodes, concurrency: 0 })).toThrow(InvalidOptionError);
    expect(() => new RecoveryManager(bad({ locks, nodes: w.nodes, subscriber: 'redis://x' }))).toThrow(InvalidOptionError);
    expect(() => new RecoveryManager(bad({ locks, nodes: w.nodes, policy: { cleaning: 'nowhere' } }))).toThrow(UnknownStateError);
    expect(() => new RecoveryManager(bad({ locks, nodes: w.nodes, sweep: 5 }))).toThrow(UnknownOptionError);
  });
});

describe('RecoveryManager on a Redis Cluster', () => {
  it('hears expiries on every master', async () => {
    const cluster = clusterClient();
    cleanup.push(() => cluster.disconnect());
    const w = world(cluster);
    const keys = (w.backend as RedisBackend).keys;
    const manager = w.manager({ subscriber: cluster, sweepIntervalMs: 60_000 });
    const seen = record(manager);
    await manager.start();
    expect(manager.listening).toHaveLength(3);
    // Enough nodes that every master holds some of their lock keys.
    const ids = Array.from({ length: 24 }, (_, i) => `cl-${i}`);
    for (const id of ids) await w.orphan(id, 'deploying', 400);
    const slots = new Set(ids.map((id) => keys.shardOf(nodeResource(id))));
    expect(slots.size).toBeGreaterThan(6);
    await until(() => seen.recovered.length === ids.length, 10_000, 'every master heard');
    expect(new Set(seen.recovered.map((e) => e.trigger))).toEqual(new Set(['event']));
    const mastersWithKeys = new Set<string>();
    const ranges = await cluster.cluster('SLOTS');
    for (const id of ids) {
      const slot = Number(await cluster.cluster('KEYSLOT', keys.lockKey(nodeResource(id))));
      const range = ranges.find(([lo, hi]) => slot >= lo && slot <= hi)!;
      const master = range[2]!;
      mastersWithKeys.add(`${master[0]}:${master[1]}`);
    }
    expect(mastersWithKeys.size).toBe(3);
  });
});
