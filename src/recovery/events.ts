import type { HolderInfo, PreviousHolder } from '../lock/errors.js';
import type { ProvisionStateValue } from '../nodes/states.js';

/**
 * What found an orphan: a keyspace `expired` event, a periodic sweep, or an operator's request.
 *
 * @example
 * ```ts
 * recovery.on('recovered', (event) => {
 *   const trigger: RecoveryTrigger = event.trigger;
 *   if (trigger === 'sweep') console.warn(`${event.nodeId} was found by a sweep: are expiry events reaching us?`);
 * });
 * ```
 */
export type RecoveryTrigger = 'event' | 'sweep' | 'operator';

/**
 * An orphaned node lease a recovery manager took over; `recovered`, `skipped` or `failed` follows for it.
 *
 * @example
 * ```ts
 * recovery.on('orphaned', (event: OrphanedEvent) => {
 *   console.info(`${event.nodeId}: ${event.previous.owner} died holding it (fence ${event.previous.fence}), found by ${event.trigger}`);
 * });
 * ```
 */
export interface OrphanedEvent {
  /** The node whose lease was orphaned. */
  readonly nodeId: string;
  /** The holder whose lease expired without release. */
  readonly previous: PreviousHolder;
  /** What found it. */
  readonly trigger: RecoveryTrigger;
}

/**
 * A node moved from its transient state to its failed state.
 *
 * @example
 * ```ts
 * recovery.on('recovered', (event: RecoveredEvent) => {
 *   console.log(`${event.nodeId}: ${event.from} -> ${event.to}, ${event.latencyMs} ms after ${event.previous.owner}'s lease expired`);
 * });
 * ```
 */
export interface RecoveredEvent {
  /** The node recovered. */
  readonly nodeId: string;
  /** The transient state it was left in. */
  readonly from: ProvisionStateValue;
  /** The failed state it was moved to (the policy's). */
  readonly to: ProvisionStateValue;
  /** The holder whose lease expired without release. */
  readonly previous: PreviousHolder;
  /** The fence the failed state was written with (the recovery lease's). */
  readonly fence: number;
  /** What found it. */
  readonly trigger: RecoveryTrigger;
  /** Milliseconds from the lease's expiry (Redis clock) to the write (this host's clock). */
  readonly latencyMs: number;
}

/**
 * Why a candidate was not recovered by this manager.
 *
 * @example
 * ```ts
 * const routine: SkipReason[] = ['held', 'not-orphaned']; // another manager or a conductor got there first
 * recovery.on('skipped', ({ nodeId, reason }) => {
 *   if (!routine.includes(reason)) console.info(`${nodeId}: nothing to recover (${reason}), its orphan record was cleared`);
 * });
 * ```
 */
export type SkipReason =
  /** Someone holds the node now (another recovery manager, or a conductor that took it over). */
  | 'held'
  /** Its lease was not an orphan any more: already recovered, or released. */
  | 'not-orphaned'
  /** The node was in a state the policy leaves alone: only its orphan record was cleared. */
  | 'stable'
  /** No node with that id exists in the store: its orphan record was cleared. */
  | 'node-missing';

/**
 * A candidate this manager did not recover, and why.
 *
 * @example
 * ```ts
 * recovery.on('skipped', (event: SkippedEvent) => {
 *   if (event.reason === 'node-missing') console.warn(`${event.previous?.owner} held a lease on ${event.nodeId}, which is not in the store`);
 * });
 * ```
 */
export interface SkippedEvent {
  /** The candidate node. */
  readonly nodeId: string;
  /** Why it was not recovered here. */
  readonly reason: SkipReason;
  /** What found it. */
  readonly trigger: RecoveryTrigger;
  /** The orphan's holder, when the lease was an orphan (reasons `stable` and `node-missing`: its record was cleared). */
  readonly previous?: PreviousHolder;
}

