// Concurrent acquires and releases share socket writes (WriteBatcher, Nagle-style): while a call of the backend
// awaits its reply, the next calls are held in the socket and leave together. A lone call is written at once.
// Counted on the real ioredis socket of a private server: `_write` (one chunk) and `_writev` (several) are the
// socket's system-call entry points.
import type { Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockManager, RedisBackend } from '../../src/index.js';
import { WRITE_BATCH } from '../../src/lock/redis/write-batcher.js';
import { clusterClient, uniquePrefix } from '../harness/env.js';
import { resourcesCoveringShards } from '../support/shards.js';
import { RedisServer } from '../harness/redis-server.js';

type Writes = { writes: number; chunks: number; stop(): void };

/** Counts the socket's writes (system calls) and the chunks (commands) they carried, until `stop()`. */
function countWrites(socket: Socket): Writes {
  const own = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  const write = own._write;
  const writev = own._writev;
  const counts: Writes = {
    writes: 0,
    chunks: 0,
    stop: () => {
      own._write = write;
      own._writev = writev;
    },
  };
  own._write = function (this: unknown, ...args: unknown[]) {
    counts.writes++;
    counts.chunks++;
    return write.apply(this, args);
  };
  own._writev = function (this: unknown, chunks: unknown, ...rest: unknown[]) {
    counts.writes++;
    counts.chunks += (chunks as unknown[]).length;
    return writev.apply(this, [chunks, ...rest]);
  };
  return counts;
}

const afterTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `workers` concurrent loops of acquire + release, `rounds` each, on 3 resources per worker; checks every release
 * deleted its lock and every resource's fences strictly grew.
 */
async function acquireReleaseLoops(locks: LockManager, workers: number, rounds: number): Promise<void> {
  const fences = new Map<string, number[]>();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; i < rounds; i++) {
        const resource = `w${worker}-r${i % 3}`;
        const lease = await locks.acquire(resource, { owner: `worker-${worker}` });
        fences.set(resource, [...(fences.get(resource) ?? []), lease.fence]);
        expect(await lease.release()).toBe(true);
      }
    }),
  );
  for (const [resource, list] of fences) {
    expect(list, resource).toEqual([...list].sort((a, b) => a - b));
    expect(new Set(list).size, resource).toBe(list.length);
  }
}

