import { EventEmitter } from 'eventemitter3';
import type { ExtendItem } from './backend.js';
import { monotonicNow } from './clock.js';
import { emitGuarded } from './emit.js';
import { LeaseReleasedError, type LeaseLostError, type PreviousHolder } from './errors.js';

/**
 * Events of a {@link Lease}. Listeners that throw are reported on the manager's `error` event, never into timers.
 *
 * @example
 * ```ts
 * lease.on('lost', (error) => console.warn(`${lease.resource}: ${error.reason}, stop now`));
 * lease.on('extended', ({ validUntil }) => console.debug(`valid until ${new Date(validUntil).toISOString()}`));
 * ```
 */
export interface LeaseEvents {
  /** The lease was renewed (by a heartbeat or `extend()`); it is valid until `validUntil` (epoch ms, local clock). */
  extended: (info: { readonly validUntil: number; readonly ttlMs: number }) => void;
  /** The lease was lost: stop acting on the resource. Emitted at most once; `signal` is aborted with the same error. */
  lost: (error: LeaseLostError) => void;
  /** The lease was released by its holder. Emitted at most once. */
  released: () => void;
}

/**
 * Where a lease is in its life: held, then either released by its holder or lost.
 *
 * @example
 * ```ts
 * const state: LeaseState = lease.state;
 * if (state !== 'held') throw new Error(`${lease.resource}: lease ${state}, acquire it again before writing`);
 * ```
 */
export type LeaseState = 'held' | 'lost' | 'released';

/** What a lease needs from the manager that issued it. */
export interface LeaseControl {
  release(lease: Lease): Promise<boolean>;
  abandon(lease: Lease): Promise<boolean>;
  extend(lease: Lease, ttlMs: number): Promise<void>;
  /** Reports an exception thrown by a user's event listener (never rethrown into timers). */
  listenerFailed: (error: unknown) => void;
  /** The lease was found past its local deadline before the deadline timer fired (e.g. right after a process pause). */
  overdue(lease: Lease): void;
}

/** The fields a lease is created with. */
export interface LeaseInit {
  readonly resource: string;
  readonly owner: string;
  readonly purpose: string;
  readonly token: string;
  readonly fence: number;
  readonly ttlMs: number;
  readonly acquiredAt: number;
  readonly previous: PreviousHolder | null;
  /** Monotonic time at which this lease stops being valid locally. */
  readonly deadline: number;
  /** Monotonic time just before the acquire request was sent. */
  readonly sentAt: number;
}

interface Internals {
  state: LeaseState;
  ttlMs: number;
  deadline: number;
  renewedFrom: number;
  /** Local deadline the latest renewal sent would give (the acquire's at first). */
  sentDeadline: number;
  /**
   * Send time of the latest renewal whose deadline was below the one sent before it (-Infinity: none unanswered),
   * and the lowest such deadline since. Redis runs a lease's renewals in the order sent, so the answer to an
   * earlier renewal never lifts the deadline past it.
   */
  shortenedAt: number;
  shortenedTo: number;
  lostWith: LeaseLostError | null;
  releasing: Promise<boolean> | null;
  /** Created on first use of `signal`: most leases never need one, and AbortControllers are not free. */
  abort: AbortController | null;
  /** What heartbeats send for this lease; one object for its life while the TTL stays (see RedisBackend's cache). */
  item: ExtendItem | null;
  readonly control: LeaseControl;
}

/** Reads a lease's private state (set in the class's static block: a private field, not a WeakMap, is cheap). */
let get: (lease: Lease) => Internals;

/**
 * One acquisition of a resource: exclusive while it is held, kept alive by its manager's heartbeats.
 *
 * Act on the resource only while `signal` is not aborted, and pass `fence` with every write to a fenced store:
 * a holder that was paused past its lease can then never overwrite newer work.
 *
 * @example
 * ```ts
 * await using lease = await locks.acquire(nodeResource('node-1'), { owner: 'conductor-a', purpose: 'deploy' });
 * await nodes.transition('node-1', { from: ['available'], to: 'deploying', fence: lease.fence }); // fenced write
 * lease.signal.throwIfAborted(); // stop once the lease is lost; released at the end of the scope
 * ```
 */
