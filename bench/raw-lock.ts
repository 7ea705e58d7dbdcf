import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Compare-and-delete: deletes the lock only when it still holds this token. */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RELEASE_SHA = createHash('sha1').update(RELEASE_LUA).digest('hex');

/**
 * The floor every Redis lock pays: `SET key token NX PX ttl` to acquire, a Lua compare-and-delete by `EVALSHA`
 * to release. One round trip each, no fencing, no renewal, no holder record.
 */
export class RawLock {
  constructor(
    private readonly client: Redis,
    private readonly ttlMs: number,
  ) {}

  /** Loads the release script so `EVALSHA` never misses. */
  async prepare(): Promise<void> {
    const sha = await this.client.script('LOAD', RELEASE_LUA);
    if (sha !== RELEASE_SHA) throw new Error(`unexpected script sha ${String(sha)}`);
  }

  /** One attempt: the token when the lock was taken, `null` when someone holds it. */
  async tryAcquire(key: string): Promise<string | null> {
    const token = randomUUID();
    return (await this.client.set(key, token, 'PX', this.ttlMs, 'NX')) === 'OK' ? token : null;
  }

  /** Deletes the lock if `token` still holds it; true when it did. */
  async release(key: string, token: string): Promise<boolean> {
    return (await this.client.evalsha(RELEASE_SHA, 1, key, token)) === 1;
  }
}
