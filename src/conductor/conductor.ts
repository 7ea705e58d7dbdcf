import { EventEmitter } from 'eventemitter3';
import { LockHeldError, type LeaseLostError, type PreviousHolder } from '../lock/errors.js';
import type { Lease } from '../lock/lease.js';
import { reportBackground } from '../lock/emit.js';
import { InFlight } from '../lock/in-flight.js';
import { enforceEvictionPolicy } from '../lock/redis/eviction-policy.js';
import { RedisNodeStore } from '../nodes/redis-store.js';
import type { HealthOptions } from '../lock/health.js';
import { sleep } from '../lock/timers.js';
import { checkDuration, checkName, checkOptions, checkSignal } from '../lock/validate.js';
import { failStuckNode } from '../nodes/fail-stuck-node.js';
import { isHeldState, type ProvisionStateValue } from '../nodes/states.js';
import { nodeIdOf, nodeResource } from '../nodes/resources.js';
import { checkNodeId } from '../nodes/validate.js';
import { ConductorIdInUseError, ConductorStoppedError, NodeLockedError } from './errors.js';
import { isDeadHere, thisIncarnation, type Incarnation } from './incarnation.js';
import { conductorResource, listConductors, type ConductorInfo } from './list-conductors.js';
import { ConductorTelemetry, type ConductorHealth } from './observability.js';
import { resolveConductorOptions, type ConductorOptions, type ResolvedConductorOptions } from './options.js';
import type { ConductorRecord } from './registry.js';
import { NodeTask, type TaskHost } from './task.js';

/**
 * Options of {@link Conductor.withNode} and {@link Conductor.reserve}.
 *
 * @example
 * ```ts
 * const task = await conductor.reserve('node-1', { purpose: 'deploy', signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface ReserveOptions {
  /** What the conductor does with the node, shown to operators and written in the lease, e.g. `"deploy"`. */
  readonly purpose: string;
  /** Aborts the reservation while it waits for the node. */
  readonly signal?: AbortSignal;
}

/**
 * A node a conductor moved to its failed state because its previous holder died mid-operation.
 *
 * @example
 * ```ts
 * conductor.on('nodeRecovered', (event: NodeRecoveredEvent) => {
 *   const who = event.trigger === 'restart' ? 'a crashed run of this conductor' : event.previous.owner;
 *   console.warn(`${event.nodeId}: ${event.from} -> ${event.to}; ${who} died holding it (fence ${event.previous.fence})`);
 * });
 * ```
 */
export interface NodeRecoveredEvent {
  /** The node. */
  readonly nodeId: string;
  /** The transient state its dead holder left it in. */
  readonly from: ProvisionStateValue;
  /** The failed state the policy names for it. */
  readonly to: ProvisionStateValue;
  /** The holder whose lease ended without release. */
  readonly previous: PreviousHolder;
  /** The fence the failed state was written with. */
  readonly fence: number;
  /** `acquire`: found when reserving the node; `restart`: a crashed incarnation of this conductor held it. */
  readonly trigger: 'acquire' | 'restart';
}

/**
 * A node a task left mid-operation (its function threw, or it was released in a state that needs a holder), moved
 * to its failed state by the conductor before the lease was released: it is never left stuck with no holder.
 *
 * @example
 * ```ts
 * conductor.on('nodeFailed', (event: NodeFailedEvent) => {
 *   console.error(`${event.nodeId}: left in ${event.from}, moved to ${event.to}`, event.error ?? 'released mid-operation');
 * });
 * ```
 */
export interface NodeFailedEvent {
  /** The node. */
  readonly nodeId: string;
  /** The state the task left it in. */
  readonly from: ProvisionStateValue;
  /** The failed state the policy names for it. */
  readonly to: ProvisionStateValue;
  /** The fence the failed state was written with (the task's lease). */
  readonly fence: number;
  /** What the task's function threw, or `null` when the task was released without finishing its operation. */
  readonly error: unknown;
}

/**
 * Events of a {@link Conductor}. Listeners that throw are reported on `error`; with no `error` listener,
 * background failures become process warnings, never exceptions.
 *
 * @example
 * ```ts
 * conductor.on('nodeRecovered', (e) => console.warn(`${e.nodeId}: ${e.from} -> ${e.to}, ${e.previous.owner} died holding it`));
 * conductor.on('taskLost', (nodeId, error) => console.warn(`${nodeId}: lease lost (${error.reason})`));
 * conductor.on('livenessLost', () => console.error('offline: Redis unreachable, registering again'));
 * conductor.on('error', (error) => console.error(error));
 * ```
 */
