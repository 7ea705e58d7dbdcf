/**
 * Errors of the conductor runtime. Each has a stable `code`.
 *
 * @packageDocumentation
 */
import { LeaseholdError, type HolderInfo } from '../lock/errors.js';

/** The node is reserved by someone else, and stayed so through every retry. Nothing was written. */
export class NodeLockedError extends LeaseholdError {
  readonly code = 'NODE_LOCKED' as const;

  constructor(
    readonly nodeId: string,
    /** The holder at the last attempt, when known. */
    readonly holder: HolderInfo | null,
    /** Milliseconds left on the holder's lease at the last attempt, when known. */
    readonly holderTtlMs: number | null,
    /** How many times the reservation was tried. */
    readonly attempts: number,
  ) {
    const who = holder ? `conductor "${holder.owner}" (fence ${holder.fence}${holder.purpose ? `, ${holder.purpose}` : ''})` : 'another holder';
    const left = holderTtlMs !== null ? `, ${holderTtlMs} ms left on its lease` : '';
    super(
      `Node "${nodeId}" is locked by ${who}${left}; gave up after ${attempts} attempt(s). Try again later; ` +
        'if that conductor is dead, its lease expires by itself and recovery takes the node over.',
    );
  }
}

/** Another live conductor already runs with this id. Nothing was registered. */
export class ConductorIdInUseError extends LeaseholdError {
  readonly code = 'CONDUCTOR_ID_IN_USE' as const;

  constructor(
    readonly conductorId: string,
    /** Where the other one runs, when the registry knows. */
    readonly hostname: string | null,
    readonly pid: number | null,
    /** Milliseconds left on its liveness lease. */
    readonly ttlMs: number | null,
  ) {
    const where = hostname ? ` on host "${hostname}"${pid ? ` (pid ${pid})` : ''}` : '';
    const left = ttlMs !== null ? ` Its liveness lease has ${ttlMs} ms left.` : '';
    super(
      `Conductor id "${conductorId}" is in use by a live conductor${where}.${left} Give each conductor its own id, ` +
        'or stop the other one first (a crashed one on this host is taken over automatically).',
    );
  }
}

/** The conductor is stopping or stopped (or was never started) and takes no new work. */
export class ConductorStoppedError extends LeaseholdError {
  readonly code = 'CONDUCTOR_STOPPED' as const;

  constructor(readonly conductorId: string, readonly state: string) {
    super(
      state === 'idle'
        ? `Conductor "${conductorId}" was not started; call start() before reserving nodes.`
        : `Conductor "${conductorId}" is ${state}; it takes no new work. Start a new Conductor to work again.`,
    );
  }
}
