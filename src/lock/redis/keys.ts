/**
 * Key layout. Every key of one resource shares the hash tag of the resource's shard, so each script touches
 * one Cluster slot and a heartbeat needs one script call per shard. A `RedisBackend`'s is `backend.keys`: use it
 * to find a resource's keys when inspecting Redis by hand.
 *
 * | key                          | type        | holds                                  |
 * |------------------------------|-------------|----------------------------------------|
 * | `<prefix>:{<shard>}:lock:<resource>` | string, PX | the holder's token                  |
 * | `<prefix>:{<shard>}:meta`    | hash        | resource -> its record: last fence, owner, purpose, acquiredAt (kept after release) |
 * | `<prefix>:{<shard>}:held`    | sorted set  | resource -> lease deadline (server ms) |
 * | `<prefix>:{<shard>}:wait:<resource>` | string, PX | set while another manager waits for the resource (no longer than the lease) |
 *
 * @example
 * ```ts
 * const keys = new RedisBackend(redis, { prefix: 'ironic' }).keys;
 * console.log(keys.lockKey('node:node-1')); // "ironic:{<shard>}:lock:node:node-1"
 * ```
 */
export class KeySpace {
  /**
   * Only computes names: it never talks to Redis. `RedisBackend` makes one from its options.
   * @param prefix - prefix of every key.
   * @param shards - how many shards resources are spread over.
   */
  constructor(
    readonly prefix: string,
    readonly shards: number,
  ) {}

  /** The shard of a resource: FNV-1a of its UTF-8 bytes, modulo the shard count. */
  shardOf(resource: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < resource.length; i++) {
      const code = resource.charCodeAt(i);
      if (code >= 0x80) return this.#shardOfBytes(resource); // rare: hash the real UTF-8 bytes
      hash = Math.imul(hash ^ code, 0x01000193) >>> 0;
    }
    return hash % this.shards;
  }

  #shardOfBytes(resource: string): number {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(resource, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return hash % this.shards;
  }

  /** The key prefix shared by every key of a shard, hash tag included. */
  shardPrefix(shard: number): string {
    return `${this.prefix}:{${shard}}`;
  }

  /** The prefix of a shard's lock keys: the lock key is this plus the resource. */
  lockPrefix(shard: number): string {
    return `${this.shardPrefix(shard)}:lock:`;
  }

  /** The lock key of a resource: a string holding its holder's token, with the lease's TTL. */
  lockKey(resource: string, shard = this.shardOf(resource)): string {
    return this.lockPrefix(shard) + resource;
  }

  /** A shard's hash of resource records: last fence, and holder while held or orphaned. */
  metaKey(shard: number): string {
    return `${this.shardPrefix(shard)}:meta`;
  }

  /** A shard's sorted set of leases not released, scored by deadline (server ms). */
  heldKey(shard: number): string {
    return `${this.shardPrefix(shard)}:held`;
  }

  /**
   * The resource whose lock key `key` is (e.g. the key of an `expired` keyspace event), or `null` when `key` is
   * not a lock key of this key space.
   */
  resourceOfLockKey(key: string): string | null {
    const head = `${this.prefix}:{`;
    if (!key.startsWith(head)) return null;
    const close = key.indexOf('}:lock:', head.length);
    if (close < 0) return null;
    const shard = key.slice(head.length, close);
    const resource = key.slice(close + 7);
    if (!/^\d+$/.test(shard) || resource === '' || this.shardOf(resource) !== Number(shard)) return null;
    return resource;
  }

  /** The three keys the per-resource scripts take: lock, meta, held. */
  resourceKeys(resource: string): [string, string, string] {
    const shard = this.shardOf(resource);
    return [this.lockKey(resource, shard), this.metaKey(shard), this.heldKey(shard)];
  }

  /**
   * A resource's wait mark: set when an acquisition is refused by a holder of another manager and will ask again,
   * for no longer than the holder's lease; a manager with acquisitions of its own waiting then lets the resource
   * go free at release instead of handing it over to them, so waiters elsewhere are not starved.
   */
  waitKey(resource: string, shard = this.shardOf(resource)): string {
    return `${this.shardPrefix(shard)}:wait:${resource}`;
  }
}
