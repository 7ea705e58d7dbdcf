import type { ProvisionStateValue } from './states.js';

/**
 * A node as a store holds it. Objects returned by stores are frozen snapshots: read the node again for news.
 *
 * @example
 * ```ts
 * const node = await nodes.get('node-1');
 * if (node.lastError) console.log(`${node.id} (${node.provisionState}): ${node.lastError}`);
 * ```
 */
export interface Node {
  /** The node's id (e.g. an Ironic node UUID). */
  readonly id: string;
  /** Its provision state. */
  readonly provisionState: ProvisionStateValue;
  /** The state the current operation aims at, or `null` when none is under way. */
  readonly targetState: ProvisionStateValue | null;
  /** Whether operators put it in maintenance. Recovery handles nodes in maintenance too. */
  readonly maintenance: boolean;
  /** The driver (hardware type) that operates it, e.g. `"ipmi"`. Informational: recovery never needs it. */
  readonly driver: string;
  /** What went wrong last, or `null`. */
  readonly lastError: string | null;
  /** The highest fence that wrote the node; 0 for a node never written under a lease. */
  readonly fence: number;
  /** When it was last written, epoch milliseconds (the store's clock). */
  readonly updatedAt: number;
}

/**
 * What `create()` takes: a new node's id and initial fields.
 *
 * @example
 * ```ts
 * const enrolled: NewNode = { id: 'node-1', driver: 'ipmi' }; // provision state "enroll", fence 0
 * const node = await nodes.create(enrolled);
 * ```
 */
export interface NewNode {
  /** The node's id: a non-empty string of at most 255 UTF-8 bytes. */
  readonly id: string;
  /** Initial provision state. @defaultValue `"enroll"` */
  readonly provisionState?: ProvisionStateValue;
  /** Initial target state. @defaultValue `null` */
  readonly targetState?: ProvisionStateValue | null;
  /** Whether it starts in maintenance. @defaultValue `false` */
  readonly maintenance?: boolean;
  /** Its driver (hardware type), at most 65,536 UTF-8 bytes. @defaultValue `""` */
  readonly driver?: string;
  /** An initial last error, at most 65,536 UTF-8 bytes. @defaultValue `null` */
  readonly lastError?: string | null;
}

/**
 * A fenced compare-and-set transition, for {@link NodeStore.transition}. A conductor's task fills in `from` and
 * `fence` for you (`task.transition(to, options)`).
 *
 * @example
 * ```ts
 * await nodes.transition('node-1', { from: ['available'], to: 'deploying', fence: lease.fence, targetState: 'active' });
 * ```
 */
export interface Transition {
  /** The states the writer believes the node is in; the write applies only if it is in one of them. */
  readonly from: readonly ProvisionStateValue[];
  /** The state to move to. */
  readonly to: ProvisionStateValue;
  /** The writer's lease fence: the write applies only if it is >= the node's stored fence, and is then stored. */
  readonly fence: number;
  /** The new target state; unchanged when omitted, cleared with `null`. */
  readonly targetState?: ProvisionStateValue | null;
  /** The new last error (at most 65,536 UTF-8 bytes); unchanged when omitted, cleared with `null`. */
  readonly lastError?: string | null;
  /** The new maintenance flag; unchanged when omitted. */
  readonly maintenance?: boolean;
}

/**
 * Filters of `list()`; both given: nodes matching both. None: every node.
 *
 * @example
 * ```ts
 * const query: NodeQuery = { state: ['clean wait', 'clean failed'], maintenance: false };
 * for (const node of await nodes.list(query)) console.log(node.id, node.provisionState, node.lastError ?? '');
 * ```
 */
export interface NodeQuery {
  /** Only nodes in this state, or in any of these states. */
  readonly state?: ProvisionStateValue | readonly ProvisionStateValue[];
  /** Only nodes with this maintenance flag. */
  readonly maintenance?: boolean;
}
