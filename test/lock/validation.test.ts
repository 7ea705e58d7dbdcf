// Bad input gets a typed error with a stable code and the bad value in its message, and changes nothing.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidHeartbeatError,
  InvalidNameError,
  InvalidOptionError,
  InvalidTtlError,
  LockManager,
  RedisBackend,
  UnknownOptionError,
  type AcquireOptions,
  type LockManagerOptions,
} from '../../src/index.js';
import { standaloneClient, uniquePrefix } from '../harness/env.js';

let redis: Redis;
let backend: RedisBackend;
let locks: LockManager;

beforeAll(() => {
  redis = standaloneClient();
  backend = new RedisBackend(redis, { prefix: uniquePrefix('validation') });
  locks = new LockManager({ backend, ttlMs: 1_000 });
});
afterAll(async () => {
  await locks.close();
  redis.disconnect();
});

/** Calls `fn` with a value the types forbid, as JavaScript callers (or `any`) can. */
const untyped = <T>(value: unknown): T => value as T;

describe('LockManager options', () => {
  const make = (options: unknown) => () => new LockManager(untyped<LockManagerOptions>(options));

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '1000', null])('rejects ttlMs %s', (ttlMs) => {
    const error = (() => {
      try {
        make({ backend, ttlMs })();
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(InvalidTtlError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'INVALID_TTL', name: 'InvalidTtlError' });
    expect((error as Error).message).toContain(String(ttlMs === null ? 'null' : ttlMs));
  });

  it('accepts the largest TTL, 2^31-1 ms', () => {
    expect(make({ backend, ttlMs: 2 ** 31 - 1 })).not.toThrow();
  });

  it.each([
    [1_000, 1_000],
    [1_000, 2_000],
    [1_000, 990], // inside the drift margin: 1000 - (10 + 2) = 988 is the validity
  ])('rejects ttlMs %i with heartbeatMs %i', (ttlMs, heartbeatMs) => {
    expect(make({ backend, ttlMs, heartbeatMs })).toThrow(InvalidHeartbeatError);
  });

  it('rejects unknown options, naming them', () => {
    expect(make({ backend, ttlMs: 1_000, ttl: 5 })).toThrow(UnknownOptionError);
    expect(make({ backend, ttlMs: 1_000, ttl: 5 })).toThrow(/"ttl"/);
  });

  it.each([
    [{ ttlMs: 1_000 }, InvalidOptionError],
    [{ backend: {}, ttlMs: 1_000 }, InvalidOptionError],
    [{ backend: null, ttlMs: 1_000 }, InvalidOptionError],
    [undefined, InvalidOptionError],
    ['fast', InvalidOptionError],
  ])('rejects a missing or wrong backend / options %#', (options, type) => {
    expect(make(options)).toThrow(type);
  });

  it.each([-0.1, 0.5, Number.NaN, '0.01'])('rejects driftFactor %s', (driftFactor) => {
    expect(make({ backend, ttlMs: 1_000, driftFactor })).toThrow(InvalidOptionError);
  });

  it('resolves defaults and freezes them', () => {
    const m = new LockManager({ backend, ttlMs: 900 });
    expect(m.options).toMatchObject({ ttlMs: 900, heartbeatMs: 300, driftFactor: 0.01, retryDelayMs: 10 });
    expect(Object.isFrozen(m.options)).toBe(true);
  });
});

describe('RedisBackend options', () => {
  it.each(['', 'a{b', 'x}', 'p'.repeat(129), 7, null])('rejects prefix %s', (prefix) => {
    expect(() => new RedisBackend(redis, untyped({ prefix }))).toThrow(InvalidNameError);
  });
  it.each([0, -1, 1.5, 16385])('rejects shards %s', (shards) => {
    expect(() => new RedisBackend(redis, { shards })).toThrow(InvalidOptionError);
  });
  it('rejects a client that is not ioredis and unknown options', () => {
    expect(() => new RedisBackend(untyped({}))).toThrow(InvalidOptionError);
    expect(() => new RedisBackend(redis, untyped({ prefx: 'x' }))).toThrow(UnknownOptionError);
  });
});

