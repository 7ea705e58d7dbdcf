import type { Meter } from '@opentelemetry/api';
import type { LockBackend } from './backend.js';
import { InvalidHeartbeatError, InvalidOptionError } from './errors.js';
import { checkLogger, type Logger } from './logger.js';
import { checkMeter } from './metrics.js';
import { checkDuration, checkFraction, checkOptions } from './validate.js';

/**
 * Options of {@link LockManager}. Every value is checked when the manager is made: a bad one throws an
 * {@link InvalidArgumentError} subclass naming it, an unknown key {@link UnknownOptionError}.
 *
 * @example
 * ```ts
 * const locks = new LockManager({
 *   backend: new RedisBackend(redis, { prefix: 'svc' }),
 *   ttlMs: 10_000, // a dead holder's leases expire within 10 s
 *   heartbeatMs: 2_000, // default ttlMs / 3
 * });
 * ```
 */
export interface LockManagerOptions {
  /** Where leases are stored, e.g. a {@link RedisBackend}. */
  readonly backend: LockBackend;
  /**
   * Lease time-to-live in ms, a whole number from 1 to 2^31 − 1: how long a holder that stops heartbeating (dies,
   * hangs, loses Redis) keeps the resource. Shorter TTLs recover faster and cost more heartbeats. Throws
   * {@link InvalidTtlError} when out of range.
   * @example `30_000`
   */
  readonly ttlMs: number;
  /**
   * Interval between heartbeats, in ms. Must be shorter than the TTL minus the drift margin, or the constructor
   * throws {@link InvalidHeartbeatError}. A beat that fails is retried after a quarter of the interval.
   * @defaultValue `Math.floor(ttlMs / 3)`
   */
  readonly heartbeatMs?: number;
  /**
   * Fraction of the TTL set aside for clock-rate drift between this process and Redis, from 0 up to (not
   * including) 0.5; the local validity of a lease is TTL − (TTL × driftFactor + 2 ms), counted from just before the
   * request was sent.
   * @defaultValue `0.01`
   */
  readonly driftFactor?: number;
  /**
   * Base delay between attempts while `acquire` waits for a held resource, in ms; each delay is jittered
   * between 0.5× and 1.5× of it.
   * @defaultValue `10`
   */
  readonly retryDelayMs?: number;
  /**
   * Where to record metrics (leases held, acquire duration, heartbeat round trip, leases lost, leases broken; see
   * `METRICS`): an OpenTelemetry `Meter`. A no-op until an OpenTelemetry SDK is installed.
   * @defaultValue none: nothing is recorded
   * @example `metrics.getMeter('leasehold')` (from `@opentelemetry/api`)
   */
  readonly meter?: Meter;
  /**
   * Where to log: lost leases and broken leases at `warn`, heartbeats, acquisitions and releases at `debug`,
   * background failures at `error`. A pino logger or `console` will do.
   * @defaultValue none: nothing is logged
   * @example `pino({ level: 'info' })`
   */
  readonly logger?: Logger;
}

/**
 * {@link LockManagerOptions} after defaults were applied and every value was checked: `locks.options`, frozen.
 *
 * @example
 * ```ts
 * const { ttlMs, heartbeatMs, driftFactor }: ResolvedLockManagerOptions = locks.options;
 * console.log(`leases of ${ttlMs} ms, renewed every ${heartbeatMs} ms, ${driftFactor * 100} % set aside for clock drift`);
 * ```
 */
export interface ResolvedLockManagerOptions {
  /** {@inheritDoc LockManagerOptions.backend} */
  readonly backend: LockBackend;
  /** Lease time-to-live, ms. */
  readonly ttlMs: number;
  /** Interval between heartbeats, ms. */
  readonly heartbeatMs: number;
  /** Fraction of the TTL set aside for clock-rate drift. */
  readonly driftFactor: number;
  /** Base delay between attempts while `acquire` waits, ms. */
  readonly retryDelayMs: number;
  /** The meter metrics are recorded to; `null`: none. Conductors and recovery managers default to it. */
  readonly meter: Meter | null;
  /** The logger lines are written to; `null`: none. Conductors and recovery managers default to it. */
  readonly logger: Logger | null;
}

/**
 * Defaults of the optional {@link LockManagerOptions} (`heartbeatMs` defaults to a third of `ttlMs`).
 *
 * @example
 * ```ts
 * // Many contenders waiting for one resource: poll it 5 times less often than by default
 * const locks = new LockManager({ backend, ttlMs: 10_000, retryDelayMs: LOCK_MANAGER_DEFAULTS.retryDelayMs * 5 });
 * ```
 */
export const LOCK_MANAGER_DEFAULTS = Object.freeze({
  /** 1 % of the TTL, plus 2 ms, set aside for clock drift. */
  driftFactor: 0.01,
  /** About 10 ms (jittered) between attempts while waiting. */
  retryDelayMs: 10,
} as const);

const KEYS = ['backend', 'ttlMs', 'heartbeatMs', 'driftFactor', 'retryDelayMs', 'meter', 'logger'] as const;

/** The margin set aside for clock drift on a lease of `ttlMs`. */
export function driftMs(ttlMs: number, driftFactor: number): number {
  return Math.floor(ttlMs * driftFactor) + 2;
}

/** Checks that heartbeats at `heartbeatMs` can keep a lease of `ttlMs` alive. */
export function checkHeartbeatFits(heartbeatMs: number, ttlMs: number, driftFactor: number): void {
  const validity = ttlMs - driftMs(ttlMs, driftFactor);
  if (heartbeatMs >= validity) {
    throw new InvalidHeartbeatError(
      `heartbeatMs (${heartbeatMs}) must be shorter than the lease's validity (${validity} ms = ttlMs ${ttlMs} minus the drift margin), ` +
        'or leases expire between heartbeats; use a longer ttlMs or a shorter heartbeatMs (ttlMs / 3 is a good start).',
    );
  }
}

/** Applies defaults to {@link LockManagerOptions} and validates every value; the result is frozen. */
export function resolveLockManagerOptions(options: unknown): ResolvedLockManagerOptions {
  if (options === undefined) throw new InvalidOptionError('LockManager needs options: at least { backend, ttlMs }.');
  const given = checkOptions<LockManagerOptions>('LockManager options', options, KEYS);
  const backend = given.backend;
  if (typeof backend !== 'object' || backend === null || typeof backend.acquire !== 'function' || typeof backend.extend !== 'function') {
    throw new InvalidOptionError('LockManager option backend must be a LockBackend, e.g. new RedisBackend(redis).');
  }
  const ttlMs = checkDuration('LockManager option ttlMs', given.ttlMs);
  const driftFactor = checkFraction('LockManager option driftFactor', given.driftFactor ?? LOCK_MANAGER_DEFAULTS.driftFactor, 0, 0.5);
  const heartbeatMs = checkDuration('LockManager option heartbeatMs', given.heartbeatMs ?? Math.max(1, Math.floor(ttlMs / 3)));
  checkHeartbeatFits(heartbeatMs, ttlMs, driftFactor);
  const retryDelayMs = checkDuration('LockManager option retryDelayMs', given.retryDelayMs ?? LOCK_MANAGER_DEFAULTS.retryDelayMs);
  const meter = checkMeter('LockManager', given.meter);
  const logger = checkLogger('LockManager', given.logger);
  return Object.freeze({ backend, ttlMs, heartbeatMs, driftFactor, retryDelayMs, meter, logger });
}
