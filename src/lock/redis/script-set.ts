import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * The ioredis clients leasehold accepts: standalone/Sentinel (`Redis`) or `Cluster`.
 *
 * @example
 * ```ts
 * import { Cluster } from 'ioredis';
 *
 * const client: RedisClient = process.env.REDIS_CLUSTER ? new Cluster([{ host: 'redis-1', port: 6379 }]) : new Redis('redis://redis:6379');
 * const backend = new RedisBackend(client, { prefix: 'ironic' });
 * const nodes = new RedisNodeStore(client, { prefix: 'ironic' });
 * ```
 */
export type RedisClient = Redis | Cluster;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** A script: its Lua source and how many KEYS it takes (`undefined`: the caller passes the count first). */
export interface ScriptSpec {
  readonly lua: string;
  readonly keys: number | undefined;
}

/**
 * A family of Lua scripts, defined once per ioredis client and called by SHA (ioredis loads them on NOSCRIPT, in
 * pipelines and on every Cluster node alike). Each is defined under a command name that ends with a hash of its
 * text, so two versions of leasehold sharing one client never call each other's scripts.
 */
export class ScriptSet<Name extends string> {
  readonly #specs: Readonly<Record<Name, ScriptSpec>>;
  readonly #names: Readonly<Record<Name, string>>;

  constructor(family: string, specs: Readonly<Record<Name, ScriptSpec>>) {
    this.#specs = specs;
    const names = {} as Record<Name, string>;
    for (const name of Object.keys(specs) as Name[]) {
      const digest = createHash('sha1').update(specs[name].lua).digest('hex').slice(0, 10);
      names[name] = `leasehold_${family}_${name}_${digest}`;
    }
    this.#names = Object.freeze(names);
  }

  /** Defines the scripts on a client, once. */
  define(client: RedisClient): void {
    const known = client as unknown as Record<string, unknown>;
    for (const name of Object.keys(this.#specs) as Name[]) {
      if (typeof known[this.#names[name]] === 'function') continue;
      const spec = this.#specs[name];
      client.defineCommand(this.#names[name], spec.keys === undefined ? { lua: spec.lua } : { lua: spec.lua, numberOfKeys: spec.keys });
    }
  }

  /** Calls a script on a client (or a pipeline of one) on which {@link ScriptSet.define} ran. */
  call(target: object, name: Name, args: (string | number)[]): Promise<unknown> {
    const fn = (target as Record<string, ScriptCall | undefined>)[this.#names[name]];
    if (typeof fn !== 'function') throw new Error(`leasehold script ${name} is not defined on this client`);
    return fn.apply(target, args);
  }
}
