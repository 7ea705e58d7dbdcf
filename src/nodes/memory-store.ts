import { NodeExistsError, NodeNotFoundError } from './errors.js';
import type { NewNode, Node, NodeQuery, Transition } from './node.js';
import type { NodeStore } from './store.js';
import { checkNewNode, checkNodeId, checkQuery, checkTransition, transitionApplies, transitionError } from './validate.js';

/**
 * A {@link NodeStore} in this process's memory: for tests and single-process examples. It cannot be shared between
 * processes; use `RedisNodeStore` or `PostgresNodeStore` for that. Each write is synchronous, hence atomic.
 * `updatedAt` comes from this process's clock.
 *
 * @example
 * ```ts
 * const nodes = new MemoryNodeStore();
 * await nodes.create({ id: 'node-1', provisionState: 'available' });
 * ```
 */
export class MemoryNodeStore implements NodeStore {
  readonly #nodes = new Map<string, Node>();

  get(id: string): Promise<Node> {
    return attempt(() => {
      checkNodeId(id);
      const node = this.#nodes.get(id);
      if (!node) throw new NodeNotFoundError(id);
      return node;
    });
  }

  list(query?: NodeQuery): Promise<Node[]> {
    return attempt(() => {
      const { states, maintenance } = checkQuery(query);
      return [...this.#nodes.values()]
        .filter((n) => (states === null || states.includes(n.provisionState)) && (maintenance === undefined || n.maintenance === maintenance))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  create(node: NewNode): Promise<Node> {
    return attempt(() => {
      const fields = checkNewNode(node);
      if (this.#nodes.has(fields.id)) throw new NodeExistsError(fields.id);
      const created: Node = Object.freeze({ ...fields, fence: 0, updatedAt: Date.now() });
      this.#nodes.set(created.id, created);
      return created;
    });
  }

  transition(id: string, transition: Transition): Promise<Node> {
    return attempt(() => {
      const t = checkTransition(id, transition);
      const current = this.#nodes.get(id) ?? null;
      if (current === null || !transitionApplies(current, t)) throw transitionError(id, current, t);
      const next: Node = Object.freeze({
        ...current,
        provisionState: t.to,
        targetState: t.targetState === undefined ? current.targetState : t.targetState,
        lastError: t.lastError === undefined ? current.lastError : t.lastError,
        maintenance: t.maintenance ?? current.maintenance,
        fence: t.fence,
        updatedAt: Date.now(),
      });
      this.#nodes.set(id, next);
      return next;
    });
  }
}

/** Runs a synchronous step as a promise, so bad input rejects like every other store instead of throwing. */
function attempt<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}
