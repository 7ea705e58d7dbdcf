/**
 * The lock manager's metrics and logs, in one place: {@link LockManager} hands every event it emits (and every
 * acquire call's end, every lease it breaks, every background error) to a {@link LockTelemetry}, which records
 * the instruments of {@link METRICS} and writes the log lines.
 *
 * @packageDocumentation
 */
import type { Meter } from '@opentelemetry/api';
import type { LockBackend } from './backend.js';
import type { HolderInfo, LeaseLostError } from './errors.js';
import type { Lease } from './lease.js';
import { errorFields, LogLine, type Logger } from './logger.js';
import { createInstruments, type Instruments } from './metrics.js';
import { QuorumBackend } from './quorum/quorum-backend.js';
import { RedisBackend } from './redis/redis-backend.js';

/**
 * How an `acquire`/`tryAcquire` call ended: the `outcome` attribute of `leasehold.acquire.duration`.
 *
 * @example
 * ```ts
 * // The series to watch on a dashboard: calls that gave up or failed
 * const bad: AcquireOutcomeName[] = ['timeout', 'error'];
 * for (const outcome of bad) console.log(`${METRICS.acquireDuration.name}{outcome="${outcome}"}`);
 * ```
 */
export type AcquireOutcomeName =
  /** A lease was granted. */
  | 'acquired'
  /** Held by another holder, and the call did not wait (`waitMs` 0). */
  | 'contended'
  /** Still held by another holder when `waitMs` ran out. */
  | 'timeout'
  /** The call threw: Redis failed, the signal aborted, or the manager was closed. */
  | 'error';

/** The `backend` attribute of `leasehold.leases.held`. */
function backendName(backend: LockBackend): string {
  return backend instanceof RedisBackend ? 'redis' : backend instanceof QuorumBackend ? 'quorum' : 'custom';
}

type LockKeys = 'leasesHeld' | 'acquireDuration' | 'heartbeatDuration' | 'leasesLost' | 'forcedBreaks';

/** @internal What a LockManager reports, as metrics and log lines. Made only when a meter or a logger was given. */
export class LockTelemetry {
  readonly #metrics: Instruments<LockKeys> | null;
  readonly #log: LogLine;
  readonly #backend: { readonly backend: string };

  constructor(meter: Meter | null, logger: Logger | null, backend: LockBackend) {
    this.#metrics = meter && createInstruments(meter, ['leasesHeld', 'acquireDuration', 'heartbeatDuration', 'leasesLost', 'forcedBreaks']);
    this.#log = new LogLine(logger);
    this.#backend = Object.freeze({ backend: backendName(backend) });
  }

  /** The `acquired` event. */
  readonly acquired = (lease: Lease): void => {
    this.#metrics?.leasesHeld.add(1, this.#backend);
    const previous = lease.previous;
    this.#log.write(
      'debug',
      { resource: lease.resource, owner: lease.owner, fence: lease.fence, purpose: lease.purpose || undefined, previousOwner: previous?.owner },
      previous ? `acquired "${lease.resource}", an orphan of "${previous.owner}"` : `acquired "${lease.resource}"`,
    );
  };

  /** The `released` event. */
  readonly released = (lease: Lease, deleted: boolean): void => {
    this.#metrics?.leasesHeld.add(-1, this.#backend);
    this.#log.write('debug', { resource: lease.resource, owner: lease.owner, fence: lease.fence, deleted }, `released "${lease.resource}"`);
  };

  /** The `lost` event. */
  readonly lost = (lease: Lease, error: LeaseLostError): void => {
    this.#metrics?.leasesHeld.add(-1, this.#backend);
    this.#metrics?.leasesLost.add(1, { reason: error.reason });
    this.#log.write(
      'warn',
      { resource: lease.resource, owner: lease.owner, fence: lease.fence, reason: error.reason, cause: error.cause === undefined ? undefined : errorFields(error.cause) },
      `lost the lease on "${lease.resource}" (${error.reason})`,
    );
  };

  /** The `heartbeat` event. */
  readonly heartbeat = (report: { readonly leases: number; readonly renewed: number; readonly lost: number; readonly durationMs: number }): void => {
    this.#metrics?.heartbeatDuration.record(report.durationMs);
    this.#log.write('debug', { ...report }, `heartbeat renewed ${report.renewed} of ${report.leases} leases`);
  };

  /** A background failure (the `error` event, or a process warning when nobody listens). */
  readonly error = (error: unknown): void => {
    this.#log.write('error', { error: errorFields(error) }, 'lock manager background failure');
  };

  /** An `acquire`/`tryAcquire` call ended. */
  acquireEnded(outcome: AcquireOutcomeName, durationMs: number, resource: string, owner: string, holder: HolderInfo | null): void {
    this.#metrics?.acquireDuration.record(durationMs, { outcome });
    if (outcome === 'contended' || outcome === 'timeout') {
      this.#log.write('debug', { resource, owner, holder: holder?.owner, holderFence: holder?.fence, outcome }, `"${resource}" is held by another holder`);
    }
  }

  /** `breakLease` broke a live lease. */
  broke(resource: string, holder: HolderInfo): void {
    this.#metrics?.forcedBreaks.add(1);
    this.#log.write('warn', { resource, owner: holder.owner, fence: holder.fence, purpose: holder.purpose || undefined }, `broke the live lease of "${holder.owner}" on "${resource}"`);
  }
}
