import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { AcquireOutcome, BreakOutcome, ExtendItem, HandOverOutcome, LeaseRecord, LockBackend, OrphanRecord, ResourceState } from './backend.js';
import { monotonicNow } from './clock.js';
import { emitGuarded, reportBackground } from './emit.js';
import { LeaseLostError, LockHeldError, ManagerClosedError, type LeaseLostReason, type PreviousHolder } from './errors.js';
import { resolveHealthOptions, settleWithin, type HealthOptions, type LockHealth } from './health.js';
import { Lease, leaseState, type LeaseControl } from './lease.js';
import { InFlight } from './in-flight.js';
import { LocalWaiters, type Wake } from './local-waiters.js';
import { checkHeartbeatFits, driftMs, resolveLockManagerOptions, type LockManagerOptions, type ResolvedLockManagerOptions } from './options.js';
import { errorFields } from './logger.js';
import { LockTelemetry } from './telemetry.js';
import { DeadlineTimer, Repeater, sleep, unlessAborted } from './timers.js';
import { checkDuration, checkInteger, checkName, checkOptions, checkResourcePrefix, checkSignal } from './validate.js';

/**
 * Options of one acquisition (`acquire`, `tryAcquire`, `using`). Bad values reject with an
 * `InvalidArgumentError` subclass before anything is sent.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire('node-1', {
 *   owner: 'conductor-a',
 *   purpose: 'deploy',
 *   waitMs: 5_000, // retry for up to 5 s while someone else holds it, then LockHeldError
 *   signal: AbortSignal.timeout(10_000),
 * });
 * ```
 */