describe('write batching of concurrent calls (private standalone server)', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = server.client();
    await redis.ping();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('a lone call is written at once; calls made while it is in flight wait for the turn, then leave together', async () => {
    const backend = new RedisBackend(redis, { prefix: 'wb-lone' });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    const socket = redis.stream;
    try {
      await locks.using('warm', { owner: 'a' }, () => undefined); // loads the scripts on this connection
      const first = locks.acquire('r0', { owner: 'a' });
      expect(socket.writableCorked).toBe(0); // nothing of ours was in flight: written now
      const more = ['r1', 'r2', 'r3'].map((resource) => locks.acquire(resource, { owner: 'a' }));
      expect(socket.writableCorked).toBeGreaterThan(0); // held behind the first
      expect(socket.writableLength).toBeGreaterThan(0);
      await afterTurn();
      expect(socket.writableCorked).toBe(0); // the turn ended: written
      const leases = await Promise.all([first, ...more]);
      expect(leases.map((lease) => lease.resource)).toEqual(['r0', 'r1', 'r2', 'r3']);
      expect(new Set(leases.map((lease) => lease.fence)).size).toBe(4);
      await Promise.all(leases.map((lease) => lease.release()));
      expect(socket.writableCorked).toBe(0);
    } finally {
      await locks.close();
    }
  });

  it('64 concurrent acquire/release loops make far fewer writes than commands, and every call is right', async () => {
    const backend = new RedisBackend(redis, { prefix: 'wb-many' });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    const socket = redis.stream;
    try {
      await locks.using('warm', { owner: 'a' }, () => undefined);
      const counts = countWrites(socket);
      try {
        await acquireReleaseLoops(locks, 64, 20);
      } finally {
        counts.stop();
      }
      expect(counts.chunks).toBe(64 * 20 * 2); // every acquire and release was written, once
      // Unbatched, every command is its own write. Batched, a write carries up to WRITE_BATCH commands (more when
      // the turn ends first). Generous bound: at least twice fewer writes than commands.
      expect(counts.writes).toBeLessThanOrEqual(counts.chunks / 2);
      expect(counts.writes).toBeGreaterThanOrEqual(Math.ceil(counts.chunks / (64 * 2)));
      expect(socket.writableCorked).toBe(0);
      expect(WRITE_BATCH).toBeGreaterThan(1);
    } finally {
      await locks.close();
    }
  });

  it("a heartbeat's renewal calls, one per shard, leave in a few writes, not one each, and renew every lease", async () => {
    const backend = new RedisBackend(redis, { prefix: 'wb-renew' });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    const socket = redis.stream;
    try {
      const resources = resourcesCoveringShards(backend.keys, 64);
      const leases = await Promise.all(resources.map((resource) => locks.acquire(resource, { owner: 'a' })));
      const shards = new Set(resources.map((resource) => backend.keys.shardOf(resource))).size;
      expect(shards).toBe(16);
      const items = leases.map((lease) => ({ resource: lease.resource, token: lease.token, ttlMs: 20_000 }));
      await Promise.all(backend.extend(items, { timeoutMs: 5_000 })); // loads the renewal script on this connection

      const counts = countWrites(socket);
      let parts: Awaited<ReturnType<RedisBackend['extend']>[number]>[];
      try {
        const calls = backend.extend(items, { timeoutMs: 5_000 });
        // Every call is made before extend() returns, so the held ones leave then: not at the end of the turn,
        // after the first answers are read.
        expect(socket.writableCorked).toBe(0);
        parts = await Promise.all(calls);
      } finally {
        counts.stop();
      }
      expect(parts.length).toBe(shards);
      expect(counts.chunks).toBe(shards); // one script call per shard, each written once
      // The first call leaves at once; the others are held behind it and leave WRITE_BATCH at a time or when the
      // turn ends. Unbatched, each call would be a system call of its own.
      expect(counts.writes).toBeLessThanOrEqual(1 + Math.ceil((shards - 1) / WRITE_BATCH));
      expect(socket.writableCorked).toBe(0);
      for (const resource of resources) {
        const ttl = await redis.pttl(backend.keys.lockKey(resource));
        expect(ttl).toBeGreaterThan(10_000); // renewed to the 20 s of this call, past the 10 s it was acquired with
      }
      // The orphan listing, one call per shard too, is written whole before its first await.
      const listing = backend.orphans(10);
      expect(socket.writableCorked).toBe(0);
      expect(await listing).toEqual([]);
    } finally {
      await locks.close();
    }
  });

  it('other commands sent on the shared connection in the same turn are held too, and all answer', async () => {
    const backend = new RedisBackend(redis, { prefix: 'wb-shared' });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    try {
      await locks.using('warm', { owner: 'a' }, () => undefined);
      const first = locks.acquire('s0', { owner: 'a' });
      const second = locks.acquire('s1', { owner: 'a' });
      const user = redis.set('wb-shared:user-key', 'v'); // the application's own command, same turn
      expect((redis.stream).writableCorked).toBeGreaterThan(0);
      expect(await user).toBe('OK');
      const leases = await Promise.all([first, second]);
      expect(await redis.get('wb-shared:user-key')).toBe('v');
      await Promise.all(leases.map((lease) => lease.release()));
    } finally {
      await locks.close();
    }
  });

  it('a connection dropped while writes are held fails those calls with a BackendError and leaves no cork behind', async () => {
    const client = server.client({ maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.ping();
    const backend = new RedisBackend(client, { prefix: 'wb-drop' });
    const socket = client.stream;
    const first = backend.acquire({ resource: 'd0', token: 't0', owner: 'a', purpose: '', ttlMs: 10_000 });
    const held = backend.acquire({ resource: 'd1', token: 't1', owner: 'a', purpose: '', ttlMs: 10_000 });
    expect(socket.writableCorked).toBeGreaterThan(0);
    socket.destroy(); // the connection breaks: the held bytes never leave
    const outcomes = await Promise.allSettled([first, held]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ name: 'BackendError' });
    }
    await afterTurn();
    expect(socket.writableCorked).toBe(0);
    client.disconnect();
  });
});

describe('write batching on the shared Redis Cluster (3 masters)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = clusterClient();
    await cluster.ping();
  });
  afterAll(() => cluster?.disconnect());

  it('holds the connection of every master while calls are in flight; 64 loops make far fewer writes than commands', async () => {
    const backend = new RedisBackend(cluster, { prefix: uniquePrefix('wb-cluster') });
    const locks = new LockManager({ backend, ttlMs: 10_000 });
    try {
      // Warm up: one call per shard loads the scripts on every master and settles the slot map.
      await Promise.all(Array.from({ length: 32 }, (_, i) => locks.using(`warm-${i}`, { owner: 'a' }, () => undefined)));
      const masters = cluster.nodes('master');
      expect(masters.length).toBe(3);
      const sockets = masters.map((node) => node.stream);
      const first = locks.acquire('c0', { owner: 'a' });
      expect(sockets.every((socket) => socket.writableCorked === 0)).toBe(true); // a lone call is written at once
      const second = locks.acquire('c1', { owner: 'a' });
      expect(sockets.every((socket) => socket.writableCorked > 0)).toBe(true); // then every master's connection is held
      await afterTurn();
      expect(sockets.every((socket) => socket.writableCorked === 0)).toBe(true);
      await Promise.all((await Promise.all([first, second])).map((lease) => lease.release()));

      const counts = sockets.map(countWrites);
      try {
        await acquireReleaseLoops(locks, 64, 10);
      } finally {
        for (const count of counts) count.stop();
      }
      const chunks = counts.reduce((sum, count) => sum + count.chunks, 0);
      const writes = counts.reduce((sum, count) => sum + count.writes, 0);
      expect(chunks).toBe(64 * 10 * 2); // every acquire and release was written, once, to some master
      expect(writes).toBeLessThanOrEqual(chunks / 2);
      expect(sockets.every((socket) => socket.writableCorked === 0)).toBe(true);
    } finally {
      await locks.close();
    }
  });
});
