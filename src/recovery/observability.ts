/**
 * A recovery manager's metrics, logs and health report. {@link RecoveryManager} hands its events to a
 * {@link RecoveryTelemetry}, which records the instruments of `METRICS` and writes the log lines, every one with
 * the manager's owner name (`recovery:<id>`).
 *
 * @packageDocumentation
 */
import type { Meter } from '@opentelemetry/api';
import type { HolderInfo } from '../lock/errors.js';
import type { LockHealth } from '../lock/health.js';
import { errorFields, LogLine, type Logger } from '../lock/logger.js';
import { createInstruments, type Instruments } from '../lock/metrics.js';
import type { FailedEvent, OrphanedEvent, ReconciledEvent, RecoveredEvent, SkippedEvent } from './events.js';

/** Most orphans `recovery.health()` counts. */
export const HEALTH_ORPHAN_LIMIT = 1_000;

/**
 * What `recovery.health()` reports: its lock manager's health and its own state. Plain data, ready for
 * `JSON.stringify`.
 *
 * @example
 * ```ts
 * const health = await recovery.health();
 * if (health.listening.length === 0) console.warn('no expiry events: recovery relies on sweeps');
 * ```
 */
export interface RecoveryHealth extends LockHealth {
  /** The owner name of its recovery leases, `recovery:<id>`. */
  readonly manager: string;
  /** `idle` before `start()`, `running`, `stopped` after `stop()`. */
  readonly state: 'idle' | 'running' | 'stopped';
  /**
   * Orphaned node leases waiting for recovery now (expired unreleased, not yet taken over), counted up to 1,000
   * with one read; `null` when the lock store did not answer in time.
   */
  readonly orphansWaiting: number | null;
  /** When the last sweep completed, epoch ms; `null` before the first. */
  readonly lastSweepAt: number | null;
  /** The masters whose expiry events it hears, as `host:port` (empty without a `subscriber`: sweeps only). */
  readonly listening: readonly string[];
  /** Ready to recover: `running` and the lock store not found unreachable. For a readiness probe. */
  readonly ready: boolean;
}

type RecoveryKeys = 'orphansDetected' | 'nodesRecovered' | 'recoveryLatency';

/** @internal What a RecoveryManager reports, as metrics and log lines. Made only when a meter or a logger was given. */
export class RecoveryTelemetry {
  readonly #metrics: Instruments<RecoveryKeys> | null;
  readonly #log: LogLine;

  constructor(meter: Meter | null, logger: Logger | null, manager: string) {
    this.#metrics = meter && createInstruments(meter, ['orphansDetected', 'nodesRecovered', 'recoveryLatency']);
    this.#log = new LogLine(logger, { manager });
  }

  /** The `orphaned` event. */
  readonly orphaned = (event: OrphanedEvent): void => {
    this.#metrics?.orphansDetected.add(1, { trigger: event.trigger });
    this.#log.write(
      'info',
      { nodeId: event.nodeId, owner: event.previous.owner, previousFence: event.previous.fence, expiredAt: event.previous.expiredAt, trigger: event.trigger },
      `node "${event.nodeId}" was held by "${event.previous.owner}", whose lease expired unreleased: recovering it`,
    );
  };

  /** The `recovered` event. */
  readonly recovered = (event: RecoveredEvent): void => {
    this.#metrics?.nodesRecovered.add(1, { from_state: event.from, to_state: event.to, trigger: event.trigger });
    this.#metrics?.recoveryLatency.record(event.latencyMs, { trigger: event.trigger });
    this.#log.write(
      'info',
      {
        nodeId: event.nodeId,
        from: event.from,
        to: event.to,
        owner: event.previous.owner,
        previousFence: event.previous.fence,
        fence: event.fence,
        trigger: event.trigger,
        latencyMs: event.latencyMs,
      },
      `node "${event.nodeId}" recovered: ${event.from} -> ${event.to}`,
    );
  };

  /** The `reconciled` event: counted as a recovery with trigger `reconcile` (no expiry, so no latency). */
  readonly reconciled = (event: ReconciledEvent): void => {
    this.#metrics?.nodesRecovered.add(1, { from_state: event.from, to_state: event.to, trigger: 'reconcile' });
    this.#log.write(
      'warn',
      { nodeId: event.nodeId, from: event.from, to: event.to, owner: event.lastHolder?.owner, previousFence: event.lastHolder?.fence, fence: event.fence, trigger: 'reconcile' },
      `node "${event.nodeId}" was "${event.from}" with no live lease and no orphan record: failed to "${event.to}"`,
    );
  };

  /** The `skipped` event. */
  readonly skipped = (event: SkippedEvent): void => {
    this.#log.write(
      'debug',
      { nodeId: event.nodeId, reason: event.reason, trigger: event.trigger, owner: event.previous?.owner, previousFence: event.previous?.fence },
      `node "${event.nodeId}" not recovered here: ${event.reason}`,
    );
  };

  /** The `failed` event. */
  readonly failed = (event: FailedEvent): void => {
    this.#log.write('error', { nodeId: event.nodeId, trigger: event.trigger, error: errorFields(event.error) }, `recovering node "${event.nodeId}" failed; it will be found again`);
  };

  /** The `degraded` event. */
  readonly degraded = (message: string, cause?: unknown): void => {
    this.#log.write('warn', { cause: cause === undefined ? undefined : errorFields(cause) }, message);
  };

  /** A background failure. */
  readonly error = (error: unknown): void => {
    this.#log.write('error', { error: errorFields(error) }, 'recovery manager background failure');
  };

  /** An operator broke a live lease with `recoverNode(..., { force: true })`. */
  forced(nodeId: string, actor: string, reason: string | undefined, holder: HolderInfo): void {
    this.#log.write('warn', { nodeId, actor, reason, owner: holder.owner, fence: holder.fence }, `"${actor}" broke the live lease of "${holder.owner}" on node "${nodeId}"`);
  }
}
