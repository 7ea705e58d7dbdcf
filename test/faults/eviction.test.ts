// Fault scenario 15 of issue 7: `maxmemory` with an evicting policy. Lock keys carry a TTL, so every volatile-* and
// allkeys-* policy may evict a live lock: a silent loss (no `expired` event; a rival takes the resource while its
// holder still believes it holds it), shown first on a real server. Conductor.start() and RecoveryManager.start()
// therefore refuse such a server with EvictionPolicyError, start with a warning when told `allowEviction: true` (or
// when CONFIG cannot be read to check), and start quietly on noeviction. A RedisNodeStore's own server is checked
// too, where only allkeys-* evicts (node records carry no TTL). Private redis-server processes only.
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Conductor,
  EvictionPolicyError,
  InvalidOptionError,
  LockManager,
  MemoryNodeStore,
  QuorumBackend,
  RecoveryManager,
  RedisBackend,
  RedisConductorRegistry,
  RedisNodeStore,
  checkEvictionPolicy,
  checkRecordEvictionPolicy,
  conductorResource,
  type Logger,
} from '../../src/index.js';
import { createRedisClient, subscribeWhenReady } from '../harness/clients.js';
import { clusterClient, masterClients } from '../harness/env.js';
import { RedisServer } from '../harness/redis-server.js';
import { waitFor } from '../support/wait.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
});

async function server(args: string[] = []): Promise<{ server: RedisServer; redis: Redis }> {
  const s = await RedisServer.start({ args });
  cleanup.push(() => s.stop());
  const redis = createRedisClient(s);
  cleanup.push(() => redis.disconnect());
  return { server: s, redis };
}

const EVICTING = ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'];

/** A logger that keeps its warnings. */
function capture(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (_fields, message) => warnings.push(message), error: () => undefined };
}

function world(redis: Redis, prefix: string) {
  const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 5_000 });
  cleanup.push(() => locks.close());
  return { locks, nodes: new MemoryNodeStore(), registry: new RedisConductorRegistry(redis, { prefix }) };
}

