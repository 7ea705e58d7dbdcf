import { EventEmitter } from 'eventemitter3';
import { InvalidOptionError, type HolderInfo, type PreviousHolder } from '../lock/errors.js';
import { reportBackground } from '../lock/emit.js';
import { resolveHealthOptions, settleWithin, type HealthOptions } from '../lock/health.js';
import type { Lease } from '../lock/lease.js';
import { QuorumBackend } from '../lock/quorum/quorum-backend.js';
import type { KeySpace } from '../lock/redis/keys.js';
import { enforceEvictionPolicy } from '../lock/redis/eviction-policy.js';
import { RedisNodeStore } from '../nodes/redis-store.js';
import { RedisBackend } from '../lock/redis/redis-backend.js';
import { Repeater } from '../lock/timers.js';
import { checkName, checkOptions, show } from '../lock/validate.js';
import { NodeNotFoundError } from '../nodes/errors.js';
import { failStuckNode } from '../nodes/fail-stuck-node.js';
import { NODE_RESOURCE_PREFIX, nodeIdOf, nodeResource } from '../nodes/resources.js';
import { isHeldState } from '../nodes/states.js';
import { checkNodeId } from '../nodes/validate.js';
import { LiveLeaseError, NotOrphanedError, ReasonRequiredError } from './errors.js';
import type { RecoveredEvent, RecoveryCounters, RecoveryEvents, RecoveryTrigger, SkipReason } from './events.js';
import { ExpiryListener } from './expiry-listener.js';
import { findUnheldNodes } from './reconcile.js';
import { HEALTH_ORPHAN_LIMIT, RecoveryTelemetry, type RecoveryHealth } from './observability.js';
import { resolveRecoveryOptions, type RecoveryManagerOptions, type ResolvedRecoveryOptions } from './options.js';

/**
 * What one recovery attempt came to.
 *
 * @example
 * ```ts
 * function summary(result: RecoveryOutcome): string {
 *   if (result.outcome === 'recovered') return `${result.nodeId}: ${result.from} -> ${result.to} (fence ${result.fence})`;
 *   if (result.outcome === 'skipped') return `${result.nodeId}: skipped (${result.reason})`;
 *   return `${result.nodeId}: failed, ${String(result.error)}`;
 * }
 * console.log(summary(await recovery.recoverNode('node-1', { actor: 'alice' })));
 * ```
 */
export type RecoveryOutcome =
  /** The node was moved to its failed state: the `recovered` event's fields. */
  | ({
      /** Recovered. */
      readonly outcome: 'recovered';
    } & RecoveredEvent)
  /** Nothing was written by this manager: see `reason`. */
  | {
      /** Skipped. */
      readonly outcome: 'skipped';
      /** The node. */
      readonly nodeId: string;
      /** Why it was not recovered here. */
      readonly reason: SkipReason;
    }
  /** The attempt failed; the node is left to be found again. */
  | {
      /** Failed. */
      readonly outcome: 'failed';
      /** The node. */
      readonly nodeId: string;
      /** Why: usually a `BackendError`. */
      readonly error: unknown;
    };

/**
 * Options of {@link RecoveryManager.recoverNode}.
 *
 * @example
 * ```ts
 * // conductor-a hangs but still heartbeats: break its lease (audited), then recover the node
 * const options: RecoverNodeOptions = { actor: 'alice', reason: 'conductor-a hung, confirmed by its host', force: true };
 * await recovery.recoverNode('node-1', options);
 * ```
 */
export interface RecoverNodeOptions {
  /** Who asks (an operator's name); recorded in `last_error` and in the audit record. */
  readonly actor: string;
  /** Why; required with `force`. */
  readonly reason?: string;
  /** Break a live lease. Its holder's later writes are refused by the fence; an audit record is appended. */
  readonly force?: boolean;
}

/**
 * What {@link RecoveryManager.recoverNode} did.
 *
 * @example
 * ```ts
 * const result: RecoverNodeResult = await recovery.recoverNode('node-1', { actor: 'alice' });
 * if (result.outcome === 'recovered') console.log(`node-1: ${result.from} -> ${result.to}`);
 * else console.log(`node-1 not recovered: ${result.outcome === 'skipped' ? result.reason : String(result.error)}`);
 * if (result.broke) console.warn(`the live lease of ${result.broke.owner} was broken`);
 * ```
 */
