import { BackendError, InvalidOptionError } from '../lock/errors.js';
import type { RedisClient } from '../lock/redis/script-set.js';
import { checkInteger, checkName, checkOptions } from '../lock/validate.js';

/**
 * One entry of a Redis stream leasehold writes: the stream id, the entry's kind, and its JSON body.
 *
 * @example
 * ```ts
 * // Follow the recovery events, as `leasehold watch` does (a client of its own: a blocked read holds it)
 * const log = new RedisEventLog(redis.duplicate(), 'recovery-events', { prefix: 'ironic' });
 * for (let after = '$'; ; ) {
 *   const entries: LogEntry[] = await log.read(after, 5_000);
 *   for (const entry of entries) console.log(entry.type, JSON.stringify(entry.body));
 *   after = entries.at(-1)?.id ?? after;
 * }
 * ```
 */
export interface LogEntry<T = unknown> {
  /** The Redis stream id (`<ms>-<seq>`), usable as `after` to read on from it. */
  readonly id: string;
  /** What the entry is, e.g. `"recovered"` or `"forced-break"`. */
  readonly type: string;
  /** The entry's body as appended (parsed from JSON; the raw text when it is not JSON). */
  readonly body: T;
}

/**
 * Options of {@link RedisEventLog}.
 *
 * @example
 * ```ts
 * const options: RedisEventLogOptions = { prefix: 'ironic', maxLength: 100_000 }; // keep about 100,000 audit records
 * const recovery = new RecoveryManager({ locks, nodes, audit: new RedisEventLog(redis, 'audit', options) });
 * ```
 */
export interface RedisEventLogOptions {
  /**
   * Key prefix; use the one your `RedisBackend` uses.
   * @defaultValue `"leasehold"`
   */
  readonly prefix?: string;
  /**
   * Roughly how many entries the stream keeps (`XADD MAXLEN ~`).
   * @defaultValue `10_000`
   */
  readonly maxLength?: number;
}

/**
 * An append-only log in a Redis stream (`<prefix>:<name>`): recovery managers publish their events to
 * `recovery-events` so `leasehold watch` can follow them from another process, and forced breaks append audit
 * records to `audit`. One key, so it works on standalone, Sentinel and Cluster clients. Redis failures reject with
 * `BackendError`.
 *
 * @example
 * ```ts
 * const audit = new RedisEventLog(redis, 'audit', { prefix: 'ironic' }); // the stream ironic:audit
 * const recovery = new RecoveryManager({ locks, nodes, audit });
 * for (const entry of await audit.tail(10)) console.log(entry.id, entry.type, entry.body);
 * ```
 */
export class RedisEventLog {
  /** The stream's key. */
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #maxLength: number;

  /**
   * @param redis - an ioredis `Redis` or `Cluster` client; never closed by the log.
   * @param name - the stream's name after the prefix: `recovery-events` and `audit` are the ones leasehold reads.
   * @param options - see {@link RedisEventLogOptions}.
   * @throws `InvalidOptionError` when `redis` is not an ioredis client, `InvalidNameError` for a bad prefix or name,
   *   `InvalidOptionError` for a bad `maxLength`, `UnknownOptionError` for an unknown option.
   */
  constructor(redis: RedisClient, name: string, options?: RedisEventLogOptions) {
    if (typeof redis !== 'object' || redis === null || typeof (redis as { xadd?: unknown }).xadd !== 'function') {
      throw new InvalidOptionError('RedisEventLog needs an ioredis Redis or Cluster client as its first argument.');
    }
    const given = checkOptions<RedisEventLogOptions>('RedisEventLog options', options, ['prefix', 'maxLength']);
    this.key = `${checkName('RedisEventLog prefix', given.prefix ?? 'leasehold')}:${checkName('RedisEventLog name', name)}`;
    this.#maxLength = checkInteger('RedisEventLog maxLength', given.maxLength ?? 10_000, 1, 100_000_000);
    this.#redis = redis;
  }

  /** Appends an entry; resolves to its stream id. */
  async append(type: string, body: unknown): Promise<string> {
    checkName('entry type', type);
    try {
      const id = await this.#redis.xadd(this.key, 'MAXLEN', '~', this.#maxLength, '*', 'type', type, 'body', JSON.stringify(body));
      return id ?? '';
    } catch (cause) {
      throw BackendError.wrap(cause, `Appending to ${this.key}`);
    }
  }

  /** The last `count` entries, oldest first. */
  async tail(count: number): Promise<LogEntry[]> {
    checkInteger('tail count', count, 1, 100_000);
    try {
      const rows = await this.#redis.xrevrange(this.key, '+', '-', 'COUNT', count);
      return rows.reverse().map(decode);
    } catch (cause) {
      throw BackendError.wrap(cause, `Reading ${this.key}`);
    }
  }

  /**
   * Entries after stream id `after` (`"$"`: only new ones), waiting up to `blockMs` for one to arrive. Resolves to
   * `[]` when none came. Give it a client of its own: a blocked read holds its connection.
   */
  async read(after: string, blockMs: number): Promise<LogEntry[]> {
    checkInteger('read blockMs', blockMs, 0, 2_147_483_647);
    try {
      const reply = await this.#redis.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', this.key, after);
      return reply ? reply.flatMap(([, rows]) => rows.map(decode)) : [];
    } catch (cause) {
      throw BackendError.wrap(cause, `Reading ${this.key}`);
    }
  }
}

function decode([id, fields]: [string, string[]]): LogEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  let body: unknown = null;
  try {
    body = JSON.parse(map.get('body') ?? 'null');
  } catch {
    body = map.get('body') ?? null;
  }
  return { id, type: map.get('type') ?? '', body };
}
