import { randomBytes } from 'node:crypto';
import type { Meter } from '@opentelemetry/api';
import { InvalidOptionError } from '../lock/errors.js';
import { LockManager } from '../lock/lock-manager.js';
import { checkLogger, type Logger } from '../lock/logger.js';
import { checkMeter } from '../lock/metrics.js';
import type { RedisClient } from '../lock/redis/script-set.js';
import { checkDuration, checkInteger, checkName, checkOptions, show } from '../lock/validate.js';
import { resolveFailurePolicy, type FailurePolicy, type ResolvedFailurePolicy } from '../nodes/policy.js';
import type { NodeStore } from '../nodes/store.js';
import { RedisEventLog } from './event-log.js';

/**
 * Options of a {@link RecoveryManager}. Everything it uses is handed in; it closes none of it. Checked by the
 * constructor: a bad value throws `InvalidOptionError` (or another `InvalidArgumentError`) naming it.
 *
 * @example
 * ```ts
 * const recovery = new RecoveryManager({
 *   locks,
 *   nodes,
 *   subscriber: redis, // expiry events: recovery about one TTL after a holder dies
 *   sweepIntervalMs: 2_000, // without events: within TTL + 2 s
 *   audit: new RedisEventLog(redis, 'audit', { prefix: 'ironic' }), // needed for forced recovery
 * });
 * ```
 */
export interface RecoveryManagerOptions {
  /** The lock manager whose leases it watches (its backend's key space is the one recovered). */
  readonly locks: LockManager;
  /** The node table it writes failed states to. */
  readonly nodes: NodeStore;
  /**
   * A client of the same Redis deployment, used as the template of the subscriber connections it opens (one per
   * master) to hear `expired` events; in quorum mode, the masters' clients. Without it, only sweeps find orphans.
   */
  readonly subscriber?: RedisClient | readonly RedisClient[];
  /**
   * How often to sweep for orphans whose expiry events were missed, ms (at least 10): the bound on recovery latency
   * when events are lost is TTL + this.
   * @defaultValue `5_000`
   */
  readonly sweepIntervalMs?: number;
  /**
   * How often to reconcile, ms (at least 10), or `null` for never: list the nodes in `HELD_STATES` and fail those
   * with no live lease and no orphan record — nodes a Redis that lost its data forgot (sweeps and events cannot
   * see them), or that a holder let go of mid-operation. One store query, one read of the live leases (a call per
   * shard page), and one lease read per listed node that has no live lease.
   * @defaultValue `60_000`
   */
  readonly reconcileIntervalMs?: number | null;
  /** Where each transient state goes. @defaultValue `DEFAULT_FAILURE_POLICY` */
  readonly policy?: FailurePolicy;
  /**
   * How many orphans it recovers at once, 1 to 10,000.
   * @defaultValue `32`
   */
  readonly concurrency?: number;
  /** This manager's id; it acquires orphans as `recovery:<id>`. @defaultValue random */
  readonly id?: string;
  /** Where to publish recovery events for `leasehold watch` (stream `recovery-events`). @defaultValue none */
  readonly eventLog?: RedisEventLog;
  /** Where forced breaks are audited (stream `audit`). Required for `recoverNode(..., { force: true })`. */
  readonly audit?: RedisEventLog;
  /**
   * Where to record metrics (orphans detected, nodes recovered, recovery latency; see `METRICS`): an
   * OpenTelemetry `Meter`.
   * @defaultValue the lock manager's `meter` (none when it has none)
   * @example `metrics.getMeter('leasehold')` (from `@opentelemetry/api`)
   */
  readonly meter?: Meter;
  /**
   * Where to log, every line with `manager`: recoveries and orphans found at `info`, forced breaks and
   * degradation at `warn`, failed recoveries and background failures at `error`. A pino logger or `console` will do.
   * @defaultValue the lock manager's `logger` (none when it has none)
   */
  readonly logger?: Logger;
  /**
   * Start even when a Redis server that stores leases may evict keys (`maxmemory` set, `maxmemory-policy` other than
   * `noeviction`): `start()` then emits `degraded` (a process warning when nobody listens and there is no logger)
   * instead of rejecting with `EvictionPolicyError`. An evicted lock has no `expired` event: only sweeps find it.
   * @defaultValue `false`
   */
  readonly allowEviction?: boolean;
}

/**
 * Defaults of {@link RecoveryManagerOptions}.
 *
 * @example
 * ```ts
 * // How late a dead holder's node is recovered at worst when expiry events are lost: one TTL, then a sweep
 * const worstCaseMs = locks.options.ttlMs + RECOVERY_DEFAULTS.sweepIntervalMs;
 * ```
 */
export const RECOVERY_DEFAULTS = Object.freeze({
  /** A sweep every 5 s. */
  sweepIntervalMs: 5_000,
  /** A reconcile pass every minute. */
  reconcileIntervalMs: 60_000,
  /** Up to 32 recoveries at once. */
  concurrency: 32,
} as const);

