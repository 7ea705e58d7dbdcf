/**
 * Every error leasehold throws is a {@link LeaseholdError} with a stable `code`, so callers can branch on
 * `instanceof` or on `code` and never on message text.
 *
 * @packageDocumentation
 */

/** Information about who holds (or last held) a resource, as recorded in Redis. */
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

/** The holder whose lease expired (or was broken) without being released, as a new acquisition finds it. */
export interface PreviousHolder extends HolderInfo {
  /** When its lease expired (its deadline in Redis), epoch milliseconds of the Redis server's clock. */
  readonly expiredAt: number;
}

/** Base class of every error thrown by leasehold. */
export abstract class LeaseholdError extends Error {
  /** A stable, machine-readable identifier of the failure kind. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An argument or option of a public call was invalid. Nothing was sent to Redis. */
export abstract class InvalidArgumentError extends LeaseholdError {}

/** A TTL or duration was not a whole number of milliseconds in the allowed range. */
export class InvalidTtlError extends InvalidArgumentError {
  readonly code = 'INVALID_TTL' as const;
}

/** The heartbeat interval does not fit within the lease's validity. */
export class InvalidHeartbeatError extends InvalidArgumentError {
  readonly code = 'INVALID_HEARTBEAT' as const;
}

/** A resource, owner, purpose or prefix was empty, not a string, too long or contained forbidden characters. */
export class InvalidNameError extends InvalidArgumentError {
  readonly code = 'INVALID_NAME' as const;
}

/** An options object held a key leasehold does not know (often a typo). */
export class UnknownOptionError extends InvalidArgumentError {
  readonly code = 'UNKNOWN_OPTION' as const;
}

/** An option had a value of the wrong type or outside its range. */
export class InvalidOptionError extends InvalidArgumentError {
  readonly code = 'INVALID_OPTION' as const;
}

/** The resource is held by someone else and the acquisition did not succeed within `waitMs`. */
export class LockHeldError extends LeaseholdError {
  readonly code = 'LOCK_HELD' as const;

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

/** Why a lease was lost. */
export type LeaseLostReason =
  /** Redis no longer holds this lease's token: the lock expired, was deleted, or was taken by force. */
  | 'token-mismatch'
  /** The lease could not be confirmed before its local validity deadline (Redis slow or unreachable, event loop blocked). */
  | 'deadline'
  /** The lease was broken on purpose with `breakLease()` (its holder was declared dead, or an operator forced it). */
  | 'forced';

/** A lease was lost: its holder must stop acting on the resource. Also the reason of the lease's aborted `signal`. */
export class LeaseLostError extends LeaseholdError {
  readonly code = 'LEASE_LOST' as const;

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

/** An operation needed a held lease, but the lease was already released. */
export class LeaseReleasedError extends LeaseholdError {
  readonly code = 'LEASE_RELEASED' as const;

  constructor(readonly resource: string, readonly fence: number) {
    super(`Lease on "${resource}" (fence ${fence}) was already released; acquire the resource again to extend it.`);
  }
}

/** The lock manager was closed; it acquires nothing more. */
export class ManagerClosedError extends LeaseholdError {
  readonly code = 'MANAGER_CLOSED' as const;

  constructor() {
    super('This LockManager was closed; create a new LockManager to acquire again.');
  }
}

/** Redis failed or answered something unexpected. The original error is the `cause`. */
export class BackendError extends LeaseholdError {
  readonly code = 'BACKEND_ERROR' as const;

  /** `cause` itself when it is a BackendError already, else a BackendError wrapping it. */
  static wrap(cause: unknown, what = 'Redis call'): BackendError {
    if (cause instanceof BackendError) return cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new BackendError(`${what} failed: ${message}`, { cause });
  }
}

/** Quorum mode: too few masters answered to reach a majority. Nothing is held. */
export class QuorumError extends LeaseholdError {
  readonly code = 'QUORUM_UNREACHABLE' as const;

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
