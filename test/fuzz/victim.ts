// The bystander of the fuzzing: a real lease held by another owner on the same private Redis, through a lock
// manager of its own. Whatever the fuzzed calls do, its lock must stay exactly as it was: same token in the lock
// key, same holder and fence by inspect(), still held and never reported lost.
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { LockManager, RedisBackend, type HolderInfo, type Lease } from '../../src/index.js';

/** A lease held by `owner` on `resource`, and how to check nothing touched it. */
export class Victim {
  private constructor(
    readonly lease: Lease,
    readonly holder: HolderInfo,
    readonly lockKey: string,
    readonly locks: LockManager,
    readonly redis: Redis,
    readonly lost: unknown[],
  ) {}

  /** Takes `resource` as `owner` with a long TTL (heartbeated by its own manager) and records its state. */
  static async hold(redis: Redis, prefix: string, resource: string, owner = 'victim-owner'): Promise<Victim> {
    const backend = new RedisBackend(redis, { prefix });
    const locks = new LockManager({ backend, ttlMs: 60_000 });
    const lease = await locks.acquire(resource, { owner, purpose: 'bystander' });
    const lost: unknown[] = [];
    lease.on('lost', (error) => lost.push(error));
    const info = await locks.inspect(resource);
    if (!info.holder) throw new Error(`the victim's lease on ${resource} is not visible`);
    return new Victim(lease, info.holder, backend.keys.lockKey(resource), locks, redis, lost);
  }

  /** Fails unless the lease is untouched: same token in Redis, same holder (owner, fence, acquiredAt), held, not lost. */
  async expectUntouched(): Promise<void> {
    expect(this.lost, `the victim's lease on ${this.lease.resource} was reported lost`).toEqual([]);
    expect(this.lease.state).toBe('held');
    expect(await this.redis.get(this.lockKey), `token in ${this.lockKey}`).toBe(this.lease.token);
    const info = await this.locks.inspect(this.lease.resource);
    expect(info.holder).toEqual(this.holder);
    expect(info.lastFence).toBe(this.holder.fence);
    expect(info.orphan).toBeNull();
  }

  /** Releases the lease and closes its manager. */
  async release(): Promise<void> {
    await this.locks.close();
  }
}
