// Bad-input fuzzing of the lock API (issue 7), property-based with fast-check against a private redis-server: the
// LockManager constructor, acquire / tryAcquire / using, Lease.extend, inspect, breakLease, orphans, leases, health,
// and the RedisBackend constructor. Each call works or throws a typed leasehold error with its stable code, and a
// real lease held by another owner on the same Redis is exactly as it was after every property.
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidNameError, Lease, LockManager, RedisBackend, type LockManagerOptions } from '../../src/index.js';
import { createRedisClient } from '../harness/clients.js';
import { RedisServer } from '../harness/redis-server.js';
import { RUNS, Tally, mostly, mustBeTyped, oddNumber, oddString, oddValue, optionsOf, render } from './arbitraries.js';
import { Victim } from './victim.js';

const PREFIX = 'fuzz';
const VICTIMS = ['node:victim', 'victim'];
let server: RedisServer;
let redis: Redis;
let backend: RedisBackend;
const victims: Victim[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  redis = createRedisClient(server);
  backend = new RedisBackend(redis, { prefix: PREFIX });
  for (const resource of VICTIMS) victims.push(await Victim.hold(createRedisClient(server), PREFIX, resource));
});
afterEach(async () => {
  for (const victim of victims) await victim.expectUntouched();
});
afterAll(async () => {
  for (const victim of victims) {
    await victim.release();
    victim.redis.disconnect();
  }
  redis?.disconnect();
  await server?.stop();
});

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const abortReason = new Error('fuzz: aborted on purpose');
const aborted = AbortSignal.abort(abortReason);

const resourceArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('node:victim', 'victim', 'free-1', 'node:free-2', 'free-3', 'free-4') },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: oddValue },
);
const acquireOptions = optionsOf({
  owner: mostly(fc.constantFrom('fuzz-a', 'fuzz-b', 'victim-owner'), 6),
  purpose: mostly(fc.constantFrom('deploy', 'clean', undefined), 6),
  waitMs: mostly(fc.constantFrom(undefined, 0, 1, 5, 30), 6),
  signal: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, new AbortController().signal) }, fc.constant(aborted), oddValue),
});

/**
 * A lock manager for one run, closed afterwards (releasing whatever the run got), with a watchdog: a valid but long
 * `waitMs` on a held resource ends in `ManagerClosedError` after `watchdogMs` instead of hanging the property. Runs
 * that never wait pass `null`: on a busy machine the watchdog could close the manager in the middle of them.
 */
async function withManager<T>(run: (locks: LockManager) => Promise<T>, options: Partial<LockManagerOptions> = {}, watchdogMs: number | null = 300): Promise<T> {
  const locks = new LockManager({ backend, ttlMs: 10_000, ...options });
  locks.on('error', () => undefined);
  const watchdog = watchdogMs === null ? undefined : setTimeout(() => void locks.close(), watchdogMs);
  try {
    return await run(locks);
  } finally {
    clearTimeout(watchdog);
    await locks.close();
  }
}

