// Quorum mode under faults, with three private masters: one killed (everything goes on), two killed (acquire fails
// fast naming the unreachable masters; held leases are reported lost by their deadline), and a master restarted
// with no data (fences still grow).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  LockManager,
  MemoryNodeStore,
  QuorumBackend,
  QuorumError,
  RecoveryManager,
  nodeResource,
  type LeaseLostError,
  type RecoveredEvent,
} from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { uniquePrefix } from '../harness/env.js';
import { startMasters, type RedisServer } from '../harness/redis-server.js';
import { eventually, sleep, waitFor } from '../support/wait.js';

describe('quorum mode under faults (3 private masters)', () => {
  let servers: RedisServer[];
  let clients: Redis[];
  const closers: (() => Promise<unknown> | void)[] = [];
  const backgroundErrors: unknown[] = [];

  beforeAll(async () => {
    servers = await startMasters(3);
    // No offline queue: a command to a dead master fails at once instead of waiting for a reconnect. Retries never
    // stop: a master is down for seconds here, longer than the harness's default retry strategy waits.
    clients = servers.map((s) => createRedisClient(s, { enableOfflineQueue: false, retryStrategy: () => 100 }));
    await Promise.all(clients.map((c) => new Promise((ready) => c.once('ready', ready))));
  }, 60_000);
  afterAll(async () => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    clients.forEach((c) => c.disconnect());
    await Promise.all(servers.map((s) => s.stop()));
  });

  function manager(prefix: string, ttlMs: number): LockManager {
    // Per-master timeout given: the default (TTL/10, 50 ms at least) is tight on a busy machine; dead masters
    // still fail at once (no offline queue).
    const locks = new LockManager({ backend: new QuorumBackend(clients, { prefix, timeoutMs: 500 }), ttlMs });
    locks.on('error', (error) => backgroundErrors.push(error));
    closers.push(() => locks.close());
    return locks;
  }

  it('validates the number of masters', () => {
    expect(() => new QuorumBackend(clients.slice(0, 2))).toThrow(InvalidOptionError);
    expect(() => new QuorumBackend([...clients, clients[0]!])).toThrow(InvalidOptionError);
    expect(() => new QuorumBackend([clients[0]!, clients[0]!, clients[1]!])).toThrow(/distinct/);
  });

  it('goes on with one master of three dead, then fails fast with two, and fences grow across an empty restart', async () => {
    const prefix = uniquePrefix('quorum');
    const locks = manager(prefix, 1_000);
    const held = await locks.acquire('q-held', { owner: 'a', purpose: 'deploy' });
    const fences = [held.fence];

    // One master dies: heartbeats keep the lease, new acquisitions and recovery go on.
    await servers[0]!.kill();
    await sleep(1_500);
    expect(held.state).toBe('held');
    const second = await locks.acquire('q-second', { owner: 'b' });
    fences.push(second.fence);
    const nodes = new MemoryNodeStore();
    await nodes.create({ id: 'q-node', provisionState: 'available' });
    const dead = await locks.options.backend.acquire({ resource: nodeResource('q-node'), token: 'dead', owner: 'dead-conductor', purpose: 'clean', ttlMs: 300 });
    if (!dead.acquired) throw new Error('not acquired');
    await nodes.transition('q-node', { from: ['available'], to: 'cleaning', fence: dead.fence });
    const recovery = new RecoveryManager({ locks, nodes, sweepIntervalMs: 200 });
    closers.push(() => recovery.stop());
    const recovered = eventually<RecoveredEvent>((r) => recovery.once('recovered', r), 10_000, 'recovery with a master down');
    await recovery.start();
    expect(await recovered).toMatchObject({ nodeId: 'q-node', to: 'clean failed', previous: { owner: 'dead-conductor' } });
    await recovery.stop();

    // Two masters dead: acquire fails fast naming them; held leases are reported lost by their deadline.
    await servers[1]!.kill();
    const started = performance.now();
    const error = await locks.acquire('q-third', { owner: 'c' }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(QuorumError);
    expect((error as QuorumError).unreachable).toEqual([`${servers[0]!.host}:${servers[0]!.port}`, `${servers[1]!.host}:${servers[1]!.port}`]);
    const lost = await Promise.all([held, second].map((l) => eventually<LeaseLostError>((r) => l.once('lost', r), 3_000, 'lost by deadline')));
    expect(lost.map((e) => e.reason)).toEqual(['deadline', 'deadline']);
    expect(backgroundErrors.length).toBeGreaterThan(0); // the failed renewals were reported, not swallowed
    expect(backgroundErrors.every((e) => e instanceof QuorumError)).toBe(true);

    // Both come back empty (restarted with no data): fences still grow.
    await servers[0]!.restart();
    await servers[1]!.restart();
    await waitFor(() => clients.every((c) => c.status === 'ready'), 10_000);
    const after = await locks.acquire('q-held', { owner: 'd' });
    fences.push(after.fence);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
    expect(after.fence).toBeGreaterThan(held.fence);
    await after.release();
  }, 60_000);
});
