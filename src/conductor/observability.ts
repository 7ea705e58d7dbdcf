/**
 * A conductor's metrics, logs and health report. {@link Conductor} hands its events to a
 * {@link ConductorTelemetry}, which records the instruments of `METRICS` and writes the log lines, every one with
 * the conductor's id.
 *
 * @packageDocumentation
 */
import type { Meter } from '@opentelemetry/api';
import type { HolderInfo, LeaseLostError, PreviousHolder } from '../lock/errors.js';
import type { LockHealth } from '../lock/health.js';
import { errorFields, LogLine, type Logger } from '../lock/logger.js';
import { createInstruments, type Instruments } from '../lock/metrics.js';
import type { ConductorRecord } from './registry.js';

/**
 * What `conductor.health()` reports: its lock manager's health and its own state. Plain data, ready for
 * `JSON.stringify`.
 *
 * @example
 * ```ts
 * const health = await conductor.health();
 * if (!health.ready) console.warn(`${health.id} not ready: ${health.state}, online ${health.online}, Redis ${health.reachable}`);
 * ```
 */
export interface ConductorHealth extends LockHealth {
  /** The conductor's id. */
  readonly id: string;
  /** Where it is in its life: `idle`, `starting`, `running`, `stopping`, `stopped`. */
  readonly state: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';
  /** Whether it holds its liveness lease (`conductor:<id>`), i.e. other conductors and operators see it online. */
  readonly online: boolean;
  /** Tasks holding a node now. */
  readonly activeTasks: number;
  /** Ready for work: `running`, `online`, and the lock store not found unreachable. For a readiness probe. */
  readonly ready: boolean;
}

/** What found an orphaned node lease a conductor took over: reserving the node, or its own restart. */
type ConductorTrigger = 'acquire' | 'restart';

type ConductorKeys = 'conductorsOnline' | 'orphansDetected' | 'nodesRecovered' | 'recoveryLatency';

/** @internal What a Conductor reports, as metrics and log lines. Made only when a meter or a logger was given. */
export class ConductorTelemetry {
  readonly #metrics: Instruments<ConductorKeys> | null;
  readonly #log: LogLine;
  /** Whether `leasehold.conductors.online` counts this conductor now. */
  #online = false;
  /** Whether it was ever online: going online again is a re-registration after losing the liveness lease. */
  #wasOnline = false;

  constructor(meter: Meter | null, logger: Logger | null, id: string) {
    this.#metrics = meter && createInstruments(meter, ['conductorsOnline', 'orphansDetected', 'nodesRecovered', 'recoveryLatency']);
    this.#log = new LogLine(logger, { conductorId: id });
  }

  /** The liveness lease is held (`true`: at start, or registered again after losing it) or no longer (`false`). */
  online(online: boolean, fence?: number): void {
    if (online === this.#online) return;
    this.#online = online;
    this.#metrics?.conductorsOnline.add(online ? 1 : -1);
    if (online && this.#wasOnline) this.#log.write('info', { fence }, 'liveness lease held again: online');
    if (online) this.#wasOnline = true;
  }

  /** An orphaned node lease was taken over (the node is failed next if it was mid-operation). */
  orphanFound(nodeId: string, previous: PreviousHolder, fence: number, trigger: ConductorTrigger): void {
    this.#metrics?.orphansDetected.add(1, { trigger });
    this.#log.write('info', { nodeId, owner: previous.owner, previousFence: previous.fence, fence, trigger }, `node "${nodeId}" was held by "${previous.owner}", whose lease ended unreleased`);
  }

  /** The `started` event. */
  readonly started = (record: ConductorRecord): void => {
    this.#log.write('info', { fence: record.fence, hostname: record.hostname, pid: record.pid, version: record.version || undefined }, 'conductor started');
  };

  /** The `stopped` event. */
  readonly stopped = (): void => {
    this.online(false);
    this.#log.write('info', {}, 'conductor stopped');
  };

  /** The `nodeRecovered` event. */
  readonly nodeRecovered = (event: {
    readonly nodeId: string;
    readonly from: string;
    readonly to: string;
    /** The lease's previous holder: a `PreviousHolder` (with `expiredAt`), typed as a `HolderInfo` by the event. */
    readonly previous: HolderInfo & { readonly expiredAt?: number };
    readonly fence: number;
    readonly trigger: ConductorTrigger;
  }): void => {
    const expiredAt = event.previous.expiredAt;
    const latencyMs = typeof expiredAt === 'number' ? Math.max(0, Date.now() - expiredAt) : undefined;
    this.#metrics?.nodesRecovered.add(1, { from_state: event.from, to_state: event.to, trigger: event.trigger });
    if (latencyMs !== undefined) this.#metrics?.recoveryLatency.record(latencyMs, { trigger: event.trigger });
    this.#log.write(
      'info',
      { nodeId: event.nodeId, from: event.from, to: event.to, owner: event.previous.owner, previousFence: event.previous.fence, fence: event.fence, trigger: event.trigger, latencyMs },
      `node "${event.nodeId}" recovered: ${event.from} -> ${event.to}`,
    );
  };

  /** The `nodeFailed` event. */
  readonly nodeFailed = (event: { readonly nodeId: string; readonly from: string; readonly to: string; readonly fence: number; readonly error: unknown }): void => {
    const error = event.error === null ? undefined : event.error instanceof Error ? `${event.error.name}: ${event.error.message}` : JSON.stringify(event.error);
    this.#log.write(
      'warn',
      { nodeId: event.nodeId, from: event.from, to: event.to, fence: event.fence, error },
      `node "${event.nodeId}" failed: its task ended mid-operation (${event.from} -> ${event.to})`,
    );
  };

  /** The `taskLost` event. */
  readonly taskLost = (nodeId: string, error: LeaseLostError): void => {
    this.#log.write('warn', { nodeId, resource: error.resource, fence: error.fence, reason: error.reason }, `lost the lease on node "${nodeId}" (${error.reason}): its task is aborted`);
  };

  /** The `livenessLost` event. */
  readonly livenessLost = (error: LeaseLostError): void => {
    this.online(false);
    this.#log.write('warn', { resource: error.resource, fence: error.fence, reason: error.reason }, `lost the liveness lease (${error.reason}): offline until it is registered again`);
  };

  /** A background failure. */
  readonly error = (error: unknown): void => {
    this.#log.write('error', { error: errorFields(error) }, 'conductor background failure');
  };
}