describe('fuzz: LockManager', () => {
  it('new LockManager(options) works or throws a typed error; what it accepts is consistent', async () => {
    const options = optionsOf({
      backend: mostly(fc.constant('the backend'), 8),
      ttlMs: mostly(fc.integer({ min: 1, max: 120_000 }), 8),
      heartbeatMs: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.integer({ min: 1, max: 60_000 }), oddValue),
      driftFactor: mostly(fc.double({ min: 0, max: 0.6, noNaN: true }), 8),
      retryDelayMs: mostly(fc.integer({ min: 1, max: 1_000 }), 8),
      meter: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, oddValue),
      logger: mostly(fc.constantFrom(silent, undefined), 8),
    });
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(options, async (given) => {
        const real = typeof given === 'object' && given !== null && (given as { backend?: unknown }).backend === 'the backend' ? { ...given, backend } : given;
        const outcome = await mustBeTyped(`new LockManager(${render(given)})`, () => new LockManager(real as LockManagerOptions));
        tally.add(outcome);
        if (!outcome.ok) return;
        const locks = outcome.value as LockManager;
        const o = locks.options;
        expect(Object.isFrozen(o)).toBe(true);
        expect(Number.isInteger(o.ttlMs) && o.ttlMs >= 1).toBe(true);
        expect(Number.isInteger(o.heartbeatMs) && o.heartbeatMs >= 1 && o.heartbeatMs < o.ttlMs).toBe(true);
        expect(o.driftFactor >= 0 && o.driftFactor < 0.5).toBe(true);
        await locks.close();
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('acquire / tryAcquire / using work or throw a typed error (or the signal\'s reason)', async () => {
    const call = fc.record({ method: fc.constantFrom('acquire', 'tryAcquire', 'using'), resource: resourceArb, options: acquireOptions });
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(call, async ({ method, resource, options }) =>
        withManager(async (locks) => {
          const what = `${method}(${render(resource)}, ${render(options)})`;
          const r = resource as string;
          const o = options as { owner: string };
          const outcome = await mustBeTyped(
            what,
            () => (method === 'acquire' ? locks.acquire(r, o) : method === 'tryAcquire' ? locks.tryAcquire(r, o) : locks.using(r, o, (lease) => lease)),
            [abortReason],
          );
          tally.add(outcome);
          if (!outcome.ok || outcome.value === null) return;
          const lease = outcome.value as Lease;
          expect(lease).toBeInstanceOf(Lease);
          expect(lease.resource).toBe(resource);
          expect(Number.isSafeInteger(lease.fence) && lease.fence > 0).toBe(true);
          expect(VICTIMS).not.toContain(lease.resource);
        }),
      ),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('lease.extend(ms) works or throws a typed error, and a lease it accepted is still held', async () => {
    let n = 0;
    const tally = new Tally();
    const ms = fc.oneof(oddNumber, oddValue, fc.integer({ min: 1, max: 30_000 }), fc.constantFrom(undefined, 2 ** 31 - 1));
    await fc.assert(
      fc.asyncProperty(ms, async (ttl) =>
        withManager(async (locks) => {
          const lease = await locks.acquire(`extend-${n++}`, { owner: 'fuzz-extend' });
          const outcome = await mustBeTyped(`lease.extend(${render(ttl)})`, () => lease.extend(ttl as number));
          tally.add(outcome);
          if (outcome.ok) {
            expect(lease.state).toBe('held');
            expect(lease.remainingMs).toBeGreaterThan(0);
          }
          await lease.release();
        }, {}, null), // a fresh resource each run: nothing waits
      ),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('inspect, breakLease, orphans, leases and health work or throw a typed error', async () => {
    const call = fc.oneof(
      fc.record({ method: fc.constant('inspect' as const), resource: resourceArb }),
      fc.record({ method: fc.constant('breakLease' as const), resource: resourceArb, options: optionsOf({ fence: mostly(fc.integer({ min: 1, max: 1_000 })) }) }),
      fc.record({ method: fc.constant('orphans' as const), options: optionsOf({ limit: mostly(fc.integer({ min: 1, max: 100 })) }) }),
      fc.record({ method: fc.constant('leases' as const), options: optionsOf({ owner: mostly(fc.constantFrom('victim-owner', 'fuzz-a')), limit: mostly(fc.integer({ min: 1, max: 100 })) }) }),
      fc.record({ method: fc.constant('health' as const), options: optionsOf({ timeoutMs: mostly(fc.integer({ min: 1, max: 500 })) }) }),
    );
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(call, async (c) =>
        withManager(async (locks) => {
          const args = c as unknown as { resource: string; options: never };
          const outcome = await mustBeTyped(`${c.method}(${render(c)})`, () => {
            switch (c.method) {
              case 'inspect':
                return locks.inspect(args.resource);
              case 'breakLease':
                return locks.breakLease(args.resource, args.options);
              case 'orphans':
                return locks.orphans(args.options);
              case 'leases':
                return locks.leases(args.options);
              case 'health':
                return locks.health(args.options);
            }
          });
          tally.add(outcome);
        }),
      ),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('two different names never share one lock (lone surrogates are refused, not stored as U+FFFD)', async () => {
    const nameish = fc.oneof(
      fc.constantFrom('r\uD800', 'r\uDC00', 'r\uFFFD', 'r\uDBFF', 'r', 'r😀', 'r\uD83D', 'r\uDE00'),
      fc.string({ unit: fc.constantFrom('r', '\uD800', '\uDC00', '\uFFFD', 'é'), minLength: 1, maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(nameish, nameish).filter(([a, b]) => a !== b),
        async ([a, b]) =>
          withManager(async (locks) => {
            const first = await mustBeTyped(`tryAcquire(${render(a)})`, () => locks.tryAcquire(a, { owner: 'fuzz-a' }));
            if (!first.ok) return;
            expect(first.value).toBeInstanceOf(Lease);
            const second = await mustBeTyped(`tryAcquire(${render(b)})`, () => locks.tryAcquire(b, { owner: 'fuzz-b' }));
            if (second.ok) expect(second.value, `${render(b)} shares the lock of ${render(a)}`).toBeInstanceOf(Lease);
          }),
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses a resource or owner with a lone surrogate (found by fuzzing: "r\\uD800" and "r\\uDC00" shared one lock)', async () => {
    await withManager(async (locks) => {
      await expect(locks.tryAcquire('r\uD800', { owner: 'a' })).rejects.toThrow(InvalidNameError);
      await expect(locks.tryAcquire('r', { owner: 'owner\uDC00' })).rejects.toThrow(/well-formed Unicode/);
      await expect(locks.inspect('r\uDC00')).rejects.toMatchObject({ code: 'INVALID_NAME' });
      const pair = await locks.tryAcquire('r😀', { owner: 'a😀' }); // a surrogate pair is fine
      expect(pair?.resource).toBe('r😀');
      expect((await locks.inspect('r😀')).holder?.owner).toBe('a😀');
    });
  });
});

describe('fuzz: RedisBackend', () => {
  const prefix = mostly(fc.oneof(fc.constantFrom('fuzz-b', 'a'.repeat(128), 'a'.repeat(129), 'x{y', '}'), oddString));
  const options = optionsOf({ prefix, shards: mostly(fc.integer({ min: 1, max: 64 })) });

  it('new RedisBackend(client, options) works or throws a typed error, and a backend it makes works', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(mostly(fc.constant('the client')), options, async (client, given) => {
        const real = client === 'the client' ? redis : (client as Redis);
        const outcome = await mustBeTyped(`new RedisBackend(${render(client)}, ${render(given)})`, () => new RedisBackend(real, given as never));
        tally.add(outcome);
        if (!outcome.ok) return;
        const made = outcome.value as RedisBackend;
        const locks = new LockManager({ backend: made, ttlMs: 5_000 });
        const lease = await locks.acquire('fuzz-backend', { owner: 'fuzz' });
        expect(lease.fence).toBeGreaterThan(0);
        await locks.close();
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('backend.acquire / release / handOver with odd requests work or throw a typed error, and never free a victim', async () => {
    const token = mostly(fc.constantFrom('fz-1', 'fz-2', 'fz-1x', 'victim-token'), 4);
    const request = optionsOf({
      resource: resourceArb,
      token,
      owner: mostly(fc.constantFrom('fuzz-a', 'fuzz-b'), 6),
      purpose: mostly(fc.constantFrom('', 'deploy'), 6),
      ttlMs: mostly(fc.constantFrom(1_000, 5_000), 4),
      waiter: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(undefined, 'fz-') }, oddValue),
    });
    const call = fc.record({ method: fc.constantFrom('acquire', 'release', 'handOver'), request, lease: optionsOf({ resource: resourceArb, token }) });
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(call, async ({ method, request, lease }) => {
        const r = request as { resource: string; token: string; owner: string; purpose: string; ttlMs: number };
        const l = lease as { resource: string; token: string };
        const what = `backend.${method}(${method === 'handOver' ? `${render(lease)}, ` : ''}${render(request)})`;
        const outcome = await mustBeTyped(what, () =>
          method === 'acquire' ? backend.acquire(r) : method === 'release' ? backend.release(l?.resource, l?.token) : backend.handOver(l, r),
        );
        tally.add(outcome);
        // Whatever was granted goes back, so that every run starts from free resources.
        if (outcome.ok && typeof r === 'object' && r !== null && typeof r.resource === 'string') await backend.release(r.resource, r.token).catch(() => false);
      }),
      { numRuns: RUNS },
    );
    tally.expectSome();
  });

  it('new RedisBackend(client, { prefix: 10n }) throws InvalidNameError, not a TypeError from rendering the bigint', () => {
    expect(() => new RedisBackend(redis, { prefix: 10n as unknown as string })).toThrow(InvalidNameError);
  });
});