export type RecoverNodeResult = RecoveryOutcome & {
  /** The live lease that was broken with `force`, or `null`. */
  readonly broke: HolderInfo | null;
};

/** Most orphans one sweep reads; a full sweep is followed by another at once. */
const SWEEP_LIMIT = 1_000;

/** What queued a recovery: an orphan's trigger, or a reconcile pass (a node unheld with no orphan record). */
type QueuedBy = RecoveryTrigger | 'reconcile';

/**
 * Recovers the nodes of dead conductors: hears lease expiry (keyspace `expired` events from every master, and a
 * periodic sweep of expired lease records as the backstop for every lost event), takes each orphaned node's lease
 * as `recovery:<id>`, moves the node from its transient state to the failed state the policy names with a
 * `last_error` that says what happened, and releases. Any number may run: the lock makes each orphan's recovery
 * happen once. A manager killed midway leaves its own lease to expire, and the node is found again.
 *
 * @example
 * ```ts
 * const recovery = new RecoveryManager({ locks, nodes, subscriber: redis });
 * recovery.on('recovered', (e) => console.log(`${e.nodeId}: ${e.from} -> ${e.to}, ${e.latencyMs} ms after expiry`));
 * await recovery.start();
 * ```
 */
export class RecoveryManager extends EventEmitter<RecoveryEvents> {
  /** The resolved, frozen options. */
  readonly options: ResolvedRecoveryOptions;
  /** The owner name of its recovery leases: `recovery:<id>`. */
  readonly owner: string;
  readonly #sweeper: Repeater;
  readonly #reconciler: Repeater | null;
  /** The last holder on record of each node a reconcile pass queued, as the pass found it. */
  readonly #unheld = new Map<string, HolderInfo | null>();
  readonly #listener: ExpiryListener | null;
  /** Where lock keys are parsed from expiry events: the backend's key space (quorum mode: its masters share one). */
  readonly #keys: KeySpace | null;
  /** Resources queued or in flight, so an event and a sweep never race each other here. */
  readonly #queued = new Set<string>();
  readonly #pending: [string, QueuedBy][] = [];
  #active = 0;
  #idle: (() => void)[] = [];
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  #stopping: Promise<void> | null = null;
  /** The expiry listener's refresh in flight, if any (see #refreshListener). */
  #refreshing: Promise<unknown> | false = false;
  #lastSweepAt: number | null = null;
  readonly #counters = { orphaned: 0, recovered: 0, skipped: 0, failed: 0, events: 0, sweeps: 0, reconciled: 0, reconciles: 0 };
  /** Metrics and logs, when a meter or a logger was given (or the lock manager has one). */
  readonly #telemetry: RecoveryTelemetry | null;

  /**
   * Checks the options; nothing is subscribed or swept before {@link RecoveryManager.start}.
   * @param options - see {@link RecoveryManagerOptions}.
   * @throws `InvalidOptionError` (or another `InvalidArgumentError`) naming a bad option, `UnknownOptionError` for
   *   an unknown one.
   */
  constructor(options: RecoveryManagerOptions) {
    super();
    this.options = resolveRecoveryOptions(options);
    this.owner = `recovery:${this.options.id}`;
    const { meter, logger } = this.options;
    this.#telemetry = meter || logger ? new RecoveryTelemetry(meter, logger, this.owner) : null;
    const backend = this.options.locks.options.backend;
    this.#keys = backend instanceof RedisBackend ? backend.keys : backend instanceof QuorumBackend ? backend.masters[0]!.keys : null;
    this.#sweeper = new Repeater(this.options.sweepIntervalMs, () => this.#sweep(), (error) => this.#report(error));
    const { reconcileIntervalMs } = this.options;
    this.#reconciler = reconcileIntervalMs === null ? null : new Repeater(reconcileIntervalMs, () => this.#reconcile(), (error) => this.#report(error));
    const { subscriber } = this.options;
    this.#listener =
      subscriber && this.#keys
        ? new ExpiryListener(subscriber, {
            onExpired: (key) => this.#heard(key),
            onDegraded: (message, cause) => this.#emit('degraded', message, cause),
            onError: (error) => this.#report(error),
          })
        : null;
  }

