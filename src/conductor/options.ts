import type { Meter } from '@opentelemetry/api';
import { InvalidOptionError } from '../lock/errors.js';
import { LockManager } from '../lock/lock-manager.js';
import { checkLogger, type Logger } from '../lock/logger.js';
import { checkMeter } from '../lock/metrics.js';
import { checkDuration, checkInteger, checkName, checkOptions, show } from '../lock/validate.js';
import { resolveFailurePolicy, type FailurePolicy, type ResolvedFailurePolicy } from '../nodes/policy.js';
import type { NodeStore } from '../nodes/store.js';
import type { ConductorRegistry } from './registry.js';

/**
 * Options of a {@link Conductor}. Everything it uses is handed in; it creates none of it and closes none of it.
 * Checked by the constructor: a bad value throws `InvalidOptionError` (or another `InvalidArgumentError`) naming it.
 *
 * @example
 * ```ts
 * const conductor = new Conductor({
 *   id: 'conductor-a',
 *   locks, // its ttlMs is how long a dead conductor's nodes stay reserved
 *   nodes: new RedisNodeStore(redis, { prefix: 'ironic' }),
 *   registry: new RedisConductorRegistry(redis, { prefix: 'ironic' }),
 *   drivers: ['ipmi', 'redfish'],
 *   lockRetry: { attempts: 5, intervalMs: 500 },
 * });
 * ```
 */
export interface ConductorOptions {
  /** The conductor's id, unique among live conductors (e.g. its hostname). The owner of its leases. At most 256 UTF-8 bytes. */
  readonly id: string;
  /** The lock manager its leases come from (its TTL is the conductor's: a dead conductor's nodes free up after it). */
  readonly locks: LockManager;
  /** The node table. */
  readonly nodes: NodeStore;
  /** Where it registers itself. */
  readonly registry: ConductorRegistry;
  /** The service's version, shown in the registry. @defaultValue `""` */
  readonly version?: string;
  /** The drivers (hardware types) it operates, shown in the registry. @defaultValue `[]` */
  readonly drivers?: readonly string[];
  /** Where a node goes when its previous holder died mid-operation. @defaultValue `DEFAULT_FAILURE_POLICY` */
  readonly policy?: FailurePolicy;
  /**
   * How a reservation retries while another conductor holds the node (Ironic's `node_locked_retry_attempts` and
   * `node_locked_retry_interval`).
   * @defaultValue `{ attempts: 3, intervalMs: 1000 }`
   */
  readonly lockRetry?: {
    /** How many times to try, the first included: 1 to 1,000. @defaultValue `3` */
    readonly attempts?: number;
    /** The wait between two tries, ms (0 allowed). @defaultValue `1_000` */
    readonly intervalMs?: number;
  };
  /**
   * How long `stop()` lets running tasks finish before it aborts them and releases their leases, ms.
   * @defaultValue `30_000`
   */
  readonly stopTimeoutMs?: number;
  /**
   * Where to record metrics (conductors online, orphans detected, nodes recovered, recovery latency; see
   * `METRICS`): an OpenTelemetry `Meter`.
   * @defaultValue the lock manager's `meter` (none when it has none)
   * @example `metrics.getMeter('leasehold')` (from `@opentelemetry/api`)
   */
  readonly meter?: Meter;
  /**
   * Where to log, every line with `conductorId`: lost task and liveness leases at `warn`, start, stop and
   * recovered nodes at `info`, background failures at `error`. A pino logger or `console` will do.
   * @defaultValue the lock manager's `logger` (none when it has none)
   */
  readonly logger?: Logger;
  /**
   * Start even when a Redis server that stores leases may evict keys (`maxmemory` set, `maxmemory-policy` other than
   * `noeviction`): `start()` then warns (to the logger, else as a process warning) instead of rejecting with
   * `EvictionPolicyError`. An eviction loses a live lease silently; fenced writes still refuse its old holder.
   * @defaultValue `false`
   */
  readonly allowEviction?: boolean;
}

/**
 * Defaults of {@link ConductorOptions}.
 *
 * @example
 * ```ts
 * // Wait twice as long as Ironic's default for a node another conductor holds, before NodeLockedError
 * const conductor = new Conductor({ id: 'conductor-a', locks, nodes, registry, lockRetry: { attempts: CONDUCTOR_DEFAULTS.lockRetry.attempts * 2 } });
 * ```
 */
export const CONDUCTOR_DEFAULTS = Object.freeze({
  /** No version shown in the registry. */
  version: '',
  /** Ironic's defaults: 3 tries, 1 s apart, before `NodeLockedError`. */
  lockRetry: Object.freeze({
    /** 3 tries, the first included. */
    attempts: 3,
    /** 1 s between tries. */
    intervalMs: 1_000,
  }),
  /** `stop()` waits up to 30 s for running tasks. */
  stopTimeoutMs: 30_000,
} as const);

