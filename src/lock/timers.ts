/**
 * Runs an async task every `intervalMs`, re-armed only after the previous run settled, so runs never overlap
 * (a slow Redis delays the next beat instead of stacking beats). A run may resolve to a shorter delay before
 * the next one (a retry). Timers are unref'd: they never keep the process alive. A rejection goes to `onError`.
 */
export class Repeater {
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #busy = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<number | undefined | void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts the schedule; the first run is one interval from now. No-op when already started. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (!this.#busy) this.#arm();
  }

  /** Stops the schedule; a run in progress completes but is not followed by another. Safe to call twice. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs = this.intervalMs): void {
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    this.#busy = true;
    let next: number | undefined;
    try {
      next = (await this.task()) ?? undefined;
    } catch (error) {
      this.onError(error);
    } finally {
      this.#busy = false;
      if (this.#running && this.#timer === undefined) this.#arm(next);
    }
  }
}

/**
 * One timer for the earliest of many monotonic deadlines: `arm(at)` fires `onDue` at `at` (or sooner if an
 * earlier deadline was armed). Unref'd.
 */
export class DeadlineTimer {
  #timer: NodeJS.Timeout | undefined;
  #at = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onDue: () => void,
  ) {}

  /** Makes sure `onDue` runs no later than monotonic time `at`. */
  arm(at: number): void {
    if (at >= this.#at) return;
    this.clear();
    this.#at = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#at = Infinity;
        this.onDue();
      },
      Math.max(0, Math.ceil(at - this.now())),
    );
    this.#timer.unref();
  }

  /** Cancels the pending timer, if any. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }
}

/** What waits on each signal: see {@link whenAborted}. */
const waitingOn = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts; returns the function that cancels it. However many calls wait on
 * one signal (a conductor's stop signal, passed to every acquisition it makes), the signal gets one `abort`
 * listener: Node warns of a leak past 10 of them.
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = waitingOn.get(signal);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    callbacks = set;
    waitingOn.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        waitingOn.delete(signal);
        for (const each of set) each();
      },
      { once: true },
    );
  }
  const mine = callbacks;
  mine.add(callback);
  return () => void mine.delete(callback);
}

/** Waits `ms`, or rejects with `signal.reason` as soon as the signal aborts (the timer is then cleared). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const cancel = signal
      ? whenAborted(signal, () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        })
      : undefined;
    const timer = setTimeout(() => {
      cancel?.();
      resolve();
    }, ms);
  });
}

/**
 * Settles as `work` does, or rejects with `signal.reason` as soon as the signal aborts. After an abort `work` goes
 * on (it must give back by itself whatever it gets) and its outcome is dropped. A signal already aborted when
 * this is called is left to the caller: `work` is then awaited as it is.
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal || signal.aborted) return work;
  return new Promise<T>((resolve, reject) => {
    const cancel = whenAborted(signal, () => reject(signal.reason as Error));
    work.then(resolve, reject).finally(cancel);
  });
}
