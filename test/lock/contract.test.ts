// The lock contract, run unchanged against a standalone server, a real Redis Cluster (3 masters + 3 replicas) and
// quorum mode over three independent masters.
import { getEventListeners } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LeaseLostError,
  LeaseReleasedError,
  LockHeldError,
  LockManager,
  ManagerClosedError,
  QuorumBackend,
  RedisBackend,
  type LockBackend,
} from '../../src/index.js';
import { clusterClient, masterClients, standaloneClient, uniquePrefix } from '../harness/env.js';
import { eventually, sleep, waitFor } from '../support/wait.js';
import { customBackend } from '../support/custom-backend.js';

/** A deployment the contract runs on: how to make a backend, and how to reach its lock keys behind its back. */
interface Topology {
  readonly name: string;
  connect(): void;
  disconnect(): void;
  backend(prefix: string): LockBackend;
  /** Sets a resource's lock key on every master (a forced take-over seen by the whole deployment). */
  setLock(prefix: string, resource: string, value: string, px: number): Promise<void>;
  /** The lock key's value (on a majority of masters). */
  getLock(prefix: string, resource: string): Promise<string | null>;
  delLock(prefix: string, resource: string): Promise<void>;
}

function single(name: string, open: () => Redis | Cluster): Topology {
  let redis: Redis | Cluster;
  const key = (prefix: string, resource: string): string => new RedisBackend(redis, { prefix }).keys.lockKey(resource);
  return {
    name,
    connect: () => void (redis = open()),
    disconnect: () => redis.disconnect(),
    backend: (prefix) => new RedisBackend(redis, { prefix }),
    setLock: async (prefix, resource, value, px) => void (await redis.set(key(prefix, resource), value, 'PX', px)),
    getLock: (prefix, resource) => redis.get(key(prefix, resource)),
    delLock: async (prefix, resource) => void (await redis.del(key(prefix, resource))),
  };
}

function quorum(): Topology {
  let clients: Redis[] = [];
  const key = (prefix: string, resource: string): string => new RedisBackend(clients[0]!, { prefix }).keys.lockKey(resource);
  return {
    name: 'quorum of 3 masters',
    connect: () => void (clients = masterClients()),
    disconnect: () => clients.forEach((c) => c.disconnect()),
    // Per-master timeout given: the default, TTL/10 (50 ms at least), is tight for 300 acquires at once at TTL 600 on
    // a busy 2-core machine (each timer starts before the write batcher sends its call).
    backend: (prefix) => new QuorumBackend(clients, { prefix, timeoutMs: 500 }),
    setLock: async (prefix, resource, value, px) => void (await Promise.all(clients.map((c) => c.set(key(prefix, resource), value, 'PX', px)))),
    getLock: async (prefix, resource) => {
      const values = await Promise.all(clients.map((c) => c.get(key(prefix, resource))));
      return values.find((v) => values.filter((w) => w === v).length >= 2) ?? null;
    },
    delLock: async (prefix, resource) => void (await Promise.all(clients.map((c) => c.del(key(prefix, resource))))),
  };
}

const topologies: Topology[] = [single('standalone', standaloneClient), single('cluster', clusterClient), quorum()];

