import type { Cluster } from 'ioredis';
import type {
  AcquireOutcome,
  AcquireRequest,
  BreakOutcome,
  ExtendItem,
  ExtendPart,
  HandOverOutcome,
  LeaseRecord,
  LockBackend,
  OrphanRecord,
  PingResult,
  ResourceState,
} from '../backend.js';
import { monotonicNow } from '../clock.js';
import { BackendError, InvalidNameError, InvalidOptionError, type PreviousHolder } from '../errors.js';
import { redactSecrets } from '../logger.js';
import { MAX_DURATION_MS, MAX_NAME_BYTES, checkDuration, checkInteger, checkName, checkOptions, checkResourcePrefix, show } from '../validate.js';
import { KeySpace } from './keys.js';
import { decodeRecord, encodeRecord } from './records.js';
import { ScriptSet } from './script-set.js';
import { lockScripts, type RedisClient } from './scripts.js';
import { WriteBatcher } from './write-batcher.js';

/**
 * Options of {@link RedisBackend}.
 *
 * @example
 * ```ts
 * const options: RedisBackendOptions = { prefix: 'ironic', shards: 64 }; // more shards to spread over a Cluster's masters
 * const locks = new LockManager({ backend: new RedisBackend(redis, options), ttlMs: 30_000 });
 * ```
 */
export interface RedisBackendOptions {
  /**
   * Prefix of every key leasehold writes. Give each deployment (and each test) its own.
   * @defaultValue `"leasehold"`
   * @example `"ironic-prod"`
   */
  readonly prefix?: string;
  /**
   * How many shards resources are spread over. A heartbeat costs one script call per shard that holds leases;
   * on a Cluster, shards are spread over the masters. Fixed per deployment: changing it moves every key.
   * @defaultValue `16`
   * @example `64` for a Cluster of many masters
   */
  readonly shards?: number;
}

/**
 * Defaults of {@link RedisBackendOptions}.
 *
 * @example
 * ```ts
 * // Find the keys of a deployment that kept the defaults, e.g. with redis-cli --scan
 * const pattern = `${REDIS_BACKEND_DEFAULTS.prefix}:{*}:lock:*`; // "leasehold:{*}:lock:*"
 * ```
 */
export const REDIS_BACKEND_DEFAULTS = Object.freeze({
  /** Keys start with `leasehold:`. */
  prefix: 'leasehold',
  /** 16 shards: a heartbeat makes at most 16 script calls. */
  shards: 16,
} as const);

const OPTION_KEYS = ['prefix', 'shards'] as const;

/** How long listing orphans may take before it fails, in ms. */
const ORPHANS_TIMEOUT_MS = 30_000;

/** Entries of `held` one leases() script call reads. */
const LEASES_PAGE = 500;

/** Most leases one heartbeat script renews, so a script never blocks Redis for long. */
const EXTEND_CHUNK = 1000;

/** A name's byte length as the renewal script reads it (scripts/extend-1.lua): three decimal digits, '000' to '512'. */
const PACKED_LENGTH = Array.from({ length: MAX_NAME_BYTES + 1 }, (_, bytes) => String(bytes).padStart(3, '0'));

/** Longest name that cannot exceed {@link MAX_NAME_BYTES} UTF-8 bytes whatever it holds (3 bytes per UTF-16 unit at most). */
const MAX_SHORT_NAME = Math.floor(MAX_NAME_BYTES / 3);

/** A renewal item as scripts/extend-1.lua reads it: `<resource bytes><token bytes><resource><token>`, and its shard. */
interface PackedItem {
  readonly resource: string;
  readonly token: string;
  readonly shard: number;
  readonly entry: string;
}

/** The renewal items of one shard (and TTL) in one heartbeat: packed entries, and the items' indexes. */
interface ShardBatch {
  readonly entries: string[];
  readonly indexes: number[];
}

/**
 * Leases stored in one Redis deployment: a standalone server, a Sentinel-managed master, or a Cluster, through
 * the ioredis client you pass in (leasehold never creates or closes it).
 *
 * @example
 * ```ts
 * const backend = new RedisBackend(new Redis('redis://127.0.0.1:6380'), { prefix: 'conductors' });
 * ```
 */