/**
 * {@link ConductorOptions} after validation and defaults: `conductor.options`, frozen.
 *
 * @example
 * ```ts
 * const { lockRetry, stopTimeoutMs }: ResolvedConductorOptions = conductor.options;
 * console.log(`a held node is tried ${lockRetry.attempts} times, ${lockRetry.intervalMs} ms apart; stop() waits up to ${stopTimeoutMs} ms`);
 * ```
 */
export interface ResolvedConductorOptions {
  /** The conductor's id. */
  readonly id: string;
  /** The lock manager its leases come from. */
  readonly locks: LockManager;
  /** The node table. */
  readonly nodes: NodeStore;
  /** Where it registers itself. */
  readonly registry: ConductorRegistry;
  /** The service's version shown in the registry (`""`: none). */
  readonly version: string;
  /** The drivers shown in the registry. */
  readonly drivers: readonly string[];
  /** The failure policy, resolved: the failed state for a node's state, or `null` to leave it. */
  readonly policy: ResolvedFailurePolicy;
  /** How a reservation retries while another conductor holds the node. */
  readonly lockRetry: {
    /** Tries, the first included. */
    readonly attempts: number;
    /** The wait between two tries, ms. */
    readonly intervalMs: number;
  };
  /** How long `stop()` lets running tasks finish, ms. */
  readonly stopTimeoutMs: number;
  /** The meter metrics are recorded to (the lock manager's unless given); `null`: none. */
  readonly meter: Meter | null;
  /** The logger lines are written to (the lock manager's unless given); `null`: none. */
  readonly logger: Logger | null;
  /** Whether `start()` only warns about a Redis that may evict keys. */
  readonly allowEviction: boolean;
}

const KEYS = ['id', 'locks', 'nodes', 'registry', 'version', 'drivers', 'policy', 'lockRetry', 'stopTimeoutMs', 'meter', 'logger', 'allowEviction'] as const;

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/** Validates a conductor's options and fills in defaults. */
export function resolveConductorOptions(options: unknown): ResolvedConductorOptions {
  if (options === undefined) throw new InvalidOptionError('new Conductor() needs options: { id, locks, nodes, registry }.');
  const given = checkOptions<ConductorOptions>('Conductor options', options, KEYS);
  const id = checkName('Conductor id', given.id);
  if (Buffer.byteLength(id, 'utf8') > 256) throw new InvalidOptionError(`Conductor id must be at most 256 UTF-8 bytes; got ${show(id)}.`);
  if (!(given.locks instanceof LockManager)) throw new InvalidOptionError(`Conductor option locks must be a LockManager; got ${show(given.locks)}.`);
  if (!hasMethods(given.nodes, ['get', 'list', 'create', 'transition'])) {
    throw new InvalidOptionError(`Conductor option nodes must be a NodeStore (MemoryNodeStore, RedisNodeStore, PostgresNodeStore); got ${show(given.nodes)}.`);
  }
  if (!hasMethods(given.registry, ['put', 'get', 'list', 'remove'])) {
    throw new InvalidOptionError(`Conductor option registry must be a ConductorRegistry (e.g. RedisConductorRegistry); got ${show(given.registry)}.`);
  }
  const version = given.version ?? CONDUCTOR_DEFAULTS.version;
  if (typeof version !== 'string') throw new InvalidOptionError(`Conductor option version must be a string; got ${show(version)}.`);
  const drivers: unknown = given.drivers ?? [];
  // Array.from, not every(): every() skips a sparse array's holes, which would come out as undefined drivers.
  if (!Array.isArray(drivers) || !Array.from(drivers as unknown[]).every((d) => typeof d === 'string' && d.length > 0)) {
    throw new InvalidOptionError(`Conductor option drivers must be an array of non-empty strings; got ${show(drivers)}.`);
  }
  const retry = checkOptions<{ attempts: number; intervalMs: number }>('Conductor option lockRetry', given.lockRetry, ['attempts', 'intervalMs']);
  if (given.allowEviction !== undefined && typeof given.allowEviction !== 'boolean') {
    throw new InvalidOptionError(`Conductor option allowEviction must be true or false; got ${show(given.allowEviction)}.`);
  }
  return Object.freeze({
    id,
    locks: given.locks,
    nodes: given.nodes as NodeStore,
    registry: given.registry as ConductorRegistry,
    version,
    drivers: Object.freeze([...(drivers as string[])]),
    policy: resolveFailurePolicy(given.policy),
    lockRetry: Object.freeze({
      attempts: checkInteger('lockRetry.attempts', retry.attempts ?? CONDUCTOR_DEFAULTS.lockRetry.attempts, 1, 1_000),
      intervalMs: checkDuration('lockRetry.intervalMs', retry.intervalMs ?? CONDUCTOR_DEFAULTS.lockRetry.intervalMs, 0),
    }),
    stopTimeoutMs: checkDuration('stopTimeoutMs', given.stopTimeoutMs ?? CONDUCTOR_DEFAULTS.stopTimeoutMs, 0),
    meter: given.meter === undefined ? given.locks.options.meter : checkMeter('Conductor', given.meter),
    logger: given.logger === undefined ? given.locks.options.logger : checkLogger('Conductor', given.logger),
    allowEviction: given.allowEviction === true,
  });
}
