import type { HandOverOutcome } from './backend.js';
import { whenAborted } from './timers.js';

/**
 * Why a parked acquisition was woken:
 * - `handOver`: a lease of this manager on the resource is being released; the woken acquisition sends the
 *   release and its own grant in one call (`LockBackend.handOver`), and reports the result with `settle`.
 * - `retry`: the last lease of this manager on the resource ended otherwise (released, lost): ask now.
 * - `poll`: the resource was left free because another manager waits for it: poll as before, on the retry delay.
 * - `timeout`: the wait ran out.
 */
export type Wake =
  | {
      readonly kind: 'handOver';
      /** The lease to release. */
      readonly lease: { readonly resource: string; readonly token: string };
      /** Called once with what the hand-over did, or with the error it failed with. */
      readonly settle: (result: HandOverOutcome | Error) => void;
    }
  | { readonly kind: 'retry' | 'poll' | 'timeout' };

/** An acquisition parked behind a lease of its own manager. */
interface Parked {
  readonly wake: (wake: Wake) => void;
}

/**
 * The acquisitions of one manager that wait for a resource held by another lease of the same manager.
 *
 * Asking Redis again while that lease is held can only be refused, and each refused attempt sits on the connection
 * in front of the holder's own release. So they wait here instead, first come first served, and send nothing. When
 * the lease is released, the first of them is handed the resource: release and grant in one call, one round trip
 * instead of a release, a retry delay and an acquire. The others stay parked behind the new holder.
 *
 * Waiters elsewhere are not starved by this: an acquisition of another manager that is refused marks the resource
 * as waited for, and then the release leaves the resource free instead (`poll`). The acquisitions of this manager
 * that wait, parked or new, then keep off it for `holdOffMs` ({@link LocalWaiters.keepOff}): long enough for a
 * waiter polling on the same retry delay to ask once. Otherwise one of them, asking at once, would take it again
 * almost every time. Safety does not depend on any of this: every grant is still decided by Redis.
 */
export class LocalWaiters {
  /** Resources left free for another manager's waiter, and until when (monotonic ms) this manager keeps off. */
  readonly #yielded = new Map<string, number>();

  /**
   * @param holdOffMs - how long this manager's waiting acquisitions keep off a resource it left free for another
   * manager's waiter (the LockManager gives twice its retry delay: the longest jittered delay, and a round trip).
   * @param now - the monotonic clock.
   */
  constructor(
    private readonly holdOffMs: number,
    private readonly now: () => number,
  ) {}

  /** Leases of this manager per resource (normally one; a lost lease not yet noticed can overlap a new one). */
  readonly #leases = new Map<string, number>();
  /** Parked acquisitions per resource, oldest first. */
  readonly #parked = new Map<string, Parked[]>();

  /** Whether a lease of this manager holds `resource`. */
  holds(resource: string): boolean {
    return this.#leases.has(resource);
  }

  /** A lease on `resource` was granted. */
  granted(resource: string): void {
    this.#leases.set(resource, (this.#leases.get(resource) ?? 0) + 1);
    this.#yielded.delete(resource);
  }

  /**
   * How long (ms) an acquisition of this manager that waits should still keep off `resource`: more than 0 right
   * after this manager left it free for another manager's waiter, else 0.
   */
  keepOff(resource: string): number {
    const until = this.#yielded.get(resource);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.#yielded.delete(resource);
    return Math.max(0, left);
  }

  /**
   * A lease on `resource` ended (its release settled, or it was lost). When none is left, the parked acquisitions
   * are woken: the first with `retry`, or all with `poll` when the resource was left free for other managers.
   */
  ended(resource: string, wake: 'retry' | 'poll'): void {
    const left = (this.#leases.get(resource) ?? 1) - 1;
    if (left > 0) {
      this.#leases.set(resource, left);
      return;
    }
    this.#leases.delete(resource);
    if (wake === 'poll') {
      this.#yield(resource);
      this.#wakeEvery(resource, { kind: 'poll' });
    } else {
      this.take(resource)?.({ kind: 'retry' });
    }
  }

  /**
   * Takes the first acquisition parked on `resource` out of the queue, to hand it the resource (or tell it to
   * retry). Returns its wake function, or `undefined` when none is parked.
   */
  take(resource: string): ((wake: Wake) => void) | undefined {
    const queue = this.#parked.get(resource);
    const parked = queue?.shift();
    if (queue?.length === 0) this.#parked.delete(resource);
    return parked?.wake;
  }

  /**
   * Parks an acquisition of `resource` until it is woken, `ms` pass, or `signal` aborts (then rejects with its
   * reason).
   * @param front - queue at the front: the acquisition was just woken and lost to another lease of this manager.
   */
  park(resource: string, ms: number, signal: AbortSignal | undefined, front: boolean): Promise<Wake> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const parked: Parked = {
        wake: (wake) => {
          clearTimeout(timer);
          cancel?.();
          resolve(wake);
        },
      };
      const timer = setTimeout(() => {
        this.#remove(resource, parked);
        parked.wake({ kind: 'timeout' });
      }, ms);
      const cancel = signal
        ? whenAborted(signal, () => {
            clearTimeout(timer);
            this.#remove(resource, parked);
            reject(signal.reason as Error);
          })
        : undefined;
      const queue = this.#parked.get(resource);
      if (!queue) this.#parked.set(resource, [parked]);
      else if (front) queue.unshift(parked);
      else queue.push(parked);
    });
  }

  /** Wakes every acquisition parked on `resource` with `retry` when no lease of this manager holds it. */
  scatter(resource: string): void {
    if (!this.#leases.has(resource)) this.#wakeEvery(resource, { kind: 'retry' });
  }

  /** Wakes every parked acquisition (the manager is closing: each then rejects). */
  wakeAll(): void {
    for (const resource of [...this.#parked.keys()]) this.#wakeEvery(resource, { kind: 'retry' });
  }

  #yield(resource: string): void {
    const now = this.now();
    if (this.#yielded.size >= 1_024) for (const [name, until] of this.#yielded) if (until <= now) this.#yielded.delete(name); // bounded
    this.#yielded.set(resource, now + this.holdOffMs);
  }

  #wakeEvery(resource: string, wake: Wake): void {
    const queue = this.#parked.get(resource);
    if (!queue) return;
    this.#parked.delete(resource);
    for (const parked of queue) parked.wake(wake);
  }

  #remove(resource: string, parked: Parked): void {
    const queue = this.#parked.get(resource);
    if (!queue) return;
    const at = queue.indexOf(parked);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.#parked.delete(resource);
  }
}
