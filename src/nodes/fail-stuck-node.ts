import type { Node } from './node.js';
import type { ResolvedFailurePolicy } from './policy.js';
import type { NodeStore } from './store.js';

/** Who held a node when its lease expired unreleased (plain data: a lease holder as the lock layer reports it). */
export interface DeadHolder {
  readonly owner: string;
  readonly fence: number;
  readonly purpose: string;
  /** When its lease expired, epoch ms, when known. */
  readonly expiredAt?: number | null;
}

/** What {@link failStuckNode} needs: the node, the recoverer's own fence, the dead holder, and who recovers. */
export interface StuckNode {
  readonly nodeId: string;
  /** The fence of the lease the recoverer holds on the node now. */
  readonly fence: number;
  readonly previous: DeadHolder;
  /** Who moves the node, e.g. `"conductor-b"` or `"recovery:ab12"`; written into `last_error`. */
  readonly actor: string;
  /** What found it, e.g. `"acquire"`, `"restart"`, `"expired-event"`, `"sweep"`; written into `last_error`. */
  readonly trigger: string;
}

/** What {@link failStuckNode} did. */
export type StuckNodeOutcome =
  /** The node was in a transient state and was moved to the policy's failed state. */
  | { readonly outcome: 'failed'; readonly from: Node['provisionState']; readonly to: Node['provisionState']; readonly node: Node }
  /** The node was in a state the policy leaves alone (a stable state): nothing was written. */
  | { readonly outcome: 'stable'; readonly node: Node };

/**
 * The one recovery action, shared by a conductor that acquires an orphaned node and by the recovery manager: with
 * a held lease on the node (its fence), read the node and, when the policy names a failed state for its state,
 * move it there in one fenced transition with a `last_error` that says what happened. Rejects with the store's
 * errors (e.g. `StaleFenceError` when an even newer holder wrote the node).
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
