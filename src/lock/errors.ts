/**
 * Every error leasehold throws is a {@link LeaseholdError} with a stable `code`, so callers can branch on
 * `instanceof` or on `code` and never on message text.
 *
 * @packageDocumentation
 */

/**
 * Information about who holds (or last held) a resource, as recorded in Redis.
 *
 * @example
 * ```ts
 * try {
 *   await locks.acquire('node:node-1', { owner: 'conductor-b', waitMs: 1_000 });
 * } catch (error) {
 *   if (!(error instanceof LockHeldError)) throw error;
 *   const holder: HolderInfo | null = error.holder;
 *   if (holder) console.log(`${holder.owner} holds node-1 for "${holder.purpose}" since ${new Date(holder.acquiredAt).toISOString()}`);
 * }
 * ```
 */
export interface HolderInfo {
  /** The holder's identity, e.g. a conductor id. */
  readonly owner: string;
  /** The fence issued to that holder's acquisition. */
  readonly fence: number;
  /** Free text the holder gave when it acquired, e.g. `"deploy"`; empty when none was given. */
  readonly purpose: string;
  /** When the holder acquired, in epoch milliseconds of the Redis server's clock. */
  readonly acquiredAt: number;
}

/**
 * The holder whose lease expired (or was broken) without being released, as a new acquisition finds it.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire(nodeResource('node-1'), { owner: 'conductor-b' });
 * const previous: PreviousHolder | null = lease.previous;
 * if (previous) console.warn(`${previous.owner} died holding node-1 (fence ${previous.fence}), expired ${new Date(previous.expiredAt).toISOString()}`);
 * ```
 */
export interface PreviousHolder extends HolderInfo {
  /** When its lease expired (its deadline in Redis), epoch milliseconds of the Redis server's clock. */
  readonly expiredAt: number;
}

/**
 * Base class of every error thrown by leasehold. `name` is the subclass's name; `cause`, when set, is the
 * underlying error (e.g. the ioredis or `pg` error).
 *
 * @example
 * ```ts
 * try {
 *   await locks.acquire('node-1', { owner: 'conductor-a' });
 * } catch (error) {
 *   if (error instanceof LeaseholdError && error.code === 'LOCK_HELD') console.log('busy, try later');
 *   else throw error;
 * }
 * ```
 */
export abstract class LeaseholdError extends Error {
  /** A stable, machine-readable identifier of the failure kind, e.g. `"LOCK_HELD"`; never changes with the message. */
  abstract readonly code: string;