export interface ConductorEvents {
  /** Registered and ready for work. */
  started: (record: ConductorRecord) => void;
  /** Stopped: every lease released. */
  stopped: () => void;
  /** A node whose previous holder died was moved to its failed state before any work on it. */
  nodeRecovered: (event: NodeRecoveredEvent) => void;
  /** A task ended mid-operation and its node was moved to its failed state before release. */
  nodeFailed: (event: NodeFailedEvent) => void;
  /** A task's lease was lost; its `signal` aborted with the same error. */
  taskLost: (nodeId: string, error: LeaseLostError) => void;
  /** The conductor's own liveness lease was lost (Redis unreachable too long); it keeps trying to register again. */
  livenessLost: (error: LeaseLostError) => void;
  /** A background failure (a release that failed, a listener that threw, a failed re-registration). */
  error: (error: unknown) => void;
}

/**
 * The life of a conductor.
 *
 * @example
 * ```ts
 * // A liveness probe: fail only once the conductor is stopping or stopped (not while it starts)
 * const state: ConductorState = conductor.state;
 * response.writeHead(state === 'stopping' || state === 'stopped' ? 503 : 200).end(state);
 * ```
 */
export type ConductorState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The runtime a conductor service builds on instead of a `reservation` column: it registers the conductor with a
 * liveness lease, reserves nodes as {@link NodeTask}s (an exclusive, heartbeated lease; fenced transitions; an
 * abort signal), fails a node whose previous holder died before starting work on it, and stops gracefully.
 *
 * @example
 * ```ts
 * const conductor = new Conductor({ id: 'conductor-a', locks, nodes, registry });
 * await conductor.start();
 * await conductor.withNode('node-1', { purpose: 'deploy' }, async (task) => {
 *   await task.transition('deploying', { targetState: 'active' });
 *   // ... work, checking task.signal ...
 *   await task.transition('active', { targetState: null });
 * });
 * await conductor.stop();
 * ```
 */
export class Conductor extends EventEmitter<ConductorEvents> {
  /** This conductor's id. */
  readonly id: string;
  /** The resolved, frozen options. */
  readonly options: ResolvedConductorOptions;
  #state: ConductorState = 'idle';
  #starting: Promise<ConductorRecord> | null = null;
  #stopping: Promise<void> | null = null;
  #record: ConductorRecord | null = null;
  #liveness: Lease | null = null;
  #reclaimTimer: NodeJS.Timeout | null = null;
  /** A registration attempt in flight (see #reclaim): stop() waits for it. */
  #reclaiming: Promise<void> | null = null;
  readonly #tasks = new Set<NodeTask>();
  /** reserve() calls that are not a task yet. */
  readonly #reserving = new InFlight();
  /** What a `withNode` function threw, for its task's release (which then fails the node if it was mid-operation). */
  readonly #taskErrors = new WeakMap<NodeTask, unknown>();
  #drained: (() => void) | null = null;
  readonly #stopAbort = new AbortController();
  readonly #host: TaskHost;
  /** Metrics and logs, when a meter or a logger was given (or the lock manager has one). */
  readonly #telemetry: ConductorTelemetry | null;

  /**
   * Checks the options; nothing is registered or sent to Redis before {@link Conductor.start}.
   * @param options - see {@link ConductorOptions}.
   * @throws `InvalidOptionError` (or another `InvalidArgumentError`) naming a bad option, `UnknownOptionError` for
   *   an unknown one.
   */
  constructor(options: ConductorOptions) {
    super();
    this.options = resolveConductorOptions(options);
    this.id = this.options.id;
    this.#host = { nodes: this.options.nodes, finish: (task) => this.#finish(task) };
    const { meter, logger } = this.options;
    this.#telemetry = meter || logger ? new ConductorTelemetry(meter, logger, this.id) : null;
  }

  /** Where the conductor is in its life. */
  get state(): ConductorState {
    return this.#state;
  }

  /** Tasks holding a node now. */
  get activeTasks(): number {
    return this.#tasks.size;
  }