/**
 * A recovery attempt that failed; the node is left to be found again (its orphan record stays).
 *
 * @example
 * ```ts
 * recovery.on('failed', (event: FailedEvent) => {
 *   console.error(`${event.nodeId}: recovery (${event.trigger}) failed; a later sweep finds it again`, event.error);
 * });
 * ```
 */
export interface FailedEvent {
  /** The node whose recovery failed. */
  readonly nodeId: string;
  /** What found it. */
  readonly trigger: RecoveryTrigger;
  /** Why: usually a `BackendError` (store or Redis down), or a store error such as `StaleFenceError`. */
  readonly error: unknown;
}

/**
 * A node found by a reconcile pass in a state that needs a holder, with no live lease and no orphan record (Redis
 * lost its lease data, or a holder let go mid-operation), and moved to its failed state.
 *
 * @example
 * ```ts
 * recovery.on('reconciled', (event: ReconciledEvent) => {
 *   const last = event.lastHolder ? `last held by ${event.lastHolder.owner}` : 'no holder on record';
 *   console.warn(`${event.nodeId}: found unheld in ${event.from} (${last}), moved to ${event.to}`);
 * });
 * ```
 */
export interface ReconciledEvent {
  /** The node. */
  readonly nodeId: string;
  /** The state it was found in. */
  readonly from: ProvisionStateValue;
  /** The failed state it was moved to (the policy's). */
  readonly to: ProvisionStateValue;
  /** The last holder the lock store remembered when the pass found it, or `null` (no record at all). */
  readonly lastHolder: HolderInfo | null;
  /** The fence the failed state was written with (the recovery lease's). */
  readonly fence: number;
}

/**
 * Events of a {@link RecoveryManager}. Listeners that throw are reported on `error`, never into the manager.
 *
 * @example
 * ```ts
 * recovery.on('recovered', (e) => console.log(`${e.nodeId}: ${e.from} -> ${e.to} (${e.previous.owner} died, ${e.latencyMs} ms)`));
 * recovery.on('failed', (e) => console.error(`${e.nodeId}: recovery failed, will retry`, e.error));
 * recovery.on('degraded', (message) => console.warn(message));
 * recovery.on('error', (error) => console.error(error));
 * ```
 */
export interface RecoveryEvents {
  /** An orphaned node lease was taken over for recovery. */
  orphaned: (event: OrphanedEvent) => void;
  /** A node was moved to its failed state. */
  recovered: (event: RecoveredEvent) => void;
  /** A node found unheld mid-operation, with no record of a holder, was moved to its failed state. */
  reconciled: (event: ReconciledEvent) => void;
  /** A candidate was not recovered here. */
  skipped: (event: SkippedEvent) => void;
  /** A recovery attempt failed. */
  failed: (event: FailedEvent) => void;
  /** Something limits recovery (e.g. keyspace events cannot be enabled, so only sweeps run); said once per cause. */
  degraded: (message: string, cause?: unknown) => void;
  /** A background failure (a sweep or a subscription that failed, a listener that threw). */
  error: (error: unknown) => void;
}

/**
 * Counts since the manager was made, as {@link RecoveryManager.counters} returns them.
 *
 * @example
 * ```ts
 * const { recovered, failed, events, sweeps }: RecoveryCounters = recovery.counters();
 * console.log(`${recovered} recovered, ${failed} failed; ${events} expiry events heard, ${sweeps} sweeps`);
 * ```
 */
export interface RecoveryCounters {
  /** `orphaned` events: orphaned node leases taken over. */
  readonly orphaned: number;
  /** `recovered` events: nodes moved to their failed state. */
  readonly recovered: number;
  /** `skipped` events. */
  readonly skipped: number;
  /** `failed` events. */
  readonly failed: number;
  /** Keyspace `expired` events heard for this key space's lock keys. */
  readonly events: number;
  /** Sweeps completed. */
  readonly sweeps: number;
  /** `reconciled` events: nodes found unheld mid-operation with no record of a holder, and failed. */
  readonly reconciled: number;
  /** Reconcile passes completed. */
  readonly reconciles: number;
}
