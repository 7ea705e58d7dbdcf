import { EventEmitter } from 'eventemitter3';
import { LockHeldError, type LeaseLostError, type PreviousHolder } from '../lock/errors.js';
import type { Lease } from '../lock/lease.js';
import { reportBackground } from '../lock/emit.js';
import type { HealthOptions } from '../lock/health.js';
import { sleep } from '../lock/timers.js';
import { checkDuration, checkName, checkOptions, checkSignal } from '../lock/validate.js';
import { failStuckNode } from '../nodes/fail-stuck-node.js';
import type { ProvisionStateValue } from '../nodes/states.js';
import { nodeIdOf, nodeResource } from '../nodes/resources.js';
import { checkNodeId } from '../nodes/validate.js';
import { ConductorIdInUseError, ConductorStoppedError, NodeLockedError } from './errors.js';
import { isDeadHere, thisIncarnation } from './incarnation.js';
import { conductorResource, listConductors, type ConductorInfo } from './list-conductors.js';
import { ConductorTelemetry, type ConductorHealth } from './observability.js';
import { resolveConductorOptions, type ConductorOptions, type ResolvedConductorOptions } from './options.js';
import type { ConductorRecord } from './registry.js';
import { NodeTask, type TaskHost } from './task.js';

/** Options of {@link Conductor.withNode} and {@link Conductor.reserve}. */
export interface ReserveOptions {
  /** What the conductor does with the node, shown to operators and written in the lease, e.g. `"deploy"`. */
  readonly purpose: string;
  /** Aborts the reservation while it waits for the node. */
  readonly signal?: AbortSignal;
}

/** A node a conductor moved to its failed state because its previous holder died mid-operation. */
export interface NodeRecoveredEvent {
  readonly nodeId: string;
  readonly from: ProvisionStateValue;
  readonly to: ProvisionStateValue;
  /** The holder whose lease ended without release. */
  readonly previous: PreviousHolder;
  /** The fence the failed state was written with. */
  readonly fence: number;
  /** `acquire`: found when reserving the node; `restart`: a crashed incarnation of this conductor held it. */
  readonly trigger: 'acquire' | 'restart';
}

/** Events of a {@link Conductor}. */
export interface ConductorEvents {
  /** Registered and ready for work. */
  started: (record: ConductorRecord) => void;
  /** Stopped: every lease released. */
  stopped: () => void;
  /** A node whose previous holder died was moved to its failed state before any work on it. */
  nodeRecovered: (event: NodeRecoveredEvent) => void;
  /** A task's lease was lost; its `signal` aborted with the same error. */
  taskLost: (nodeId: string, error: LeaseLostError) => void;
  /** The conductor's own liveness lease was lost (Redis unreachable too long); it keeps trying to register again. */
  livenessLost: (error: LeaseLostError) => void;
  /** A background failure (a release that failed, a listener that threw, a failed re-registration). */
  error: (error: unknown) => void;
}

/** The life of a conductor. */
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
  readonly #tasks = new Set<NodeTask>();
  #drained: (() => void) | null = null;
  readonly #stopAbort = new AbortController();
  readonly #host: TaskHost;
  /** Metrics and logs, when a meter or a logger was given (or the lock manager has one). */
  readonly #telemetry: ConductorTelemetry | null;

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
   * instead of after their TTL. Rejects with `ConductorIdInUseError` while another live conductor has the id.
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
   * holder died mid-operation, the node is first moved to its failed state (see `nodeRecovered`).
   */
  async withNode<T>(nodeId: string, options: ReserveOptions, fn: (task: NodeTask) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('withNode() needs a function as its third argument.');
    const task = await this.reserve(nodeId, options);
    try {
      return await fn(task);
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
    await this.options.nodes.get(nodeId); // an unknown node fails before any lock is taken
    const lease = await this.#acquireNode(nodeId, purpose, signal);
    try {
      if (this.#state !== 'running') throw new ConductorStoppedError(this.id, this.#state);
      let node = await this.options.nodes.get(nodeId);
      if (lease.previous) node = (await this.#failIfStuck(nodeId, lease, 'acquire')) ?? node;
      const task = new NodeTask(this.#host, lease, node, AbortSignal.any([lease.signal, this.#stopAbort.signal]));
      this.#tasks.add(task);
      lease.once('lost', (error) => this.#emit('taskLost', nodeId, error));
      return task;
    } catch (error) {
      await lease.release().catch((e: unknown) => this.#report(e));
      throw error;
    }
  }

  /**
   * For a readiness endpoint: the lock manager's health (Redis reachable, heartbeat lag, leases held) with this
   * conductor's state, whether it is online, and `ready`. Never rejects.
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
   * stopped in the registry. Safe to call twice. The lock manager and stores are the caller's to close.
   */
  stop(options?: { readonly timeoutMs?: number }): Promise<void> {
    const given = checkOptions<{ timeoutMs: number }>('stop options', options, ['timeoutMs']);
    const timeoutMs = given.timeoutMs === undefined ? this.options.stopTimeoutMs : checkDuration('stop timeoutMs', given.timeoutMs, 0);
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #start(): Promise<ConductorRecord> {
    this.#state = 'starting';
    const { locks, registry } = this.options;
    const self = thisIncarnation();
    const resource = conductorResource(this.id);
    let liveness = await locks.tryAcquire(resource, { owner: this.id, purpose: 'liveness' });
    if (!liveness) {
      const [info, record] = await Promise.all([locks.inspect(resource), registry.get(this.id)]);
      if (info.holder && record && record.fence === info.holder.fence && isDeadHere(record, self)) {
        await locks.breakLease(resource, { fence: info.holder.fence });
        liveness = await locks.tryAcquire(resource, { owner: this.id, purpose: 'liveness' });
      }
      if (!liveness) throw new ConductorIdInUseError(this.id, record?.hostname ?? null, record?.pid ?? null, info.ttlMs);
    }
    try {
      await this.#takeOverCrashedIncarnation();
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

  /** Breaks the node leases a crashed incarnation of this id still holds, and fails their nodes now. */
  async #takeOverCrashedIncarnation(): Promise<void> {
    const { locks } = this.options;
    const held = (await locks.leases({ owner: this.id, limit: 10_000_000 })).filter((l) => nodeIdOf(l.resource) !== null);
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
        } catch (error) {
          this.#report(error);
        } finally {
          await lease.release().catch((e: unknown) => this.#report(e));
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
    await Promise.allSettled([...this.#tasks].map((task) => task.release()));
    if (this.#reclaimTimer) clearTimeout(this.#reclaimTimer);
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
    lease.once('lost', (error) => {
      if (this.#liveness !== lease) return;
      this.#emit('livenessLost', error);
      this.#reclaim();
    });
  }

  #reclaim(): void {
    const retry = (): void => {
      this.#reclaimTimer = setTimeout(() => void attempt(), this.options.locks.options.heartbeatMs);
      this.#reclaimTimer.unref();
    };
    const attempt = async (): Promise<void> => {
      if (this.#state !== 'running') return;
      try {
        const lease = await this.options.locks.tryAcquire(conductorResource(this.id), { owner: this.id, purpose: 'liveness' });
        if (!lease) return retry();
        if (this.#state !== 'running') return void (await lease.release());
        this.#record = { ...this.#record!, fence: lease.fence };
        await this.options.registry.put(this.#record);
        this.#watchLiveness(lease);
      } catch (error) {
        this.#report(error);
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

  #report(error: unknown): void {
    this.#telemetry?.error(error);
    reportBackground(this, error);
  }
}