  /** This incarnation's registry record, once started. */
  get record(): ConductorRecord | null {
    return this.#record;
  }

  /**
   * Registers the conductor: takes its liveness lease (`conductor:<id>`) and writes its record. When a crashed
   * incarnation of the same id on this host still holds leases, they are broken and its nodes failed at once
   * instead of after their TTL. Rejects with `ConductorIdInUseError` while another live conductor has the id, and
   * with `EvictionPolicyError` (before anything is registered) when a Redis server that stores leases may evict keys,
   * or the server of a `RedisNodeStore` may evict its records (an `allkeys-*` policy), unless the `allowEviction`
   * option is set (a warning then; also when CONFIG cannot be read to check it).
   * Calling it again returns the same registration.
   */
  start(): Promise<ConductorRecord> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return Promise.reject(new ConductorStoppedError(this.id, this.#state));
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#starting = null;
      if (this.#state === 'starting') this.#state = 'idle';
      throw error;
    });
    return this.#starting;
  }

  /**
   * Takes node `nodeId` exclusively for `fn(task)` and releases it afterwards, also when `fn` throws. Retries
   * while another conductor holds it, then rejects with `NodeLockedError` naming the holder. When its previous
   * holder died mid-operation, the node is first moved to its failed state (see `nodeRecovered`). When `fn` throws
   * with the node in a transient state, the node is moved to its failed state before the release (see
   * `nodeFailed`) and the error is rethrown. Also rejects with `NodeNotFoundError` for an unknown node (before any
   * lock is taken) and `ConductorStoppedError` when the conductor is not running.
   */
  async withNode<T>(nodeId: string, options: ReserveOptions, fn: (task: NodeTask) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('withNode() needs a function as its third argument.');
    const task = await this.reserve(nodeId, options);
    try {
      return await fn(task);
    } catch (error) {
      this.#taskErrors.set(task, error);
      throw error;
    } finally {
      await task.release();
    }
  }

  /**
   * Like {@link withNode}, for work that outlives one function (a deploy going on in the background): resolves to
   * the task; its lease is heartbeated until `task.release()`.
   */
  async reserve(nodeId: string, options: ReserveOptions): Promise<NodeTask> {
    checkNodeId(nodeId);
    const given = checkOptions<ReserveOptions>('reserve options', options, ['purpose', 'signal']);
    const purpose = checkName('purpose', given.purpose);
    const signal = checkSignal('reserve option signal', given.signal);
    this.#assertRunning();
    // stop() waits for it: until it is a task, its lease (and maybe an orphan being failed) is nobody else's to end.
    return this.#reserving.track(this.#reserve(nodeId, purpose, signal));
  }