export class RedisBackend implements LockBackend {
  /** The key layout in use. */
  readonly keys: KeySpace;
  readonly #client: RedisClient;
  readonly #batcher: WriteBatcher;
  /**
   * Each renewal item's shard and packed entry, made the first time the item is renewed: a LockManager passes the
   * same item for a lease at every beat, so a big heartbeat does not hash, measure and concatenate every name
   * again (nor make that garbage) each time. Keyed by the item object; checked against its names on use.
   */
  readonly #packed = new WeakMap<ExtendItem, PackedItem>();

  /**
   * @param client - an ioredis `Redis` (standalone or Sentinel) or `Cluster` client; the scripts are defined on it
   *   once (loaded by SHA on first use). leasehold never closes it.
   * @param options - see {@link RedisBackendOptions}.
   * @throws {@link InvalidOptionError} when `client` is not an ioredis client or `shards` is not 1 to 16,384;
   *   {@link InvalidNameError} for a bad prefix; {@link UnknownOptionError} for an unknown option.
   */
  constructor(client: RedisClient, options?: RedisBackendOptions) {
    if (typeof client !== 'object' || client === null || typeof (client as { defineCommand?: unknown }).defineCommand !== 'function') {
      throw new InvalidOptionError('RedisBackend needs an ioredis Redis or Cluster client as its first argument.');
    }
    const given = checkOptions<RedisBackendOptions>('RedisBackend options', options, OPTION_KEYS);
    const prefix = given.prefix === undefined ? REDIS_BACKEND_DEFAULTS.prefix : given.prefix;
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 128 || /[{}]/.test(prefix)) {
      throw new InvalidNameError(
        `RedisBackend prefix must be a non-empty string of at most 128 characters without "{" or "}" (they would break Cluster hash tags); got ${show(prefix)}.`,
      );
    }
    const shards = checkInteger('RedisBackend shards', given.shards ?? REDIS_BACKEND_DEFAULTS.shards, 1, 16384);
    this.keys = new KeySpace(prefix, shards);
    this.#client = client;
    this.#batcher = new WriteBatcher(client);
    lockScripts.define(client);
  }

  /** The ioredis client this backend uses (yours: leasehold never closes it). */
  get client(): RedisClient {
    return this.#client;
  }

  /** Takes the resource if free or orphaned (one script call); see scripts/acquire-4.lua. */
  async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const args = this.#acquireArgs(request, 'RedisBackend.acquire');
    return decodeAcquire(await this.#call('acquire', args), request.resource);
  }

  /**
   * Releases `lease` and grants its resource to `next` in one script call, unless the lease was lost or another
   * manager's acquisition waits for the resource; see scripts/hand-over-4.lua.
   */
  async handOver(lease: { readonly resource: string; readonly token: string }, next: AcquireRequest): Promise<HandOverOutcome> {
    if (typeof lease !== 'object' || lease === null) throw new InvalidOptionError('RedisBackend.handOver needs the lease to release: { resource, token }.');
    checkName('token', lease.token);
    const args = this.#acquireArgs(next, 'RedisBackend.handOver');
    if (lease.resource !== next.resource) {
      throw new InvalidOptionError(`RedisBackend.handOver passes one resource: the lease is on "${String(lease.resource)}", the next acquisition asks for "${next.resource}".`);
    }
    const reply = await this.#call('handOver', [...args, lease.token]);
    const [code, record] = reply as [number, unknown];
    if (code === 4) {
      // Ran twice (re-sent after a reconnect): the first run released the lease and made this grant, which took
      // over no orphan (the resource had just been released).
      const { holder } = decodeRecord(record);
      if (!holder) throw new BackendError(`The hand-over of "${next.resource}" found its grant without a record: is another program writing leasehold's keys?`);
      return { released: true, granted: { acquired: true, fence: holder.fence, acquiredAt: holder.acquiredAt, previous: null } };
    }
    if (code === 3) return { released: false, granted: null };
    if (code === 2) return { released: true, granted: null };
    const outcome = decodeAcquire(reply, next.resource);
    if (!outcome.acquired) throw new BackendError(`The hand-over of "${next.resource}" released the lease but its grant was refused: the scripts are out of step.`);
    return { released: true, granted: outcome };
  }

  /** Checks an acquisition request and makes the acquire script's KEYS and ARGV. */
  #acquireArgs(request: AcquireRequest, what: string): (string | number)[] {
    if (typeof request !== 'object' || request === null) {
      throw new InvalidOptionError(`${what} needs a request object: { resource, token, owner, purpose, ttlMs, waiter? }.`);
    }
    const { resource, token, ttlMs, owner, purpose, waiter } = request;
    checkName('resource', resource);
    checkName('token', token);
    checkName('owner', owner);
    if (purpose !== '') checkName('purpose (or "" for none)', purpose);
    checkDuration('ttlMs', ttlMs);
    if (waiter !== undefined) {
      checkName('waiter', waiter);
      if (!token.startsWith(waiter)) throw new InvalidOptionError(`The waiter "${waiter}" must be a prefix of the token "${token}": it names the acquisitions of one manager.`);
    }
    const shard = this.keys.shardOf(resource);
    return [
      this.keys.lockKey(resource, shard),
      this.keys.metaKey(shard),
      this.keys.heldKey(shard),
      this.keys.waitKey(resource, shard),
      resource,
      token,
      ttlMs,
      owner,
      purpose,
      '0',
      waiter ?? '',
    ];
  }

  /**
   * Renews many leases: one script call per shard (at most 1,000 leases each), all sent back to back without
   * waiting for answers, so one round trip per master; each call leaves as soon as it is packed and each part
   * resolves as its answer arrives. A master that fails or stalls leaves only its own shards' items unknown.
   */
  extend(items: readonly ExtendItem[], options: { readonly timeoutMs: number }): Promise<ExtendPart>[] {
    const list: unknown = items;
    if (!Array.isArray(list)) throw new InvalidOptionError('RedisBackend.extend needs an array of { resource, token, ttlMs }.');
    checkDuration('extend timeoutMs', options?.timeoutMs);
    // The heartbeat's hot path, one pass before the first call leaves: each item's shard and packed entry (see
    // #packed), and grouping by TTL, then shard: one call per (TTL, shard) and at most EXTEND_CHUNK leases.
    // Normally every lease has the same TTL.
    const byTtl = new Map<number, ShardBatch[]>();
    let lastTtl = NaN;
    let byShard: ShardBatch[] = [];
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      if (typeof item !== 'object' || item === null) {
        throw new InvalidOptionError(`RedisBackend.extend needs items of the form { resource, token, ttlMs }; item ${index} is ${show(item)}.`);
      }
      const ttlMs = item.ttlMs;
      if (ttlMs !== lastTtl) {
        if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_DURATION_MS) checkDuration('ttlMs', ttlMs);
        let found = byTtl.get(ttlMs);
        if (!found) byTtl.set(ttlMs, (found = []));
        byShard = found;
        lastTtl = ttlMs;
      }
      let packed = this.#packed.get(item);
      if (packed === undefined || packed.resource !== item.resource || packed.token !== item.token) packed = this.#pack(item);
      const batch = byShard[packed.shard];
      if (batch) {
        batch.entries.push(packed.entry);
        batch.indexes.push(index);
      } else {
        byShard[packed.shard] = { entries: [packed.entry], indexes: [index] };
      }
    }
    const parts: Promise<ExtendPart>[] = [];
    for (const [ttlMs, shards] of byTtl) {
      // forEach skips the shards none of the leases is in
      shards.forEach(({ entries, indexes }, shard) => {
        for (let start = 0; start < indexes.length; start += EXTEND_CHUNK) {
          const whole = start === 0 && indexes.length <= EXTEND_CHUNK;
          const chunk = whole ? indexes : indexes.slice(start, start + EXTEND_CHUNK);
          const packed = (whole ? entries : entries.slice(start, start + EXTEND_CHUNK)).join('');
          // Sent as soon as it is packed, not with the others at the end: Redis runs this call while the next ones
          // are packed, and its answer is applied while Redis runs theirs.
          const reply = this.#send('extend', [this.keys.heldKey(shard), ttlMs, this.keys.lockPrefix(shard), packed], options.timeoutMs);
          parts.push(
            reply.then((value): ExtendPart => {
              if (value instanceof BackendError) return { indexes: chunk, renewed: null, error: value };
              const renewed = new Array<boolean>(chunk.length).fill(true);
              for (const position of value as number[]) renewed[position - 1] = false;
              return { indexes: chunk, renewed, error: null };
            }),
          );
        }
      });
    }
    this.#batcher.flush(); // every call is made: the last ones leave now, not after the first answers are read
    return parts;
  }

  /** Checks an item's names (as acquire did) and packs its entry for scripts/extend-1.lua. */
  #pack(item: ExtendItem): PackedItem {
    const { resource, token } = item;
    if (typeof resource !== 'string' || resource === '' || resource.length > MAX_SHORT_NAME) checkName('resource', resource);
    if (typeof token !== 'string' || token === '' || token.length > MAX_SHORT_NAME) checkName('token', token);
    const entry = PACKED_LENGTH[Buffer.byteLength(resource, 'utf8')]! + PACKED_LENGTH[Buffer.byteLength(token, 'utf8')]! + resource + token;
    const packed: PackedItem = { resource, token, shard: this.keys.shardOf(resource), entry };
    this.#packed.set(item, packed);
    return packed;
  }

  /** Compare-and-delete by token; see scripts/release-3.lua. */
  async release(resource: string, token: string): Promise<boolean> {
    checkName('resource', resource);
    checkName('token', token);
    const shard = this.keys.shardOf(resource);
    return (await this.#call('release', [this.keys.lockKey(resource, shard), this.keys.heldKey(shard), this.keys.waitKey(resource, shard), resource, token])) === 1;
  }

  /**
   * Deletes the lock if `token` holds it, leaving the resource an orphan: the one `previous` names when given, put
   * back as it was; else one of this acquisition. See scripts/abandon-3.lua.
   */
  async abandon(resource: string, token: string, previous?: PreviousHolder | null): Promise<boolean> {
    checkName('resource', resource);
    checkName('token', token);
    const orphan = previous ? [encodeRecord(previous), previous.expiredAt] : ['', ''];
    return (await this.#call('abandon', [...this.keys.resourceKeys(resource), resource, token, ...orphan])) === 1;
  }

  /** Reads a resource's lock, record and deadline in one script call. */
  async inspect(resource: string): Promise<ResourceState> {
    checkName('resource', resource);
    const [pttl, record, deadline] = (await this.#call('inspect', [...this.keys.resourceKeys(resource), resource])) as [
      number,
      unknown,
      unknown,
    ];
    const { fence, holder } = decodeRecord(record);
    const live = pttl >= 0 || pttl === -1;
    const unreleased = deadline !== null && deadline !== false;
    return {
      resource,
      holder: live ? holder : null,
      ttlMs: live ? pttl : null,
      lastFence: fence,
      lastHolder: holder,
      orphan: !live && holder && unreleased ? { resource, holder, expiredAt: Number(deadline) } : null,
    };
  }

  /**
   * Reads only expired entries of each shard's `held` set (one call per shard, one round trip). Entries that do
   * not count (another prefix's, or still live) are read past, up to 20,000 of them per shard and call (see
   * scripts/orphans-2.lua).
   */
  async orphans(limit: number, resourcePrefix = ''): Promise<OrphanRecord[]> {
    checkInteger('orphans limit', limit, 1, 100_000);
    checkResourcePrefix(resourcePrefix);
    const calls = Array.from({ length: this.keys.shards }, (_, shard) =>
      this.#send('orphans', [this.keys.heldKey(shard), this.keys.metaKey(shard), this.keys.lockPrefix(shard), limit, resourcePrefix], ORPHANS_TIMEOUT_MS),
    );
    this.#batcher.flush();
    const replies = await Promise.all(calls);
    const failed = replies.find((reply) => reply instanceof BackendError);
    if (failed) throw failed;
    const found: OrphanRecord[] = [];
    for (const reply of replies as string[][]) {
      for (let i = 0; i < reply.length; i += 3) {
        const holder = decodeRecord(reply[i + 1]).holder;
        if (holder) found.push({ resource: reply[i]!, holder, expiredAt: Number(reply[i + 2]) });
      }
    }
    found.sort((a, b) => a.expiredAt - b.expiredAt);
    return found.slice(0, limit);
  }

  /**
   * Pages through each shard's `held` set (500 entries per script call, shards in parallel) and returns the live
   * leases, only `owner`'s when given. Costs O(leases held), so it is meant for operators and restarts, not hot paths.
   */
  async leases(options: { readonly owner: string | null; readonly limit: number }): Promise<LeaseRecord[]> {
    const owner = options?.owner === null ? null : checkName('leases owner', options?.owner);
    const limit = checkInteger('leases limit', options.limit, 1, 10_000_000);
    const found: LeaseRecord[] = [];
    await Promise.all(
      Array.from({ length: this.keys.shards }, async (_, shard) => {
        for (let rank = 0; rank >= 0 && found.length < limit; ) {
          const reply = (await this.#call('leases', [
            this.keys.heldKey(shard),
            this.keys.metaKey(shard),
            this.keys.lockPrefix(shard),
            owner ?? '',
            rank,
            LEASES_PAGE,
          ])) as [number, ...(string | number)[]];
          rank = Number(reply[0]);
          for (let i = 1; i < reply.length; i += 3) {
            const holder = decodeRecord(reply[i + 1]).holder;
            if (holder) found.push({ resource: String(reply[i]), holder, ttlMs: Number(reply[i + 2]) });
          }
        }
      }),
    );
    found.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
    return found.slice(0, limit);
  }

  /** Breaks the live lease issued with `fence`, leaving an orphan (one script call); see scripts/break-3.lua. */
  async breakLease(resource: string, fence: number): Promise<BreakOutcome> {
    checkName('resource', resource);
    checkInteger('fence', fence, 1, Number.MAX_SAFE_INTEGER);
    const reply = (await this.#call('break', [...this.keys.resourceKeys(resource), resource, String(fence)])) as [number, unknown, number];
    const holder = decodeRecord(reply[1]).holder;
    if (reply[0] === 1 && holder) return { broken: true, holder, expiredAt: Number(reply[2]) };
    const ttl = Number(reply[2]);
    return { broken: false, holder, ttlMs: ttl >= 0 ? ttl : null };
  }

  /**
   * Drops the resource's `held` entry when its lock key is gone; `false` when the lock is held or there was no
   * entry. Quorum mode calls it on a master where a lease lapsed while a majority kept it, once that lease was
   * released (see scripts/drop-lapsed-2.lua).
   */
  async dropLapsed(resource: string): Promise<boolean> {
    checkName('resource', resource);
    const shard = this.keys.shardOf(resource);
    return (await this.#call('dropLapsed', [this.keys.lockKey(resource, shard), this.keys.heldKey(shard), resource])) === 1;
  }

  /**
   * Raises the fence recorded for the lease `token` holds to at least `fence` (one script call); `false` when the
   * token no longer holds the lock. Quorum mode writes a quorum's fence back with it.
   */
  async raiseFence(resource: string, token: string, fence: number): Promise<boolean> {
    checkName('resource', resource);
    checkName('token', token);
    checkInteger('fence', fence, 1, Number.MAX_SAFE_INTEGER);
    const shard = this.keys.shardOf(resource);
    return (await this.#call('raiseFence', [this.keys.lockKey(resource, shard), this.keys.metaKey(shard), resource, token, String(fence)])) === 1;
  }

  /**
   * PINGs the server within `timeoutMs` (a Cluster: every master the client knows, at once); never rejects. For
   * readiness checks: it says whether leases can be served now.
   */
  async ping(timeoutMs: number): Promise<PingResult> {
    checkDuration('ping timeoutMs', timeoutMs);
    const started = monotonicNow();
    const client = this.#client;
    const masters = client.isCluster ? (client as Cluster).nodes('master') : [];
    const targets: { name: string; ping: () => Promise<unknown> }[] = client.isCluster
      ? masters.map((node) => ({ name: serverName(node), ping: () => node.ping() }))
      : [{ name: serverName(client), ping: () => client.ping() }];
    if (targets.length === 0) targets.push({ name: 'cluster', ping: () => client.ping() }); // no slot map yet
    const answers = await Promise.all(targets.map((target) => settle(Promise.resolve().then(target.ping), timeoutMs)));
    const failed = answers.flatMap((answer, i) => (answer instanceof BackendError ? [{ name: targets[i]!.name, error: answer }] : []));
    return {
      reachable: failed.length === 0,
      unreachable: failed.map((f) => f.name),
      error: failed[0] ? redactSecrets(failed[0].error.message) : null,
      latencyMs: monotonicNow() - started,
    };
  }

  /** One script call, its write batched with the other calls of this backend in flight (see {@link WriteBatcher}). */
  async #call(name: 'acquire' | 'handOver' | 'release' | 'inspect' | 'leases' | 'break' | 'raiseFence' | 'abandon' | 'dropLapsed', args: (string | number)[]): Promise<unknown> {
    const batcher = this.#batcher;
    batcher.opening();
    try {
      const reply = lockScripts.evalsha(this.#client, name, args);
      batcher.written();
      try {
        return await reply;
      } catch (error) {
        if (!ScriptSet.isNoScript(error)) throw error;
        return await lockScripts.evalSource(this.#client, name, args); // restarted, failed over, or never loaded here
      }
    } catch (cause) {
      throw BackendError.wrap(cause);
    } finally {
      batcher.settled();
    }
  }

  /**
   * One call of a batch script (the renewal, the orphan listing), never rejecting: its reply, or a
   * {@link BackendError} when it failed or did not answer within `timeoutMs`. Its write is batched like
   * {@link RedisBackend.#call}'s: a batch's calls, made back to back, hold each other and leave in a few writes
   * (see {@link WriteBatcher}), not one system call each: one round trip per master. On a Cluster the
   * call goes to its shard's master.
   */
  #send(name: 'extend' | 'orphans', args: (string | number)[], timeoutMs: number): Promise<unknown> {
    const batcher = this.#batcher;
    batcher.opening();
    let reply: Promise<unknown>;
    try {
      reply = lockScripts.call(this.#client, name, args);
    } catch (cause) {
      batcher.settled();
      return Promise.resolve(BackendError.wrap(cause));
    }
    batcher.written();
    return settle(
      reply.finally(() => batcher.settled()),
      timeoutMs,
    );
  }
}


/** A server's address for messages: `host:port`, or the Sentinel master's name. */
function serverName(client: RedisClient): string {
  const options = client.options as { host?: string; port?: number; sentinels?: unknown; name?: string };
  if (Array.isArray(options.sentinels) && options.sentinels.length > 0) return `sentinel master "${options.name ?? 'mymaster'}"`;
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}

/** Resolves to the promise's value, or to a {@link BackendError} when it rejects or does not settle in `ms`. */
function settle(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<BackendError>((resolve) => {
    timer = setTimeout(() => resolve(new BackendError(`Redis did not answer within ${ms} ms.`)), ms);
    timer.unref();
  });
  return Promise.race([promise.catch((cause: unknown) => BackendError.wrap(cause)), timeout]).finally(() => clearTimeout(timer));
}

/** The acquire script's reply (scripts/acquire-4.lua) as an {@link AcquireOutcome}. */
function decodeAcquire(reply: unknown, resource: string): AcquireOutcome {
  const [granted, a, b, c, d] = reply as [number, unknown, unknown, unknown, unknown];
  if (granted === 4) {
    // The caller gives the grant back as an orphan of its own, as for any answer it did not get.
    throw new BackendError(
      `The acquisition of "${resource}" ran twice: the client sent it again after a reconnect, and the first answer was ` +
        'lost with the connection. Its grant is given back (whether it took over an orphan is not known); acquire again.',
    );
  }
  if (granted === 1) {
    const holder = decodeRecord(c).holder;
    return { acquired: true, fence: Number(a), acquiredAt: Number(b), previous: holder && { ...holder, expiredAt: Number(d) } };
  }
  const ttl = Number(b);
  return { acquired: false, holder: decodeRecord(a).holder, ttlMs: ttl >= 0 ? ttl : null };
}
