// The resource record in a shard's meta hash: what the scripts write and what the backend decodes from it.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidNameError, RedisBackend } from '../../src/index.js';
import { standaloneClient, uniquePrefix } from '../harness/env.js';

describe('resource records', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = standaloneClient();
  });
  afterAll(() => redis.disconnect());

  async function serverMs(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('stores acquiredAt relative to the fence: a fence-sized offset, not a second timestamp', async () => {
    const backend = new RedisBackend(redis, { prefix: uniquePrefix('record') });
    const before = await serverMs();
    const granted = await backend.acquire({ resource: 'n1', token: 't1', owner: 'c1', purpose: 'deploy', ttlMs: 10_000 });
    const after = await serverMs();
    if (!granted.acquired) throw new Error('not granted');
    expect(granted.acquiredAt).toBeGreaterThanOrEqual(before);
    expect(granted.acquiredAt).toBeLessThanOrEqual(after);
    // A fresh resource's fence is the server's time in µs (TIME's seconds, then its µs zero-padded to 6 digits).
    expect(granted.fence).toBeGreaterThanOrEqual(before * 1000);
    expect(granted.fence).toBeLessThan((after + 1) * 1000);
    const raw = await redis.hget(backend.keys.metaKey(backend.keys.shardOf('n1')), 'n1');
    expect(raw).toBe(`${granted.fence}\t${granted.acquiredAt - Math.floor(granted.fence / 1000)}\t2\tc1deploy`);
    expect(raw!.split('\t')[1]!.length).toBeLessThanOrEqual(2);
    const state = await backend.inspect('n1');
    expect(state.holder).toEqual({ owner: 'c1', fence: granted.fence, acquiredAt: granted.acquiredAt, purpose: 'deploy' });
  });

  it('raiseFence keeps acquiredAt, only ever raises, and only for the token that holds the lock', async () => {
    const backend = new RedisBackend(redis, { prefix: uniquePrefix('record') });
    const granted = await backend.acquire({ resource: 'n2', token: 't2', owner: 'c2', purpose: '', ttlMs: 10_000 });
    if (!granted.acquired) throw new Error('not granted');
    const higher = granted.fence + 5_000_000_123; // as a quorum would write back: another master's clock ran ahead
    expect(await backend.raiseFence('n2', 't2', higher)).toBe(true);
    expect((await backend.inspect('n2')).holder).toEqual({ owner: 'c2', fence: higher, acquiredAt: granted.acquiredAt, purpose: '' });
    const raw = await redis.hget(backend.keys.metaKey(backend.keys.shardOf('n2')), 'n2');
    expect(raw!.split('\t')[1]).toMatch(/^-\d+$/); // acquired before the fence's own millisecond: a negative offset

    expect(await backend.raiseFence('n2', 't2', granted.fence)).toBe(true); // lower: kept as is
    expect((await backend.inspect('n2')).lastFence).toBe(higher);
    expect(await backend.raiseFence('n2', 'not-the-holder', higher + 1)).toBe(false);
    expect((await backend.inspect('n2')).lastFence).toBe(higher);

    // The next acquisition's fence grows past the raised one, and its own acquiredAt decodes right.
    expect(await backend.release('n2', 't2')).toBe(true);
    const next = await backend.acquire({ resource: 'n2', token: 't3', owner: 'c3', purpose: '', ttlMs: 10_000 });
    if (!next.acquired) throw new Error('not granted');
    expect(next.fence).toBe(higher + 1);
    expect((await backend.inspect('n2')).holder).toEqual({ owner: 'c3', fence: higher + 1, acquiredAt: next.acquiredAt, purpose: '' });
  });

  it('dropLapsed drops the `held` entry of a resource whose lock is gone, never of one still held', async () => {
    const backend = new RedisBackend(redis, { prefix: uniquePrefix('record') });
    const granted = await backend.acquire({ resource: 'n4', token: 't4', owner: 'c4', purpose: '', ttlMs: 200 });
    if (!granted.acquired) throw new Error('not granted');
    expect(await backend.dropLapsed('n4')).toBe(false); // held: kept
    expect((await backend.inspect('n4')).holder).toMatchObject({ owner: 'c4' });
    await new Promise((resolve) => setTimeout(resolve, 400)); // expired unreleased: an orphan
    expect((await backend.orphans(10)).map((o) => o.resource)).toEqual(['n4']);
    expect(await backend.dropLapsed('n4')).toBe(true);
    expect(await backend.orphans(10)).toEqual([]);
    expect((await backend.inspect('n4')).lastFence).toBe(granted.fence); // the record, and its fence, stay
    expect(await backend.dropLapsed('n4')).toBe(false); // nothing left to drop
    await expect(backend.dropLapsed('')).rejects.toBeInstanceOf(InvalidNameError);
    await expect(backend.dropLapsed('x'.repeat(513))).rejects.toBeInstanceOf(InvalidNameError);
  });
});