export interface AcquireOptions {
  /** Who acquires: a conductor id, or `recovery:<id>`. At most 512 UTF-8 bytes. */
  readonly owner: string;
  /** What the holder is doing, shown to operators, e.g. `"deploy"`. At most 512 UTF-8 bytes. */
  readonly purpose?: string;
  /**
   * How long to keep trying while another holder has the resource, in ms.
   * @defaultValue `0` (one attempt)
   */
  readonly waitMs?: number;
  /** Aborts the wait, for a holder or for an answer from Redis; the call then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/**
 * Statistics of one heartbeat, emitted as the manager's `heartbeat` event.
 *
 * @example
 * ```ts
 * locks.on('heartbeat', (report: HeartbeatReport) => {
 *   if (report.lost > 0 || report.durationMs > locks.options.heartbeatMs / 2) {
 *     console.warn(`heartbeat renewed ${report.renewed} of ${report.leases} leases in ${report.durationMs} ms`);
 *   }
 * });
 * ```
 */
export interface HeartbeatReport {
  /** Leases the beat tried to renew. */
  readonly leases: number;
  /** Leases renewed. */
  readonly renewed: number;
  /** Leases found lost by this beat. */
  readonly lost: number;
  /** Wall time of the beat, in ms. */
  readonly durationMs: number;
}

/**
 * Events of a {@link LockManager}. Listeners that throw are reported on `error`; with no `error` listener,
 * background failures become process warnings, never exceptions.
 *
 * @example
 * ```ts
 * locks.on('lost', (lease, error) => console.warn(`${lease.resource} lost: ${error.reason}`));
 * locks.on('heartbeat', ({ renewed, lost, durationMs }) => console.debug(`renewed ${renewed}, lost ${lost}, ${durationMs} ms`));
 * locks.on('error', (error) => console.error('lock manager:', error));
 * ```
 */
export interface LockManagerEvents {
  /** A lease was acquired. */
  acquired: (lease: Lease) => void;
  /** A lease was released by its holder; `deleted` is false when its lock had already expired or been taken. */
  released: (lease: Lease, deleted: boolean) => void;
  /** A lease was lost (the same error the lease's `lost` event and signal carry). */
  lost: (lease: Lease, error: LeaseLostError) => void;
  /** A heartbeat completed. */
  heartbeat: (report: HeartbeatReport) => void;
  /**
   * A background failure that did not lose a lease yet: a heartbeat that failed or timed out (the leases it
   * could not renew are reported `lost` at their deadlines), or an exception thrown by an event listener.
   */
  error: (error: unknown) => void;
}

/**
 * The state of a resource as {@link LockManager.inspect} reports it.
 *
 * @example
 * ```ts
 * const info: LockInfo = await locks.inspect(conductorResource('conductor-a'));
 * console.log(info.holder ? 'online' : `offline; last registered with fence ${info.lastFence} by ${info.lastHolder?.owner ?? 'nobody'}`);
 * ```
 */
export type LockInfo = ResourceState;

const ACQUIRE_KEYS = ['owner', 'purpose', 'waitMs', 'signal'] as const;

/**
 * Issues leases on resources and keeps them alive with batched heartbeats: one round trip per master per beat,
 * whatever the number of leases. A lease that cannot be confirmed before its local validity deadline is
 * reported lost, exactly once.
 *
 * @example
 * ```ts
 * const locks = new LockManager({ backend: new RedisBackend(redis, { prefix: 'svc' }), ttlMs: 30_000 });
 * await locks.using('node-1', { owner: 'conductor-a', purpose: 'deploy' }, async (lease) => {
 *   // work on node-1, fencing writes with lease.fence and stopping when lease.signal aborts
 * });
 * await locks.close();
 * ```
 */
export class LockManager extends EventEmitter<LockManagerEvents> {
  /** The resolved, frozen options. */
  readonly options: ResolvedLockManagerOptions;
  readonly #backend: LockBackend;
  readonly #held = new Set<Lease>();
  /**
   * Acquire calls still waiting for Redis, and grants being given back (ones that came after their acquisition was
   * aborted or failed): close() waits for them, so that nothing this manager took stays in Redis once it resolves.
   */
  readonly #pending = new InFlight();
  /** Acquisitions waiting for a resource that a lease of this manager holds: woken by its release, not polling. */
  readonly #local: LocalWaiters;
  /** Whether the backend can hand a resource from one lease to the next in one call; else waiters poll. */
  readonly #handsOver: boolean;
  readonly #heartbeat: Repeater;
  readonly #watch: DeadlineTimer;
  readonly #control: LeaseControl;
  #lastBeatError: unknown = undefined;
  /** Monotonic time of the last heartbeat that got every answer, or of the first acquisition since none was held. */
  #lastRenewedAt = 0;
  /** Metrics and logs, when a meter or a logger was given. */
  readonly #telemetry: LockTelemetry | null;
  /** Tokens are this manager's random prefix plus a counter: unique per acquisition, and cheap to make. */
  readonly #tokenPrefix = randomBytes(9).toString('base64url');
  #tokenCount = 0;
  #closing: Promise<void> | null = null;

  /**
   * Checks the options and makes the manager; nothing is sent to Redis until the first acquisition.
   * @param options - see {@link LockManagerOptions}.
   * @throws {@link InvalidTtlError}, {@link InvalidHeartbeatError}, {@link InvalidOptionError} or
   *   {@link UnknownOptionError} naming the bad option.
   */
  constructor(options: LockManagerOptions) {
    super();
    this.options = resolveLockManagerOptions(options);
    this.#local = new LocalWaiters(2 * this.options.retryDelayMs, monotonicNow);
    this.#backend = this.options.backend;
    this.#handsOver = typeof this.#backend.handOver === 'function';
    this.#heartbeat = new Repeater(this.options.heartbeatMs, () => this.#beat(), (error) => this.#report(error));
    this.#watch = new DeadlineTimer(monotonicNow, () => this.#expireDue());
    this.#control = {
      release: (lease) => this.#release(lease),
      abandon: (lease) => this.#abandon(lease),
      extend: (lease, ttlMs) => this.#extendOne(lease, ttlMs),
      listenerFailed: (error) => this.#report(error),
      overdue: (lease) => void this.#lose(lease, 'deadline'),
    };
    const { meter, logger } = this.options;
    this.#telemetry = meter || logger ? new LockTelemetry(meter, logger, this.#backend) : null;
  }

