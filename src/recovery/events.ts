import type { PreviousHolder } from '../lock/errors.js';
import type { ProvisionStateValue } from '../nodes/states.js';

/** What found an orphan: a keyspace `expired` event, a periodic sweep, or an operator's request. */
export type RecoveryTrigger = 'event' | 'sweep' | 'operator';

/** An orphaned node lease a recovery manager took over. */
export interface OrphanedEvent {
  readonly nodeId: string;
  /** The holder whose lease expired without release. */
  readonly previous: PreviousHolder;
  readonly trigger: RecoveryTrigger;
}

/** A node moved from its transient state to its failed state. */
export interface RecoveredEvent {
  readonly nodeId: string;
  readonly from: ProvisionStateValue;
  readonly to: ProvisionStateValue;
  /** The holder whose lease expired without release. */
  readonly previous: PreviousHolder;
  /** The fence the failed state was written with (the recovery lease's). */
  readonly fence: number;
  readonly trigger: RecoveryTrigger;
  /** Milliseconds from the lease's expiry (Redis clock) to the write (this host's clock). */
  readonly latencyMs: number;
}

/** Why a candidate was not recovered by this manager. */
export type SkipReason =
  /** Someone holds the node now (another recovery manager, or a conductor that took it over). */
  | 'held'
  /** Its lease was not an orphan any more: already recovered, or released. */
  | 'not-orphaned'
  /** The node was in a state the policy leaves alone: only its orphan record was cleared. */
  | 'stable'
  /** No node with that id exists in the store: its orphan record was cleared. */
  | 'node-missing';

/** A candidate this manager did not recover, and why. */
export interface SkippedEvent {
  readonly nodeId: string;
  readonly reason: SkipReason;
  readonly trigger: RecoveryTrigger;
  /** The orphan's holder, when the lease was an orphan (reasons `stable` and `node-missing`: its record was cleared). */
  readonly previous?: PreviousHolder;
}

/** A recovery attempt that failed; the node is left to be found again (its orphan record stays). */
export interface FailedEvent {
  readonly nodeId: string;
  readonly trigger: RecoveryTrigger;
  readonly error: unknown;
}

/** Events of a {@link RecoveryManager}. */
export interface RecoveryEvents {
  /** An orphaned node lease was taken over for recovery. */
  orphaned: (event: OrphanedEvent) => void;
  /** A node was moved to its failed state. */
  recovered: (event: RecoveredEvent) => void;
  /** A candidate was not recovered here. */
  skipped: (event: SkippedEvent) => void;
  /** A recovery attempt failed. */
  failed: (event: FailedEvent) => void;
  /** Something limits recovery (e.g. keyspace events cannot be enabled, so only sweeps run); said once per cause. */
  degraded: (message: string, cause?: unknown) => void;
  /** A background failure (a sweep or a subscription that failed, a listener that threw). */
  error: (error: unknown) => void;
}

/** Counts since start, as {@link RecoveryManager.counters} returns them. */
export interface RecoveryCounters {
  readonly orphaned: number;
  readonly recovered: number;
  readonly skipped: number;
  readonly failed: number;
  /** Keyspace `expired` events heard for this key space's lock keys. */
  readonly events: number;
  /** Sweeps completed. */
  readonly sweeps: number;
}