  /**
   * For subclasses: leasehold's own errors are made by leasehold.
   * @param message - what failed, the bad value, and what to do about it.
   * @param options - `{ cause }`: the underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An argument or option of a public call was invalid; the message names it and echoes the bad value. Nothing was
 * sent to Redis. Thrown synchronously by constructors, rejected by async calls.
 *
 * @example
 * ```ts
 * try {
 *   new LockManager({ backend, ttlMs: 0 });
 * } catch (error) {
 *   if (error instanceof InvalidArgumentError) console.error(error.message); // a configuration mistake: fix the call
 * }
 * ```
 */
export abstract class InvalidArgumentError extends LeaseholdError {}

/**
 * A TTL or duration was not a whole number of milliseconds in the allowed range (from 1 ms, or 0 where waiting is
 * optional, to about 24 days, the longest Node.js timer).
 *
 * @example
 * ```ts
 * new LockManager({ backend, ttlMs: 2.5 }); // throws InvalidTtlError: ttlMs must be a whole number of ms
 * ```
 */
export class InvalidTtlError extends InvalidArgumentError {
  /** Always `"INVALID_TTL"`. */
  readonly code = 'INVALID_TTL' as const;
}

/**
 * The heartbeat interval does not fit within the lease's validity (`ttlMs` minus the drift margin), so leases
 * would expire between heartbeats. Also thrown by `lease.extend(ms)` with a TTL too short for the interval.
 *
 * @example
 * ```ts
 * new LockManager({ backend, ttlMs: 1_000, heartbeatMs: 1_000 }); // throws InvalidHeartbeatError
 * ```
 */
export class InvalidHeartbeatError extends InvalidArgumentError {
  /** Always `"INVALID_HEARTBEAT"`. */
  readonly code = 'INVALID_HEARTBEAT' as const;
}

/**
 * A resource, owner, purpose, node id or prefix was empty, not a string, too long (resources, owners and purposes:
 * 512 UTF-8 bytes; node ids: 255) or contained forbidden characters (`{` or `}` in a prefix).
 *
 * @example
 * ```ts
 * await locks.acquire('', { owner: 'conductor-a' }); // rejects with InvalidNameError
 * ```
 */
export class InvalidNameError extends InvalidArgumentError {
  /** Always `"INVALID_NAME"`. */
  readonly code = 'INVALID_NAME' as const;
}

/**
 * An options object held a key leasehold does not know (often a typo); the message lists the known ones.
 *
 * @example
 * ```ts
 * await locks.acquire('node-1', { owner: 'conductor-a', waitMS: 500 } as AcquireOptions); // rejects: the message lists the known options
 * ```
 */
export class UnknownOptionError extends InvalidArgumentError {
  /** Always `"UNKNOWN_OPTION"`. */
  readonly code = 'UNKNOWN_OPTION' as const;
}

/**
 * An option had a value of the wrong type or outside its range, or a required one was missing.
 *
 * @example
 * ```ts
 * new LockManager({ backend, ttlMs: 10_000, driftFactor: 2 }); // throws InvalidOptionError: from 0 to 0.5
 * ```
 */
export class InvalidOptionError extends InvalidArgumentError {
  /** Always `"INVALID_OPTION"`. */
  readonly code = 'INVALID_OPTION' as const;
}

/**
 * The resource is held by someone else and the acquisition did not succeed within `waitMs`. Thrown by
 * `locks.acquire()` and `locks.using()`; `tryAcquire()` resolves to `null` instead.
 *
 * @example
 * ```ts
 * try {
 *   await locks.acquire('node-1', { owner: 'conductor-b', waitMs: 2_000 });
 * } catch (error) {
 *   if (!(error instanceof LockHeldError)) throw error;
 *   console.log(`held by ${error.holder?.owner ?? 'someone'} for ${error.holderTtlMs ?? '?'} more ms`);
 * }
 * ```
 */
export class LockHeldError extends LeaseholdError {
  /** Always `"LOCK_HELD"`. */
  readonly code = 'LOCK_HELD' as const;

  /** Made by the lock manager when an acquisition gives up; the message names the holder. */
  constructor(
    /** The resource that could not be acquired. */
    readonly resource: string,
    /** The holder seen at the last attempt, or `null` when Redis did not say (e.g. it released in between). */
    readonly holder: HolderInfo | null,
    /** Milliseconds left on the holder's lease at the last attempt, when known. */
    readonly holderTtlMs: number | null,
    /** How long this call waited, in milliseconds. */
    readonly waitedMs: number,
  ) {
    const who = holder ? `"${holder.owner}" (fence ${holder.fence}${holder.purpose ? `, purpose "${holder.purpose}"` : ''})` : 'another holder';
    const left = holderTtlMs !== null && holderTtlMs >= 0 ? `, ${holderTtlMs} ms left on its lease` : '';
    super(
      `Resource "${resource}" is held by ${who}${left}; gave up after waiting ${Math.round(waitedMs)} ms. ` +
        'Pass a larger waitMs to wait for it, or use tryAcquire() to get null instead of an error.',
    );
  }
}

/**
 * Why a lease was lost.
 *
 * @example
 * ```ts
 * locks.on('lost', (lease, error) => {
 *   const reason: LeaseLostReason = error.reason;
 *   if (reason === 'forced') console.warn(`${lease.resource}: broken on purpose (an operator, or a recovery)`);
 *   else console.warn(`${lease.resource}: lost (${reason}); is Redis slow or unreachable?`);
 * });
 * ```
 */
export type LeaseLostReason =
  /** Redis no longer holds this lease's token: the lock expired, was deleted, or was taken by force. */
  | 'token-mismatch'
  /** The lease could not be confirmed before its local validity deadline (Redis slow or unreachable, event loop blocked). */
  | 'deadline'
  /** The lease was broken on purpose with `breakLease()` (its holder was declared dead, or an operator forced it). */
  | 'forced';

/**
 * A lease was lost: its holder must stop acting on the resource, and its writes fenced with `fence` may be refused
 * from now on. It is the reason of the lease's aborted `signal`, the payload of its `lost` event, and what
 * `lease.extend()` rejects with afterwards. Its `cause` is the last heartbeat error, when there was one.
 *
 * @example
 * ```ts
 * lease.on('lost', (error) => console.warn(`${error.resource}: lost (${error.reason}), stopping`));
 * await doWork({ signal: lease.signal }); // rejects with this LeaseLostError once the lease is lost
 * ```
 */
export class LeaseLostError extends LeaseholdError {
  /** Always `"LEASE_LOST"`. */
  readonly code = 'LEASE_LOST' as const;