describe('fault: maxmemory with an evicting policy', () => {
  it('evicts a live lock silently: no expired event, and a rival takes the resource while its holder still believes', async () => {
    const { server: s, redis } = await server(EVICTING);
    const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: 'evict' }), ttlMs: 60_000 });
    cleanup.push(() => locks.close());
    const lease = await locks.acquire('node:n1', { owner: 'holder' });
    const events = createRedisClient(s);
    cleanup.push(() => events.disconnect());
    await redis.config('SET', 'notify-keyspace-events', 'Exe');
    const heard: string[] = [];
    events.on('message', (channel: string) => heard.push(channel));
    await subscribeWhenReady(events, '__keyevent@0__:expired', '__keyevent@0__:evicted');
    const lockKey = (locks.options.backend as RedisBackend).keys.lockKey('node:n1');
    // Fill memory past maxmemory with junk until the lock key is evicted (bounded: 64 MB of junk at most).
    const junk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 1_000 && (await redis.exists(lockKey)) === 1; i++) await redis.set(`junk:${i}`, junk).catch(() => undefined);
    expect(await redis.exists(lockKey)).toBe(0);
    const rival = await locks.tryAcquire('node:n1', { owner: 'rival' });
    expect(rival, 'the rival got the evicted lock').not.toBeNull();
    expect(lease.state, 'the holder still believes it holds the lease').toBe('held');
    await waitFor(() => heard.includes('__keyevent@0__:evicted'), 5_000);
    expect(heard).not.toContain('__keyevent@0__:expired');
  });

  it('checkEvictionPolicy reads maxmemory and maxmemory-policy on the server', async () => {
    const [evicting, volatile, noeviction, plain, noConfig] = await Promise.all([
      server(EVICTING),
      server(['--maxmemory', '2mb', '--maxmemory-policy', 'volatile-lru']),
      server(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']),
      server(),
      server(['--rename-command', 'CONFIG', '""']),
    ]);
    const check = async (redis: Redis) => (await checkEvictionPolicy(new RedisBackend(redis)))[0];
    expect(await check(evicting.redis)).toEqual({ server: `127.0.0.1:${evicting.server.port}`, maxmemory: 2 * 1024 * 1024, policy: 'allkeys-lru', verdict: 'evicting', error: null, holds: 'leases' });
    expect(await check(volatile.redis)).toMatchObject({ policy: 'volatile-lru', verdict: 'evicting' });
    expect(await check(noeviction.redis)).toMatchObject({ maxmemory: 2 * 1024 * 1024, policy: 'noeviction', verdict: 'safe' });
    expect(await check(plain.redis)).toMatchObject({ maxmemory: 0, verdict: 'safe' });
    const unreadable = await check(noConfig.redis);
    expect(unreadable).toMatchObject({ maxmemory: null, policy: null, verdict: 'unknown' });
    expect(unreadable?.error).toMatch(/unknown command/i);
  });

  it('checkEvictionPolicy reads every master of a Cluster and of quorum mode', async () => {
    const cluster = clusterClient();
    cleanup.push(() => cluster.disconnect());
    const masters = masterClients();
    cleanup.push(() => masters.forEach((m) => m.disconnect()));
    const onCluster = await checkEvictionPolicy(new RedisBackend(cluster));
    expect(onCluster).toHaveLength(3);
    expect(onCluster.every((c) => c.verdict === 'safe')).toBe(true);
    const quorum = await checkEvictionPolicy(new QuorumBackend(masters));
    expect(quorum.map((c) => c.server).sort()).toEqual(masters.map((m) => `127.0.0.1:${m.options.port}`).sort());
  });

  it('Conductor.start() refuses an evicting server, registers nothing, and says to set noeviction', async () => {
    const { redis } = await server(EVICTING);
    const w = world(redis, 'refuse');
    const conductor = new Conductor({ id: 'c-1', ...w });
    const error = await conductor.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EvictionPolicyError);
    expect(error).toMatchObject({ code: 'EVICTION_POLICY', name: 'EvictionPolicyError', servers: [{ policy: 'allkeys-lru', maxmemory: 2 * 1024 * 1024 }] });
    expect((error as Error).message).toMatch(/maxmemory-policy noeviction/);
    expect((error as Error).message).toMatch(/allowEviction: true/);
    expect(conductor.state).toBe('idle');
    expect(await w.registry.get('c-1')).toBeNull();
    expect((await w.locks.inspect(conductorResource('c-1'))).lastHolder).toBeNull();
  });

  it('checks a server whose client is still connecting, even one without an offline queue: a refusal, not "could not check"', async () => {
    const { server: s } = await server(EVICTING);
    const fresh = createRedisClient(s, { enableOfflineQueue: false }); // refuses commands until connected
    const lazy = createRedisClient(s, { enableOfflineQueue: false, lazyConnect: true }); // not even connecting yet
    cleanup.push(() => fresh.disconnect(), () => lazy.disconnect());
    const logger = capture();
    const conductor = new Conductor({ id: 'c-fresh', ...world(fresh, 'fresh'), logger });
    await expect(conductor.start()).rejects.toThrow(EvictionPolicyError);
    expect(logger.warnings).toEqual([]);
    expect(await checkEvictionPolicy(new RedisBackend(lazy))).toEqual([expect.objectContaining({ verdict: 'evicting', policy: 'allkeys-lru' })]);

    // A server that never comes up: unknown after the wait, saying so.
    const { server: gone } = await server();
    await gone.kill();
    const never = createRedisClient(gone, { retryStrategy: () => 100 });
    cleanup.push(() => never.disconnect());
    const [check] = await checkEvictionPolicy(new RedisBackend(never));
    expect(check?.verdict).toBe('unknown');
    expect(check?.error).toMatch(/not connected within 2000 ms/);
  });

  it('RecoveryManager.start() refuses an evicting server and subscribes to nothing', async () => {
    const { redis } = await server(EVICTING);
    const w = world(redis, 'refuse-recovery');
    const manager = new RecoveryManager({ locks: w.locks, nodes: w.nodes, subscriber: redis });
    await expect(manager.start()).rejects.toThrow(EvictionPolicyError);
    expect(manager.listening).toEqual([]);
    expect(manager.counters().sweeps).toBe(0);
    await manager.stop();
  });

  it("checks a RedisNodeStore's own server: only an allkeys policy evicts its records (they carry no TTL)", async () => {
    const { redis } = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    const { redis: allkeys } = await server(EVICTING);
    const { redis: volatile } = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'volatile-lru']);
    expect(await checkRecordEvictionPolicy(allkeys)).toEqual([
      expect.objectContaining({ verdict: 'evicting', policy: 'allkeys-lru', holds: 'records' }),
    ]);
    for (const bad of [null, {}, 'redis://127.0.0.1:1']) await expect(checkRecordEvictionPolicy(bad as never)).rejects.toThrow(InvalidOptionError);
    expect(await checkRecordEvictionPolicy(volatile)).toEqual([expect.objectContaining({ verdict: 'safe', policy: 'volatile-lru', holds: 'records' })]);
    // The same volatile policy is a risk for leases, which carry a TTL.
    expect(await checkEvictionPolicy(new RedisBackend(volatile))).toEqual([expect.objectContaining({ verdict: 'evicting', holds: 'leases' })]);

    // Locks on a noeviction server, nodes on an allkeys one: both components refuse, naming the node store's server.
    const w = { ...world(redis, 'records-refuse'), nodes: new RedisNodeStore(allkeys, { prefix: 'records-refuse' }) };
    const conductor = new Conductor({ id: 'c-records', ...w });
    const error = await conductor.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EvictionPolicyError);
    expect(error).toMatchObject({ servers: [{ server: `127.0.0.1:${allkeys.options.port}`, policy: 'allkeys-lru', holds: 'records' }] });
    expect((error as Error).message).toMatch(/node records without a TTL.*maxmemory-policy noeviction/);
    expect(conductor.state).toBe('idle');
    expect(await w.registry.get('c-records')).toBeNull();
    const manager = new RecoveryManager({ locks: w.locks, nodes: w.nodes, subscriber: redis });
    await expect(manager.start()).rejects.toThrow(EvictionPolicyError);
    expect(manager.listening).toEqual([]);
    await manager.stop();

    // Nodes on a volatile-lru server: their records are never evicted there, so both start quietly.
    const safe = { ...world(redis, 'records-safe'), nodes: new RedisNodeStore(volatile, { prefix: 'records-safe' }) };
    const logger = capture();
    const quiet = new Conductor({ id: 'c-records-ok', ...safe, logger });
    await quiet.start();
    cleanup.push(() => quiet.stop());
    expect(quiet.state).toBe('running');
    expect(logger.warnings).toEqual([]);
  });

  it('allowEviction: true starts both with a warning', async () => {
    const { redis } = await server(EVICTING);
    const w = world(redis, 'allowed');
    const logger = capture();
    const conductor = new Conductor({ id: 'c-1', ...w, logger, allowEviction: true });
    await conductor.start();
    cleanup.push(() => conductor.stop());
    expect(conductor.state).toBe('running');
    expect(logger.warnings).toEqual([expect.stringMatching(/starts anyway \(allowEviction: true\).*allkeys-lru.*maxmemory-policy noeviction/)]);
    const manager = new RecoveryManager({ locks: w.locks, nodes: w.nodes, subscriber: redis, allowEviction: true });
    const degraded: string[] = [];
    manager.on('degraded', (message) => degraded.push(message));
    await manager.start();
    cleanup.push(() => manager.stop());
    expect(manager.listening).toHaveLength(1);
    expect(degraded).toEqual([expect.stringMatching(/RecoveryManager "recovery:.*" starts anyway.*allkeys-lru/)]);
  });

  it('starts quietly on noeviction, even with maxmemory set', async () => {
    const { redis } = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    const w = world(redis, 'quiet');
    const logger = capture();
    const conductor = new Conductor({ id: 'c-1', ...w, logger });
    await conductor.start();
    cleanup.push(() => conductor.stop());
    const manager = new RecoveryManager({ locks: w.locks, nodes: w.nodes, subscriber: redis, logger });
    const degraded: string[] = [];
    manager.on('degraded', (message) => degraded.push(message));
    await manager.start();
    cleanup.push(() => manager.stop());
    expect(logger.warnings).toEqual([]);
    expect(degraded).toEqual([]);
  });

  it('warns, and starts, when CONFIG cannot be read to check', async () => {
    const { redis } = await server(['--rename-command', 'CONFIG', '""']);
    const w = world(redis, 'unknown');
    const logger = capture();
    const conductor = new Conductor({ id: 'c-1', ...w, logger });
    await conductor.start();
    cleanup.push(() => conductor.stop());
    expect(logger.warnings).toEqual([expect.stringMatching(/could not check the eviction policy of 127\.0\.0\.1:\d+ .*noeviction/)]);
  });

  it('allowEviction must be a boolean', () => {
    const locks = new LockManager({ backend: new RedisBackend(createRedisClient({ host: '127.0.0.1', port: 1 }, { lazyConnect: true })), ttlMs: 1_000 });
    const nodes = new MemoryNodeStore();
    const registry = { put: () => Promise.resolve(), get: () => Promise.resolve(null), list: () => Promise.resolve([]), remove: () => Promise.resolve() };
    expect(() => new Conductor({ id: 'c', locks, nodes, registry, allowEviction: 'yes' as unknown as boolean })).toThrow(/allowEviction must be true or false/);
    expect(() => new RecoveryManager({ locks, nodes, allowEviction: 1 as unknown as boolean })).toThrow(/allowEviction must be true or false/);
  });
});