  async #reserve(nodeId: string, purpose: string, signal: AbortSignal | undefined): Promise<NodeTask> {
    await this.options.nodes.get(nodeId); // an unknown node fails before any lock is taken
    const lease = await this.#acquireNode(nodeId, purpose, signal);
    // A lease that took over an orphan is not given back before its node is failed (or found stable): a release
    // would erase the orphan record, the only trace that the dead holder's node is stuck. Even when stop() came.
    let orphanHandled = lease.previous === null;
    try {
      let node = await this.options.nodes.get(nodeId);
      if (lease.previous) node = (await this.#failIfStuck(nodeId, lease, 'acquire')) ?? node;
      orphanHandled = true;
      if (this.#state !== 'running') throw new ConductorStoppedError(this.id, this.#state);
      const task = new NodeTask(this.#host, lease, node, AbortSignal.any([lease.signal, this.#stopAbort.signal]));
      this.#tasks.add(task);
      lease.once('lost', (error) => this.#emit('taskLost', nodeId, error));
      return task;
    } catch (error) {
      // Not dealt with: abandoned, so the orphan is put back as it was (naming the dead holder) for recovery.
      await (orphanHandled ? lease.release() : lease.abandon()).catch((e: unknown) => this.#report(e));
      throw error;
    }
  }

  /**
   * For a readiness endpoint: the lock manager's health (Redis reachable, heartbeat lag, leases held) with this
   * conductor's state, whether it is online, and `ready`. Never rejects on a Redis failure; bad options reject with `InvalidArgumentError`.
   *
   * @example
   * ```ts
   * const health = await conductor.health();
   * response.writeHead(health.ready ? 200 : 503).end(JSON.stringify(health));
   * ```
   */
  async health(options?: HealthOptions): Promise<ConductorHealth> {
    const locks = await this.options.locks.health(options);
    const online = this.#liveness?.state === 'held';
    return {
      ...locks,
      id: this.id,
      state: this.#state,
      online,
      activeTasks: this.#tasks.size,
      ready: this.#state === 'running' && online && locks.reachable !== false,
    };
  }

  /** Every registered conductor, online and offline. */
  listConductors(): Promise<ConductorInfo[]> {
    return listConductors(this.options.locks, this.options.registry);
  }

  /**
   * Stops taking new work, lets running tasks finish for up to `timeoutMs` (default `stopTimeoutMs`), then aborts
   * the rest (their `signal` aborts with `ConductorStoppedError`), releases every lease and marks the conductor
   * stopped in the registry. Reservations still on their way and task writes still in flight are waited for, so
   * that once it resolves no node is left mid-operation without a holder or an orphan record. Safe to call twice.
   * The lock manager and stores are the caller's to close (after this resolves).
   */
  async stop(options?: { readonly timeoutMs?: number }): Promise<void> {
    // async: bad options reject like every other failure, never a synchronous throw. Everything up to #stop's first
    // await still runs synchronously, so new work is refused the moment stop() is called.
    const given = checkOptions<{ timeoutMs: number }>('stop options', options, ['timeoutMs']);
    const timeoutMs = given.timeoutMs === undefined ? this.options.stopTimeoutMs : checkDuration('stop timeoutMs', given.timeoutMs, 0);
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #start(): Promise<ConductorRecord> {
    this.#state = 'starting';
    const { locks, registry } = this.options;
    await enforceEvictionPolicy(locks.options.backend, {
      who: `Conductor "${this.id}"`,
      allowEviction: this.options.allowEviction,
      warn: (message, checks) => this.#warn(message, { servers: checks.map((c) => c.server) }),
      records: this.options.nodes instanceof RedisNodeStore ? this.options.nodes.client : undefined,
    });
    const self = thisIncarnation();
    const resource = conductorResource(this.id);
    let liveness = await locks.tryAcquire(resource, { owner: this.id, purpose: 'liveness' });
    let crashed = false; // the liveness lease was a crashed incarnation's, broken here
    if (!liveness) {
      const [info, record] = await Promise.all([locks.inspect(resource), registry.get(this.id)]);
      if (info.holder && record && record.fence === info.holder.fence && isDeadHere(record, self)) {
        await locks.breakLease(resource, { fence: info.holder.fence });
        liveness = await locks.tryAcquire(resource, { owner: this.id, purpose: 'liveness' });
        crashed = liveness !== null;
      }
      if (!liveness) throw new ConductorIdInUseError(this.id, record?.hostname ?? null, record?.pid ?? null, info.ttlMs);
    }
    try {
      await this.#takeOverCrashedIncarnation(crashed, self);
      const record: ConductorRecord = {
        id: this.id,
        ...self,
        version: this.options.version,
        drivers: this.options.drivers,
        startedAt: Date.now(),
        stoppedAt: null,
        ttlMs: locks.options.ttlMs,
        fence: liveness.fence,
      };
      await registry.put(record);
      this.#record = record;
      this.#watchLiveness(liveness);
    } catch (error) {
      await liveness.release().catch((e: unknown) => this.#report(e));
      throw error;
    }
    if (this.#state === 'starting') this.#state = 'running'; // not when stop() came meanwhile
    this.#emit('started', this.#record);
    return this.#record;
  }

  /**
   * Breaks the node leases a crashed incarnation of this id still holds, and fails their nodes now. `crashed`: its
   * liveness lease was found held by a crashed process of this host and broken. Live node leases of this id with the
   * liveness lease free are another live conductor's (one that lost only its liveness lease) unless the registry
   * shows a crashed process of this host: then this start is refused and nothing is broken.
   */
  async #takeOverCrashedIncarnation(crashed: boolean, self: Incarnation): Promise<void> {
    const { locks, registry } = this.options;
    const held = (await locks.leases({ owner: this.id, limit: 10_000_000 })).filter((l) => nodeIdOf(l.resource) !== null);
    if (held.length === 0) return;
    if (!crashed) {
      const record = await registry.get(this.id);
      if (!record || !isDeadHere(record, self)) {
        throw new ConductorIdInUseError(this.id, record?.hostname ?? null, record?.pid ?? null, Math.max(...held.map((l) => l.ttlMs)));
      }
    }
    const queue = [...held];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { resource, holder } = next;
        const outcome = await locks.breakLease(resource, { fence: holder.fence });
        if (!outcome.broken) continue;
        const lease = await locks.tryAcquire(resource, { owner: this.id, purpose: 'recover' });
        if (!lease) continue; // a recovery manager got there first
        try {
          if (lease.previous) await this.#failIfStuck(nodeIdOf(resource)!, lease, 'restart');
          await lease.release().catch((e: unknown) => this.#report(e));
        } catch (error) {
          this.#report(error);
          await lease.abandon().catch((e: unknown) => this.#report(e)); // the orphan put back for recovery
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
  }

  async #failIfStuck(nodeId: string, lease: Lease, trigger: 'acquire' | 'restart') {
    const previous = lease.previous!;
    this.#telemetry?.orphanFound(nodeId, previous, lease.fence, trigger);
    const outcome = await failStuckNode(this.options.nodes, this.options.policy, {
      nodeId,
      fence: lease.fence,
      previous,
      actor: `conductor "${this.id}"`,
      trigger: trigger === 'acquire' ? 'found when reserving the node' : 'its own restart after a crash',
    });
    if (outcome.outcome === 'stable') return outcome.node;
    this.#emit('nodeRecovered', { nodeId, from: outcome.from, to: outcome.to, previous, fence: lease.fence, trigger });
    return outcome.node;
  }

  /**
   * Before a task's lease is released: a node left in a transient state would be stuck with no holder (Ironic's
   * "stuck in deploying" without any crash). After a failed function, any state the policy fails is failed; after a
   * plain release, only the states that need a holder the whole time (HELD_STATES; a node may wait for its agent
   * unheld). The write is fenced with the task's lease, so it never overwrites a newer holder; a lost lease writes
   * nothing (whoever holds the node now, or recovery, deals with it).
   */
  async #failIfMidOperation(task: NodeTask, failed: { readonly error: unknown } | null): Promise<void> {
    const from = task.node.provisionState;
    const to = this.options.policy(from);
    if (to === null || (failed === null && !isHeldState(from)) || task.lease.state !== 'held') return;
    const why = failed ? `its task failed: ${describeError(failed.error)}` : 'its task was released before the operation finished';
    const lastError = `conductor "${this.id}" held this node (lease fence ${task.fence}, purpose "${task.lease.purpose}") while it was "${from}" and ${why}; moved to "${to}" before releasing it.`;
    try {
      await this.options.nodes.transition(task.nodeId, { from: [from], to, fence: task.fence, targetState: null, lastError });
    } catch (error) {
      this.#report(error); // moved on (InvalidStateError) or written by a newer holder (StaleFenceError): leave it
      return;
    }
    this.#emit('nodeFailed', { nodeId: task.nodeId, from, to, fence: task.fence, error: failed ? failed.error : null });
  }

  async #acquireNode(nodeId: string, purpose: string, signal: AbortSignal | undefined): Promise<Lease> {
    const { attempts, intervalMs } = this.options.lockRetry;
    const stopSignal = signal ? AbortSignal.any([signal, this.#stopAbort.signal]) : this.#stopAbort.signal;
    let last: LockHeldError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      stopSignal.throwIfAborted();
      try {
        return await this.options.locks.acquire(nodeResource(nodeId), { owner: this.id, purpose, signal: stopSignal });
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        last = error;
      }
      if (attempt < attempts) await sleep(intervalMs, stopSignal);
    }
    throw new NodeLockedError(nodeId, last?.holder ?? null, last?.holderTtlMs ?? null, attempts);
  }

  async #finish(task: NodeTask): Promise<void> {
    try {
      await task.settled(); // a write still on its way decides the state the node is left in
      await this.#failIfMidOperation(task, this.#taskErrors.has(task) ? { error: this.#taskErrors.get(task) } : null);
      await task.lease.release();
    } catch (error) {
      this.#report(error);
    } finally {
      this.#tasks.delete(task);
      if (this.#tasks.size === 0) this.#drained?.();
    }
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    // Synchronous up to here: a stop() call refuses new work at once.
    const wasStarting = this.#state === 'starting';
    this.#state = 'stopping';
    if (wasStarting) await this.#starting?.catch(() => undefined);
    if (this.#tasks.size > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.#stopAbort.abort(new ConductorStoppedError(this.id, 'stopping'));
    // Reservations still on their way end now (refused, their lease released, or put back as the orphan it took
    // over): a task that one became meanwhile is released with the others.
    await this.#reserving.drained();
    await Promise.allSettled([...this.#tasks].map((task) => task.release()));
    if (this.#reclaimTimer) clearTimeout(this.#reclaimTimer);
    await this.#reclaiming; // never rejects: it reports its own failures
    const liveness = this.#liveness;
    this.#liveness = null;
    await liveness?.release().catch((e: unknown) => this.#report(e));
    if (this.#record) {
      this.#record = { ...this.#record, stoppedAt: Date.now() };
      await this.options.registry.put(this.#record).catch((e: unknown) => this.#report(e));
    }
    this.#state = 'stopped';
    this.#emit('stopped');
  }

  /** Keeps the liveness lease: when it is lost, says so and registers again as soon as the id is free. */
  #watchLiveness(lease: Lease): void {
    this.#liveness = lease;
    this.#telemetry?.online(true, lease.fence);
    const lost = (error: LeaseLostError): void => {
      if (this.#liveness !== lease) return;
      this.#emit('livenessLost', error);
      this.#reclaim();
    };
    // Lost while it was being registered, before anyone listened: handled once the caller's turn is over (start()
    // then says `started` first, and is `running`, so that registering again goes ahead).
    if (lease.signal.aborted) queueMicrotask(() => lost(lease.signal.reason as LeaseLostError));
    else lease.once('lost', lost);
  }

  #reclaim(): void {
    const retry = (): void => {
      if (this.#state !== 'running') return;
      this.#reclaimTimer = setTimeout(() => void (this.#reclaiming = attempt().finally(() => (this.#reclaiming = null))), this.options.locks.options.heartbeatMs);
      this.#reclaimTimer.unref();
    };
    const attempt = async (): Promise<void> => {
      if (this.#state !== 'running') return;
      let lease: Lease | null = null;
      try {
        lease = await this.options.locks.tryAcquire(conductorResource(this.id), { owner: this.id, purpose: 'liveness' });
        if (!lease) return retry();
        if (this.#state !== 'running') return void (await lease.release());
        // `record` changes only once the registry has it, and in the same step as going online: a reader that
        // sees the new fence sees the conductor online.
        const record = { ...this.#record!, fence: lease.fence };
        await this.options.registry.put(record);
        if (this.#state !== 'running') return void (await lease.release()); // stop() came meanwhile: it writes the record last
        this.#record = record;
        this.#watchLiveness(lease);
      } catch (error) {
        this.#report(error);
        // Not registered: give the lease back, or the next attempt would find it held by this very conductor.
        await lease?.release().catch(() => false);
        retry();
      }
    };
    retry();
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new ConductorStoppedError(this.id, this.#state);
  }

  #emit<E extends keyof ConductorEvents>(event: E, ...args: Parameters<ConductorEvents[E]>): void {
    try {
      (this.emit as (event: E, ...args: Parameters<ConductorEvents[E]>) => boolean)(event, ...args);
    } catch (error) {
      this.#report(error);
    }
    const telemetry: { readonly [K in keyof ConductorEvents]: ConductorEvents[K] } | null = this.#telemetry; // one handler per event
    if (telemetry && event !== 'error') (telemetry[event] as (...args: Parameters<ConductorEvents[E]>) => void)(...args);
  }

  /** A warning an operator must see: to the logger, else as a process warning. */
  #warn(message: string, fields: object): void {
    const { logger } = this.options;
    if (!logger) return void process.emitWarning(message, { code: 'LEASEHOLD_EVICTION_POLICY' });
    try {
      logger.warn({ conductorId: this.id, ...fields }, message);
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    this.#telemetry?.error(error);
    reportBackground(this, error);
  }
}

/** An error as one line for `last_error`: its name and message, at most 500 characters. */
function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}
