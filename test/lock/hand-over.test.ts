// Acquisitions of one manager waiting for a resource another lease of the same manager holds are parked and handed
// the resource at release (release + grant in one script call), in arrival order. An acquisition of another
// manager that is refused marks the resource as waited for: the release then leaves it free, so it is not starved.
// On private servers: the tests count the server's script calls.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, KeySpace, LockHeldError, LockManager, ManagerClosedError, QuorumBackend, RedisBackend } from '../../src/index.js';
import { masterClients, uniquePrefix } from '../harness/env.js';
import { privateServer } from '../support/private-server.js';
import { sleep } from '../support/wait.js';
import { customBackend } from '../support/custom-backend.js';

/** Script calls the server ran so far (EVALSHA and EVAL). */
async function scriptCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

/** A retry delay no test waits for: an acquisition that polled instead of being handed the resource would time out. */
const SLOW_RETRY_MS = 20_000;

describe('hand-over between acquisitions of one manager', () => {
  const env = privateServer();

  it('parked acquisitions are handed the resource in arrival order, one script call per hand-over, fences growing', async () => {
    const locks = new LockManager({ backend: new RedisBackend(env.redis, { prefix: 'ho-fifo' }), ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      // Warm-up: the server learns the scripts (a first call by SHA fails, and is sent again by source).
      const warm = await locks.acquire('warm', { owner: 'w0' });
      const handed = locks.acquire('warm', { owner: 'w1', waitMs: 15_000 });
      await sleep(30);
      await warm.release();
      await (await handed).release();

      const first = await locks.acquire('node-1', { owner: 'w0' });
      const order: string[] = [];
      const fences: number[] = [first.fence];
      const waiters = [];
      const before = await scriptCalls(env.admin);
      for (let i = 1; i <= 5; i++) {
        const owner = `w${i}`;
        waiters.push(
          locks.acquire('node-1', { owner, waitMs: 15_000 }).then(async (lease) => {
            order.push(lease.owner);
            fences.push(lease.fence);
            await lease.release();
          }),
        );
        await sleep(30); // parked at once (a lease of its own manager holds the resource), in this order
      }
      expect(await scriptCalls(env.admin)).toBe(before); // waiting in line sends nothing
      const started = performance.now();
      await first.release();
      await Promise.all(waiters);
      // Polling would wait at least half a retry delay (10 s) for the first of them.
      expect(performance.now() - started).toBeLessThan(SLOW_RETRY_MS / 4);
      expect(order).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
      expect(fences).toEqual([...fences].sort((a, b) => a - b));
      expect(new Set(fences).size).toBe(6);
      // 5 hand-overs and the last release, and nothing else.
      expect((await scriptCalls(env.admin)) - before).toBe(6);
      const state = await locks.inspect('node-1');
      expect(state.holder).toBeNull();
      expect(state.orphan).toBeNull();
    } finally {
      await locks.close();
    }
  });

  it('an acquisition of another manager is not starved: a refusal marks the resource, the release leaves it free, its manager keeps off', async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'ho-fair' });
    const local = new LockManager({ backend, ttlMs: 10_000, retryDelayMs: 10 });
    const other = new LockManager({ backend: new RedisBackend(env.admin, { prefix: 'ho-fair' }), ttlMs: 10_000, retryDelayMs: 10 });
    let stop = false;
    let sections = 0;
    try {
      // Four workers of one manager keep the resource busy, handing it over among themselves.
      const loops = Array.from({ length: 4 }, async (_, worker) => {
        while (!stop) {
          const lease = await local.acquire('node-1', { owner: `local-${worker}`, waitMs: 30_000 });
          sections++;
          await sleep(2);
          await lease.release();
        }
      });
      await sleep(200);
      expect(sections).toBeGreaterThan(4); // the hand-over loop runs
      const sectionsBefore = sections;
      const lease = await other.acquire('node-1', { owner: 'other', waitMs: 10_000 });
      const sectionsWhileWaiting = sections - sectionsBefore;
      stop = true;
      await lease.release();
      await Promise.all(loops);
      // Handed over every ~2 ms and never left free, the resource would stay out of reach for the whole wait. Left
      // free but taken again at once by a worker of its holder's manager, it went to the other manager only after
      // 25 to 190 more sections here (and once 5 s); with the holder's manager keeping off, after about one.
      expect(sectionsWhileWaiting).toBeLessThan(10);
      expect(await env.admin.exists(backend.keys.waitKey('node-1'))).toBe(0); // the mark went with the lease
    } finally {
      stop = true;
      await Promise.all([local.close(), other.close()]);
    }
  });

  it('a parked acquisition that is aborted or runs out of time leaves the queue; the next one is handed the resource', async () => {
    const locks = new LockManager({ backend: new RedisBackend(env.redis, { prefix: 'ho-leave' }), ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      const held = await locks.acquire('node-1', { owner: 'a' });
      const controller = new AbortController();
      const aborted = locks.acquire('node-1', { owner: 'b', waitMs: 15_000, signal: controller.signal });
      const short = locks.acquire('node-1', { owner: 'c', waitMs: 300 });
      const next = locks.acquire('node-1', { owner: 'd', waitMs: 15_000 });
      await sleep(50);
      const reason = new Error('operator gave up');
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      const timedOut = await short.catch((error: unknown) => error);
      expect(timedOut).toBeInstanceOf(LockHeldError);
      expect((timedOut as LockHeldError).holder?.owner).toBe('a');
      await held.release();
      const lease = await next;
      expect(lease.owner).toBe('d');
      expect(lease.fence).toBeGreaterThan(held.fence);
      await lease.release();
    } finally {
      await locks.close();
    }
  });

  it('a hand-over to an acquisition aborted meanwhile gives the grant back: the resource ends free, not orphaned', async () => {
    const locks = new LockManager({ backend: new RedisBackend(env.redis, { prefix: 'ho-abort' }), ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      const held = await locks.acquire('node-1', { owner: 'a' });
      const controller = new AbortController();
      const waiting = locks.acquire('node-1', { owner: 'b', waitMs: 15_000, signal: controller.signal }).catch((error: unknown) => error);
      await sleep(50);
      const released = held.release(); // wakes the parked acquisition with the hand-over, sent a moment later
      controller.abort(new Error('late abort'));
      expect(await released).toBe(true);
      expect(await waiting).toMatchObject({ message: 'late abort' });
      const state = await locks.inspect('node-1');
      expect(state.holder).toBeNull();
      expect(state.orphan).toBeNull();
      expect(state.lastFence).toBeGreaterThan(held.fence); // it was granted, then given back
      expect(locks.size).toBe(0);
    } finally {
      await locks.close();
    }
  });

  it('an abort while the hand-over waits for Redis rejects the waiter at once; the grant that comes later is given back', async () => {
    const locks = new LockManager({ backend: new RedisBackend(env.redis, { prefix: 'ho-stall' }), ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      const held = await locks.acquire('node-1', { owner: 'a' });
      const controller = new AbortController();
      const order: string[] = [];
      const waiting = locks.acquire('node-1', { owner: 'b', waitMs: 15_000, signal: controller.signal }).catch((error: unknown) => error);
      void waiting.then(() => order.push('waiter'));
      await sleep(50);
      await env.admin.call('CLIENT', 'PAUSE', '3000', 'WRITE'); // scripts wait: the hand-over gets no answer yet
      const released = held.release().finally(() => order.push('release'));
      await sleep(100); // the hand-over is on the wire
      controller.abort(new Error('abort while Redis stalls'));
      expect(await waiting).toMatchObject({ message: 'abort while Redis stalls' });
      // The waiter was not held until Redis answered: the release, which needs that answer, comes after it.
      expect(await released).toBe(true);
      expect(order).toEqual(['waiter', 'release']);
      await locks.close(); // waits for the grant to be given back
      const state = await locks.inspect('node-1');
      expect(state.holder).toBeNull();
      expect(state.orphan).toBeNull();
      expect(state.lastFence).toBeGreaterThan(held.fence); // it was granted, then given back
    } finally {
      await env.admin.call('CLIENT', 'UNPAUSE');
      await locks.close();
    }
  });

  it('a lease lost behind its back is not handed over: the parked acquisition asks again at once and gets the resource', async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'ho-lost' });
    const locks = new LockManager({ backend, ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      const held = await locks.acquire('node-1', { owner: 'a' });
      const waiting = locks.acquire('node-1', { owner: 'b', waitMs: 15_000 });
      await sleep(50);
      await env.admin.del(backend.keys.lockKey('node-1')); // deleted by hand: the manager has not noticed yet
      expect(await held.release()).toBe(false);
      const lease = await waiting;
      expect(lease.owner).toBe('b');
      await lease.release();
    } finally {
      await locks.close();
    }
  });

  it('a hand-over that fails (even synchronously, in a backend of your own) rejects both the release and the waiter, and nothing hangs', async () => {
    const redis = new RedisBackend(env.redis, { prefix: 'ho-throw' });
    const broken = new Error('handOver exploded');
    const backend = customBackend(redis, {
      handOver: () => {
        throw broken;
      },
    });
    const locks = new LockManager({ backend, ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    try {
      const held = await locks.acquire('node-1', { owner: 'a' });
      const waiting = locks.acquire('node-1', { owner: 'b', waitMs: 15_000 }).catch((error: unknown) => error);
      await sleep(50);
      await expect(held.release()).rejects.toBe(broken);
      expect(await waiting).toBe(broken);
    } finally {
      await locks.close();
    }
  });

  it('close() rejects parked acquisitions with ManagerClosedError', async () => {
    const locks = new LockManager({ backend: new RedisBackend(env.redis, { prefix: 'ho-close' }), ttlMs: 10_000, retryDelayMs: SLOW_RETRY_MS });
    await locks.acquire('node-1', { owner: 'a' });
    const waiting = locks.acquire('node-1', { owner: 'b', waitMs: 15_000 }).catch((error: unknown) => error);
    await sleep(50);
    await locks.close();
    expect(await waiting).toBeInstanceOf(ManagerClosedError);
    expect((await locks.inspect('node-1')).holder).toBeNull();
  });
});

describe('RedisBackend.handOver', () => {
  const env = privateServer();
  const request = (token: string, extra: { waiter?: string } = {}) => ({ resource: 'node-1', token, owner: 'b', purpose: '', ttlMs: 10_000, ...extra });

  it('releases and grants in one call; a token that does not hold the lock changes nothing', async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'hob-basic' });
    const first = await backend.acquire({ ...request('m1-0'), owner: 'a' });
    expect(first.acquired).toBe(true);
    const stale = await backend.handOver({ resource: 'node-1', token: 'm1-stale' }, request('m1-1'));
    expect(stale).toEqual({ released: false, granted: null });
    expect(await env.admin.get(backend.keys.lockKey('node-1'))).toBe('m1-0'); // untouched
    const handed = await backend.handOver({ resource: 'node-1', token: 'm1-0' }, request('m1-1'));
    expect(handed.released).toBe(true);
    expect(handed.granted?.fence).toBeGreaterThan(first.acquired ? first.fence : Infinity);
    expect(handed.granted?.previous).toBeNull(); // a hand-over is no take-over of an orphan
    const state = await backend.inspect('node-1');
    expect(state.holder?.owner).toBe('b');
    expect(state.orphan).toBeNull();
    expect(await backend.release('node-1', 'm1-1')).toBe(true);
  });

  it("another manager's refused acquisition marks the resource; its own manager's does not; a marked release leaves it free", async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'hob-mark' });
    const mark = backend.keys.waitKey('node-1');
    expect((await backend.acquire({ ...request('m1-0'), owner: 'a' })).acquired).toBe(true);
    expect((await backend.acquire(request('m1-1', { waiter: 'm1-' }))).acquired).toBe(false);
    expect(await env.admin.exists(mark)).toBe(0); // same manager: it parks, no mark
    expect((await backend.acquire(request('m2-0'))).acquired).toBe(false);
    expect(await env.admin.exists(mark)).toBe(0); // will not ask again: no mark
    expect((await backend.acquire(request('m2-1', { waiter: 'm2-' }))).acquired).toBe(false);
    expect(backend.keys.resourceOfLockKey(mark)).toBeNull(); // its expiry is no lock's: recovery ignores it
    const pttl = await env.admin.pttl(mark);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000); // never outlives the lease it is about
    const left = await backend.handOver({ resource: 'node-1', token: 'm1-0' }, request('m1-2'));
    expect(left).toEqual({ released: true, granted: null });
    expect(await env.admin.exists(mark, backend.keys.lockKey('node-1'))).toBe(0);
    const state = await backend.inspect('node-1');
    expect(state.holder).toBeNull();
    expect(state.orphan).toBeNull(); // left free, not orphaned
    expect((await backend.acquire(request('m2-2', { waiter: 'm2-' }))).acquired).toBe(true);
    expect(await backend.release('node-1', 'm2-2')).toBe(true);
  });

  it('a plain release takes the mark with it', async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'hob-release' });
    expect((await backend.acquire({ ...request('m1-0'), owner: 'a' })).acquired).toBe(true);
    expect((await backend.acquire(request('m2-0', { waiter: 'm2-' }))).acquired).toBe(false);
    expect(await env.admin.exists(backend.keys.waitKey('node-1'))).toBe(1);
    expect(await backend.release('node-1', 'm1-0')).toBe(true);
    expect(await env.admin.exists(backend.keys.waitKey('node-1'))).toBe(0);
  });

  it('rejects bad input with InvalidOptionError or InvalidNameError, and sends nothing', async () => {
    const backend = new RedisBackend(env.redis, { prefix: 'hob-bad' });
    const before = await scriptCalls(env.admin);
    await expect(backend.handOver({ resource: 'node-2', token: 't' }, request('t2'))).rejects.toThrow(InvalidOptionError);
    await expect(backend.handOver(null as never, request('t2'))).rejects.toThrow(InvalidOptionError);
    await expect(backend.handOver({ resource: 'node-1', token: '' }, request('t2'))).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(backend.acquire(request('abc', { waiter: 'xyz' }))).rejects.toThrow(/must be a prefix of the token/);
    await expect(backend.acquire(request('abc', { waiter: '' }))).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect((await scriptCalls(env.admin)) - before).toBe(0);
  });
});

describe('waiting on a backend without hand-overs (quorum mode)', () => {
  it('polls as before and leaves no wait mark on any master', async () => {
    const clients = masterClients();
    const prefix = uniquePrefix('ho-quorum');
    const a = new LockManager({ backend: new QuorumBackend(clients, { prefix }), ttlMs: 10_000 });
    const b = new LockManager({ backend: new QuorumBackend(clients, { prefix }), ttlMs: 10_000 });
    try {
      const held = await a.acquire('node-1', { owner: 'a' });
      await expect(b.acquire('node-1', { owner: 'b', waitMs: 200 })).rejects.toBeInstanceOf(LockHeldError);
      const mark = new KeySpace(prefix, 16).waitKey('node-1');
      for (const client of clients) expect(await client.exists(mark)).toBe(0); // nobody would read it
      await held.release();
    } finally {
      await Promise.all([a.close(), b.close()]);
      for (const client of clients) client.disconnect();
    }
  });
});