  /** How many leases this manager holds now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Acquires `resource`, waiting up to `waitMs` while someone else holds it. Resolves to a held {@link Lease};
   * rejects with {@link LockHeldError} naming the holder when it stays held, with `signal.reason` when aborted.
   */
  async acquire(resource: string, options: AcquireOptions): Promise<Lease> {
    const outcome = await this.#acquire(resource, options);
    if (outcome instanceof Lease) return outcome;
    throw new LockHeldError(resource, outcome.holder, outcome.ttlMs, outcome.waitedMs);
  }

  /** Like {@link acquire}, but resolves to `null` instead of rejecting when the resource stays held. */
  async tryAcquire(resource: string, options: AcquireOptions): Promise<Lease | null> {
    const outcome = await this.#acquire(resource, options);
    return outcome instanceof Lease ? outcome : null;
  }

  /**
   * Holds `resource` for the duration of `fn(lease)`, then releases it, also when `fn` throws. Resolves to what
   * `fn` returns. `fn` should stop when `lease.signal` aborts.
   */
  async using<T>(resource: string, options: AcquireOptions, fn: (lease: Lease) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('using() needs a function as its third argument.');
    const lease = await this.acquire(resource, options);
    try {
      return await fn(lease);
    } finally {
      await lease.release().catch((error: unknown) => this.#report(error));
    }
  }

  /** Reads who holds `resource`, its last fence, the time left, and whether its last lease was orphaned. */
  async inspect(resource: string): Promise<LockInfo> {
    checkName('resource', resource);
    return this.#backend.inspect(resource);
  }

  /**
   * Lists leases that expired without being released (their holder died, hung or lost Redis), oldest first,
   * with their last holder: at most `limit` (default 1,000), and with `resourcePrefix` only those of resources
   * that start with it (recovery asks for `node:`, so orphans of other resources never crowd its nodes out). An
   * orphan stays listed until the resource is acquired again.
   */
  async orphans(options?: { readonly limit?: number; readonly resourcePrefix?: string }): Promise<OrphanRecord[]> {
    const given = checkOptions<{ limit: number; resourcePrefix: string }>('orphans options', options, ['limit', 'resourcePrefix']);
    const limit = checkInteger('orphans option limit', given.limit ?? 1000, 1, 100_000);
    if (given.resourcePrefix === undefined) return this.#backend.orphans(limit);
    const prefix = checkResourcePrefix(given.resourcePrefix);
    // Filtered here too: a backend of one's own may ignore the prefix.
    return (await this.#backend.orphans(limit, prefix)).filter((orphan) => orphan.resource.startsWith(prefix));
  }

  /**
   * Lists live leases (holder, fence, purpose, time left), only `owner`'s when given, ordered by resource, at most
   * `limit` (default 10,000). Reads every held lease of the deployment: for operators and restarts, not hot paths.
   */
  async leases(options?: { readonly owner?: string; readonly limit?: number }): Promise<LeaseRecord[]> {
    const given = checkOptions<{ owner: string; limit: number }>('leases options', options, ['owner', 'limit']);
    return this.#backend.leases({
      owner: given.owner === undefined ? null : checkName('leases option owner', given.owner),
      limit: checkInteger('leases option limit', given.limit ?? 10_000, 1, 10_000_000),
    });
  }

