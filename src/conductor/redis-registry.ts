import { BackendError, InvalidOptionError } from '../lock/errors.js';
import type { RedisClient } from '../lock/redis/script-set.js';
import { checkName, checkOptions } from '../lock/validate.js';
import type { ConductorRecord, ConductorRegistry } from './registry.js';

/**
 * Options of {@link RedisConductorRegistry}.
 *
 * @example
 * ```ts
 * const options: RedisConductorRegistryOptions = { prefix: 'ironic' }; // the hash ironic:conductors
 * const registry = new RedisConductorRegistry(redis, options);
 * ```
 */
export interface RedisConductorRegistryOptions {
  /**
   * Key prefix; use the one your `RedisBackend` uses so operators find both together.
   * @defaultValue `"leasehold"`
   */
  readonly prefix?: string;
}

/**
 * A {@link ConductorRegistry} in one Redis hash (`<prefix>:conductors`, field = conductor id, value = JSON record).
 * Works on standalone, Sentinel and Cluster clients (one key). Records stay after a conductor stops (`stoppedAt`
 * set) so operators see it offline; `remove()` forgets one. Redis failures reject with `BackendError`.
 *
 * @example
 * ```ts
 * const registry = new RedisConductorRegistry(redis, { prefix: 'ironic' }); // the prefix of your RedisBackend
 * const conductor = new Conductor({ id: 'conductor-a', locks, nodes, registry });
 * ```
 */
export class RedisConductorRegistry implements ConductorRegistry {
  /** The hash that holds the records. */
  readonly key: string;
  readonly #redis: RedisClient;

  /**
   * @param redis - an ioredis `Redis` or `Cluster` client; the registry never closes it.
   * @param options - see {@link RedisConductorRegistryOptions}.
   * @throws `InvalidOptionError` when `redis` is not an ioredis client; `InvalidNameError` when the prefix is not a valid name,
   *   `UnknownOptionError` for an unknown option.
   */
  constructor(redis: RedisClient, options?: RedisConductorRegistryOptions) {
    if (typeof redis !== 'object' || redis === null || typeof (redis as { hset?: unknown }).hset !== 'function') {
      throw new InvalidOptionError('RedisConductorRegistry needs an ioredis Redis or Cluster client as its first argument.');
    }
    const given = checkOptions<RedisConductorRegistryOptions>('RedisConductorRegistry options', options, ['prefix']);
    const prefix = checkName('RedisConductorRegistry prefix', given.prefix ?? 'leasehold');
    this.key = `${prefix}:conductors`;
    this.#redis = redis;
  }

  async put(record: ConductorRecord): Promise<void> {
    checkName('conductor id', record?.id);
    await this.#run(() => this.#redis.hset(this.key, record.id, JSON.stringify(record)));
  }

  async get(id: string): Promise<ConductorRecord | null> {
    checkName('conductor id', id);
    const raw = await this.#run(() => this.#redis.hget(this.key, id));
    return raw === null ? null : parse(raw);
  }

  async list(): Promise<ConductorRecord[]> {
    const all = await this.#run(() => this.#redis.hgetall(this.key));
    return Object.keys(all)
      .sort()
      .map((id) => parse(all[id]!));
  }

  async remove(id: string): Promise<void> {
    checkName('conductor id', id);
    await this.#run(() => this.#redis.hdel(this.key, id));
  }

  async #run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw new BackendError(`Conductor registry at "${this.key}" failed: ${(cause as Error).message}`, { cause });
    }
  }
}

function parse(raw: string): ConductorRecord {
  try {
    return JSON.parse(raw) as ConductorRecord;
  } catch (cause) {
    throw new BackendError(`Unreadable conductor record ${JSON.stringify(raw.slice(0, 80))}`, { cause });
  }
}
