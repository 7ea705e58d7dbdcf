import type { NewNode, Node, NodeQuery, Transition } from './node.js';

/**
 * Where nodes live: the node table of a conductor service. Every write that a lease holder makes is a fenced
 * compare-and-set {@link NodeStore.transition}, applied atomically by the store itself (never read-modify-write), so
 * a holder that lost its lease can never overwrite a newer holder's work.
 *
 * Implementations: `MemoryNodeStore` (one process), `RedisNodeStore`, and `PostgresNodeStore` from
 * `leasehold/postgres`. All pass one contract suite. Bad arguments reject with an `InvalidArgumentError` subclass
 * before anything is sent; store failures with `BackendError`.
 *
 * @example
 * ```ts
 * const nodes: NodeStore = new RedisNodeStore(redis, { prefix: 'ironic' });
 * const stuck = await nodes.list({ state: ['deploying', 'wait call-back'] });
 * ```
 */
export interface NodeStore {
  /** The node with this id. Rejects with `NodeNotFoundError` when there is none. Needs no lease. */
  get(id: string): Promise<Node>;
  /** Nodes matching the query, ordered by id. Needs no lease. */
  list(query?: NodeQuery): Promise<Node[]>;
  /** Creates a node (fence 0) and resolves to it. Rejects with `NodeExistsError` when the id is taken. Needs no lease. */
  create(node: NewNode): Promise<Node>;
  /**
   * Moves a node from one of `from` to `to` and stores `fence`, in one atomic step, if and only if the node is in
   * one of the `from` states and its stored fence is <= `fence`. Resolves to the node as written. Otherwise nothing
   * is written and it rejects with `StaleFenceError` (a newer holder wrote the node; checked first),
   * `InvalidStateError` (the state moved on) or `NodeNotFoundError`.
   */
  transition(id: string, transition: Transition): Promise<Node>;
}