  /**
   * Breaks the live lease on `resource` that was issued with `fence`, on purpose: the resource becomes an orphan
   * at once (the next acquisition gets the broken holder as `previous`), and the holder learns it lost the lease
   * at its next heartbeat (at once when it is this manager). A newer lease on the resource is never broken.
   * This is for holders known to be dead and for operators' forced recovery; a live holder's writes are then
   * rejected by fenced stores as soon as the resource is acquired again.
   */
  async breakLease(resource: string, options: { readonly fence: number }): Promise<BreakOutcome> {
    checkName('resource', resource);
    const given = checkOptions<{ fence: number }>('breakLease options', options, ['fence']);
    const fence = checkInteger('breakLease option fence', given.fence, 1, Number.MAX_SAFE_INTEGER);
    const outcome = await this.#backend.breakLease(resource, fence);
    if (outcome.broken) {
      this.#telemetry?.broke(resource, outcome.holder);
      for (const lease of this.#held) if (lease.resource === resource && lease.fence === fence) this.#lose(lease, 'forced');
    }
    return outcome;
  }

  /**
   * For a readiness endpoint: whether the lock store answers (a cheap PING, bounded by `timeoutMs`), how late
   * heartbeats are, and how many leases are held. Never rejects on a Redis failure (it is reported); bad options reject with `InvalidArgumentError`.
   *
   * @example
   * ```ts
   * const { reachable, heartbeatLagMs } = await locks.health();
   * ```
   */
  async health(options?: HealthOptions): Promise<LockHealth> {
    const { timeoutMs } = resolveHealthOptions(options);
    const ping = this.#backend.ping
      ? await settleWithin(this.#backend.ping(timeoutMs), timeoutMs + 50, (error) => ({
          reachable: false,
          unreachable: [],
          error: error === null ? `no answer within ${timeoutMs} ms` : errorFields(error).message,
          latencyMs: timeoutMs,
        }))
      : null;
    const held = this.#held.size > 0;
    const now = monotonicNow();
    return {
      reachable: ping?.reachable ?? null,
      unreachable: ping?.unreachable ?? [],
      error: ping?.error ?? null,
      pingMs: ping ? Math.round(ping.latencyMs) : null,
      leasesHeld: this.#held.size,
      heartbeatLagMs: held ? Math.max(0, Math.round(now - this.#lastRenewedAt - this.options.heartbeatMs)) : null,
      lastHeartbeatAt: held ? Math.round(Date.now() - (now - this.#lastRenewedAt)) : null,
      closed: this.#closing !== null,
    };
  }

  /**
   * Stops heartbeats and releases every lease this manager holds. Acquisitions still waiting for Redis end with
   * {@link ManagerClosedError} and their grants are given back before it resolves, as are grants that came after
   * their acquisition was aborted. Safe to call twice; acquires nothing after.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#heartbeat.stop();
      this.#watch.clear();
      this.#local.wakeAll();
      await Promise.allSettled([...this.#held].map((lease) => lease.release()));
      await this.#pending.drained(); // a hand-over sent by a release above included: it gives its grant back
    })();
    return this.#closing;
  }

  async #acquire(resource: string, options: AcquireOptions): Promise<Lease | (AcquireOutcome & { acquired: false; waitedMs: number })> {
    checkName('resource', resource);
    const given = checkOptions<AcquireOptions>('acquire options', options, ACQUIRE_KEYS);
    const owner = checkName('acquire option owner', given.owner);
    const purpose = given.purpose === undefined ? '' : checkName('acquire option purpose', given.purpose);
    const waitMs = checkDuration('acquire option waitMs', given.waitMs ?? 0, 0);
    const signal = checkSignal('acquire option signal', given.signal);

    const started = monotonicNow();
    // Acquisitions that will ask again say so (`waiter`): a refusal by another manager's holder then marks the
    // resource waited for, and that manager leaves it free at release instead of handing it to its own waiters.
    // Only where hand-overs exist: on a backend without them, nobody would read the mark.
    const waiter = waitMs > 0 && this.#handsOver ? this.#tokenPrefix : undefined;
    let wake: Wake = { kind: 'retry' };
    try {
      // Held by a lease of this manager: asking Redis now could only be refused. Wait in line at once.
      if (waiter !== undefined && this.#local.holds(resource)) wake = await this.#local.park(resource, waitMs, signal, false);
      for (;;) {
        // A hand-over must be sent even now: the releasing lease depends on it (a grant nobody wants is given back).
        if (wake.kind !== 'handOver') {
          signal?.throwIfAborted();
          if (this.#closing) throw new ManagerClosedError();
          // Just left free for another manager's waiter: give it the chance to ask first (see LocalWaiters).
          // Jittered, so that this manager's own waiters do not all ask in the same moment after it.
          const keepOff = waiter === undefined ? 0 : this.#local.keepOff(resource);
          if (keepOff > 0) {
            const jittered = keepOff + this.options.retryDelayMs * 0.5 * Math.random();
            await sleep(Math.max(0, Math.min(jittered, waitMs - (monotonicNow() - started))), signal);
            if (this.#closing) throw new ManagerClosedError();
          }
        }
        const handOver = wake.kind === 'handOver' ? wake : undefined;
        wake = { kind: 'retry' };
        const outcome = await this.#pending.track(this.#attempt(resource, owner, purpose, signal, waiter, handOver));
        if (outcome instanceof Lease) {
          this.#telemetry?.acquireEnded('acquired', monotonicNow() - started, resource, owner, null);
          return outcome;
        }
        signal?.throwIfAborted(); // a hand-over sent while aborted
        // Held by a lease of this manager: wait for it here instead of polling (see LocalWaiters). Woken and
        // refused because another manager took the resource: the acquisitions parked behind this one poll too.
        const local = this.#handsOver && this.#local.holds(resource);
        if (!local) this.#local.scatter(resource);
        const waitedMs = monotonicNow() - started;
        if (waitedMs >= waitMs) {
          this.#telemetry?.acquireEnded(waitMs > 0 ? 'timeout' : 'contended', waitedMs, resource, owner, outcome.holder);
          return { ...outcome, waitedMs };
        }
        if (outcome.then === 'now') continue; // a hand-over found the releasing lease lost: ask at once
        if (local) wake = await this.#local.park(resource, waitMs - waitedMs, signal, handOver !== undefined);
        // Polling: also when the resource was left free for another manager's waiter, which must get its chance.
        if (!local || wake.kind === 'poll') {
          const jittered = this.options.retryDelayMs * (0.5 + Math.random());
          await sleep(Math.max(0, Math.min(jittered, waitMs - (monotonicNow() - started))), signal);
        }
      }
    } catch (error) {
      this.#local.scatter(resource); // this one will not ask again: none of its manager's may stay parked for nothing
      this.#telemetry?.acquireEnded('error', monotonicNow() - started, resource, owner, null);
      throw error;
    }
  }

  /**
   * One acquisition attempt: an acquire call, or with `handOver` the release of another lease of this manager
   * and this grant in one call. A refusal says when to ask again: `now` (the hand-over found the releasing lease
   * lost) or after the usual wait.
   */
  async #attempt(
    resource: string,
    owner: string,
    purpose: string,
    signal: AbortSignal | undefined,
    waiter: string | undefined,
    handOver: (Wake & { kind: 'handOver' }) | undefined,
  ): Promise<Lease | (AcquireOutcome & { acquired: false; then: 'now' | 'later' })> {
    const { ttlMs, driftFactor } = this.options;
    const token = this.#tokenPrefix + (this.#tokenCount++).toString(36);
    const request = waiter === undefined ? { resource, token, owner, purpose, ttlMs } : { resource, token, owner, purpose, ttlMs, waiter };
    const sentAt = monotonicNow();
    let outcome: AcquireOutcome;
    let sent: Promise<AcquireOutcome> | undefined;
    try {
      if (handOver) {
        // The release waits on `settle`: it is called whatever happens (a backend of one's own may even throw
        // synchronously), in the same turn as the grant is recorded below, or when the answer comes after an abort.
        const { settle } = handOver;
        const answered = (async () => this.#backend.handOver!(handOver.lease, request))();
        let result: HandOverOutcome;
        try {
          // An abort stops the wait for the answer, as for an acquire call; a grant that comes after it is given back.
          result = signal === undefined ? await answered : await unlessAborted(answered, signal);
        } catch (error) {
          if (signal?.aborted && error === signal.reason) {
            answered.then(settle, (late: unknown) => settle(late instanceof Error ? late : new Error(String(late))));
            sent = answered.then((late) => late.granted ?? { acquired: false, holder: null, ttlMs: null });
          } else {
            settle(error instanceof Error ? error : new Error(String(error)));
          }
          throw error;
        }
        settle(result);
        if (!result.granted) return { acquired: false, holder: null, ttlMs: null, then: result.released ? 'later' : 'now' };
        outcome = result.granted;
      } else {
        sent = this.#backend.acquire(request);
        // An abort stops the wait for the answer too (a server that hangs would hold it for good). A grant that
        // comes after it is given back when the answer arrives, as one that comes back too late is (below).
        outcome = signal === undefined ? await sent : await unlessAborted(sent, signal);
      }
    } catch (error) {
      if (sent !== undefined && signal?.aborted && error === signal.reason) {
        this.#giveBackLate(sent, resource, token);
      } else {
        // The grant may have landed before the failure: give it back as an orphan (only this token's lock can be
        // deleted), so that if it took over a dead holder's orphan, recovery still finds it.
        void this.#pending.track(this.#backend.abandon(resource, token).catch(() => false));
      }
      throw error;
    }
    if (!outcome.acquired) return { ...outcome, then: 'later' };
    const deadline = sentAt + ttlMs - driftMs(ttlMs, driftFactor);
    if (this.#closing || signal?.aborted || monotonicNow() >= deadline) {
      await this.#giveBack(resource, token, outcome.previous).catch(() => false);
      signal?.throwIfAborted();
      if (this.#closing) throw new ManagerClosedError();
      return { acquired: false, holder: null, ttlMs: null, then: 'later' }; // the grant came back too late to be valid
    }
    const lease = new Lease(
      { resource, owner, purpose, token, fence: outcome.fence, ttlMs, acquiredAt: outcome.acquiredAt, previous: outcome.previous, deadline, sentAt },
      this.#control,
    );
    if (this.#held.size === 0) this.#lastRenewedAt = monotonicNow();
    this.#held.add(lease);
    this.#local.granted(resource);
    this.#watch.arm(deadline);
    this.#heartbeat.start();
    this.#emit('acquired', lease);
    return lease;
  }

  /** Gives back the grant `sent` may bring, when it comes (its acquisition was aborted meanwhile); close() waits for it. */
  #giveBackLate(sent: Promise<AcquireOutcome>, resource: string, token: string): void {
    void this.#pending.track(
      sent
        .then((late) => late.acquired && this.#giveBack(resource, token, late.previous))
        .catch(() => this.#backend.abandon(resource, token))
        .catch(() => false),
    );
  }

  /**
   * Gives back a grant never handed out. One that took over an orphan is given back as that orphan, never
   * released: releasing would erase the record that the dead holder's node is stuck.
   */
  #giveBack(resource: string, token: string, previous: PreviousHolder | null): Promise<boolean> {
    return previous ? this.#backend.abandon(resource, token, previous) : this.#backend.release(resource, token);
  }

  /** One heartbeat. Resolves to the delay before the next one: sooner than usual when Redis failed to answer. */
  async #beat(): Promise<number | undefined> {
    const started = monotonicNow();
    const due: Lease[] = [];
    let lost = 0;
    for (const lease of this.#held) {
      if (started >= leaseState.deadline(lease)) {
        if (this.#lose(lease, 'deadline')) lost++;
      } else {
        due.push(lease);
      }
    }
    if (due.length === 0) {
      if (this.#held.size === 0) this.#heartbeat.stop();
      return undefined;
    }
    const { renewed, errors } = await this.#renew(due, started);
    if (errors.length === 0) this.#lastRenewedAt = monotonicNow();
    for (const lease of due) if (leaseState.rawState(lease) === 'lost') lost++; // #renew ended with every lease past its deadline lost
    this.#emit('heartbeat', { leases: due.length, renewed, lost, durationMs: monotonicNow() - started });
    return errors.length > 0 ? Math.max(1, Math.floor(this.options.heartbeatMs / 4)) : undefined;
  }

  /**
   * Sends one batched renewal of `leases` at `sentAt` and applies each master's answer as it arrives: renewed,
   * lost (token gone, or confirmed after the deadline), or unknown (no answer: the deadline stands and the
   * deadline timer reports the lease lost unless a later renewal lands). Before sending, a renewal that shortens
   * a lease's TTL shortens its local deadline too: Redis may apply it even if its answer never comes.
   * Waits for answers only as long as one of the leases can still be renewed in time.
   */
  async #renew(leases: readonly Lease[], sentAt: number, ttlOverride?: number): Promise<{ renewed: number; errors: Error[] }> {
    const { driftFactor } = this.options;
    // One pass over the leases: at 10,000 of them every pass costs the heartbeat a measurable delay before its first call.
    const items: ExtendItem[] = [];
    let latest = 0;
    let earliest = Infinity;
    for (const lease of leases) {
      const ttlMs = ttlOverride ?? lease.ttlMs;
      const deadline = leaseState.sending(lease, ttlMs, sentAt + ttlMs - driftMs(ttlMs, driftFactor), sentAt);
      if (deadline > latest) latest = deadline;
      if (deadline < earliest) earliest = deadline;
      items.push(leaseState.item(lease, ttlMs));
    }
    this.#watch.arm(earliest); // a shortened deadline must be watched from now on
    let renewed = 0;
    const errors: Error[] = [];
    // Wait until just past the latest deadline (a timer may fire a fraction of a millisecond early): an answer that
    // never came then finds its lease past the deadline, hence lost, never still 'held' with a bare timeout error.
    const parts = this.#backend.extend(items, { timeoutMs: Math.max(1, Math.ceil(latest - sentAt) + 1) });
    await Promise.all(
      parts.map(async (answer) => {
        const part = await answer;
        if (part.error) {
          errors.push(part.error);
          this.#report(part.error);
          return;
        }
        const answeredAt = monotonicNow();
        part.indexes.forEach((i, k) => {
          const lease = leases[i]!;
          if (leaseState.rawState(lease) !== 'held') return; // released or lost meanwhile: the answer means nothing now (deadline: below)
          const ttlMs = items[i]!.ttlMs;
          if (!part.renewed[k]) {
            this.#lose(lease, 'token-mismatch');
          } else if (answeredAt >= leaseState.deadline(lease)) {
            this.#lose(lease, 'deadline'); // confirmed too late: the holder already stopped believing
          } else {
            leaseState.renewed(lease, sentAt, ttlMs, sentAt + ttlMs - driftMs(ttlMs, driftFactor));
            renewed++;
          }
        });
        // No re-arming here: an answer only moves deadlines later or drops leases, so the armed time still holds.
      }),
    );
    this.#lastBeatError = errors[0];
    this.#expireDue(); // what is past its deadline now is lost now, not at the timer's next tick
    return { renewed, errors };
  }

  async #extendOne(lease: Lease, ttlMs: number): Promise<void> {
    checkDuration('extend ttlMs', ttlMs);
    checkHeartbeatFits(this.options.heartbeatMs, ttlMs, this.options.driftFactor);
    const sentAt = monotonicNow();
    if (sentAt >= leaseState.deadline(lease)) {
      this.#lose(lease, 'deadline');
    } else {
      const { errors } = await this.#renew([lease], sentAt, ttlMs);
      if (errors[0] && lease.state === 'held') throw errors[0];
    }
    const lostWith: unknown = lease.state === 'lost' ? lease.signal.reason : null;
    if (lostWith instanceof LeaseLostError) throw lostWith;
  }

  async #release(lease: Lease): Promise<boolean> {
    const wasHeld = leaseState.released(lease);
    const wasListed = this.#held.delete(lease);
    // The heartbeat is not stopped here when nothing is left: its next beat finds nothing due and stops itself. A
    // caller that acquires and releases in a loop then keeps one timer instead of arming and clearing one per lease.
    let deleted = false;
    let leftFree = false;
    try {
      // An acquisition of this manager parked on the resource is handed it: it sends this release with its grant.
      const next = wasListed && this.#handsOver && !this.#closing ? this.#local.take(lease.resource) : undefined;
      if (next) {
        const result = await new Promise<HandOverOutcome>((resolve, reject) => {
          next({ kind: 'handOver', lease: { resource: lease.resource, token: lease.token }, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
        });
        deleted = result.released;
        leftFree = result.released && result.granted === null;
      } else {
        deleted = await this.#backend.release(lease.resource, lease.token);
      }
      return deleted;
    } finally {
      if (wasListed) this.#local.ended(lease.resource, leftFree ? 'poll' : 'retry');
      if (wasHeld) this.#emit('released', lease, deleted);
    }
  }

  /** Ends a lease as an orphan (see {@link Lease.abandon}): never the other holder's lock, never a hand-over. */
  async #abandon(lease: Lease): Promise<boolean> {
    const wasHeld = leaseState.released(lease);
    const wasListed = this.#held.delete(lease);
    let given = false;
    try {
      given = await this.#backend.abandon(lease.resource, lease.token, lease.previous);
      return given;
    } finally {
      if (wasListed) this.#local.ended(lease.resource, 'retry');
      if (wasHeld) this.#emit('released', lease, given);
    }
  }

  /** Reports every lease past its deadline lost, and arms the watch for the earliest deadline left (one pass). */
  #expireDue(): void {
    const now = monotonicNow();
    let earliest = Infinity;
    for (const lease of this.#held) {
      const deadline = leaseState.deadline(lease);
      if (now >= deadline) this.#lose(lease, 'deadline');
      else if (deadline < earliest) earliest = deadline;
    }
    if (earliest !== Infinity) this.#watch.arm(earliest);
  }

  #lose(lease: Lease, reason: LeaseLostReason): boolean {
    const cause = reason === 'deadline' ? this.#lastBeatError : undefined;
    const error = new LeaseLostError(lease.resource, lease.fence, reason, cause === undefined ? undefined : { cause });
    if (this.#held.delete(lease)) this.#local.ended(lease.resource, 'retry');
    if (!leaseState.lost(lease, error)) return false;
    this.#emit('lost', lease, error);
    return true;
  }

  #emit<E extends keyof LockManagerEvents>(event: E, ...args: Parameters<LockManagerEvents[E]>): void {
    if (this.#telemetry === null && this.listenerCount(event) === 0) return; // the hot path: nobody listens
    const emit = this.emit.bind(this) as (event: E, ...args: Parameters<LockManagerEvents[E]>) => boolean;
    emitGuarded((error) => this.#report(error), () => emit(event, ...args));
    const telemetry: { readonly [K in keyof LockManagerEvents]: LockManagerEvents[K] } | null = this.#telemetry; // one handler per event
    if (telemetry) emitGuarded((error) => this.#report(error), () => (telemetry[event] as (...args: Parameters<LockManagerEvents[E]>) => void)(...args));
  }

  /** Background failures go to `error` listeners, or to a process warning when there are none; never thrown. */
  #report(error: unknown): void {
    this.#telemetry?.error(error);
    reportBackground(this, error);
  }
}