  /** Counts since construction. */
  counters(): RecoveryCounters {
    return { ...this.#counters };
  }

  /** When the last sweep completed (epoch ms), or `null`. */
  get lastSweepAt(): number | null {
    return this.#lastSweepAt;
  }

  /** The masters whose expiry events it hears, as `host:port`. */
  get listening(): string[] {
    return this.#listener?.masters ?? [];
  }

  /**
   * For a readiness endpoint: the lock manager's health (Redis reachable, heartbeat lag, leases held) with this
   * manager's state, the orphans waiting (one bounded read) and the last sweep. Never rejects on a Redis failure; bad options reject with `InvalidArgumentError`.
   *
   * @example
   * ```ts
   * const { ready, orphansWaiting, lastSweepAt } = await recovery.health();
   * ```
   */
  async health(options?: HealthOptions): Promise<RecoveryHealth> {
    const { timeoutMs } = resolveHealthOptions(options);
    const [locks, orphans] = await Promise.all([
      this.options.locks.health({ timeoutMs }),
      settleWithin(this.options.locks.orphans({ limit: HEALTH_ORPHAN_LIMIT, resourcePrefix: NODE_RESOURCE_PREFIX }), timeoutMs, () => null),
    ]);
    return {
      ...locks,
      manager: this.owner,
      state: this.#state,
      orphansWaiting: orphans && orphans.filter((o) => nodeIdOf(o.resource) !== null).length,
      lastSweepAt: this.#lastSweepAt,
      listening: this.listening,
      ready: this.#state === 'running' && locks.reachable !== false,
    };
  }

  /**
   * Subscribes to expiry events (enabling them where CONFIG allows; a `degraded` event says when it can't), runs a
   * first sweep, and sweeps every `sweepIntervalMs` from then on. Resolves once subscribed and swept. Rejects with
   * `EvictionPolicyError` (before subscribing) when a Redis server that stores leases may evict keys, or the server of
   * a `RedisNodeStore` may evict its records (an `allkeys-*` policy), unless the `allowEviction` option is set (a `degraded` event then; also when CONFIG cannot be read to check it).
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    try {
      await enforceEvictionPolicy(this.options.locks.options.backend, {
        who: `RecoveryManager "${this.owner}"`,
        allowEviction: this.options.allowEviction,
        records: this.options.nodes instanceof RedisNodeStore ? this.options.nodes.client : undefined,
        warn: (message) => {
          this.#emit('degraded', message);
          if (this.listenerCount('degraded') === 0 && !this.options.logger) process.emitWarning(message, { code: 'LEASEHOLD_EVICTION_POLICY' });
        },
      });
    } catch (error) {
      if (this.#state === 'running') this.#state = 'idle';
      throw error;
    }
    if (this.options.subscriber && !this.#keys) {
      this.#emit('degraded', 'Expiry events need a RedisBackend or QuorumBackend; this lock backend is swept only.');
    }
    await this.#listener?.start().catch((error: unknown) => this.#report(error));
    await this.#sweep().catch((error: unknown) => this.#report(error));
    if (this.#state === 'running') this.#sweeper.start();
    if (this.#state === 'running') this.#reconciler?.start(); // first pass one interval after start
  }

  /** Stops listening and sweeping, and waits for recoveries in flight. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state = 'stopped';
      this.#sweeper.stop();
      this.#reconciler?.stop();
      this.#listener?.stop();
      this.#pending.length = 0;
      if (this.#active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    })();
    return this.#stopping;
  }

  /**
   * The operator's recovery of one node, without touching the database by hand. An orphan is recovered as the
   * managers would. A live lease is refused with `LiveLeaseError` naming its holder, unless `force` (with a
   * `reason`): then it is broken (the fence grows past it, so the holder's writes are refused, and the holder
   * hears `lost` at its next heartbeat), an audit record is appended, and the node is recovered.
   * `NotOrphanedError` when there is nothing to recover; `NodeNotFoundError` for an unknown node.
   */
  async recoverNode(nodeId: string, options: RecoverNodeOptions): Promise<RecoverNodeResult> {
    checkNodeId(nodeId);
    const given = checkOptions<RecoverNodeOptions>('recoverNode options', options, ['actor', 'reason', 'force']);
    const actor = checkName('recoverNode actor', given.actor);
    const force = given.force === true;
    if (given.force !== undefined && typeof given.force !== 'boolean') throw new InvalidOptionError(`recoverNode force must be true or false; got ${show(given.force)}.`);
    if (force && (typeof given.reason !== 'string' || given.reason.trim() === '')) {
      throw new ReasonRequiredError('A forced recovery needs a reason (--reason "..."): it is written to the audit record.');
    }
    if (force && !this.options.audit) {
      throw new InvalidOptionError('A forced recovery needs an audit log: construct the RecoveryManager with { audit: new RedisEventLog(redis, "audit", { prefix }) }.');
    }
    await this.options.nodes.get(nodeId);
    const resource = nodeResource(nodeId);
    const info = await this.options.locks.inspect(resource);
    let broke: HolderInfo | null = null;
    if (info.holder) {
      if (!force) throw new LiveLeaseError(nodeId, info.holder, info.ttlMs);
      // The audit record is written before the lease is broken: a break is never left unrecorded (if the append
      // fails, nothing was broken). A second record gives the outcome once the node is recovered.
      const audit = this.options.audit!;
      const intent = { actor, reason: given.reason, nodeId, resource, previous: info.holder, ttlLeftMs: info.ttlMs };
      await audit.append('forced-break', { at: Date.now(), ...intent });
      const outcome = await this.options.locks.breakLease(resource, { fence: info.holder.fence });
      if (!outcome.broken) {
        await audit.append('forced-break-not-needed', { at: Date.now(), ...intent, found: outcome.holder }).catch((e: unknown) => this.#report(e));
        if (outcome.holder && outcome.ttlMs !== null) throw new LiveLeaseError(nodeId, outcome.holder, outcome.ttlMs); // a newer lease meanwhile
      } else {
        broke = outcome.holder;
        this.#telemetry?.forced(nodeId, actor, given.reason, outcome.holder);
        const result = await this.#recover(resource, 'operator', actor);
        const fields = result.outcome === 'recovered' ? { fence: result.fence, from: result.from, to: result.to } : result.outcome === 'skipped' ? { reason: result.reason } : { error: errorText(result.error) };
        await audit.append('forced-recovery', { at: Date.now(), actor, nodeId, resource, outcome: result.outcome, ...fields }).catch((e: unknown) => this.#report(e));
        return { ...result, broke };
      }
    } else if (!info.orphan) {
      throw new NotOrphanedError(nodeId, info.lastHolder);
    }
    const result = await this.#recover(resource, 'operator', actor);
    return { ...result, broke };
  }

  /** A keyspace event: recover the node if the key is one of its lock keys. */
  #heard(key: string): void {
    const resource = this.#keys?.resourceOfLockKey(key) ?? null;
    if (resource === null || nodeIdOf(resource) === null) return;
    this.#counters.events++;
    this.#enqueue(resource, 'event');
  }

  async #sweep(): Promise<number | undefined> {
    if (this.#state !== 'running') return undefined;
    this.#refreshListener();
    const orphans = await this.options.locks.orphans({ limit: SWEEP_LIMIT, resourcePrefix: NODE_RESOURCE_PREFIX });
    let queued = 0;
    for (const orphan of orphans) if (nodeIdOf(orphan.resource) !== null && this.#enqueue(orphan.resource, 'sweep')) queued++;
    this.#counters.sweeps++;
    this.#lastSweepAt = Date.now();
    if (orphans.length < SWEEP_LIMIT || queued === 0) return undefined;
    // A full sweep: more may be waiting. Sweep again as soon as this batch is recovered, not before (sweeping while
    // the batch is in flight would only find the same orphans again).
    await this.#drained();
    return 0;
  }

  /**
   * Re-checks the expiry listener's masters (one CONFIG GET each) beside the sweep, never before it: sweeps are the
   * backstop exactly when a subscriber's server does not answer, and waiting for it would stop them. One refresh
   * started by sweeps at a time (a Cluster's topology refreshes start their own); each resolves within a couple of
   * seconds, a silent master left to finish in the background.
   */
  #refreshListener(): void {
    if (!this.#listener || this.#refreshing) return;
    this.#refreshing = this.#listener
      .refresh()
      .catch((error: unknown) => this.#report(error))
      .finally(() => (this.#refreshing = false));
  }

  /**
   * A reconcile pass: queues every node in a state that needs a holder with no live lease and no orphan record.
   * Each is then taken as any orphan is (so a node held meanwhile is left alone) and failed only if, under the
   * recovery lease, it is still in such a state.
   */
  async #reconcile(): Promise<undefined> {
    if (this.#state !== 'running') return undefined;
    const found = await findUnheldNodes(this.options.locks, this.options.nodes);
    for (const { nodeId, lastHolder } of found) {
      const resource = nodeResource(nodeId);
      if (this.#state !== 'running' || this.#queued.has(resource)) continue;
      this.#unheld.set(resource, lastHolder);
      this.#enqueue(resource, 'reconcile');
    }
    this.#counters.reconciles++;
    return undefined;
  }

  /**
   * Under a recovery lease that took over no orphan: fails the node if it is still in a state that needs a holder.
   * Anything else (moved on, stable, gone) is left as is, quietly: a reconcile pass looks at every node mid-operation.
   */
  async #failUnheld(nodeId: string, lease: Lease, lastHolder: HolderInfo | null): Promise<RecoveryOutcome> {
    let node;
    try {
      node = await this.options.nodes.get(nodeId);
    } catch (error) {
      if (error instanceof NodeNotFoundError) return { outcome: 'skipped', nodeId, reason: 'node-missing' };
      throw error;
    }
    const from = node.provisionState;
    const to = this.options.policy(from);
    if (to === null || !isHeldState(from)) return { outcome: 'skipped', nodeId, reason: 'stable' };
    const last = lastHolder ? `the last holder on record, "${lastHolder.owner}" (fence ${lastHolder.fence}), let go of it` : 'no holder is on record at all';
    const lastError =
      `found "${from}" with no live lease and no orphan record (${last}): Redis lost its lease data, or its holder ` +
      `released it mid-operation; moved to "${to}" by ${this.owner} (reconcile).`;
    await this.options.nodes.transition(nodeId, { from: [from], to, fence: lease.fence, targetState: null, lastError });
    this.#counters.reconciled++;
    this.#emit('reconciled', { nodeId, from, to, lastHolder, fence: lease.fence });
    // The queue drops outcomes (only recoverNode's caller reads one, and it never reconciles): the event says it all.
    return { outcome: 'skipped', nodeId, reason: 'not-orphaned' };
  }

  /** Resolves when no recovery is queued or in flight (or at once when stopped). */
  #drained(): Promise<void> {
    if ((this.#active === 0 && this.#pending.length === 0) || this.#state !== 'running') return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Queues a resource for recovery; `false` when it is already queued or in flight (or the manager stopped). */
  #enqueue(resource: string, trigger: QueuedBy): boolean {
    if (this.#state !== 'running' || this.#queued.has(resource)) return false;
    this.#queued.add(resource);
    this.#pending.push([resource, trigger]);
    this.#pump();
    return true;
  }

  #pump(): void {
    while (this.#active < this.options.concurrency && this.#pending.length > 0) {
      const [resource, trigger] = this.#pending.shift()!;
      this.#active++;
      void this.#recover(resource, trigger, this.owner).finally(() => {
        this.#active--;
        this.#queued.delete(resource);
        this.#unheld.delete(resource);
        this.#pump();
        if (this.#active === 0 && this.#pending.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  /** The recovery action for one resource. Never rejects: the outcome says what happened. */
  async #recover(resource: string, queuedBy: QueuedBy, actor: string): Promise<RecoveryOutcome> {
    const nodeId = nodeIdOf(resource) ?? resource;
    // A node a reconcile pass queued that turns out to be an orphan after all is recovered as a sweep would.
    const trigger: RecoveryTrigger = queuedBy === 'reconcile' ? 'sweep' : queuedBy;
    let lease: Lease | null = null;
    try {
      lease = await this.options.locks.tryAcquire(resource, { owner: this.owner, purpose: `recovery (${queuedBy})` });
      if (!lease) return queuedBy === 'reconcile' ? { outcome: 'skipped', nodeId, reason: 'held' } : this.#skip(nodeId, 'held', trigger);
      const previous = lease.previous;
      if (!previous) {
        if (queuedBy === 'reconcile') return await this.#failUnheld(nodeId, lease, this.#unheld.get(resource) ?? null);
        return this.#skip(nodeId, 'not-orphaned', trigger);
      }
      this.#counters.orphaned++;
      this.#emit('orphaned', { nodeId, previous, trigger });
      let outcome;
      try {
        outcome = await failStuckNode(this.options.nodes, this.options.policy, {
          nodeId,
          fence: lease.fence,
          previous,
          actor: actor === this.owner ? actor : `${actor} through ${this.owner}`,
          trigger: trigger === 'event' ? 'lease expiry event' : trigger === 'sweep' ? 'recovery sweep' : 'operator request',
        });
      } catch (error) {
        if (error instanceof NodeNotFoundError) return this.#skip(nodeId, 'node-missing', trigger, previous);
        throw error;
      }
      if (outcome.outcome === 'stable') return this.#skip(nodeId, 'stable', trigger, previous);
      const event: RecoveredEvent = {
        nodeId,
        from: outcome.from,
        to: outcome.to,
        previous,
        fence: lease.fence,
        trigger,
        latencyMs: Math.max(0, Date.now() - previous.expiredAt),
      };
      this.#counters.recovered++;
      this.#emit('recovered', event);
      return { outcome: 'recovered', ...event };
    } catch (error) {
      this.#counters.failed++;
      this.#emit('failed', { nodeId, trigger, error });
      // Leave the node to be found again: an orphan taken over is put back as it was (naming the dead holder), not
      // cleared. A lease that took over none (a reconcile's) is released below: abandoning it would make an orphan of
      // recovery's own, which a sweep would then fail the node for, even once its conductor had moved it on.
      if (lease?.previous) {
        const held = lease;
        lease = null;
        await held.abandon().catch((e: unknown) => this.#report(e));
      }
      return { outcome: 'failed', nodeId, error };
    } finally {
      await lease?.release().catch((error: unknown) => this.#report(error));
    }
  }

  #skip(nodeId: string, reason: SkipReason, trigger: RecoveryTrigger, previous?: PreviousHolder): RecoveryOutcome {
    this.#counters.skipped++;
    this.#emit('skipped', previous ? { nodeId, reason, trigger, previous } : { nodeId, reason, trigger });
    return { outcome: 'skipped', nodeId, reason };
  }

  #emit<E extends keyof RecoveryEvents>(event: E, ...args: Parameters<RecoveryEvents[E]>): void {
    try {
      (this.emit as (event: E, ...args: Parameters<RecoveryEvents[E]>) => boolean)(event, ...args);
    } catch (error) {
      this.#report(error);
    }
    const telemetry: { readonly [K in keyof RecoveryEvents]: RecoveryEvents[K] } | null = this.#telemetry; // one handler per event
    if (telemetry && event !== 'error') (telemetry[event] as (...args: Parameters<RecoveryEvents[E]>) => void)(...args);
    const log = this.options.eventLog;
    if (log && event !== 'error') {
      const [first, second] = args as unknown[];
      const body = event === 'degraded' ? { message: first, manager: this.owner } : { ...(first as object), manager: this.owner, error: errorText(second ?? (first as { error?: unknown }).error) };
      log.append(event, body).catch((error: unknown) => this.#report(error));
    }
  }

  #report(error: unknown): void {
    this.#telemetry?.error(error);
    reportBackground(this, error);
  }
}

function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    // A value a store of one's own throws may be anything: undefined for a function or a symbol, a throw for a
    // circular object, a BigInt or a toJSON that throws.
    return JSON.stringify(error) ?? Object.prototype.toString.call(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