describe.each(topologies)('lock contract on $name', (topology) => {
  const managers: LockManager[] = [];

  /** A manager on a fresh prefix (or the given one), closed after the suite. */
  function manager(prefix = uniquePrefix('contract'), ttlMs = 1_000, extra: { heartbeatMs?: number } = {}): LockManager {
    const locks = new LockManager({ backend: topology.backend(prefix), ttlMs, ...extra });
    managers.push(locks);
    return locks;
  }

  beforeAll(() => {
    topology.connect();
  });
  afterAll(async () => {
    await Promise.all(managers.map((m) => m.close()));
    topology.disconnect();
  });

  it('grants a lease with its fields and refuses a second holder, naming the first', async () => {
    const locks = manager();
    const lease = await locks.acquire('node-1', { owner: 'conductor-a', purpose: 'deploy' });
    expect(lease).toMatchObject({ resource: 'node-1', owner: 'conductor-a', purpose: 'deploy', previous: null, state: 'held' });
    expect(Number.isSafeInteger(lease.fence)).toBe(true);
    expect(lease.token).toMatch(/^[\w-]{13,}$/);
    expect(lease.remainingMs).toBeGreaterThan(0);
    expect(lease.remainingMs).toBeLessThanOrEqual(1_000);
    expect(lease.validUntil).toBeGreaterThan(Date.now());
    expect(lease.signal.aborted).toBe(false);

    const refused = await locks.acquire('node-1', { owner: 'conductor-b' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(refused).toMatchObject({ code: 'LOCK_HELD', resource: 'node-1', holder: { owner: 'conductor-a', fence: lease.fence, purpose: 'deploy' } });
    expect((refused as LockHeldError).message).toContain('"conductor-a"');
    expect(await locks.tryAcquire('node-1', { owner: 'conductor-b' })).toBeNull();

    const info = await locks.inspect('node-1');
    expect(info).toMatchObject({ resource: 'node-1', holder: { owner: 'conductor-a', fence: lease.fence }, lastFence: lease.fence, orphan: null });
    expect(info.ttlMs).toBeGreaterThan(0);
    // acquiredAt is the server's clock (this machine's, on loopback); the record keeps it relative to the fence.
    expect(Math.abs(lease.acquiredAt - Date.now())).toBeLessThan(10_000);
    expect(Math.abs(info.holder!.acquiredAt - lease.acquiredAt)).toBeLessThanOrEqual(1_000);
    expect(Math.abs((refused as LockHeldError).holder!.acquiredAt - lease.acquiredAt)).toBeLessThanOrEqual(1_000);
    await lease.release();
  });

  it('keeps owners and purposes with tabs and non-ASCII text intact, and remembers the last holder', async () => {
    const locks = manager();
    const owner = 'côndüctor\t№1';
    const purpose = 'dé\tploy 🚀';
    const lease = await locks.acquire('node-utf8', { owner, purpose });
    const refused = await locks.acquire('node-utf8', { owner: 'b' }).catch((error: unknown) => error);
    expect((refused as LockHeldError).holder).toMatchObject({ owner, purpose, fence: lease.fence });
    await lease.release();
    expect(await locks.inspect('node-utf8')).toMatchObject({ holder: null, orphan: null, lastHolder: { owner, purpose, fence: lease.fence } });
  });

  it('releases idempotently, never deletes another holder, and lets the next holder in', async () => {
    const locks = manager();
    const first = await locks.acquire('node-2', { owner: 'a' });
    const released: boolean[] = [];
    first.on('released', () => released.push(true));
    expect(await first.release()).toBe(true);
    expect(await first.release()).toBe(true); // the first call's result, not a second delete
    expect(released).toEqual([true]);
    expect(first.state).toBe('released');
    await expect(first.extend()).rejects.toBeInstanceOf(LeaseReleasedError);

    const second = await locks.acquire('node-2', { owner: 'b' });
    expect(second.fence).toBeGreaterThan(first.fence);
    // A stale token (the first holder's) can't delete the second holder's lock.
    expect(await locks.options.backend.release('node-2', first.token)).toBe(false);
    expect((await locks.inspect('node-2')).holder?.owner).toBe('b');
    await second.release();
    expect((await locks.inspect('node-2')).holder).toBeNull();
  });

  it('waits up to waitMs for a holder to release, and stops waiting when the signal aborts', async () => {
    const locks = manager();
    const holder = await locks.acquire('node-3', { owner: 'a' });
    setTimeout(() => void holder.release(), 150);
    const next = await locks.acquire('node-3', { owner: 'b', waitMs: 5_000 });
    expect(next.owner).toBe('b');

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('operator cancelled')), 100);
    await expect(locks.acquire('node-3', { owner: 'c', waitMs: 10_000, signal: controller.signal })).rejects.toThrow('operator cancelled');
    const waited = await locks.acquire('node-3', { owner: 'c', waitMs: 120 }).catch((error: unknown) => error);
    expect(waited).toBeInstanceOf(LockHeldError);
    expect((waited as LockHeldError).waitedMs).toBeGreaterThanOrEqual(100);
    await next.release();
  });

  it('using() releases after the function returns and after it throws', async () => {
    const locks = manager();
    const result = await locks.using('node-4', { owner: 'a' }, (lease) => lease.fence);
    expect(typeof result).toBe('number');
    expect((await locks.inspect('node-4')).holder).toBeNull();
    await expect(
      locks.using('node-4', { owner: 'a' }, () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect((await locks.inspect('node-4')).holder).toBeNull();
  });

  it('await using releases the lease at the end of the scope', async () => {
    const locks = manager();
    {
      await using lease = await locks.acquire('node-5', { owner: 'a' });
      expect(lease.state).toBe('held');
    }
    expect((await locks.inspect('node-5')).holder).toBeNull();
  });

  it('fences strictly increase across release, expiry and a new client', async () => {
    const prefix = uniquePrefix('fences');
    const locks = manager(prefix, 200, { heartbeatMs: 50 });
    const fences: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lease = await locks.acquire('node-6', { owner: 'a' });
      fences.push(lease.fence);
      await lease.release();
    }
    // Expiry: a holder that never renews (the backend used directly, as a dead process would leave it).
    const backend = topology.backend(prefix);
    const dead = await backend.acquire({ resource: 'node-6', token: 'dead-token', owner: 'dead', purpose: '', ttlMs: 100 });
    expect(dead.acquired).toBe(true);
    if (dead.acquired) fences.push(dead.fence);
    await sleep(250);
    // A new manager (as after a client restart) continues the sequence.
    const again = await manager(prefix, 200, { heartbeatMs: 50 }).acquire('node-6', { owner: 'b' });
    fences.push(again.fence);
    expect(again.previous).toMatchObject({ owner: 'dead' });
    await again.release();
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
  });

  it('heartbeats keep a lease alive far beyond its TTL', async () => {
    const ttlMs = 1_000; // a beat every 333 ms: a stall of the test process shorter than ~650 ms loses nothing
    const locks = manager(uniquePrefix('keepalive'), ttlMs);
    const acquiredAt = performance.now();
    const lease = await locks.acquire('node-7', { owner: 'a' });
    let extended = 0;
    lease.on('extended', () => extended++);
    await waitFor(() => extended >= 6 || lease.state !== 'held', 10_000);
    expect(lease.state).toBe('held');
    expect(performance.now() - acquiredAt).toBeGreaterThan(1.5 * ttlMs);
    expect(await locks.tryAcquire('node-7', { owner: 'b' })).toBeNull();
    await lease.extend(2_000);
    expect(lease.ttlMs).toBe(2_000);
    expect((await locks.inspect('node-7')).ttlMs).toBeGreaterThan(ttlMs); // more than a renewal at the old TTL gives
    await lease.release();
  });

  it('reports a lease lost, once and loudly, when its lock is deleted or taken by force', async () => {
    const prefix = uniquePrefix('lost');
    const locks = manager(prefix, 600, { heartbeatMs: 100 });
    const lease = await locks.acquire('node-8', { owner: 'a' });
    const losses: LeaseLostError[] = [];
    lease.on('lost', (error) => losses.push(error));
    const managerLosses: LeaseLostError[] = [];
    locks.on('lost', (_lease, error) => managerLosses.push(error));

    // Taken by force: the lock key now holds another token (what an operator's forced break does).
    await topology.setLock(prefix, 'node-8', 'someone-else', 5_000);
    const error = await eventually<LeaseLostError>((done) => lease.once('lost', done), 2_000, 'lost');
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ code: 'LEASE_LOST', reason: 'token-mismatch', resource: 'node-8', fence: lease.fence });
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBe(error);
    expect(lease.state).toBe('lost');
    await expect(lease.extend()).rejects.toBe(error);
    // Releasing a lost lease leaves the other holder's lock alone.
    expect(await lease.release()).toBe(false);
    expect(await topology.getLock(prefix, 'node-8')).toBe('someone-else');
    await sleep(300);
    expect(losses).toHaveLength(1);
    expect(managerLosses).toHaveLength(1);

    const other = await locks.acquire('node-9', { owner: 'a' });
    await topology.delLock(prefix, 'node-9');
    await eventually((done) => other.once('lost', done), 2_000, 'lost after delete');
    expect(other.state).toBe('lost');
  });

  it('lists orphans with their last holder until the resource is taken again', async () => {
    const prefix = uniquePrefix('orphans');
    const locks = manager(prefix);
    const backend = topology.backend(prefix);
    const resources = ['node-a', 'node-b', 'node-c'];
    for (const resource of resources) {
      const granted = await backend.acquire({ resource, token: `t-${resource}`, owner: 'dead-conductor', purpose: 'deploy', ttlMs: 100 });
      expect(granted.acquired).toBe(true);
    }
    const live = await locks.acquire('node-live', { owner: 'alive' });
    const released = await locks.acquire('node-released', { owner: 'alive' });
    await released.release();
    await sleep(250);

    const orphans = await locks.orphans();
    expect(orphans.map((o) => o.resource).sort()).toEqual(resources);
    for (const orphan of orphans) {
      expect(orphan.holder).toMatchObject({ owner: 'dead-conductor', purpose: 'deploy' });
      expect(orphan.expiredAt).toBeLessThanOrEqual(Date.now() + 1_000);
    }
    expect(await locks.orphans({ limit: 2 })).toHaveLength(2);
    expect((await locks.orphans({ resourcePrefix: 'node-b' })).map((o) => o.resource)).toEqual(['node-b']);
    expect(await locks.orphans({ resourcePrefix: 'node-', limit: 1 })).toHaveLength(1);
    expect(await locks.orphans({ resourcePrefix: 'conductor:' })).toEqual([]);
    expect(await locks.orphans({ resourcePrefix: '' })).toHaveLength(3);
    const ignoring = new LockManager({ backend: customBackend(backend, { orphans: (limit) => backend.orphans(limit) }), ttlMs: 1_000 });
    managers.push(ignoring); // a backend of one's own that ignores the prefix: the manager filters anyway
    expect((await ignoring.orphans({ resourcePrefix: 'node-b' })).map((o) => o.resource)).toEqual(['node-b']);
    expect((await locks.inspect('node-a')).orphan).toMatchObject({ resource: 'node-a', holder: { owner: 'dead-conductor' } });

    const expiredAt = orphans.find((o) => o.resource === 'node-a')!.expiredAt;
    const taken = await locks.acquire('node-a', { owner: 'recovery:1' });
    expect(taken.previous).toMatchObject({ owner: 'dead-conductor', purpose: 'deploy', expiredAt });
    await taken.release();
    expect((await locks.orphans()).map((o) => o.resource).sort()).toEqual(['node-b', 'node-c']);
    expect((await locks.inspect('node-a')).orphan).toBeNull();
    await live.release();
  });

  it('lists live leases, all or one owner\'s, with holder, fence, purpose and time left', async () => {
    const locks = manager(uniquePrefix('leases'), 5_000);
    const held = await Promise.all(
      Array.from({ length: 1_100 }, (_, i) => locks.acquire(`n-${String(i).padStart(4, '0')}`, { owner: i % 3 === 0 ? 'c-0' : 'c-1', purpose: `op ${i}` })),
    );
    const all = await locks.leases();
    expect(all.map((l) => l.resource)).toEqual(held.map((l) => l.resource));
    const mine = await locks.leases({ owner: 'c-0' });
    expect(mine).toHaveLength(367);
    for (const record of mine) {
      const lease = held.find((l) => l.resource === record.resource)!;
      expect(record).toMatchObject({ holder: { owner: 'c-0', fence: lease.fence, purpose: lease.purpose } });
      expect(record.ttlMs).toBeGreaterThan(0);
      expect(record.ttlMs).toBeLessThanOrEqual(5_000);
    }
    expect(await locks.leases({ owner: 'c-1', limit: 10 })).toHaveLength(10);
    await held[0]!.release();
    expect((await locks.leases({ owner: 'c-0' })).map((l) => l.resource)).not.toContain('n-0000');
    await expect(locks.leases({ owner: '' })).rejects.toThrow(/owner/);
    await expect(locks.leases({ limit: 0 })).rejects.toThrow(/limit/);
    await Promise.all(held.map((l) => l.release()));
  });

  it('breaks only the named acquisition, leaving an orphan with the broken holder', async () => {
    const prefix = uniquePrefix('break');
    const locks = manager(prefix, 5_000);
    const other = manager(prefix, 5_000);
    const lease = await other.acquire('node-b', { owner: 'dead-incarnation', purpose: 'deploy' });
    expect(await locks.breakLease('node-b', { fence: lease.fence + 1 })).toMatchObject({ broken: false, holder: { owner: 'dead-incarnation' } });
    expect(lease.state).toBe('held');
    const lost = new Promise<LeaseLostError>((resolve) => lease.once('lost', resolve));
    const outcome = await locks.breakLease('node-b', { fence: lease.fence });
    expect(outcome).toMatchObject({ broken: true, holder: { owner: 'dead-incarnation', fence: lease.fence, purpose: 'deploy' } });
    expect((await locks.orphans()).map((o) => o.resource)).toContain('node-b');
    // The broken holder (another manager) learns at its next heartbeat: its token is gone.
    expect((await lost).reason).toBe('token-mismatch');
    const next = await locks.acquire('node-b', { owner: 'new-incarnation' });
    expect(next.previous).toMatchObject({ owner: 'dead-incarnation', fence: lease.fence });
    expect(next.fence).toBeGreaterThan(lease.fence);
    expect(await locks.breakLease('node-b', { fence: lease.fence })).toMatchObject({ broken: false });
    expect(next.state).toBe('held');
    // A lease this manager holds is reported lost at once, with reason 'forced'.
    const selfLost = new Promise<LeaseLostError>((resolve) => next.once('lost', resolve));
    expect((await locks.breakLease('node-b', { fence: next.fence })).broken).toBe(true);
    expect((await selfLost).reason).toBe('forced');
    expect(next.signal.aborted).toBe(true);
    await expect(locks.breakLease('node-b', { fence: 0 })).rejects.toThrow(/fence/);
    await expect(locks.breakLease('never-held', { fence: 5 })).resolves.toMatchObject({ broken: false, holder: null, ttlMs: null });
  });

  it('abandon() gives a lease up as the orphan it took over, or as one of its own; release() after it does nothing', async () => {
    const prefix = uniquePrefix('abandon');
    const raw = topology.backend(prefix);
    const locks = manager(prefix);
    const dead = await raw.acquire({ resource: 'ab-1', token: 'dead-token', owner: 'dead', purpose: 'deploy', ttlMs: 100 });
    if (!dead.acquired) throw new Error('not granted');
    await sleep(250);
    const [before] = await raw.orphans(10);
    const taken = await locks.acquire('ab-1', { owner: 'conductor-a' });
    expect(taken.previous).toMatchObject({ owner: 'dead' });
    expect(await taken.abandon()).toBe(true);
    expect(taken.state).toBe('released');
    expect(await taken.release()).toBe(true); // the first call's result; nothing more is done
    expect(await locks.orphans()).toEqual([before]); // the dead holder's orphan, as it was
    const fresh = await locks.acquire('ab-2', { owner: 'conductor-a', purpose: 'clean' });
    expect(await fresh.abandon()).toBe(true);
    const info = await locks.inspect('ab-2');
    expect(info.holder).toBeNull();
    expect(info.orphan).toMatchObject({ resource: 'ab-2', holder: { owner: 'conductor-a', purpose: 'clean', fence: fresh.fence } });
    const gone = await locks.acquire('ab-3', { owner: 'conductor-a' });
    await locks.breakLease('ab-3', { fence: gone.fence }); // lost: abandon() finds the lock no longer its own
    expect(await gone.abandon()).toBe(false);
  });

  it('an acquisition that took over an orphan and is given back unused leaves the orphan to be found', async () => {
    const prefix = uniquePrefix('giveback');
    const raw = topology.backend(prefix);
    const dead = await raw.acquire({ resource: 'gb', token: 'dead-token', owner: 'dead', purpose: 'deploy', ttlMs: 100 });
    expect(dead.acquired).toBe(true);
    await sleep(250);
    // The caller gives up (its signal aborts) after Redis granted the take-over but before the lease was handed out.
    const giveUp = new AbortController();
    const aborting = customBackend(raw, {
      acquire: async (request) => {
        const outcome = await raw.acquire(request);
        giveUp.abort(new Error('caller gave up'));
        return outcome;
      },
    });
    const locks = new LockManager({ backend: aborting, ttlMs: 1_000 });
    managers.push(locks);
    await expect(locks.acquire('gb', { owner: 'conductor-a', signal: giveUp.signal })).rejects.toThrow('caller gave up');
    // The orphan is put back as it was: the dead holder, its fence and its deadline, not the caller that gave up.
    // (The abort rejected the acquire at once; the grant is given back as its answer is read, just after.)
    await waitFor(async () => (await raw.orphans(10)).length === 1, 2_000);
    const [orphan] = await raw.orphans(10);
    expect(orphan).toMatchObject({ resource: 'gb', holder: { owner: 'dead', purpose: 'deploy', fence: dead.acquired ? dead.fence : 0 } });
    const next = await manager(prefix).acquire('gb', { owner: 'recovery:1' });
    expect(next.previous).toMatchObject({ owner: 'dead', fence: dead.acquired ? dead.fence : 0, expiredAt: orphan!.expiredAt });
    expect(next.fence).toBeGreaterThan(dead.acquired ? dead.fence : 0);
    await next.release();
  });

  it('acquisitions sharing one signal put one abort listener on it, not one each (Node warns past 10)', async () => {
    const locks = manager(uniquePrefix('signal'));
    const controller = new AbortController();
    const leases = Array.from({ length: 32 }, (_, i) => locks.acquire(`s-${i}`, { owner: 'a', signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1); // all 32 wait for Redis now
    for (const lease of await Promise.all(leases)) await lease.release();
  });

  it('renews every lease of a manager in one batched beat', async () => {
    const locks = manager(uniquePrefix('batch'), 600);
    const leases = await Promise.all(Array.from({ length: 300 }, (_, i) => locks.acquire(`node-${i}`, { owner: 'a' })));
    const report = await eventually<{ leases: number; renewed: number }>((done) => locks.once('heartbeat', done), 2_000, 'heartbeat');
    expect(report).toMatchObject({ leases: 300, renewed: 300 });
    expect(leases.every((lease) => lease.state === 'held')).toBe(true);
    await Promise.all(leases.map((lease) => lease.release()));
    expect(locks.size).toBe(0);
  });

  it('close() releases everything, is safe twice, and refuses new acquisitions', async () => {
    const locks = manager();
    const leases = await Promise.all(['x', 'y', 'z'].map((r) => locks.acquire(r, { owner: 'a' })));
    await Promise.all([locks.close(), locks.close()]);
    expect(leases.map((l) => l.state)).toEqual(['released', 'released', 'released']);
    for (const r of ['x', 'y', 'z']) expect((await locks.inspect(r)).holder).toBeNull();
    await expect(locks.acquire('x', { owner: 'a' })).rejects.toBeInstanceOf(ManagerClosedError);
  });

  it('keeps keys of one resource in one slot (no CROSSSLOT) across many shards', async () => {
    const locks = manager();
    const leases = await Promise.all(Array.from({ length: 64 }, (_, i) => locks.acquire(`slot-${i}`, { owner: 'a', purpose: 'p' })));
    expect(leases.every((l) => l.state === 'held')).toBe(true);
    const fences = await Promise.all(leases.map(async (l) => (await locks.inspect(l.resource)).lastFence));
    expect(fences).toEqual(leases.map((l) => l.fence));
    expect((await locks.orphans()).length).toBe(0);
    await Promise.all(leases.map((l) => l.release()));
  });
});
