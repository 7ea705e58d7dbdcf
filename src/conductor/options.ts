import type { Meter } from '@opentelemetry/api';
import { InvalidOptionError } from '../lock/errors.js';
import { LockManager } from '../lock/lock-manager.js';
import { checkLogger, type Logger } from '../lock/logger.js';
import { checkMeter } from '../lock/metrics.js';
import { checkDuration, checkInteger, checkName, checkOptions, show } from '../lock/validate.js';
import { resolveFailurePolicy, type FailurePolicy, type ResolvedFailurePolicy } from '../nodes/policy.js';
import type { NodeStore } from '../nodes/store.js';
import type { ConductorRegistry } from './registry.js';

/** Options of a {@link Conductor}. Everything it uses is handed in; it creates none of it and closes none of it. */
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
  readonly lockRetry?: { readonly attempts?: number; readonly intervalMs?: number };
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
}

/** Defaults of {@link ConductorOptions}. */
export const CONDUCTOR_DEFAULTS = Object.freeze({
  version: '',
  lockRetry: Object.freeze({ attempts: 3, intervalMs: 1_000 }),
  stopTimeoutMs: 30_000,
} as const);

/** Options after validation and defaults. */
export interface ResolvedConductorOptions {
  readonly id: string;
  readonly locks: LockManager;
  readonly nodes: NodeStore;
  readonly registry: ConductorRegistry;
  readonly version: string;
  readonly drivers: readonly string[];
  readonly policy: ResolvedFailurePolicy;
  readonly lockRetry: { readonly attempts: number; readonly intervalMs: number };
  readonly stopTimeoutMs: number;
  readonly meter: Meter | null;
  readonly logger: Logger | null;
}

const KEYS = ['id', 'locks', 'nodes', 'registry', 'version', 'drivers', 'policy', 'lockRetry', 'stopTimeoutMs', 'meter', 'logger'] as const;

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
  if (!Array.isArray(drivers) || !drivers.every((d) => typeof d === 'string' && d.length > 0)) {
    throw new InvalidOptionError(`Conductor option drivers must be an array of non-empty strings; got ${show(drivers)}.`);
  }
  const retry = checkOptions<{ attempts: number; intervalMs: number }>('Conductor option lockRetry', given.lockRetry, ['attempts', 'intervalMs']);
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
  });
}