export class Lease extends EventEmitter<LeaseEvents> implements AsyncDisposable {
  /** The locked resource, e.g. a node id. */
  readonly resource: string;
  /** Who holds it, e.g. a conductor id. */
  readonly owner: string;
  /** What the holder said it is doing; empty when nothing was given. */
  readonly purpose: string;
  /** Random per acquisition; proves ownership on extend and release. */
  readonly token: string;
  /** Grows at every acquisition of this resource, across expiry, release, client restarts and Redis restarts. */
  readonly fence: number;
  /** When Redis granted the lease, epoch ms of the server's clock. */
  readonly acquiredAt: number;
  /** The holder whose lease expired unreleased, when this acquisition took over an orphan; otherwise `null`. */
  readonly previous: PreviousHolder | null;

  /** @internal Leases are created by {@link LockManager.acquire}. */
  constructor(init: LeaseInit, control: LeaseControl) {
    super();
    this.resource = init.resource;
    this.owner = init.owner;
    this.purpose = init.purpose;
    this.token = init.token;
    this.fence = init.fence;
    this.acquiredAt = init.acquiredAt;
    this.previous = init.previous;
    this.#own = {
      state: 'held',
      ttlMs: init.ttlMs,
      deadline: init.deadline,
      renewedFrom: init.sentAt,
      sentDeadline: init.deadline,
      shortenedAt: -Infinity,
      shortenedTo: Infinity,
      lostWith: null,
      releasing: null,
      abort: null,
      item: null,
      control,
    };
  }

  readonly #own: Internals;

  static {
    get = (lease) => {
      if (!(#own in lease)) throw new TypeError('Not a lease issued by a LockManager.');
      return lease.#own;
    };
  }

  /**
   * `held` until the lease is released or lost. Reading it past the local validity deadline reports the lease lost
   * at once, even before the deadline timer fires (as after a process pause).
   */
  get state(): LeaseState {
    const own = get(this);
    if (own.state === 'held' && monotonicNow() >= own.deadline) own.control.overdue(this);
    return own.state;
  }

  /** The TTL heartbeats renew this lease to, in ms. */
  get ttlMs(): number {
    return get(this).ttlMs;
  }

  /** Milliseconds this lease stays valid locally if it is not renewed; 0 once released or lost. */
  get remainingMs(): number {
    const own = get(this);
    return own.state === 'held' ? Math.max(0, own.deadline - monotonicNow()) : 0;
  }

  /**
   * Epoch ms (local clock) at which this lease stops being valid unless renewed: the local time just before the
   * last successful acquire/renew request was sent, plus the TTL, minus the clock-drift margin.
   */
  get validUntil(): number {
    const own = get(this);
    return Date.now() + (own.deadline - monotonicNow());
  }

  /** Aborted, with a {@link LeaseLostError} as its reason, when the lease is lost. Pass it to the work you do. */
  get signal(): AbortSignal {
    const own = get(this);
    if (own.state === 'held' && monotonicNow() >= own.deadline) own.control.overdue(this);
    if (!own.abort) {
      own.abort = new AbortController();
      if (own.lostWith) own.abort.abort(own.lostWith);
    }
    return own.abort.signal;
  }

  /**
   * Releases the lease. Idempotent: later calls return the first call's result. Resolves `true` when this call
   * deleted the lock in Redis, `false` when the lock was no longer this lease's (expired, or taken): another
   * holder's lock is never touched. Rejects with a `BackendError` when Redis could not be reached; the lease is
   * then no longer renewed and expires by its TTL.
   */
  release(): Promise<boolean> {
    const own = get(this);
    own.releasing ??= own.control.release(this);
    return own.releasing;
  }

  /**
   * Gives the lease up as an orphan instead of releasing it: for a holder that took over a dead holder's resource
   * and could not deal with it (a node it could not fail), so that recovery still finds it. The orphan this lease
   * took over (`previous`) is put back as it was, naming the dead holder; a lease that took over none is left an
   * orphan of its own. Ends the lease as {@link Lease.release} does, and shares its idempotence: after either, both
   * return the first call's result. Resolves `false` when the lock was no longer this lease's.
   *
   * @example
   * ```ts
   * const taken = await locks.acquire('node:node-1', { owner: 'conductor-a' });
   * try {
   *   if (taken.previous) await nodes.transition('node-1', { from: ['deploying'], to: 'deploy failed', fence: taken.fence });
   *   await taken.release();
   * } catch {
   *   await taken.abandon(); // recovery will find node-1, still naming taken.previous.owner
   * }
   * ```
   */
  abandon(): Promise<boolean> {
    const own = get(this);
    own.releasing ??= own.control.abandon(this);
    return own.releasing;
  }

  /**
   * Renews the lease now, to `ttlMs` (default: its current TTL), which heartbeats then keep. Rejects with the
   * {@link LeaseLostError} when the lease was lost (or is found lost now), {@link LeaseReleasedError} when released.
   */
  async extend(ttlMs?: number): Promise<void> {
    const own = get(this);
    if (own.lostWith) throw own.lostWith;
    if (own.state === 'released') throw new LeaseReleasedError(this.resource, this.fence);
    await own.control.extend(this, ttlMs ?? own.ttlMs);
  }

  /** Releases the lease: `await using lease = await locks.acquire(...)`. Never throws. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release().catch(() => false);
  }
}

/** @internal The manager's view of a lease's mutable state. */
export const leaseState = {
  deadline: (lease: Lease): number => get(lease).deadline,

  /** The lease's state without `state`'s deadline check (no clock read): for loops that check deadlines themselves. */
  rawState: (lease: Lease): LeaseState => get(lease).state,

  /**
   * Records a renewal about to be sent at `sentAt` with `ttlMs`: heartbeats keep that TTL from now on. When its
   * `deadline` is below the local one, the local deadline shrinks to it at once (Redis may apply it unanswered);
   * when it is below the renewal sent before it, answers to earlier renewals are capped by it (see `renewed`).
   * Returns the local deadline after that.
   */
  sending(lease: Lease, ttlMs: number, deadline: number, sentAt: number): number {
    const own = get(lease);
    if (own.state !== 'held') return own.deadline;
    own.ttlMs = ttlMs;
    if (deadline < own.sentDeadline) {
      own.shortenedAt = sentAt;
      own.shortenedTo = Math.min(own.shortenedTo, deadline);
    }
    own.sentDeadline = deadline;
    if (deadline < own.deadline) own.deadline = deadline;
    return own.deadline;
  },

  /** The renewal item for this lease at `ttlMs`: the same object at every beat while the TTL stays. */
  item(lease: Lease, ttlMs: number): ExtendItem {
    const own = get(lease);
    let item = own.item;
    if (item === null || item.ttlMs !== ttlMs) own.item = item = { resource: lease.resource, token: lease.token, ttlMs };
    return item;
  },

  /**
   * Records a confirmed renewal sent at `sentAt`; ignored when a later-sent renewal already landed. Sent before a
   * renewal that shortened the deadline and is still unanswered, it moves the deadline no later than that one's
   * (or a lower one sent since: a little early at worst, never late).
   */
  renewed(lease: Lease, sentAt: number, ttlMs: number, deadline: number): void {
    const own = get(lease);
    if (own.state !== 'held' || sentAt < own.renewedFrom) return;
    own.renewedFrom = sentAt;
    if (sentAt < own.shortenedAt) {
      deadline = Math.min(deadline, own.shortenedTo);
    } else {
      own.shortenedAt = -Infinity; // the shortening renewal (or a later one) is answered: nothing earlier is pending
      own.shortenedTo = Infinity;
    }
    own.deadline = deadline;
    if (lease.listenerCount('extended') === 0) return; // a big heartbeat renews thousands: skip the payload
    emitGuarded(own.control.listenerFailed, () => lease.emit('extended', { validUntil: lease.validUntil, ttlMs }));
  },

  /** Marks the lease lost, once: aborts its signal and emits `lost`. Returns false when it was not held. */
  lost(lease: Lease, error: LeaseLostError): boolean {
    const own = get(lease);
    if (own.state !== 'held') return false;
    own.state = 'lost';
    own.lostWith = error;
    own.abort?.abort(error);
    emitGuarded(own.control.listenerFailed, () => lease.emit('lost', error));
    return true;
  },

  /** Marks a held lease released, once. Returns false when it was not held (a lost lease stays lost). */
  released(lease: Lease): boolean {
    const own = get(lease);
    if (own.state !== 'held') return false;
    own.state = 'released';
    if (lease.listenerCount('released') > 0) emitGuarded(own.control.listenerFailed, () => lease.emit('released'));
    return true;
  },
};