describe('RedisBackend methods (public, so checked too)', () => {
  const good = { resource: 'r', token: 't', owner: 'o', purpose: '', ttlMs: 1_000 };

  it.each([
    [{ ...good, resource: '' }, InvalidNameError],
    [{ ...good, token: 5 }, InvalidNameError],
    [{ ...good, token: 'x'.repeat(513) }, InvalidNameError],
    [{ ...good, owner: 'x'.repeat(513) }, InvalidNameError],
    [{ ...good, purpose: null }, InvalidNameError],
    [{ ...good, ttlMs: 0 }, InvalidTtlError],
    [{ ...good, ttlMs: Number.NaN }, InvalidTtlError],
    [null, InvalidOptionError],
  ])('acquire rejects request %#', async (request, type) => {
    await expect(backend.acquire(untyped(request))).rejects.toThrow(type);
  });

  it('release, inspect and extend reject bad names, tokens and TTLs', async () => {
    await expect(backend.release('', 't')).rejects.toThrow(InvalidNameError);
    await expect(backend.release('r', untyped(undefined))).rejects.toThrow(InvalidNameError);
    await expect(backend.inspect(untyped(3))).rejects.toThrow(InvalidNameError);
    expect(() => backend.extend([{ resource: 'r', token: 't', ttlMs: -5 }], { timeoutMs: 100 })).toThrow(InvalidTtlError);
    expect(() => backend.extend([{ resource: 'r', token: '', ttlMs: 100 }], { timeoutMs: 100 })).toThrow(InvalidNameError);
    // The renewal packs byte lengths as three digits: a name over 512 bytes is refused, never packed.
    expect(() => backend.extend([{ resource: 'é'.repeat(257), token: 't', ttlMs: 100 }], { timeoutMs: 100 })).toThrow(/514 bytes/);
    expect(() => backend.extend([{ resource: 'r', token: '✓'.repeat(171), ttlMs: 100 }], { timeoutMs: 100 })).toThrow(InvalidNameError);
    expect(() => backend.extend(untyped('r'), { timeoutMs: 100 })).toThrow(InvalidOptionError);
    expect(() => backend.extend(untyped([null]), { timeoutMs: 100 })).toThrow(/item 0 is null/);
    expect(() => backend.extend(untyped([{ resource: 'r', token: 't', ttlMs: 100 }, 'r']), { timeoutMs: 100 })).toThrow(InvalidOptionError);
    expect(() => backend.extend([], untyped({}))).toThrow(InvalidTtlError);
    expect(await backend.inspect('r')).toMatchObject({ holder: null, lastFence: 0 }); // nothing was written
  });
});

describe('acquire arguments', () => {
  const big = 'é'.repeat(257); // 514 UTF-8 bytes, 257 characters

  it.each([['', InvalidNameError], [42, InvalidNameError], [null, InvalidNameError], [big, InvalidNameError]])(
    'rejects resource %#',
    async (resource, type) => {
      await expect(locks.acquire(untyped<string>(resource), { owner: 'a' })).rejects.toThrow(type);
      await expect(locks.tryAcquire(untyped<string>(resource), { owner: 'a' })).rejects.toThrow(type);
      await expect(locks.inspect(untyped<string>(resource))).rejects.toThrow(type);
    },
  );

  it('accepts a resource of exactly 512 bytes', async () => {
    const lease = await locks.acquire('r'.repeat(512), { owner: 'a' });
    await lease.release();
  });

  it.each([
    [{ owner: '' }, InvalidNameError],
    [{ owner: 7 }, InvalidNameError],
    [{}, InvalidNameError],
    [undefined, InvalidNameError],
    [{ owner: big }, InvalidNameError],
    [{ owner: 'a', purpose: '' }, InvalidNameError],
    [{ owner: 'a', waitMs: -1 }, InvalidTtlError],
    [{ owner: 'a', waitMs: 1.5 }, InvalidTtlError],
    [{ owner: 'a', signal: 'stop' }, InvalidOptionError],
    [{ owner: 'a', wait: 10 }, UnknownOptionError],
  ])('rejects acquire options %#', async (options, type) => {
    await expect(locks.acquire('bad-options', untyped<AcquireOptions>(options))).rejects.toThrow(type);
  });

  it('changes nothing in Redis on bad input', async () => {
    await locks.acquire('', { owner: 'a' }).catch(() => undefined);
    await locks.acquire('untouched', { owner: '' }).catch(() => undefined);
    expect(await locks.inspect('untouched')).toMatchObject({ holder: null, lastFence: 0, orphan: null });
  });

  it('rejects bad extend TTLs and keeps the lease', async () => {
    const lease = await locks.acquire('extend-bad', { owner: 'a' });
    await expect(lease.extend(0)).rejects.toThrow(InvalidTtlError);
    await expect(lease.extend(Number.NaN)).rejects.toThrow(InvalidTtlError);
    await expect(lease.extend(300)).rejects.toThrow(InvalidHeartbeatError); // shorter than a heartbeat (333 ms)
    expect(lease.state).toBe('held');
    await lease.release();
  });

  it('rejects bad orphans limits and prefixes, and using() without a function', async () => {
    await expect(locks.orphans({ limit: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(locks.orphans(untyped({ max: 1 }))).rejects.toThrow(UnknownOptionError);
    await expect(locks.orphans(untyped({ resourcePrefix: 5 }))).rejects.toThrow(InvalidNameError);
    await expect(locks.orphans({ resourcePrefix: 'x'.repeat(513) })).rejects.toThrow(InvalidNameError);
    await expect(locks.using('x', { owner: 'a' }, untyped(null))).rejects.toThrow(TypeError);
  });
});