  /** Made by the lock manager when it finds a lease lost. */
  constructor(
    /** The resource whose lease was lost. */
    readonly resource: string,
    /** The fence of the lost lease; writes fenced with it may now be rejected. */
    readonly fence: number,
    /** Why the lease was lost. */
    readonly reason: LeaseLostReason,
    options?: ErrorOptions,
  ) {
    const why =
      reason === 'token-mismatch'
        ? 'Redis no longer holds its token (it expired, was deleted or was taken by force)'
        : reason === 'forced'
          ? 'it was broken on purpose with breakLease()'
          : 'it could not be renewed before its local validity deadline';
    super(`Lease on "${resource}" (fence ${fence}) was lost: ${why}. Stop work on it and acquire it again.`, options);
  }
}

/**
 * An operation needed a held lease, but the lease was already released: `lease.extend()` after `lease.release()`.
 *
 * @example
 * ```ts
 * await lease.release();
 * await lease.extend(); // rejects with LeaseReleasedError
 * ```
 */
export class LeaseReleasedError extends LeaseholdError {
  /** Always `"LEASE_RELEASED"`. */
  readonly code = 'LEASE_RELEASED' as const;

  /** Made by a lease asked to act after its release. */
  constructor(
    /** The resource of the released lease. */
    readonly resource: string,
    /** The fence of the released lease. */
    readonly fence: number,
  ) {
    super(`Lease on "${resource}" (fence ${fence}) was already released; acquire the resource again to extend it.`);
  }
}

/**
 * The lock manager was closed (`locks.close()`); it acquires nothing more. An acquisition waiting for a held
 * resource when `close()` is called rejects with it too.
 *
 * @example
 * ```ts
 * await locks.close();
 * await locks.tryAcquire('node-1', { owner: 'conductor-a' }); // rejects with ManagerClosedError
 * ```
 */
export class ManagerClosedError extends LeaseholdError {
  /** Always `"MANAGER_CLOSED"`. */
  readonly code = 'MANAGER_CLOSED' as const;

  /** Made by a closed lock manager asked to acquire. */
  constructor() {
    super('This LockManager was closed; create a new LockManager to acquire again.');
  }
}

/**
 * Redis (or PostgreSQL) failed, did not answer in time, or answered something unexpected. The original error is
 * the `cause`. Whether the operation took effect is unknown: an acquisition that failed this way is given back as an orphan.
 *
 * @example
 * ```ts
 * try {
 *   await nodes.get('node-1');
 * } catch (error) {
 *   if (error instanceof BackendError) console.error('store unavailable:', error.cause);
 *   else throw error;
 * }
 * ```
 */
export class BackendError extends LeaseholdError {
  /** Always `"BACKEND_ERROR"`. */
  readonly code = 'BACKEND_ERROR' as const;

