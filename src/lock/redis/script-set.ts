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

/** The two ioredis commands {@link ScriptSet.evalsha} and {@link ScriptSet.evalSource} send, on `Redis` and `Cluster` alike. */
interface RawEval {
  evalsha(sha: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
}

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
  readonly #shas: Readonly<Record<Name, string>>;

  constructor(family: string, specs: Readonly<Record<Name, ScriptSpec>>) {
    this.#specs = specs;
    const names = {} as Record<Name, string>;
    const shas = {} as Record<Name, string>;
    for (const name of Object.keys(specs) as Name[]) {
      shas[name] = createHash('sha1').update(specs[name].lua).digest('hex');
      names[name] = `leasehold_${family}_${name}_${shas[name].slice(0, 10)}`;
    }
    this.#names = Object.freeze(names);
    this.#shas = Object.freeze(shas);
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

  /**
   * Calls a script by a bare `EVALSHA` on the client: for single calls on hot paths, without the promise and
   * closures ioredis wraps around every call of a defined command (measured: 3-4 µs of a 100 µs round trip). The
   * caller must retry with {@link ScriptSet.evalSource} when the reply is a NOSCRIPT error
   * ({@link ScriptSet.isNoScript}): after a restart or failover, or on a server that never ran it.
   */
  evalsha(client: RedisClient, name: Name, args: (string | number)[]): Promise<unknown> {
    return (client as unknown as RawEval).evalsha(this.#shas[name], this.#keyCount(name), ...args);
  }

  /** Calls a script by `EVAL` with its source, which also caches it on that server for later `EVALSHA`s. */
  evalSource(client: RedisClient, name: Name, args: (string | number)[]): Promise<unknown> {
    return (client as unknown as RawEval).eval(this.#specs[name].lua, this.#keyCount(name), ...args);
  }

  /** Whether a call failed because the server does not know the script (it must be sent by source). */
  static isNoScript(error: unknown): boolean {
    return error instanceof Error && error.message.startsWith('NOSCRIPT');
  }

  /** The KEYS count of a script (bare calls need a fixed one; scripts taking it per call go through {@link ScriptSet.call}). */
  #keyCount(name: Name): number {
    const keys = this.#specs[name].keys;
    if (keys === undefined) throw new Error(`leasehold script ${name} takes its key count per call: use call()`);
    return keys;
  }

  /** Calls a script on a client (or a pipeline of one) on which {@link ScriptSet.define} ran. */
  call(target: object, name: Name, args: (string | number)[]): Promise<unknown> {
    const fn = (target as Record<string, ScriptCall | undefined>)[this.#names[name]];
    if (typeof fn !== 'function') throw new Error(`leasehold script ${name} is not defined on this client`);
    return fn.apply(target, args);
  }
}
