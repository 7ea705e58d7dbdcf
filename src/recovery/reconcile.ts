/**
 * The reconcile pass of a recovery manager: nodes left in a state that needs a holder while nobody holds them and
 * no orphan record names one. Sweeps and expiry events find every node whose holder died, as long as Redis kept
 * the lease records; this finds the nodes a Redis that lost its data (a restart without persistence, a failover
 * that lost writes) forgot, and nodes a program let go of mid-operation through the bare lock API.
 *
 * @packageDocumentation
 */
import type { HolderInfo } from '../lock/errors.js';
import type { LockManager } from '../lock/lock-manager.js';
import { nodeResource } from '../nodes/resources.js';
import { HELD_STATES } from '../nodes/states.js';
import type { NodeStore } from '../nodes/store.js';

/** A node in one of `HELD_STATES` with no live lease and no orphan record, as a reconcile pass finds it. */
export interface UnheldNode {
  /** The node's id. */
  readonly nodeId: string;
  /** The last holder the lock store remembers (it released, or its record survived the loss), or `null`. */
  readonly lastHolder: HolderInfo | null;
}

/** How many nodes one pass inspects at once. */
const INSPECT_CONCURRENCY = 16;

/** Most live leases one pass reads (LockManager.leases' own ceiling): a lease beyond it only costs an inspect. */
const LEASES_LIMIT = 10_000_000;

/**
 * Lists the nodes in `HELD_STATES` (one store query) and the live leases (one read per shard page, not one round
 * trip per node: a fleet mid-deploy can have 100,000 such nodes), then inspects only the nodes without a live lease
 * (normally none, or the orphans waiting for recovery): those with no orphan record either are returned. Orphans are
 * left to sweeps and events; held nodes to their holders.
 */
export async function findUnheldNodes(locks: LockManager, nodes: NodeStore): Promise<UnheldNode[]> {
  const listed = await nodes.list({ state: [...HELD_STATES] });
  if (listed.length === 0) return [];
  const live = new Set((await locks.leases({ limit: LEASES_LIMIT })).map((lease) => lease.resource));
  const suspects = listed.filter((node) => !live.has(nodeResource(node.id)));
  const found: UnheldNode[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < suspects.length) {
      const node = suspects[next++]!;
      const info = await locks.inspect(nodeResource(node.id));
      if (!info.holder && !info.orphan) found.push({ nodeId: node.id, lastHolder: info.lastHolder });
    }
  };
  await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, suspects.length) }, worker));
  return found;
}