/**
 * {@link RecoveryManagerOptions} after validation and defaults: `recovery.options`, frozen.
 *
 * @example
 * ```ts
 * const { id, subscriber, sweepIntervalMs }: ResolvedRecoveryOptions = recovery.options;
 * console.log(`recovery:${id} ${subscriber ? 'hears expiry events and ' : ''}sweeps every ${sweepIntervalMs} ms`);
 * ```
 */
export interface ResolvedRecoveryOptions {
  /** The lock manager whose leases it watches. */
  readonly locks: LockManager;
  /** The node table it writes failed states to. */
  readonly nodes: NodeStore;
  /** The clients its subscriber connections are made from; `null`: sweeps only. */
  readonly subscriber: readonly RedisClient[] | null;
  /** How often it sweeps, ms. */
  readonly sweepIntervalMs: number;
  /** How often it reconciles, ms; `null`: never. */
  readonly reconcileIntervalMs: number | null;
  /** The failure policy, resolved: the failed state for a node's state, or `null` to leave it. */
  readonly policy: ResolvedFailurePolicy;
  /** How many orphans it recovers at once. */
  readonly concurrency: number;
  /** Its id (random unless given); it acquires orphans as `recovery:<id>`. */
  readonly id: string;
  /** Where it publishes its events; `null`: nowhere. */
  readonly eventLog: RedisEventLog | null;
  /** Where forced breaks are audited; `null`: forced recovery is refused. */
  readonly audit: RedisEventLog | null;
  /** The meter metrics are recorded to (the lock manager's unless given); `null`: none. */
  readonly meter: Meter | null;
  /** The logger lines are written to (the lock manager's unless given); `null`: none. */
  readonly logger: Logger | null;
  /** Whether `start()` only warns about a Redis that may evict keys. */
  readonly allowEviction: boolean;
}

const KEYS = ['locks', 'nodes', 'subscriber', 'sweepIntervalMs', 'reconcileIntervalMs', 'policy', 'concurrency', 'id', 'eventLog', 'audit', 'meter', 'logger', 'allowEviction'] as const;

/** Validates a recovery manager's options and fills in defaults. */
export function resolveRecoveryOptions(options: unknown): ResolvedRecoveryOptions {
  if (options === undefined) throw new InvalidOptionError('new RecoveryManager() needs options: { locks, nodes }.');
  const given = checkOptions<RecoveryManagerOptions>('RecoveryManager options', options, KEYS);
  if (!(given.locks instanceof LockManager)) throw new InvalidOptionError(`RecoveryManager option locks must be a LockManager; got ${show(given.locks)}.`);
  const nodes = given.nodes as unknown;
  if (typeof nodes !== 'object' || nodes === null || typeof (nodes as NodeStore).transition !== 'function' || typeof (nodes as NodeStore).get !== 'function') {
    throw new InvalidOptionError(`RecoveryManager option nodes must be a NodeStore; got ${show(nodes)}.`);
  }
  const subscriberOption = given.subscriber;
  const subscriber = subscriberOption === undefined ? null : Array.isArray(subscriberOption) ? [...(subscriberOption as RedisClient[])] : [subscriberOption as RedisClient];
  if (subscriber !== null && (subscriber.length === 0 || !subscriber.every((c: unknown) => typeof c === 'object' && c !== null && typeof (c as { duplicate?: unknown }).duplicate === 'function'))) {
    throw new InvalidOptionError(`RecoveryManager option subscriber must be an ioredis Redis or Cluster client (or quorum mode's masters); got ${show(subscriberOption)}.`);
  }
  for (const key of ['eventLog', 'audit'] as const) {
    if (given[key] !== undefined && !(given[key] instanceof RedisEventLog)) {
      throw new InvalidOptionError(`RecoveryManager option ${key} must be a RedisEventLog; got ${show(given[key])}.`);
    }
  }
  if (given.allowEviction !== undefined && typeof given.allowEviction !== 'boolean') {
    throw new InvalidOptionError(`RecoveryManager option allowEviction must be true or false; got ${show(given.allowEviction)}.`);
  }
  return Object.freeze({
    locks: given.locks,
    nodes: nodes as NodeStore,
    subscriber: subscriber && Object.freeze(subscriber),
    sweepIntervalMs: checkDuration('sweepIntervalMs', given.sweepIntervalMs ?? RECOVERY_DEFAULTS.sweepIntervalMs, 10),
    reconcileIntervalMs:
      given.reconcileIntervalMs === null ? null : checkDuration('reconcileIntervalMs', given.reconcileIntervalMs ?? RECOVERY_DEFAULTS.reconcileIntervalMs, 10),
    policy: resolveFailurePolicy(given.policy),
    concurrency: checkInteger('concurrency', given.concurrency ?? RECOVERY_DEFAULTS.concurrency, 1, 10_000),
    id: checkName('RecoveryManager id', given.id ?? randomBytes(4).toString('hex')),
    eventLog: given.eventLog ?? null,
    audit: given.audit ?? null,
    meter: given.meter === undefined ? given.locks.options.meter : checkMeter('RecoveryManager', given.meter),
    logger: given.logger === undefined ? given.locks.options.logger : checkLogger('RecoveryManager', given.logger),
    allowEviction: given.allowEviction === true,
  });
}