  /** `cause` itself when it is a BackendError already, else a BackendError wrapping it. */
  static wrap(cause: unknown, what = 'Redis call'): BackendError {
    if (cause instanceof BackendError) return cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new BackendError(`${what} failed: ${message}`, { cause });
  }
}

/**
 * A Redis server that stores leases may evict keys (`maxmemory` set and a `maxmemory-policy` other than
 * `noeviction`): it could delete a live lock under memory pressure, silently (no `expired` event; a rival can take the
 * resource while its holder still believes it holds it), and with an `allkeys-*` policy also the records that keep
 * fences growing; or a Redis server that stores a `RedisNodeStore`'s records (no TTL) has an `allkeys-*` policy.
 * `Conductor.start()` and `RecoveryManager.start()` refuse to start with it, unless given `allowEviction: true`.
 * Nothing was registered or subscribed.
 *
 * @example
 * ```ts
 * try {
 *   await conductor.start();
 * } catch (error) {
 *   if (error instanceof EvictionPolicyError) console.error(error.servers.map((s) => `${s.server}: ${s.policy}`).join(', '));
 *   throw error;
 * }
 * ```
 */
export class EvictionPolicyError extends LeaseholdError {
  /** Always `"EVICTION_POLICY"`. */
  readonly code = 'EVICTION_POLICY' as const;

  /** Made by `Conductor.start()` and `RecoveryManager.start()` from what `checkEvictionPolicy` read. */
  constructor(
    /** The servers that may evict, with their `maxmemory` (bytes) and `maxmemory-policy`. */
    readonly servers: readonly {
      /** The server, as `host:port`. */
      readonly server: string;
      /** Its `maxmemory` in bytes, or `null` when unread. */
      readonly maxmemory: number | null;
      /** Its `maxmemory-policy`, or `null` when unread. */
      readonly policy: string | null;
      /** What it stores: `leases` (the default), or `records` without a TTL, such as a `RedisNodeStore`'s nodes. */
      readonly holds?: 'leases' | 'records';
    }[],
  ) {
    const each = (list: typeof servers): string =>
      list.map((s) => `${s.server} (maxmemory ${s.maxmemory ?? '?'} bytes, maxmemory-policy ${s.policy ?? '?'})`).join(', ');
    const leases = servers.filter((s) => s.holds !== 'records');
    const records = servers.filter((s) => s.holds === 'records');
    const risks: string[] = [];
    if (leases.length > 0) {
      const fences = leases.some((s) => s.policy?.startsWith('allkeys-')) ? ', and its allkeys policy can evict the fence records too' : '';
      risks.push(
        `Redis ${each(leases)} may evict keys under memory pressure: it can delete a live lock silently (no expiry event; ` +
          `another holder can take the node while its holder still believes it holds it)${fences}`,
      );
    }
    if (records.length > 0) {
      risks.push(`Redis ${each(records)} stores node records without a TTL, and its allkeys policy can evict them under memory pressure (a node's state and fence would vanish)`);
    }
    super(
      `${risks.join('; ')}. Set \`maxmemory-policy noeviction\` ` +
        '(CONFIG SET maxmemory-policy noeviction, and in redis.conf), or pass allowEviction: true to start anyway with a warning.',
    );
  }
}

/**
 * Quorum mode: too few masters answered to reach a majority. Nothing is held: partial grants were taken back.
 *
 * @example
 * ```ts
 * try {
 *   await locks.acquire('node-1', { owner: 'conductor-a' });
 * } catch (error) {
 *   if (error instanceof QuorumError) console.error(`${error.unreachable.join(', ')} down; need ${error.quorum}`);
 *   else throw error;
 * }
 * ```
 */
export class QuorumError extends LeaseholdError {
  /** Always `"QUORUM_UNREACHABLE"`. */
  readonly code = 'QUORUM_UNREACHABLE' as const;

  /** Made by a {@link QuorumBackend} that could not reach a majority. */
  constructor(
    /** What was attempted, e.g. `acquire "node:n1"`. */
    readonly operation: string,
    /** The masters that failed or did not answer in time, as `host:port`. */
    readonly unreachable: readonly string[],
    /** How many answers a majority needs. */
    readonly quorum: number,
    options?: ErrorOptions,
  ) {
    super(
      `${operation} needs ${quorum} masters but ${unreachable.length} of them did not answer: ${unreachable.join(', ')}. ` +
        'Bring them back (or fix the network to them); until then nothing can be held safely.',
      options,
    );
  }
}
