/**
 * Health reports for a service's readiness endpoint: plain, JSON-ready objects. `locks.health()` is the lock
 * layer's; `conductor.health()` and `recovery.health()` add their own fields to it.
 *
 * @packageDocumentation
 */
import { checkDuration, checkOptions } from './validate.js';

/**
 * Options of `locks.health()`, `conductor.health()` and `recovery.health()`.
 *
 * @example
 * ```ts
 * const options: HealthOptions = { timeoutMs: 200 }; // a readiness probe must answer fast
 * const { ready } = await conductor.health(options);
 * response.writeHead(ready ? 200 : 503).end();
 * ```
 */
export interface HealthOptions {
  /**
   * How long the checks that talk to Redis (PING, counting orphans) may take, in ms; a check that takes longer
   * reports the store unreachable (or its count `null`).
   * @defaultValue `1_000`
   */
  readonly timeoutMs?: number;
}

/**
 * Defaults of {@link HealthOptions}.
 *
 * @example
 * ```ts
 * // health() may take up to HEALTH_DEFAULTS.timeoutMs when Redis does not answer: give the probe a little more
 * const probeTimeoutSeconds = Math.ceil((HEALTH_DEFAULTS.timeoutMs + 500) / 1_000);
 * ```
 */
export const HEALTH_DEFAULTS = Object.freeze({
  /** A Redis check that takes longer than 1 s reports the store unreachable. */
  timeoutMs: 1_000,
} as const);

/**
 * What `locks.health()` reports: plain data, ready for `JSON.stringify`.
 *
 * @example
 * ```ts
 * const health = await locks.health({ timeoutMs: 500 });
 * if (health.reachable === false) console.warn(`Redis unreachable: ${health.unreachable.join(', ')} (${health.error})`);
 * ```
 */
export interface LockHealth {
  /**
   * Whether the lock store answered a PING within the timeout (a Cluster: every master; quorum mode: a majority
   * of the masters). `null` when the backend has no `ping` (a backend of your own).
   */
  readonly reachable: boolean | null;
  /** The servers that did not answer, as `host:port`; empty when all did. */
  readonly unreachable: readonly string[];
  /** Why the first of them did not answer (credentials in URLs redacted), or `null`. */
  readonly error: string | null;
  /** How long the PING took, in ms, or `null` without one. */
  readonly pingMs: number | null;
  /** Leases this lock manager holds now (a conductor's liveness lease and node leases included). */
  readonly leasesHeld: number;
  /**
   * How late heartbeats are: milliseconds since the last heartbeat that renewed every lease it was sent for,
   * beyond the heartbeat interval. `0` while heartbeats keep up; it grows while Redis does not answer (leases
   * are lost once it reaches the TTL minus the interval). `null` when no lease is held.
   */
  readonly heartbeatLagMs: number | null;
  /** When the last such heartbeat (or the first acquisition since none was held) happened, epoch ms; `null` when no lease is held. */
  readonly lastHeartbeatAt: number | null;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

/** Checks `health()` options and fills in the default. */
export function resolveHealthOptions(options: unknown): { readonly timeoutMs: number } {
  const given = checkOptions<HealthOptions>('health options', options, ['timeoutMs']);
  return { timeoutMs: checkDuration('health option timeoutMs', given.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs) };
}

/**
 * Resolves to what `promise` resolves to, or to `fallback(error)` when it rejects or does not settle within `ms`
 * (`error` is then `null`). Never rejects, and never leaves a late rejection unhandled.
 */
export function settleWithin<T, F>(promise: Promise<T>, ms: number, fallback: (error: unknown) => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback(null)), ms);
    timer.unref();
  });
  return Promise.race([promise.catch(fallback), timeout]).finally(() => clearTimeout(timer));
}
