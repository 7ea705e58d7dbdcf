/**
 * Work still on its way (calls to Redis, writes to a store), and a way to wait until none is left. Used where a
 * shutdown must not resolve while something it started, or that started meanwhile, could still land: the lock
 * manager's acquisitions and give-backs, a conductor's reservations, a task's writes.
 */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles, and returns it (its rejection is the caller's to handle, as before). */
  track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    const done = (): void => void this.#pending.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves once nothing is in flight, including work tracked while it waits. Never rejects. */
  async drained(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
