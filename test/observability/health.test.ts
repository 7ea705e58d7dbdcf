// health() for readiness endpoints, against real servers: Redis reachable or not (a private server that is killed),
// heartbeat lag, leases held, orphans waiting, last sweep; quorum mode and a Cluster.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  InvalidTtlError,
  LockManager,
  MemoryNodeStore,
  QuorumBackend,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  UnknownOptionError,
} from 'leasehold';
import { clusterClient, standaloneClient, uniquePrefix } from '../harness/env.js';
import { RedisServer, startMasters } from '../harness/redis-server.js';
import { eventually, sleep, waitFor } from '../support/wait.js';
import { customBackend } from '../support/custom-backend.js';

let redis: Redis;
const cleanup: (() => Promise<unknown> | void)[] = [];

beforeAll(() => {
  redis = standaloneClient();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
  redis.disconnect();
});

describe('health', () => {
  it('reports a reachable store, then an unreachable one, with heartbeat lag and leases held (a private server, killed)', async () => {
    const server = await RedisServer.start();
    cleanup.push(() => server.stop());
    const client = server.client();
    cleanup.push(() => client.disconnect());
    const prefix = uniquePrefix('health');
    const locks = new LockManager({ backend: new RedisBackend(client, { prefix }), ttlMs: 3_000 });
    locks.on('error', () => undefined); // heartbeats fail once the server is gone
    cleanup.push(() => locks.close());

    const idle = await locks.health();
    expect(idle).toMatchObject({ reachable: true, unreachable: [], error: null, leasesHeld: 0, heartbeatLagMs: null, lastHeartbeatAt: null, closed: false });
    expect(idle.pingMs).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(idle))).toEqual(idle); // plain data, ready for a JSON response

    // A conductor on the same server, with its own lock manager.
    const conductorLocks = new LockManager({ backend: new RedisBackend(client, { prefix }), ttlMs: 3_000 });
    conductorLocks.on('error', () => undefined);
    cleanup.push(() => conductorLocks.close());
    const conductor = new Conductor({ id: 'conductor-h', locks: conductorLocks, nodes: new MemoryNodeStore(), registry: new RedisConductorRegistry(client, { prefix }) });
    conductor.on('error', () => undefined);
    cleanup.push(() => conductor.stop({ timeoutMs: 0 }));
    expect(await conductor.health()).toMatchObject({ id: 'conductor-h', state: 'idle', online: false, ready: false, reachable: true, leasesHeld: 0 });
    await conductor.start();
    expect(await conductor.health()).toMatchObject({ state: 'running', online: true, ready: true, reachable: true, leasesHeld: 1, activeTasks: 0 });

    const lease = await locks.acquire('node:h1', { owner: 'conductor-x' });
    await eventually<unknown>((done) => locks.once('heartbeat', done), 5_000, 'a heartbeat');
    const held = await locks.health();
    expect(held.leasesHeld).toBe(1);
    expect(held.heartbeatLagMs).toBeGreaterThanOrEqual(0);
    expect(held.heartbeatLagMs).toBeLessThan(200);
    expect(Math.abs(held.lastHeartbeatAt! - Date.now())).toBeLessThan(500);

    // The server dies right after a heartbeat: heartbeats fail, the lag grows, the store is unreachable.
    await eventually<unknown>((done) => locks.once('heartbeat', done), 5_000, 'a heartbeat');
    await server.kill();
    // Half a period past a missed beat (lag >= 500 ms), with 1.3 s left before the deadline for the checks below.
    await waitFor(() => lease.remainingMs < 1_300, 5_000);
    const down = await locks.health({ timeoutMs: 300 });
    expect(down.reachable).toBe(false);
    expect(down.unreachable).toEqual([`127.0.0.1:${server.port}`]);
    expect(down.error).toEqual(expect.any(String));
    expect(down.leasesHeld).toBe(1); // not lost yet: its deadline is ~3 s after its last renewal
    expect(down.heartbeatLagMs).toBeGreaterThanOrEqual(500);
    expect(lease.state).toBe('held');
    expect(await conductor.health({ timeoutMs: 300 })).toMatchObject({ state: 'running', reachable: false, ready: false });

    // Lost at its deadline: nothing held, so no lag to report; the conductor is offline.
    await eventually<unknown>((done) => lease.once('lost', done), 5_000, 'the lease lost');
    expect(await locks.health({ timeoutMs: 300 })).toMatchObject({ reachable: false, leasesHeld: 0, heartbeatLagMs: null, lastHeartbeatAt: null });
    await waitFor(() => conductorLocks.size === 0, 5_000);
    expect(await conductor.health({ timeoutMs: 300 })).toMatchObject({ online: false, ready: false, leasesHeld: 0 });
    await locks.close();
    expect((await locks.health({ timeoutMs: 300 })).closed).toBe(true);
  });

  it('recovery: orphans waiting, last sweep, state and the masters it listens to', async () => {
    const prefix = uniquePrefix('health-recovery');
    const backend = new RedisBackend(redis, { prefix });
    const nodes = new MemoryNodeStore();
    for (const id of ['o1', 'o2']) {
      await nodes.create({ id, provisionState: 'available' });
      const taken = await backend.acquire({ resource: `node:${id}`, token: 't', owner: 'dead', purpose: 'deploy', ttlMs: 300 });
      if (!taken.acquired) throw new Error('not acquired');
      await nodes.transition(id, { from: ['available'], to: 'deploying', fence: taken.fence });
    }
    // A dead conductor's liveness lease is an orphan too, but not a node's: recovery does not wait on it.
    await backend.acquire({ resource: 'conductor:dead', token: 't', owner: 'dead', purpose: 'liveness', ttlMs: 300 });
    await sleep(400);
    const locks = new LockManager({ backend, ttlMs: 1_000 });
    cleanup.push(() => locks.close());
    const recovery = new RecoveryManager({ locks, nodes, subscriber: redis, sweepIntervalMs: 60_000 });
    cleanup.push(() => recovery.stop());

    const before = await recovery.health();
    expect(before).toMatchObject({ manager: recovery.owner, state: 'idle', orphansWaiting: 2, lastSweepAt: null, listening: [], ready: false, reachable: true });

    const startedAt = Date.now();
    await recovery.start();
    await waitFor(() => recovery.counters().recovered === 2, 10_000);
    const running = await recovery.health();
    expect(running).toMatchObject({ state: 'running', orphansWaiting: 0, ready: true, reachable: true, listening: [`${redis.options.host}:${redis.options.port}`] });
    expect(running.lastSweepAt).toBeGreaterThanOrEqual(startedAt);
    expect(running.lastSweepAt).toBeLessThanOrEqual(Date.now());

    await recovery.stop();
    expect(await recovery.health()).toMatchObject({ state: 'stopped', ready: false });
  });

  it('quorum mode is reachable while a majority of masters answers', async () => {
    const servers = await startMasters(3);
    cleanup.push(() => Promise.all(servers.map((s) => s.stop())));
    const clients = servers.map((s) => s.client());
    cleanup.push(() => clients.forEach((c) => c.disconnect()));
    const backend = new QuorumBackend(clients, { prefix: uniquePrefix('health-quorum') });
    const locks = new LockManager({ backend, ttlMs: 2_000 });
    cleanup.push(() => locks.close());
    expect(await locks.health({ timeoutMs: 300 })).toMatchObject({ reachable: true, unreachable: [] });
    await servers[0]!.kill();
    expect(await locks.health({ timeoutMs: 300 })).toMatchObject({ reachable: true, unreachable: [backend.names[0]] });
    await servers[1]!.kill();
    const down = await locks.health({ timeoutMs: 300 });
    expect(down).toMatchObject({ reachable: false, unreachable: [backend.names[0], backend.names[1]] });
    expect(down.error).toEqual(expect.any(String));
  });

  it('a Cluster is reachable when every master answers', async () => {
    const cluster = clusterClient();
    cleanup.push(() => cluster.disconnect());
    await new Promise<void>((resolve) => (cluster.status === 'ready' ? resolve() : cluster.once('ready', () => resolve())));
    const backend = new RedisBackend(cluster, { prefix: uniquePrefix('health-cluster') });
    const ping = await backend.ping(1_000);
    expect(ping).toMatchObject({ reachable: true, unreachable: [], error: null });
    expect(cluster.nodes('master')).toHaveLength(3);
  });

  it('says null for a backend without ping, and checks its options', async () => {
    const inner = new RedisBackend(redis, { prefix: uniquePrefix('health-custom') });
    const custom = customBackend(inner);
    const locks = new LockManager({ backend: custom, ttlMs: 1_000 });
    cleanup.push(() => locks.close());
    expect(await locks.health()).toMatchObject({ reachable: null, pingMs: null, unreachable: [], error: null });
    await expect(locks.health({ timeoutMs: 0 })).rejects.toThrow(InvalidTtlError);
    await expect(locks.health({ timeout: 5 } as never)).rejects.toThrow(UnknownOptionError);
  });
});
