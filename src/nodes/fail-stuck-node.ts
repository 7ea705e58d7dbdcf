import type { Node } from './node.js';
import type { ResolvedFailurePolicy } from './policy.js';
import type { NodeStore } from './store.js';

/**
 * Who held a node when its lease expired unreleased (plain data: a lease holder as the lock layer reports it).
 *
 * @example
 * ```ts
 * // A holder known from elsewhere: the reservation column of a service moving to leasehold
 * const dead: DeadHolder = { owner: 'conductor-a', fence: 0, purpose: 'deploy', expiredAt: null };
 * await locks.using(nodeResource('node-1'), { owner: 'migration' }, (lease) =>
 *   failStuckNode(nodes, resolveFailurePolicy(), { nodeId: 'node-1', fence: lease.fence, previous: dead, actor: 'migration', trigger: 'stale reservation' }),
 * );
 * ```
 */
export interface DeadHolder {
  /** Its identity, e.g. a conductor id. */
  readonly owner: string;
  /** The fence of its lease. */
  readonly fence: number;
  /** What it was doing, e.g. `"deploy"`; empty when it did not say. */
  readonly purpose: string;
  /** When its lease expired, epoch ms, when known. */
  readonly expiredAt?: number | null;
}

/**
 * What {@link failStuckNode} needs: the node, the recoverer's own fence, the dead holder, and who recovers.
 *
 * @example
 * ```ts
 * await using lease = await locks.acquire(nodeResource('node-1'), { owner: 'janitor' });
 * if (lease.previous) {
 *   const stuck: StuckNode = { nodeId: 'node-1', fence: lease.fence, previous: lease.previous, actor: 'janitor', trigger: 'nightly check' };
 *   await failStuckNode(nodes, resolveFailurePolicy(), stuck);
 * }
 * ```
 */
export interface StuckNode {
  /** The node to fail. */
  readonly nodeId: string;
  /** The fence of the lease the recoverer holds on the node now. */
  readonly fence: number;
  /** The holder whose lease ended unreleased (a lease's `previous`). */
  readonly previous: DeadHolder;
  /** Who moves the node, e.g. `"conductor-b"` or `"recovery:ab12"`; written into `last_error`. */
  readonly actor: string;
  /** What found it, e.g. `"acquire"`, `"restart"`, `"expired-event"`, `"sweep"`; written into `last_error`. */
  readonly trigger: string;
}

/**
 * What {@link failStuckNode} did.
 *
 * @example
 * ```ts
 * const previous = lease.previous; // set when this lease took over a dead holder's orphan
 * if (previous) {
 *   const result: StuckNodeOutcome = await failStuckNode(nodes, resolveFailurePolicy(), { nodeId: 'node-1', fence: lease.fence, previous, actor: 'janitor', trigger: 'manual' });
 *   if (result.outcome === 'failed') console.log(`node-1: ${result.from} -> ${result.to}`);
 *   else console.log(`node-1 left alone in ${result.node.provisionState}`);
 * }
 * ```
 */
export type StuckNodeOutcome =
  /** The node was in a transient state and was moved to the policy's failed state. */
  | {
      /** Moved to its failed state. */
      readonly outcome: 'failed';
      /** The state it was in. */
      readonly from: Node['provisionState'];
      /** The failed state it was moved to. */
      readonly to: Node['provisionState'];
      /** The node as written. */
      readonly node: Node;
    }
  /** The node was in a state the policy leaves alone (a stable state): nothing was written. */
  | {
      /** Left alone. */
      readonly outcome: 'stable';
      /** The node as read. */
      readonly node: Node;
    };

/**
 * The one recovery action, shared by a conductor that acquires an orphaned node and by the recovery manager: with
 * a held lease on the node (its fence), read the node and, when the policy names a failed state for its state,
 * move it there in one fenced transition with a `last_error` that says what happened. Rejects with the store's
 * errors (`NodeNotFoundError`; `StaleFenceError` when an even newer holder wrote the node; `InvalidStateError`
 * when the state moved between the read and the write). For services that recover nodes their own way; `Conductor`
 * and `RecoveryManager` call it for you.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire(nodeResource('node-1'), { owner: 'janitor' });
 * if (lease.previous) {
 *   const result = await failStuckNode(nodes, resolveFailurePolicy(), {
 *     nodeId: 'node-1', fence: lease.fence, previous: lease.previous, actor: 'janitor', trigger: 'nightly check',
 *   });
 *   if (result.outcome === 'failed') console.log(`node-1: ${result.from} -> ${result.to}`);
 * }
 * await lease.release();
 * ```
 */
export async function failStuckNode(store: NodeStore, policy: ResolvedFailurePolicy, stuck: StuckNode): Promise<StuckNodeOutcome> {
  const node = await store.get(stuck.nodeId);
  const to = policy(node.provisionState);
  if (to === null) return { outcome: 'stable', node };
  const { previous } = stuck;
  const expired = previous.expiredAt ? ` expired at ${new Date(previous.expiredAt).toISOString()}` : ' ended';
  const lastError =
    `"${previous.owner}" held this node (lease fence ${previous.fence}${previous.purpose ? `, purpose "${previous.purpose}"` : ''}) ` +
    `and its lease${expired} without being released while the node was "${node.provisionState}"; ` +
    `moved to "${to}" by ${stuck.actor} (${stuck.trigger}).`;
  const written = await store.transition(stuck.nodeId, {
    from: [node.provisionState],
    to,
    fence: stuck.fence,
    targetState: null,
    lastError,
  });
  return { outcome: 'failed', from: node.provisionState, to, node: written };
}
