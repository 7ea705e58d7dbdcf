/**
 * Errors of the conductor runtime. Each has a stable `code`.
 *
 * @packageDocumentation
 */
import { LeaseholdError, type HolderInfo } from '../lock/errors.js';

/**
 * The node is reserved by someone else, and stayed so through every retry (`lockRetry`). Nothing was written. From
 * `conductor.withNode()` and `conductor.reserve()`; Ironic's `NodeLocked`.
 *
 * @example
 * ```ts
 * try {
 *   await conductor.withNode('node-1', { purpose: 'deploy' }, deploy);
 * } catch (error) {
 *   if (error instanceof NodeLockedError) console.log(`node-1 is busy: ${error.holder?.owner ?? 'unknown'} holds it`);
 *   else throw error;
 * }
 * ```
 */
export class NodeLockedError extends LeaseholdError {
  /** Always `"NODE_LOCKED"`. */
  readonly code = 'NODE_LOCKED' as const;

  /** Made by a conductor that gave up reserving a node. */
  constructor(
    /** The node that could not be reserved. */
    readonly nodeId: string,
    /** The holder at the last attempt, when known. */
    readonly holder: HolderInfo | null,
    /** Milliseconds left on the holder's lease at the last attempt, when known. */
    readonly holderTtlMs: number | null,
    /** How many times the reservation was tried. */
    readonly attempts: number,
  ) {
    const who = holder ? `conductor "${holder.owner}" (fence ${holder.fence}${holder.purpose ? `, ${holder.purpose}` : ''})` : 'another holder';
    const left = holderTtlMs !== null && holderTtlMs >= 0 ? `, ${holderTtlMs} ms left on its lease` : '';
    super(
      `Node "${nodeId}" is locked by ${who}${left}; gave up after ${attempts} attempt(s). Try again later; ` +
        'if that conductor is dead, its lease expires by itself and recovery takes the node over.',
    );
  }
}

/**
 * Another live conductor already runs with this id: its liveness lease is held, or (when that lease was lost) its
 * node leases are, and it is not a crashed process of this host. Nothing was registered, nothing broken. From
 * `conductor.start()`.
 *
 * @example
 * ```ts
 * await conductor.start().catch((error: unknown) => {
 *   if (error instanceof ConductorIdInUseError) console.error(`${error.conductorId} already runs on ${error.hostname ?? '?'}`);
 *   throw error;
 * });
 * ```
 */
export class ConductorIdInUseError extends LeaseholdError {
  /** Always `"CONDUCTOR_ID_IN_USE"`. */
  readonly code = 'CONDUCTOR_ID_IN_USE' as const;

  /** Made by `conductor.start()`. */
  constructor(
    /** The id in use. */
    readonly conductorId: string,
    /** Where the other one runs, when the registry knows. */
    readonly hostname: string | null,
    /** Its process id on that host, when the registry knows. */
    readonly pid: number | null,
    /**
     * Milliseconds left on its liveness lease; when that lease was lost, on the longest of its node leases: the id
     * is free once they expire, should that conductor be dead after all.
     */
    readonly ttlMs: number | null,
  ) {
    const where = hostname ? ` on host "${hostname}"${pid ? ` (pid ${pid})` : ''}` : '';
    const left = ttlMs !== null ? ` Its leases expire within ${ttlMs} ms unless it renews them.` : '';
    super(
      `Conductor id "${conductorId}" is in use by a live conductor${where}.${left} Give each conductor its own id, ` +
        'or stop the other one first (a crashed one on this host is taken over automatically).',
    );
  }
}

/**
 * The conductor is stopping or stopped (or was never started) and takes no new work: from `reserve()` and
 * `withNode()`, and `start()` after `stop()`. Also the reason a running task's `signal` aborts with when `stop()`
 * gives up waiting for it.
 *
 * @example
 * ```ts
 * await conductor.stop();
 * await conductor.withNode('node-1', { purpose: 'deploy' }, deploy); // rejects with ConductorStoppedError
 * ```
 */
export class ConductorStoppedError extends LeaseholdError {
  /** Always `"CONDUCTOR_STOPPED"`. */
  readonly code = 'CONDUCTOR_STOPPED' as const;

  /** Made by a conductor that is not running. */
  constructor(
    /** The conductor's id. */
    readonly conductorId: string,
    /** Its state when asked: `idle` (never started), `starting`, `stopping` or `stopped`. */
    readonly state: string,
  ) {
    super(
      state === 'idle'
        ? `Conductor "${conductorId}" was not started; call start() before reserving nodes.`
        : state === 'starting'
          ? `Conductor "${conductorId}" is still starting; await start() before reserving nodes.`
          : `Conductor "${conductorId}" is ${state}; it takes no new work. Start a new Conductor to work again.`,
    );
  }
}

/**
 * A task was asked to write its node after `task.release()` (or after `withNode()` returned): its reservation is
 * gone, so nothing was written. Reserve the node again to write it.
 *
 * @example
 * ```ts
 * const task = await conductor.reserve('node-1', { purpose: 'clean' });
 * await task.release();
 * await task.transition('cleaning').catch((error: unknown) => {
 *   if (error instanceof TaskReleasedError) console.log(`node ${error.nodeId}: reserve it again first`);
 * });
 * ```
 */
export class TaskReleasedError extends LeaseholdError {
  /** Always `"TASK_RELEASED"`. */
  readonly code = 'TASK_RELEASED' as const;

  /** Made by a task used after its release. */
  constructor(
    /** The node of the released task. */
    readonly nodeId: string,
    /** The fence of the released task's lease. */
    readonly fence: number,
  ) {
    super(`The task on node "${nodeId}" (fence ${fence}) was released; reserve the node again to write it.`);
  }
}
