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

/** Options of a {@link RecoveryManager}. Everything it uses is handed in; it closes none of it. */
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
   * How often to sweep for orphans whose expiry events were missed, ms: the bound on recovery latency when events
   * are lost is TTL + this.
   * @defaultValue `5_000`
   */
  readonly sweepIntervalMs?: number;
  /** Where each transient state goes. @defaultValue `DEFAULT_FAILURE_POLICY` */
  readonly policy?: FailurePolicy;
  /**
   * How many orphans it recovers at once.
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
}

/** Defaults of {@link RecoveryManagerOptions}. */
export const RECOVERY_DEFAULTS = Object.freeze({ sweepIntervalMs: 5_000, concurrency: 32 } as const);

/** Options after validation and defaults. */
export interface ResolvedRecoveryOptions {
  readonly locks: LockManager;
  readonly nodes: NodeStore;
  readonly subscriber: readonly RedisClient[] | null;
  readonly sweepIntervalMs: number;
  readonly policy: ResolvedFailurePolicy;
  readonly concurrency: number;
  readonly id: string;
  readonly eventLog: RedisEventLog | null;
  readonly audit: RedisEventLog | null;
  readonly meter: Meter | null;
  readonly logger: Logger | null;
}

const KEYS = ['locks', 'nodes', 'subscriber', 'sweepIntervalMs', 'policy', 'concurrency', 'id', 'eventLog', 'audit', 'meter', 'logger'] as const;

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
  return Object.freeze({
    locks: given.locks,
    nodes: nodes as NodeStore,
    subscriber: subscriber && Object.freeze(subscriber),
    sweepIntervalMs: checkDuration('sweepIntervalMs', given.sweepIntervalMs ?? RECOVERY_DEFAULTS.sweepIntervalMs, 10),
    policy: resolveFailurePolicy(given.policy),
    concurrency: checkInteger('concurrency', given.concurrency ?? RECOVERY_DEFAULTS.concurrency, 1, 10_000),
    id: checkName('RecoveryManager id', given.id ?? randomBytes(4).toString('hex')),
    eventLog: given.eventLog ?? null,
    audit: given.audit ?? null,
    meter: given.meter === undefined ? given.locks.options.meter : checkMeter('RecoveryManager', given.meter),
    logger: given.logger === undefined ? given.locks.options.logger : checkLogger('RecoveryManager', given.logger),
  });
}
